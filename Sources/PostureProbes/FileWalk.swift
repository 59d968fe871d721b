import Foundation

/// A bounded walk of a directory tree inside a root. The starting path resolves inside the root;
/// below it no symlink is followed: each entry's status is that of the entry itself, and each
/// directory is opened inside its parent's handle, so nothing swapped in during the walk leads
/// elsewhere.
package enum FileWalk {
    /// An entry below a walk's start, as its directory's listing describes it.
    package struct Entry {
        /// The directory that holds the entry, relative to the root, and the entry's name there.
        package let parent: String
        package let name: String
        /// What the listing says it is; never `.unknown` (the walk then reads the status itself).
        package let type: Platform.EntryType
        /// The open directory that holds the entry, valid only during the call.
        let directory: Int32

        /// Relative to the root.
        package var path: String { "\(parent)/\(name)" }

        /// The entry's own status (a symlink's, not its target's).
        package func status() -> Result<Platform.FileStatus, FileError> { Platform.statAt(directory, name, follow: false) }
    }

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
        var unreadable: [String] = []
        let problems = visitEntries(root: root, path, maxDepth: maxDepth, maxEntries: maxEntries, start: { body(path, $0) }) { entry in
            switch entry.status() {
            case .success(let status): body(entry.path, status)
            case .failure(let error) where !error.isNotFound: unreadable.append("\(root.display(entry.path)): \(error)")
            case .failure: break
            }
        }
        return problems + unreadable
    }

    /// The same walk, reading no status but what the listings leave unknown: `body` gets each entry
    /// below the start with the type its directory's listing gives, and reads its status only when
    /// it needs it. `start` gets the status of the start itself. Unless `sorted`, each directory's
    /// entries come in the order the file system lists them (which the cap then follows).
    @discardableResult
    package static func visitEntries(
        root: ScanRoot, _ path: String, maxDepth: Int, maxEntries: Int, sorted: Bool = true,
        start: (Platform.FileStatus) -> Void = { _ in }, _ body: (Entry) -> Void
    ) -> [String] {
        var problems: [String] = []
        let startStatus: Platform.FileStatus
        switch root.status(path) {
        case .success(let status): startStatus = status
        case .failure(let error):
            if !error.isNotFound { problems.append("\(root.display(path)): \(error)") }
            return problems
        }
        guard maxEntries > 0 else { return ["\(root.display(path)): not searched (no entries allowed)"] }
        var budget = maxEntries - 1
        var capped = false
        start(startStatus)
        guard startStatus.isDirectory, maxDepth > 0 else { return problems }
        let fd: Int32
        switch root.openDirectory(path).flatMap({ handle in
            defer { Platform.closeFile(handle) }
            return Platform.reopenDirectoryForListing(handle)
        }) {
        case .success(let opened): fd = opened
        case .failure(let error): return ["\(root.display(path)): \(error)"]
        }
        func walk(_ directory: Int32, _ relative: String, depth: Int) {
            Platform.withEntries(ofListable: directory) { listed in
                let entries: [(name: String, type: Platform.EntryType)]
                switch listed {
                case .success(let found): entries = sorted ? found.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) } : found
                case .failure(let error):
                    problems.append("\(root.display(relative)): \(error)")
                    return
                }
                for (name, listedType) in entries {
                    guard budget > 0 else {
                        if !capped { problems.append("stopped after \(maxEntries) entries under \(root.display(path))") }
                        capped = true
                        return
                    }
                    let type: Platform.EntryType
                    switch Self.type(of: name, in: directory, listed: listedType) {
                    case .success(let known): type = known
                    case .failure(let error):
                        if !error.isNotFound { problems.append("\(root.display("\(relative)/\(name)")): \(error)") }
                        continue
                    }
                    budget -= 1
                    let entry = Entry(parent: relative, name: name, type: type, directory: directory)
                    body(entry)
                    guard type == .directory, depth + 1 < maxDepth else { continue }
                    switch Platform.openDirectoryForListing(directory, name) {
                    case .success(let opened): walk(opened, entry.path, depth: depth + 1)
                    case .failure(let error):
                        if !error.isNotFound { problems.append("\(root.display(entry.path)): \(error)") }
                    }
                }
            }
        }
        walk(fd, path, depth: 0)
        return problems
    }

    /// The type of `name` in the open `directory`: the one its listing gave, or, where the file
    /// system left it unknown, the one its own status gives (a symlink is a symlink).
    static func type(of name: String, in directory: Int32, listed: Platform.EntryType) -> Result<Platform.EntryType, FileError> {
        guard listed == .unknown else { return .success(listed) }
        return Platform.statAt(directory, name, follow: false).map { status in
            status.isDirectory ? .directory : status.isRegular ? .regular : status.isSymlink ? .symlink : .other
        }
    }
}
