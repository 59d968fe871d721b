import Foundation

/// A bounded walk of a directory tree inside a root. The starting path resolves inside the root;
/// below it no symlink is followed: each entry's status is that of the entry itself, and each
/// directory is opened inside its parent's handle, so nothing swapped in during the walk leads
/// elsewhere.
enum FileWalk {
    /// Calls `body` with each path (relative to the root, the start included) and its status, in
    /// sorted order, depth first, at most `maxEntries` times; directories deeper than `maxDepth`
    /// below the start are not entered.
    static func visit(root: ScanRoot, _ path: String, maxDepth: Int, maxEntries: Int,
                      _ body: (String, Platform.FileStatus) -> Void) {
        guard maxEntries > 0, case .success(let start) = root.status(path) else { return }
        var budget = maxEntries - 1
        body(path, start)
        guard start.isDirectory, maxDepth > 0, case .success(let fd) = root.openDirectory(path) else { return }
        func walk(_ directory: Int32, _ relative: String, depth: Int) {
            defer { Platform.closeFile(directory) }
            guard case .success(let names) = Platform.directoryEntries(directory) else { return }
            for name in names.sorted() {
                guard budget > 0 else { return }
                guard case .success(let status) = Platform.statAt(directory, name, follow: false) else { continue }
                budget -= 1
                let child = "\(relative)/\(name)"
                body(child, status)
                guard status.isDirectory, depth + 1 < maxDepth,
                      case .success(let fd) = Platform.openEntry(directory, name, directoryOnly: true) else { continue }
                walk(fd, child, depth: depth + 1)
            }
        }
        walk(fd, path, depth: 0)
    }
}
