#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// The system calls the state directory and the journal make: every `#if canImport` of this
// module lives here.
enum Platform {
    /// What `lstat` says of a path: its kind, owner and permission bits; nil with `errno` set.
    struct LinkStatus {
        var isDirectory: Bool
        var isRegular: Bool
        var owner: uid_t
        /// The permission bits (`0o7777`).
        var mode: Int
    }

    static func linkStatus(_ path: String) -> LinkStatus? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return LinkStatus(
            isDirectory: status.st_mode & S_IFMT == S_IFDIR, isRegular: status.st_mode & S_IFMT == S_IFREG,
            owner: status.st_uid, mode: Int(status.st_mode & 0o7777))
    }

    static var effectiveUser: uid_t { geteuid() }

    static var lastError: Int32 { errno }

    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// Opens (creating it 0600) a file that must not be a symlink; -1 with `errno` set.
    static func openPrivate(_ path: String) -> Int32 {
        open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
    }

    /// Takes an exclusive `flock`, waiting for it; released when the descriptor is closed.
    static func lockExclusive(_ fd: Int32) {
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
    }

    /// Removes group and other permissions from an open file that has any.
    static func restrictToOwner(_ fd: Int32) {
        var status = stat()
        if fstat(fd, &status) == 0, status.st_mode & 0o077 != 0 { _ = fchmod(fd, 0o600) }
    }

    static func closeFile(_ fd: Int32) { _ = close(fd) }

    /// Whether the file system holding `directory` has no block (or no inode) left for this user.
    static func isFull(_ directory: String) -> Bool {
        var fs = statvfs()
        guard statvfs(directory, &fs) == 0 else { return false }
        return (geteuid() == 0 ? fs.f_bfree : fs.f_bavail) == 0 || fs.f_favail == 0
    }
}
