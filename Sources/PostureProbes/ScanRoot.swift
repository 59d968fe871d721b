package import Foundation

/// The directory a scan reads from (`/` for the live system, or a mounted disk image).
///
/// Every probe reads through it, never through a host path. Paths are given relative to the root
/// (`etc/os-release`); symbolic links and `..` resolve inside the root, in the kernel
/// (`RootDirectory`): an absolute link target in an image points into the image, never to the
/// host, even when the image changes during the scan. A file is looked at (`O_PATH`, `fstat`)
/// before it is opened for reading, so a FIFO, device or socket is never opened.
package struct ScanRoot: Sendable, Hashable {
    /// Canonical absolute path of the root, as the user named it: for reports and cache keys, not for opening files.
    package let path: String
    let directory: RootDirectory
    /// Users' homes, read only as their owners could (see `HomeGuard`).
    let homes = HomeGuard()

    /// True when the root is the running system, so `/proc` and running processes describe it.
    package var isLive: Bool { path == "/" }

    /// Who resolves paths inside the root: the kernel, or (without `openat2`) this process.
    var resolution: RootDirectory.Resolution { directory.resolution }

    package init(_ path: String) throws(ProbeError) {
        try self.init(path, resolution: nil)
    }

    /// - Parameter resolution: forces a way of resolving paths (tests); nil takes the kernel's where it answers.
    init(_ path: String, resolution: RootDirectory.Resolution?) throws(ProbeError) {
        guard let canonical = Platform.realPath(path) else {
            throw ProbeError.unreadable(path: path, reason: Platform.lastErrorText())
        }
        guard Platform.status(canonical)?.isDirectory == true else {
            throw ProbeError.unsupported("\(path) is not a directory")
        }
        do {
            directory = try RootDirectory(path: canonical, resolution: resolution)
        } catch {
            throw ProbeError.unreadable(path: path, reason: error.description)
        }
        self.path = canonical
    }

    package static func == (lhs: ScanRoot, rhs: ScanRoot) -> Bool { lhs.path == rhs.path }
    package func hash(into hasher: inout Hasher) { hasher.combine(path) }

    /// The canonical absolute path inside the root (every symlink resolved inside it), or nil when it does not exist.
    package func canonical(_ relative: String) -> String? { directory.canonical(relative) }

    /// The path as it is shown in reports and messages: absolute inside the root.
    package func display(_ relative: String) -> String { "/" + relative.drop { $0 == "/" } }

    /// Whether something stands at `relative`: true too when it cannot be looked at (a symlink in
    /// a home, no permission), so that reading it reports why instead of skipping it silently.
    package func exists(_ relative: String) -> Bool {
        switch status(relative) {
        case .success: return true
        case .failure(let error): return !error.isNotFound
        }
    }

    package func isDirectory(_ relative: String) -> Bool {
        (try? status(relative).get())?.isDirectory == true
    }

    /// Modification time, or nil when the file does not exist.
    package func modified(_ relative: String) -> Date? {
        (try? status(relative).get())?.modified
    }

    /// The most posture reads of one file in a user's home (browser profiles, desktop settings):
    /// anyone can put a file there, for example a sparse one of a terabyte, and none of those
    /// posture reads is legitimately near this size.
    package static let userFileLimit = 32 << 20

    /// The bytes of a regular file (not a FIFO or device) of at most `limit` bytes.
    package func readBytes(_ relative: String, limit: Int = .max) throws(ProbeError) -> [UInt8] {
        switch openFile(relative) {
        case .success(let file):
            defer { Platform.closeFile(file.fd) }
            return try Platform.readAll(file.fd, size: file.status.size, limit: limit, path: display(relative))
        case .failure(let error) where error.isNotFound:
            throw ProbeError.missing(path: display(relative))
        case .failure(let error):
            throw ProbeError.unreadable(path: display(relative), reason: error.description)
        }
    }

    /// Reads a text file; invalid UTF-8 is replaced rather than rejected.
    package func readText(_ relative: String, limit: Int = .max) throws(ProbeError) -> String {
        String(decoding: try readBytes(relative, limit: limit), as: UTF8.self)
    }

    /// Names in a directory, sorted; a missing directory is an empty list.
    package func list(_ relative: String) throws(ProbeError) -> [String] {
        switch openDirectory(relative) {
        case .success(let fd):
            defer { Platform.closeFile(fd) }
            switch Platform.directoryEntries(fd) {
            case .success(let names): return names.sorted()
            case .failure(let error): throw ProbeError.unreadable(path: display(relative), reason: error.description)
            }
        case .failure(let error) where error.code == ENOENT || (error.code == ENOTDIR && !exists(relative)):
            return []
        case .failure(let error):
            throw ProbeError.unreadable(path: display(relative), reason: error.description)
        }
    }

    // MARK: Handles, for probes that walk or hash many files

    /// The status of `relative`, asked of the path itself when `followLast` is false (a symlink is
    /// then reported as a symlink, not as what it points to).
    package func status(_ relative: String, followLast: Bool = true) -> Result<Platform.FileStatus, FileError> {
        lookup(relative, followLast: followLast).flatMap { fd in
            defer { Platform.closeFile(fd) }
            guard let status = Platform.status(fd: fd) else { return .failure(FileError(code: errno)) }
            return .success(status)
        }
    }

    /// A regular file opened for reading (a final symlink followed inside the root), and its status
    /// when it was opened. Anything else is refused before it is opened: a directory (`EISDIR`), a
    /// FIFO, device or socket (`EINVAL`, "not a regular file"). The caller closes the descriptor.
    package func openFile(_ relative: String) -> Result<(fd: Int32, status: Platform.FileStatus), FileError> {
        let handle: Int32
        switch lookup(relative, followLast: true) {
        case .success(let fd): handle = fd
        case .failure(let error): return .failure(error)
        }
        defer { Platform.closeFile(handle) }
        guard let status = Platform.status(fd: handle) else { return .failure(FileError(code: errno)) }
        guard status.isRegular else {
            return .failure(
                status.isDirectory
                    ? FileError(code: EISDIR, reason: "it is a directory")
                    : FileError(code: EINVAL, reason: "not a regular file"))
        }
        switch Platform.reopenForReading(handle) {
        case .success(let fd):
            return .success((fd, status))
        case .failure(let error) where error.code == ENOSYS:
            // No procfs: the path is opened again, and only the same file is accepted.
            return lookup(relative, followLast: true, forReading: true).flatMap { fd in
                guard let again = Platform.status(fd: fd), again.identity.device == status.identity.device,
                    again.identity.inode == status.identity.inode
                else {
                    Platform.closeFile(fd)
                    return .failure(FileError(code: EAGAIN, reason: "it was replaced while being opened"))
                }
                return .success((fd, again))
            }
        case .failure(let error):
            return .failure(error)
        }
    }

    /// A handle on the directory `relative` (symlinks followed inside the root) for `Platform.statAt`,
    /// `Platform.openEntry` and `Platform.directoryEntries`; `ENOTDIR` when it is something else.
    /// The caller closes it.
    package func openDirectory(_ relative: String) -> Result<Int32, FileError> {
        lookup(relative, followLast: true).flatMap { fd in
            guard let status = Platform.status(fd: fd), status.isDirectory else {
                Platform.closeFile(fd)
                return .failure(FileError(code: ENOTDIR))
            }
            return .success(fd)
        }
    }

    /// A handle on the directory `name` (one name) inside the open directory `parent`, for walking
    /// down a path name by name: when `name` is a symlink, `.` or `..`, the whole path to it,
    /// `path()`, is resolved from the root instead (`fromRoot`), so the walk never leaves the root.
    package func openDirectory(
        named name: UnsafePointer<CChar>, in parent: Int32, path: () -> String
    ) -> Result<(fd: Int32, fromRoot: Bool), FileError> {
        let dots = name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0))
        if !dots {
            switch Platform.openEntry(parent, name, directoryOnly: true) {
            case .success(let fd): return .success((fd, false))
            case .failure(let error) where error.code == ENOTDIR || error.code == ELOOP:
                guard case .success(let status) = Platform.statAt(parent, name, follow: false), status.isSymlink else {
                    return .failure(error)
                }
            case .failure(let error): return .failure(error)
            }
        }
        return openDirectory(path()).map { ($0, true) }
    }
}
