import Foundation
import Synchronization

/// Users' homes inside the scan root, registered by `HomeDirectories.all`. Paths under a home are
/// read only as far as its owner could read them: no symlink is followed there (a link to a
/// root-only file or to `/root` is refused, `ELOOP`), `..` is refused, and a file or directory
/// must be the owner's or readable by everyone. So no user can make the root agent read for them.
final class HomeGuard: Sendable {
    struct Home: Sendable {
        /// The home's canonical path relative to the root (`home/alice`).
        var canonical: String
        var owner: UInt32
    }

    private let homes = Mutex<[[Substring]: Home]>([:])

    /// Guards `relative` (a home's path as found) for its owner; root's own home is not guarded.
    func register(_ relative: String, _ home: Home) {
        guard home.owner != 0 else { return }
        let key = Self.components(relative)
        homes.withLock { $0[key] = home }
    }

    /// The home `relative` lies under, and the names below it; nil outside every guarded home.
    func match(_ relative: String) -> (home: Home, rest: [Substring])? {
        let names = Self.components(relative)
        return homes.withLock { homes in
            for (prefix, home) in homes where names.count > prefix.count && names.starts(with: prefix) {
                return (home, Array(names.dropFirst(prefix.count)))
            }
            return nil
        }
    }

    static func components(_ path: String) -> [Substring] {
        path.split(separator: "/").filter { $0 != "." }
    }
}

extension ScanRoot {
    /// Opens `relative` as `RootDirectory.open` does, under the rules of `HomeGuard` when it lies in a user's home.
    func lookup(_ relative: String, followLast: Bool, forReading: Bool = false) -> Result<Int32, FileError> {
        guard let (home, rest) = homes.match(relative) else {
            return directory.open(relative, followLast: followLast, forReading: forReading)
        }
        if rest.contains("..") { return .failure(FileError(code: EACCES, reason: "'..' under a user's home is not followed")) }
        let path = home.canonical + "/" + rest.joined(separator: "/")
        let opened = directory.open(path, followLast: followLast, forReading: forReading, noSymlinks: true)
        switch opened {
        case .failure(let error) where error.code == ELOOP:
            return .failure(FileError(code: ELOOP, reason: "a symlink in a user's home, not followed (it could point where the user may not read)"))
        case .failure:
            return opened
        case .success(let fd):
            guard let status = Platform.status(fd: fd) else {
                let error = FileError(code: errno)
                Platform.closeFile(fd)
                return .failure(error)
            }
            if status.isSymlink || status.owner == home.owner || status.mode & 0o004 != 0 { return .success(fd) }
            Platform.closeFile(fd)
            return .failure(
                FileError(
                    code: EACCES,
                    reason:
                        "owned by uid \(status.owner), not by the home's owner (uid \(home.owner)), and not readable by others: not read with more rights than the user has"
                ))
        }
    }
}
