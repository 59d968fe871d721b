#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The thin seam over the C library that the probes use: every `#if canImport` lives here.
enum Platform {
    struct FileStatus {
        var isDirectory: Bool
        var isSymlink: Bool
        var isRegular: Bool
        var size: Int64
        var modified: Date
    }

    static func lstatus(_ path: String) -> FileStatus? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return status(st)
    }

    static func status(_ path: String) -> FileStatus? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return status(st)
    }

    private static func status(_ st: stat) -> FileStatus {
        let type = st.st_mode & S_IFMT
        #if canImport(Darwin)
        let mtime = Double(st.st_mtimespec.tv_sec) + Double(st.st_mtimespec.tv_nsec) / 1e9
        #else
        let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        #endif
        return FileStatus(isDirectory: type == S_IFDIR, isSymlink: type == S_IFLNK, isRegular: type == S_IFREG,
                          size: Int64(st.st_size), modified: Date(timeIntervalSince1970: mtime))
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Reads a whole file; the error text names the system's reason (for example "Permission denied").
    static func readFile(_ path: String) throws(ProbeError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ProbeError.unreadable(path: path, reason: lastErrorText()) }
        defer { close(fd) }
        var st = stat()
        let expected = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
        var bytes = [UInt8](repeating: 0, count: max(expected, 4096))
        var used = 0
        while true {
            if used == bytes.count { bytes.append(contentsOf: repeatElement(0, count: bytes.count)) }
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + used, $0.count - used) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ProbeError.unreadable(path: path, reason: lastErrorText())
            }
            if n == 0 { break }
            used += n
        }
        bytes.removeSubrange(used...)
        return bytes
    }

    static func lastErrorText() -> String { String(cString: strerror(errno)) }

    /// The kernel's NTP state: true when synchronised, false when the kernel says unsynchronised,
    /// nil where it cannot be asked.
    static func kernelClockSynchronized() -> Bool? {
        #if os(Linux) && _pointerBitWidth(_64)
        // sys/timex.h is not in the Glibc module: call adjtimex through dlsym with a zeroed
        // struct timex (modes 0 = query only). On LP64 Linux `status` (int) sits at offset 40.
        typealias AdjTimex = @convention(c) (UnsafeMutableRawPointer) -> Int32
        guard let symbol = dlsym(nil, "adjtimex") else { return nil }
        let adjtimex = unsafeBitCast(symbol, to: AdjTimex.self)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 8)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: 512)
        let state = adjtimex(buffer)
        guard state >= 0 else { return nil }
        let status = buffer.load(fromByteOffset: 40, as: Int32.self)
        let unsynchronized: Int32 = 0x0040  // STA_UNSYNC
        return state != 5 /* TIME_ERROR */ && (status & unsynchronized) == 0
        #else
        return nil
        #endif
    }

    static var effectiveUserID: UInt32 { UInt32(geteuid()) }

    static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
