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
    /// - Parameter listings: where each directory's names are kept under its path and the
    ///   identity of the handle opened to list it (device, inode, size, mtime, ctime: adding,
    ///   removing or renaming an entry changes the last two), and reused while it is the same.
    ///   Every entry's own status is read each time: `chmod` changes no directory.
    /// - Returns: why the walk did not see everything below the start (a directory it could not
    ///   open or list, the entry cap reached); empty when it saw it all, or when the start does
    ///   not exist (there is nothing to see).
    @discardableResult
    package static func visit(
        root: ScanRoot, _ path: String, maxDepth: Int, maxEntries: Int, listings: ScanCache? = nil,
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
            switch sortedNames(directory, relative, listings) {
            case .success(let listed): names = listed
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

    /// The sorted names in an open directory, from `listings` while the directory's identity is
    /// the one they were kept under.
    static func sortedNames(_ directory: Int32, _ path: String, _ listings: ScanCache?) -> Result<[String], FileError> {
        guard let listings, let identity = Platform.status(fd: directory)?.identity, identity.isSettled() else {
            return Platform.directoryEntries(directory).map { $0.sorted() }
        }
        let key = "listing\u{0}\(path)\u{0}\(identity.key)"
        if let stored = listings.value(key), let names = Listing.decode(stored) { return .success(names) }
        return Platform.directoryEntries(directory).map { names in
            let sorted = names.sorted()
            listings.store(key, Listing.encode(sorted))
            return sorted
        }
    }

    /// A directory's names as the scan cache keeps them: each followed by a NUL byte, which no
    /// name holds.
    enum Listing {
        static func encode(_ names: [String]) -> [UInt8] {
            var bytes: [UInt8] = []
            for name in names {
                bytes += name.utf8
                bytes.append(0)
            }
            return bytes
        }

        /// nil unless every name is a valid one: not empty, `.` or `..`, without `/`, NUL-ended.
        static func decode(_ bytes: [UInt8]) -> [String]? {
            guard bytes.last.map({ $0 == 0 }) ?? true else { return nil }
            var names: [String] = []
            for field in bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast() {
                guard !field.isEmpty, !field.contains(UInt8(ascii: "/")), let name = String(validating: field, as: UTF8.self),
                    name != ".", name != ".."
                else { return nil }
                names.append(name)
            }
            return names
        }
    }
}
