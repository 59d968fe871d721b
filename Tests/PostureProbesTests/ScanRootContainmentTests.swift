import Foundation
import PostureModel
import PostureTestSupport
import Testing

@testable import PostureIntegrity
@testable import PostureProbes

#if canImport(Glibc)
    import Glibc
#endif

/// Both ways of resolving paths inside a root: the kernel's (`openat2`) and the fallback walk.
let everyResolution: [RootDirectory.Resolution] = [.kernel, .userspace]

/// A scan root stays a scan root while an adversary changes it during the scan, and a file that
/// is not a regular file is never opened.
@Suite struct ScanRootContainmentTests {
    @Test func theKernelResolvesPathsWhereItCan() throws {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let version = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard version.count == 2, (version[0], version[1]) >= (5, 6) else { return }
        let root = try TemporaryRoot()
        #expect(try ScanRoot(root.path).resolution == .kernel, "Linux \(release) has openat2, but it was not used (seccomp filter?)")
        #expect(try ScanRoot("/").resolution == .kernel)
    }

    /// `root/etc` and `root/swap`, a symlink to a host directory with a marker in every file, are
    /// exchanged (`renameat2(RENAME_EXCHANGE)`) in a loop while the root is scanned: a lookup that
    /// checks a path and then opens it again follows the symlink to the host now and then.
    @Test(arguments: everyResolution)
    func aDirectorySwappedForASymlinkNeverLeadsToTheHost(_ resolution: RootDirectory.Resolution) throws {
        let root = try TemporaryRoot("swap")
        let host = try TemporaryRoot("host")
        let marker = "HOST-MARKER-\(UUID().uuidString)"
        for name in ["os-release", "hostname", "passwd"] {
            try host.write("etc/\(name)", "ID=\(marker)\nVERSION_ID=\(marker)\n\(marker):x:0:0::/root:/bin/sh\n")
        }
        try root.write("etc/os-release", "ID=debian\nVERSION_ID=12\n")
        try root.write("etc/hostname", "inside\n")
        try root.write("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
        try root.symlink("swap", to: host.url("etc").path)
        let scanRoot = try ScanRoot(root.path, resolution: resolution)
        let swapper = Exchanger(root.url("etc").path, root.url("swap").path)

        var leaks: [String] = []
        var sawInside = false, sawMissing = false
        let deadline = Date().addingTimeInterval(50)
        var scans = 0
        while scans < 400, Date() < deadline {
            scans += 1
            var seen: [String] = []
            for directory in ["etc", "swap"] {
                for name in ["os-release", "hostname", "passwd"] {
                    do {
                        seen.append(try scanRoot.readText("\(directory)/\(name)"))
                        sawInside = true
                    } catch {
                        seen.append("\(error)")
                        sawMissing = true
                    }
                    if case .success(let file) = scanRoot.openFile("\(directory)/\(name)") {
                        seen.append(
                            String(
                                decoding: (try? Platform.readAll(file.fd, size: file.status.size, limit: 4096, path: name)) ?? [],
                                as: UTF8.self))
                        Platform.closeFile(file.fd)
                    }
                }
                seen += (try? scanRoot.list(directory)) ?? []
                FileWalk.visit(root: scanRoot, directory, maxDepth: 2, maxEntries: 20) { path, status in
                    seen.append(path)
                    if status.isRegular { seen.append((try? scanRoot.readText(path)) ?? "") }
                }
            }
            if let os = try? OSProbe(catalog: nil).collect(root: scanRoot, now: Date()) { seen.append("\(os)") }
            if let accounts = try? AccountsProbe().collect(root: scanRoot) { seen.append("\(accounts)") }
            seen.append("\(HostProbe().collect(root: scanRoot))")
            leaks += seen.filter { $0.contains(marker) }
        }
        let swaps = swapper.stop()
        #expect(leaks.isEmpty, "\(leaks.count) reads of the host in \(scans) scans: \(leaks.prefix(3))")
        #expect(swaps > 0 && sawInside && sawMissing, "the swap did not interleave with the scans (\(swaps) swaps)")
    }

    /// A FIFO (a writer waiting on it would be released), a device node and a socket where files
    /// are expected, directly and through a symlink: every read refuses them without opening them.
    /// inotify tells whether anything opened them.
    @Test(arguments: everyResolution)
    func fifosDevicesAndSocketsAreNeverOpened(_ resolution: RootDirectory.Resolution) throws {
        let root = try TemporaryRoot("special")
        try root.makeDirectory("etc")
        try root.makeDirectory("var/lib/dpkg/info")
        #expect(mkfifo(root.url("etc/os-release").path, 0o644) == 0)
        #expect(mkfifo(root.url("var/lib/dpkg/info/base-files.list").path, 0o644) == 0)
        try root.symlink("etc/issue", to: "/etc/os-release")
        var special = ["etc/os-release", "var/lib/dpkg/info/base-files.list"]
        // /dev/null's numbers: opening it would succeed, so an open shows as an inotify event.
        if mknod(root.url("etc/hostname").path, S_IFCHR | 0o644, (1 << 8) | 3) == 0 { special.append("etc/hostname") }
        let socket = try UnixSocket(path: root.url("etc/passwd").path)
        defer { socket.close() }
        let watch = try OpenWatch(special.map { root.url($0).path })

        let scanRoot = try ScanRoot(root.path, resolution: resolution)
        for path in special + ["etc/issue", "etc/passwd"] {
            #expect(throws: ProbeError.unreadable(path: scanRoot.display(path), reason: "not a regular file")) {
                try scanRoot.readBytes(path)
            }
            #expect(scanRoot.openFile(path).failure?.code == EINVAL)
            #expect(SystemTampering(root: scanRoot).sha256(path) == nil)
        }
        #expect(throws: ProbeError.self) { try OSProbe(catalog: nil).collect(root: scanRoot, now: Date()) }
        #expect(throws: ProbeError.unreadable(path: "/var/lib/dpkg/info/base-files.list", reason: "not a regular file")) {
            try LineReader(root: scanRoot, path: "var/lib/dpkg/info/base-files.list")
        }
        var walked: [String: Bool] = [:]
        FileWalk.visit(root: scanRoot, "etc", maxDepth: 3, maxEntries: 100) { path, status in walked[path] = status.isRegular }
        #expect(
            walked
                == ["etc": false, "etc/os-release": false, "etc/issue": false, "etc/passwd": false]
                .merging(special.contains("etc/hostname") ? ["etc/hostname": false] : [:]) { $1 })
        #expect(watch.opened().isEmpty, "opened: \(watch.opened())")
    }
}

/// Exchanges two paths with `renameat2(RENAME_EXCHANGE)` on a thread of its own until stopped.
final class Exchanger: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private var swaps = 0
    private let finished = DispatchSemaphore(value: 0)

    init(_ first: String, _ second: String) {
        Thread.detachNewThread { [self] in
            typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
            let renameat2 = unsafeBitCast(dlsym(nil, "renameat2"), to: RenameAt2.self)
            var count = 0
            while !isStopped {
                for _ in 0..<64 where renameat2(AT_FDCWD, first, AT_FDCWD, second, 1 << 1 /* RENAME_EXCHANGE */) == 0 { count += 1 }
            }
            lock.lock()
            swaps = count
            lock.unlock()
            finished.signal()
        }
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// Stops the loop and returns how many exchanges it made.
    func stop() -> Int {
        lock.lock()
        stopped = true
        lock.unlock()
        finished.wait()
        lock.lock()
        defer { lock.unlock() }
        return swaps
    }
}

/// A listening Unix socket bound at a path (opening such a path fails with `ENXIO`).
struct UnixSocket {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard fd >= 0, bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw POSIXError(.ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    func close() { _ = Glibc.close(fd) }
}
