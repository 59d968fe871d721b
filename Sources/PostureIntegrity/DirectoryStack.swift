import Foundation
import PostureProbes

/// `lstat` of the paths packages list, through a stack of open directories: consecutive paths
/// share their open parents (dpkg's lists are in directory order), so checking a path costs one
/// lookup of its last name instead of a walk of the whole path, and a directory that is listed
/// before its contents is proven to exist by opening it for them.
///
/// Each directory is opened inside its parent without following a symlink; a symlink (`bin` on a
/// merged-/usr system), `.` or `..` is resolved from the root instead (`ScanRoot.openDirectory`),
/// so no path leads out of the root. Paths are absolute inside the root and NUL-terminated.
///
/// The stack also knows each open directory's canonical path (a name opened in its parent is
/// not a symlink; one resolved from the root is resolved once), which is what owned paths are
/// compared by.
struct DirectoryStack {
    let root: ScanRoot
    /// `names[i]` is the directory open at depth `i + 1`; `fds[0]` is the root.
    private var names: [[CChar]] = []
    private var fds: [Int32] = []
    /// `canonical[i]` is the canonical path of `fds[i]` ("" for the root).
    private var canonical: [String] = []
    private var scratch: [CChar] = []
    /// The directory part of the last path opened, and its depth (-1: none): consecutive paths of
    /// one directory are answered without comparing each name.
    private var lastDirectory: [CChar] = []
    private var lastDepth = -1

    init(root: ScanRoot) { self.root = root }

    /// `lstat` of the path of `length` bytes at `path`.
    mutating func lstat(_ path: UnsafePointer<CChar>, _ length: Int) -> Result<Platform.FileStatus, FileError> {
        var slash = length - 1
        while slash >= 0, path[slash] != 0x2F { slash -= 1 }
        let name = path + (slash + 1)
        // `..` would be looked up above the directory, `.` is the directory itself: both from the root.
        if name[0] == 0 || (name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0))) {
            return root.status(String(decoding: UnsafeRawBufferPointer(start: path, count: length), as: UTF8.self), followLast: false)
        }
        switch descend(path, max(slash, 0)) {
        case .success(let depth): return Platform.statAt(fds[depth], name, follow: false)
        case .failure(let error): return .failure(error)
        }
    }

    /// `stat` of the path (a final symlink followed, inside the root).
    mutating func stat(_ path: UnsafePointer<CChar>, _ length: Int) -> Result<Platform.FileStatus, FileError> {
        root.status(String(decoding: UnsafeRawBufferPointer(start: path, count: length), as: UTF8.self))
    }

    /// Whether the path is a directory or a link to one. False also when it cannot be told: ask `lstat` then.
    mutating func isDirectory(_ path: UnsafePointer<CChar>, _ length: Int) -> Bool {
        if case .success = descend(path, length) { return true }
        return false
    }

    /// The owned-path digest (`OwnedPaths.digest`) of the path of `length` bytes with its directory
    /// in canonical form (as `ScanRoot.canonical` gives it), made from the bytes without a string;
    /// nil when the directory cannot be opened.
    mutating func canonicalDigest(_ path: UnsafePointer<CChar>, _ length: Int) -> OwnedPaths.Digest? {
        var slash = length - 1
        while slash >= 0, path[slash] != 0x2F { slash -= 1 }
        guard slash >= 0 else { return nil }
        let name = UnsafeRawBufferPointer(start: path + slash, count: length - slash)
        guard slash > 0 else { return OwnedPaths.digest(name) }
        guard case .success(let depth) = descend(path, slash) else { return nil }
        var directory = canonical[depth]
        return directory.withUTF8 { OwnedPaths.digest(prefix: UnsafeRawBufferPointer($0), name) }
    }

    /// Opens the directories of the first `length` bytes of `path`, keeping those already open;
    /// the depth of the last one (its handle is `fds[depth]`).
    private mutating func descend(_ path: UnsafePointer<CChar>, _ length: Int) -> Result<Int, FileError> {
        if lastDepth >= 0, lastDepth < fds.count, length == lastDirectory.count, memcmp(lastDirectory, path, length) == 0 {
            return .success(lastDepth)
        }
        lastDepth = -1
        if fds.isEmpty {
            switch root.openDirectory("") {
            case .success(let fd):
                fds.append(fd)
                canonical.append("")
            case .failure(let error): return .failure(error)
            }
        }
        var depth = 0
        var start = 0
        while start < length {
            if path[start] == 0x2F {
                start += 1
                continue
            }
            var end = start
            while end < length, path[end] != 0x2F { end += 1 }
            let component = UnsafeBufferPointer(start: path + start, count: end - start)
            depth += 1
            if depth < fds.count, names[depth - 1].elementsEqual(component) {
                start = end
                continue
            }
            while fds.count > depth {
                Platform.closeFile(fds.removeLast())
                names.removeLast()
                canonical.removeLast()
            }
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: component)
            scratch.append(0)
            let whole = { String(decoding: UnsafeRawBufferPointer(start: path, count: end), as: UTF8.self) }
            switch root.openDirectory(named: scratch, in: fds[depth - 1], path: whole) {
            case .success(let opened):
                fds.append(opened.fd)
                names.append(Array(component))
                canonical.append(
                    opened.fromRoot
                        ? root.canonical(whole()) ?? whole()
                        : canonical[depth - 1] + "/" + String(decoding: UnsafeRawBufferPointer(start: path + start, count: end - start), as: UTF8.self))
            case .failure(let error):
                return .failure(error)
            }
            start = end
        }
        lastDirectory.removeAll(keepingCapacity: true)
        lastDirectory.append(contentsOf: UnsafeBufferPointer(start: path, count: length))
        lastDepth = depth
        return .success(depth)
    }

    /// Closes every open directory; the stack can be used again afterwards.
    mutating func close() {
        for fd in fds { Platform.closeFile(fd) }
        fds.removeAll()
        lastDepth = -1
        names.removeAll()
        canonical.removeAll()
    }

    /// Whether `child` (of `childLength` bytes) lies inside the directory `parent`.
    static func contains(_ parent: UnsafePointer<CChar>, _ parentLength: Int, _ child: UnsafePointer<CChar>, _ childLength: Int) -> Bool {
        guard childLength > parentLength + 1, child[parentLength] == 0x2F else { return false }
        return memcmp(parent, child, parentLength) == 0
    }
}
