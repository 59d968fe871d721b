import Foundation

/// The scan root's directory, held open: every path inside the root is looked up beneath it, so
/// the kernel, not string handling, keeps each lookup inside the root, even while the root's
/// contents change under the scan (a directory swapped for a symlink to the host).
///
/// The kernel does it with `openat2(2)` and `RESOLVE_IN_ROOT` (Linux 5.6). Where that is missing
/// or filtered (seccomp), paths are walked one name at a time with `O_NOFOLLOW`, a symlink being
/// read and its target walked again from the root handle, as systemd's `chase()` does.
final class RootDirectory: Sendable {
    /// Who resolves paths beneath the root.
    enum Resolution: Sendable {
        /// `openat2` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`.
        case kernel
        /// One `openat(…, O_NOFOLLOW)` per name, symlinks resolved here.
        case userspace
    }

    let fd: Int32
    let resolution: Resolution
    /// The most symlinks one lookup follows, as the kernel (`ELOOP` beyond).
    static let maxLinks = 40

    /// Opens the host directory `path`; `resolution` nil picks the kernel where it answers.
    init(path: String, resolution: Resolution?) throws(FileError) {
        switch Platform.openDirectory(path) {
        case .success(let fd): self.fd = fd
        case .failure(let error): throw error
        }
        if let resolution {
            self.resolution = resolution
        } else {
            switch Platform.openBeneath(fd, ".", followLast: true) {
            case .success(let probe):
                Platform.closeFile(probe)
                self.resolution = .kernel
            case .failure(let error) where error.code == ENOSYS || error.code == EPERM:
                self.resolution = .userspace
            case .failure:
                self.resolution = .kernel
            }
        }
    }

    deinit { Platform.closeFile(fd) }

    /// An `O_PATH` handle on `path` (relative to the root; a leading `/` is the root), a final
    /// symlink followed unless `followLast` is false. The caller closes it.
    ///
    /// Every lookup inside the root passes here, so this is where reading with another user's
    /// rights, or under a deadline, belongs. `forReading` opens the file for reading instead of
    /// as a handle: only for where procfs cannot reopen a handle that was checked first.
    /// `noSymlinks` refuses any symlink on the way (`ELOOP`), a final one too unless `followLast`
    /// is false (then the handle is on the link itself).
    func open(_ path: String, followLast: Bool, forReading: Bool = false, noSymlinks: Bool = false) -> Result<Int32, FileError> {
        if resolution == .kernel {
            let opened = (path.isEmpty ? "." : path).withCString {
                Platform.openBeneath(fd, $0, followLast: followLast, forReading: forReading, noSymlinks: noSymlinks)
            }
            guard case .failure(let error) = opened, error.code == ENOSYS || error.code == EPERM else { return opened }
        }
        return chase(path, followLast: followLast, forReading: forReading, noSymlinks: noSymlinks).map(\.fd)
    }

    /// The canonical path of `path` inside the root (`/usr/bin/ls` for `bin/ls` on a merged-/usr
    /// system), or nil when it does not resolve.
    func canonical(_ path: String) -> String? {
        guard case .success(let found) = chase(path, followLast: true) else { return nil }
        Platform.closeFile(found.fd)
        return "/" + found.names.joined(separator: "/")
    }

    /// Walks `path` from the root one name at a time, never letting the kernel follow a symlink:
    /// a symlink's target is walked in its place, from the root when it is absolute, and `..`
    /// never climbs above the root. Returns a handle on what it names and its canonical names.
    private func chase(
        _ path: String, followLast: Bool, forReading: Bool = false,
        noSymlinks: Bool = false
    ) -> Result<(fd: Int32, names: [String]), FileError> {
        var fds: [Int32] = []  // the open directories below the root, deepest last
        var names: [String] = []
        func unwind(to depth: Int) {
            while fds.count > depth {
                Platform.closeFile(fds.removeLast())
                names.removeLast()
            }
        }
        var pending = path.split(separator: "/").reversed().map(String.init)
        var links = 0
        while let name = pending.popLast() {
            if name == "." { continue }
            if name == ".." {
                unwind(to: max(fds.count - 1, 0))
                continue
            }
            let entry: Int32
            switch name.withCString({ Platform.openEntry(fds.last ?? fd, $0, directoryOnly: false) }) {
            case .success(let opened): entry = opened
            case .failure(let error):
                unwind(to: 0)
                return .failure(error)
            }
            guard let status = Platform.status(fd: entry) else {
                let error = FileError(code: errno)
                Platform.closeFile(entry)
                unwind(to: 0)
                return .failure(error)
            }
            if status.isSymlink && (!pending.isEmpty || followLast) {
                if noSymlinks {
                    Platform.closeFile(entry)
                    unwind(to: 0)
                    return .failure(FileError(code: ELOOP))
                }
                let target = Platform.linkTarget(entry)
                Platform.closeFile(entry)
                links += 1
                guard links <= Self.maxLinks, case .success(let target) = target, !target.isEmpty else {
                    unwind(to: 0)
                    return .failure(links > Self.maxLinks ? FileError(code: ELOOP) : target.failure ?? FileError(code: ENOENT))
                }
                if target.hasPrefix("/") { unwind(to: 0) }
                pending.append(contentsOf: target.split(separator: "/").reversed().map(String.init))
                continue
            }
            if !pending.isEmpty && !status.isDirectory {
                Platform.closeFile(entry)
                unwind(to: 0)
                return .failure(FileError(code: ENOTDIR))
            }
            fds.append(entry)
            names.append(name)
        }
        guard var last = fds.popLast() else {
            return forReading ? .failure(FileError(code: EISDIR)) : Platform.openEntry(fd, ".", directoryOnly: true).map { ($0, []) }
        }
        defer { for fd in fds { Platform.closeFile(fd) } }
        if forReading {
            Platform.closeFile(last)
            switch names[names.count - 1].withCString({ Platform.openEntryForReading(fds.last ?? fd, $0) }) {
            case .success(let opened): last = opened
            case .failure(let error): return .failure(error)
            }
        }
        return .success((last, names))
    }
}

extension Result {
    /// The error of a failure, nil on success.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
