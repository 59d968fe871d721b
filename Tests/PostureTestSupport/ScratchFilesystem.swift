package import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A small tmpfs mounted for one test and filled on demand: how tests meet a real full disk.
/// Mounting needs root; the file system is unmounted when this is released.
package final class ScratchFilesystem: @unchecked Sendable {
    /// Why a scratch file system could not be made.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// The mount point.
    package let path: String
    private var filler: String { "\(path)/.filler" }

    package init(sizeKiB: Int = 4096) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("posture-tests-tmpfs-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        #if os(Linux)
            let mounted = mount("tmpfs", path, "tmpfs", 0, "size=\(sizeKiB)k,mode=0700")
        #else
            let mounted: Int32 = -1
            errno = ENOSYS
        #endif
        guard mounted == 0 else {
            let reason = String(cString: strerror(errno))
            rmdir(path)
            throw Failure(
                description: "cannot mount a \(sizeKiB) KiB tmpfs at \(path): \(reason)"
                    + " (the full-disk tests need root; CI=true requires them)")
        }
    }

    deinit {
        #if os(Linux)
            umount2(path, Int32(MNT_DETACH))
        #endif
        rmdir(path)
    }

    /// A path inside the file system.
    package func url(_ relative: String) -> URL { URL(fileURLWithPath: path).appendingPathComponent(relative) }

    /// Bytes still free.
    package var available: Int {
        var status = statvfs()
        guard statvfs(path, &status) == 0 else { return 0 }
        return Int(status.f_bavail) * Int(status.f_frsize)
    }

    /// Fills the file system with a filler file until writing fails with ENOSPC, then gives back
    /// `leaving` bytes (whole pages), so the next write meets a full disk where the test wants it.
    package func fill(leaving: Int = 0) throws {
        let fd = open(filler, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create \(filler): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let block = [UInt8](repeating: 0, count: 1 << 16)
        var size = 0
        while true {
            let written = block.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            if written > 0 {
                size += written
                continue
            }
            if written < 0, errno == EINTR { continue }
            guard written < 0, errno == ENOSPC else {
                throw Failure(description: "filling \(path) stopped without ENOSPC: \(String(cString: strerror(errno)))")
            }
            break
        }
        if leaving > 0 { ftruncate(fd, off_t(max(0, size - leaving))) }
    }

    /// Removes the filler: the space is free again.
    package func free() { unlink(filler) }

    /// Whether a tmpfs can be mounted here: nil when it can, else why not (printed once, when first asked).
    package static let unavailable: String? = {
        do {
            _ = try ScratchFilesystem(sizeKiB: 64)
            return nil
        } catch {
            print("full-disk tests: \(error)")
            return "\(error)"
        }
    }()

    /// The full-disk tests run where a tmpfs can be mounted, and always when CI=true (CI runs as
    /// root on a fresh machine, so there a mount that fails is a test failure, not a skip).
    package static var testsRun: Bool { unavailable == nil || ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Files in the file system other than the filler, sorted.
    package func files() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0 != ".filler" }.sorted()
    }
}
