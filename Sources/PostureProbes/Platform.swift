import Foundation

#if canImport(Glibc)
    package import Glibc
#elseif canImport(Musl)
    package import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// The thin seam over the C library that the probes use: every `#if canImport` lives here.

/// An errno with its text, or a refusal of ours with its reason.
package struct FileError: Error, CustomStringConvertible {
    package var code: Int32
    /// Set when the reason is ours rather than the system's (for example "a FIFO, not a regular file").
    package var reason: String?

    package init(code: Int32, reason: String? = nil) {
        self.code = code
        self.reason = reason
    }

    package var description: String { reason ?? String(cString: strerror(code)) }
    package var isNotFound: Bool { code == ENOENT || code == ENOTDIR }
}

/// Which file, in which state: equal identities mean the same inode, unchanged since.
package struct FileIdentity: Hashable, Sendable {
    package var device: UInt64
    package var inode: UInt64
    package var size: Int64
    package var modifiedNanoseconds: Int64
    package var changedNanoseconds: Int64

    package init(device: UInt64, inode: UInt64, size: Int64, modifiedNanoseconds: Int64, changedNanoseconds: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modifiedNanoseconds = modifiedNanoseconds
        self.changedNanoseconds = changedNanoseconds
    }

    /// How long a file must have been left alone before what was read from it is kept under its
    /// identity. Its ctime comes from a clock that ticks every few milliseconds: a file changed
    /// again within the tick in which it was read would keep the identity it was read with (the
    /// "racy git" problem), so what is read from a file changed this recently is used now and
    /// read again next time.
    package static let settlingSeconds = 2.0

    /// Whether the file was last changed (ctime) at least `settlingSeconds` ago, so that what was
    /// read from it may be kept under this identity.
    package func isSettled() -> Bool {
        changedNanoseconds < Int64((Date().timeIntervalSince1970 - Self.settlingSeconds) * 1e9)
    }
}

package enum Platform {
    package struct FileStatus {
        package var isDirectory: Bool
        package var isSymlink: Bool
        package var isRegular: Bool
        package var size: Int64
        var modified: Date
        var mode: UInt32 = 0
        /// The owner's uid.
        var owner: UInt32 = 0
        /// Identity and change stamps, for caches keyed on "this exact file, unchanged".
        package var identity = FileIdentity(device: 0, inode: 0, size: 0, modifiedNanoseconds: 0, changedNanoseconds: 0)

        package var isExecutable: Bool { mode & 0o111 != 0 }
        package var isSetID: Bool { mode & 0o6000 != 0 }
    }

    package static func lstatus(_ path: String) -> FileStatus? {
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
        #if canImport(Darwin)
            let mtimeNs = Int64(st.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(st.st_mtimespec.tv_nsec)
            let ctimeNs = Int64(st.st_ctimespec.tv_sec) * 1_000_000_000 + Int64(st.st_ctimespec.tv_nsec)
        #else
            let mtimeNs = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
            let ctimeNs = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        #endif
        return FileStatus(
            isDirectory: type == S_IFDIR, isSymlink: type == S_IFLNK, isRegular: type == S_IFREG,
            size: Int64(st.st_size), modified: Date(timeIntervalSince1970: mtime), mode: UInt32(st.st_mode),
            owner: UInt32(st.st_uid),
            identity: FileIdentity(
                device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                modifiedNanoseconds: mtimeNs, changedNanoseconds: ctimeNs))
    }

    /// Opens a file for reading (following symlinks), or returns the errno.
    package static func openForReading(_ path: String) -> Result<Int32, FileError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        return fd >= 0 ? .success(fd) : .failure(FileError(code: errno))
    }

    package static func closeFile(_ fd: Int32) { close(fd) }

    /// A handle on the host directory `path` (a scan root given by the user), symlinks followed.
    static func openDirectory(_ path: String) -> Result<Int32, FileError> {
        let fd = open(path, pathOnly | O_DIRECTORY | O_CLOEXEC)
        return fd >= 0 ? .success(fd) : .failure(FileError(code: errno))
    }

    // MARK: Paths beneath a scan root

    #if os(Linux)
        /// `O_PATH`: a handle that names a file without opening it, so nothing of a FIFO, device or
        /// socket runs; it serves for `fstat`, as a directory to look up in, and to be reopened.
        static let pathOnly: Int32 = 0o10000000
    #else
        static let pathOnly: Int32 = O_RDONLY | O_NONBLOCK
    #endif

    /// `openat2(2)` of `path` beneath `root` as if `root` were `/` (`RESOLVE_IN_ROOT |
    /// RESOLVE_NO_MAGICLINKS`: `..` and absolute symlinks stop at the root, `/proc` magic links are
    /// refused), as an `O_PATH` handle; a final symlink is followed unless `followLast` is false.
    /// `ENOSYS` (or `EPERM` from a seccomp filter) where the kernel does not offer it (Linux < 5.6).
    /// `forReading` opens it for reading instead (only where procfs cannot reopen a handle).
    static func openBeneath(
        _ root: Int32, _ path: UnsafePointer<CChar>, followLast: Bool,
        forReading: Bool = false, noSymlinks: Bool = false
    ) -> Result<Int32, FileError> {
        #if os(Linux) && (arch(x86_64) || arch(arm64) || arch(riscv64))
            guard let syscall4 = syscall4 else { return .failure(FileError(code: ENOSYS)) }
            // struct open_how { __u64 flags; __u64 mode; __u64 resolve; } (linux/openat2.h), not in the Glibc module.
            let resolveNoMagicLinks: UInt64 = 0x02, resolveNoSymlinks: UInt64 = 0x04, resolveInRoot: UInt64 = 0x10
            var how: (flags: UInt64, mode: UInt64, resolve: UInt64) = (
                UInt64(UInt32(bitPattern: (forReading ? readingFlags : pathOnly) | O_CLOEXEC | (followLast ? 0 : O_NOFOLLOW))), 0,
                resolveInRoot | resolveNoMagicLinks | (noSymlinks ? resolveNoSymlinks : 0)
            )
            // A rename racing a `..` lookup makes the kernel answer EAGAIN; a few retries settle it.
            for _ in 0..<8 {
                let fd = withUnsafeBytes(of: &how) { syscall4(openat2Number, Int(root), UnsafeRawPointer(path), $0.baseAddress!, 24) }
                if fd >= 0 { return .success(Int32(fd)) }
                if errno != EAGAIN && errno != EINTR { return .failure(FileError(code: errno)) }
            }
            return .failure(FileError(code: EAGAIN))
        #else
            return .failure(FileError(code: ENOSYS))
        #endif
    }

    #if os(Linux) && (arch(x86_64) || arch(arm64) || arch(riscv64))
        /// `openat2` has the same number on every architecture that has it.
        private static let openat2Number = 437
        private typealias Syscall4 = @convention(c) (Int, Int, UnsafeRawPointer, UnsafeRawPointer, Int) -> Int
        /// glibc's `syscall(2)` (variadic, so not callable from Swift directly; it reads its arguments from registers alone).
        private static let syscall4: Syscall4? = dlsym(nil, "syscall").map { unsafeBitCast($0, to: Syscall4.self) }
    #endif

    /// An `O_PATH` handle on the single name `name` inside `directory`, never following a symlink
    /// (a symlink yields a handle on the link itself, or `ENOTDIR` when `directoryOnly`).
    static func openEntry(_ directory: Int32, _ name: UnsafePointer<CChar>, directoryOnly: Bool) -> Result<Int32, FileError> {
        let fd = openat(directory, name, pathOnly | O_NOFOLLOW | O_CLOEXEC | (directoryOnly ? O_DIRECTORY : 0))
        return fd >= 0 ? .success(fd) : .failure(FileError(code: errno))
    }

    /// Opens the single name `name` inside `directory` for reading, not following a symlink.
    static func openEntryForReading(_ directory: Int32, _ name: UnsafePointer<CChar>) -> Result<Int32, FileError> {
        let fd = openat(directory, name, readingFlags | O_NOFOLLOW | O_CLOEXEC)
        return fd >= 0 ? .success(fd) : .failure(FileError(code: errno))
    }

    /// Never waits on a FIFO's writer, never takes a terminal as the controlling one.
    private static let readingFlags: Int32 = O_RDONLY | O_NOCTTY | O_NONBLOCK

    /// The target of the symlink an `O_PATH | O_NOFOLLOW` handle names (`readlinkat(fd, "")`).
    static func linkTarget(_ fd: Int32) -> Result<String, FileError> {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlinkat(fd, "", &buffer, buffer.count - 1)
        guard count >= 0 else { return .failure(FileError(code: errno)) }
        return .success(String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// `/proc/self/fd`, through which an `O_PATH` handle is reopened; nil without procfs.
    private static let descriptors: Int32? = {
        let fd = open("/proc/self/fd", pathOnly | O_DIRECTORY | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }()

    /// Opens the very file an `O_PATH` handle names for reading (through `/proc/self/fd/N`, so no
    /// path is looked up again); `ENOSYS` when procfs is not mounted.
    static func reopenForReading(_ fd: Int32) -> Result<Int32, FileError> {
        guard let descriptors else { return .failure(FileError(code: ENOSYS)) }
        let reopened = openat(descriptors, String(fd), readingFlags | O_CLOEXEC)
        return reopened >= 0 ? .success(reopened) : .failure(FileError(code: errno))
    }

    /// What a directory listing says an entry is (`d_type`), known without reading its status.
    package enum EntryType: Sendable {
        case directory, regular, symlink, other
        /// The file system does not say (some do not fill `d_type`): read the status.
        case unknown
    }

    /// Names in the directory a handle names (`.` and `..` left out), in the order the file system gives them.
    static func directoryEntries(_ fd: Int32) -> Result<[String], FileError> {
        reopenDirectoryForListing(fd).flatMap { opened in withEntries(ofListable: opened) { listed in listed.map { $0.map(\.name) } } }
    }

    /// Opens the directory `name` inside `directory` for listing, never following a symlink (a
    /// symlink or anything else than a directory is `ENOTDIR` or `ELOOP`, refused before it is opened).
    static func openDirectoryForListing(_ directory: Int32, _ name: UnsafePointer<CChar>) -> Result<Int32, FileError> {
        let fd = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        return fd >= 0 ? .success(fd) : .failure(FileError(code: errno))
    }

    /// Reopens a directory handle (an `O_PATH` one) for listing.
    static func reopenDirectoryForListing(_ fd: Int32) -> Result<Int32, FileError> {
        let opened = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK)
        return opened >= 0 ? .success(opened) : .failure(FileError(code: errno))
    }

    /// Lists the directory `fd` (opened for listing; `.` and `..` left out, in the order the file
    /// system gives them) and calls `body` with its entries while `fd` is still open, so it can
    /// serve as their parent; closes `fd` afterwards.
    static func withEntries<T>(ofListable fd: Int32, _ body: (Result<[(name: String, type: EntryType)], FileError>) -> T) -> T {
        guard let stream = fdopendir(fd) else {
            let error = FileError(code: errno)
            close(fd)
            return body(.failure(error))
        }
        defer { closedir(stream) }
        var entries: [(name: String, type: EntryType)] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                return body(errno != 0 ? .failure(FileError(code: errno)) : .success(entries))
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) { String(cString: $0) }
            }
            guard name != "." && name != ".." else { continue }
            #if os(Linux)
                // <dirent.h>: DT_UNKNOWN 0, DT_DIR 4, DT_REG 8, DT_LNK 10; the rest are devices, FIFOs and sockets.
                let type: EntryType =
                    switch entry.pointee.d_type {
                    case 0: .unknown
                    case 4: .directory
                    case 8: .regular
                    case 10: .symlink
                    default: .other
                    }
            #else
                let type = EntryType.unknown
            #endif
            entries.append((name, type))
        }
    }

    /// Status of `name` inside an open directory: of a final symlink itself unless `follow`.
    package static func statAt(_ directory: Int32, _ name: UnsafePointer<CChar>, follow: Bool) -> Result<FileStatus, FileError> {
        var st = stat()
        guard fstatat(directory, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0 else { return .failure(FileError(code: errno)) }
        return .success(status(st))
    }

    /// Status of an open file.
    package static func status(fd: Int32) -> FileStatus? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return status(st)
    }

    /// Asks the kernel to start reading the whole file now (readahead), so I/O overlaps hashing.
    package static func prefetch(_ fd: Int32) {
        #if os(Linux)
            _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_WILLNEED))
        #endif
    }

    /// Tells the kernel the file will be read once, front to back.
    package static func adviseSequential(_ fd: Int32) {
        #if os(Linux)
            _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #endif
    }

    /// Drops the file's pages from the page cache (for cold-cache benchmarks).
    package static func evictFromCache(_ fd: Int32) {
        #if os(Linux)
            _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
        #endif
    }

    /// Reads up to `count` bytes; retries on EINTR.
    package static func readSome(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) -> Result<Int, FileError> {
        while true {
            #if canImport(Glibc)
                let n = Glibc.read(fd, buffer, count)
            #elseif canImport(Musl)
                let n = Musl.read(fd, buffer, count)
            #else
                let n = Darwin.read(fd, buffer, count)
            #endif
            if n >= 0 { return .success(n) }
            if errno != EINTR { return .failure(FileError(code: errno)) }
        }
    }

    /// Reads up to `count` bytes at `offset` (the file position is not used); retries on EINTR.
    package static func readSome(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) -> Result<Int, FileError> {
        while true {
            let n = pread(fd, buffer, count, off_t(offset))
            if n >= 0 { return .success(n) }
            if errno != EINTR { return .failure(FileError(code: errno)) }
        }
    }

    /// Creates (or truncates) a file for writing with `mode`.
    package static func createFile(_ path: String, mode: mode_t) -> Result<Int32, FileError> {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        return fd >= 0 ? .success(fd) : .failure(FileError(code: errno))
    }

    package static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Result<Void, FileError> {
        bytes.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return .failure(FileError(code: errno))
                }
                written += n
            }
            return .success(())
        }
    }

    package static func syncAndClose(_ fd: Int32) -> Result<Void, FileError> {
        let synced = fsync(fd) == 0 ? nil : FileError(code: errno)
        let closed = close(fd) == 0 ? nil : FileError(code: errno)
        if let error = synced ?? closed { return .failure(error) }
        return .success(())
    }

    package static func rename(_ from: String, to: String) -> Result<Void, FileError> {
        #if canImport(Glibc)
            let status = Glibc.rename(from, to)
        #elseif canImport(Musl)
            let status = Musl.rename(from, to)
        #else
            let status = Darwin.rename(from, to)
        #endif
        return status == 0 ? .success(()) : .failure(FileError(code: errno))
    }

    package static func remove(_ path: String) { unlink(path) }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Reads a whole regular file of at most `limit` bytes; the error text names the system's
    /// reason (for example "Permission denied"). A FIFO, device or terminal where a file is
    /// expected (a link to `/dev/zero` in a home, say) is refused: it could block or never end.
    package static func readFile(_ path: String, limit: Int = .max) throws(ProbeError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw ProbeError.unreadable(path: path, reason: lastErrorText()) }
        defer { close(fd) }
        guard let status = status(fd: fd) else { throw ProbeError.unreadable(path: path, reason: lastErrorText()) }
        guard status.isRegular else {
            throw ProbeError.unreadable(path: path, reason: status.isDirectory ? "it is a directory" : "not a regular file")
        }
        return try readAll(fd, size: status.size, limit: limit, path: path)
    }

    /// Reads an open regular file of `size` bytes (as `fstat` said) to its end, at most `limit`
    /// bytes; `path` names it in errors.
    static func readAll(_ fd: Int32, size: Int64, limit: Int, path: String) throws(ProbeError) -> [UInt8] {
        let expected = Int(size)
        guard expected <= limit else { throw ProbeError.unreadable(path: path, reason: "larger than \(sizeText(limit))") }
        // One byte more than the size, so reading to the end does not grow (double) the buffer.
        var bytes = [UInt8](repeating: 0, count: max(expected + 1, 4096))
        var used = 0
        while true {
            if used == bytes.count {
                // The file grew while being read (or is a /proc file, which says size 0).
                guard used <= limit else { throw ProbeError.unreadable(path: path, reason: "larger than \(sizeText(limit))") }
                bytes.append(contentsOf: repeatElement(0, count: bytes.count))
            }
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + used, $0.count - used) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ProbeError.unreadable(path: path, reason: lastErrorText())
            }
            if n == 0 { break }
            used += n
        }
        guard used <= limit else { throw ProbeError.unreadable(path: path, reason: "larger than \(sizeText(limit))") }
        bytes.removeSubrange(used...)
        return bytes
    }

    /// "64 MiB" for a whole number of mebibytes, else the bytes.
    static func sizeText(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }

    package static func lastErrorText() -> String { String(cString: strerror(errno)) }

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

    /// Whether a process with this id exists (it may belong to someone else).
    package static func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
