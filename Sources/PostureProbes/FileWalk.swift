import Foundation

/// A bounded walk of a directory tree inside a root. The starting path resolves inside the root;
/// below it no symlink is followed: each entry's status is that of the entry itself, and each
/// directory is opened inside its parent's handle, so nothing swapped in during the walk leads
/// elsewhere.
package enum FileWalk {
    /// Calls `body` with each path (relative to the root, the start included) and its status, in
    /// sorted order, depth first, at most `maxEntries` times; directories deeper than `maxDepth`
    /// below the start are not entered.
    ///
    /// - Returns: why the walk did not see everything below the start (a directory it could not
    ///   open or list, the entry cap reached); empty when it saw it all, or when the start does
    ///   not exist (there is nothing to see).
    @discardableResult
    package static func visit(
        root: ScanRoot, _ path: String, maxDepth: Int, maxEntries: Int,
        _ body: (String, Platform.FileStatus) -> Void
    ) -> [String] {
        var problems: [String] = []
        let start: Platform.FileStatus
        switch root.status(path) {
        case .success(let status): start = status
        case .failure(let error):
            if !error.isNotFound { problems.append("\(root.display(path)): \(error)") }
            return problems
        }
        guard maxEntries > 0 else { return ["\(root.display(path)): not searched (no entries allowed)"] }
        var budget = maxEntries - 1
        var capped = false
        body(path, start)
        guard start.isDirectory, maxDepth > 0 else { return problems }
        let fd: Int32
        switch root.openDirectory(path) {
        case .success(let opened): fd = opened
        case .failure(let error): return ["\(root.display(path)): \(error)"]
        }
        func walk(_ directory: Int32, _ relative: String, depth: Int) {
            defer { Platform.closeFile(directory) }
            let names: [String]
            switch Platform.directoryEntries(directory) {
            case .success(let listed): names = listed.sorted()
            case .failure(let error):
                problems.append("\(root.display(relative)): \(error)")
                return
            }
            for name in names {
                guard budget > 0 else {
                    if !capped { problems.append("stopped after \(maxEntries) entries under \(root.display(path))") }
                    capped = true
                    return
                }
                let child = "\(relative)/\(name)"
                let status: Platform.FileStatus
                switch Platform.statAt(directory, name, follow: false) {
                case .success(let value): status = value
                case .failure(let error):
                    if !error.isNotFound { problems.append("\(root.display(child)): \(error)") }
                    continue
                }
                budget -= 1
                body(child, status)
                guard status.isDirectory, depth + 1 < maxDepth else { continue }
                switch Platform.openEntry(directory, name, directoryOnly: true) {
                case .success(let fd): walk(fd, child, depth: depth + 1)
                case .failure(let error):
                    if !error.isNotFound { problems.append("\(root.display(child)): \(error)") }
                }
            }
        }
        walk(fd, path, depth: 0)
        return problems
    }
}
