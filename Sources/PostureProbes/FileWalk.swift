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

    /// A directory's listing: each entry's name and type.
    package typealias Listing = [(name: String, type: Platform.EntryType)]

    /// Listings a walk takes from its last run instead of reading them again, and hands over for
    /// the next. A directory's listing is recalled only under the directory's identity (device,
    /// inode, size, mtime, ctime): adding, removing or renaming an entry changes the directory's
    /// mtime and ctime, so an unchanged identity means an unchanged listing. Only listings of
    /// directories settled when they were read (`FileIdentity.isSettled`) are handed over.
    package struct ListingMemory {
        /// What `directory` (relative to the root) held when last seen with exactly this identity:
        /// the entries the walk is to visit (types resolved), and how many others the memory left
        /// out (counted against the walk's cap); nil lists the directory.
        package var recall: (_ directory: String, _ identity: FileIdentity) -> (entries: Listing, omitted: Int)?
        /// A directory the walk went through, with its identity, and its listing (types resolved)
        /// when it was read afresh, nil when it was recalled.
        package var walked: (_ directory: String, _ identity: FileIdentity, _ listing: Listing?) -> Void

        package init(
            recall: @escaping (String, FileIdentity) -> (entries: Listing, omitted: Int)?,
            walked: @escaping (String, FileIdentity, Listing?) -> Void
        ) {
            self.recall = recall
            self.walked = walked
        }
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
    /// entries come in the order the file system lists them (which the cap then follows). With a
    /// `memory`, a directory whose identity is unchanged since it was last listed is opened (so
    /// its entries' status can be read inside it) but not listed again.
    @discardableResult
    package static func visitEntries(
        root: ScanRoot, _ path: String, maxDepth: Int, maxEntries: Int, sorted: Bool = true, memory: ListingMemory? = nil,
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
        func stop() {
            if !capped { problems.append("stopped after \(maxEntries) entries under \(root.display(path))") }
            capped = true
        }
        func visit(_ entries: Listing, in directory: Int32, _ relative: String, depth: Int) {
            for (name, type) in entries {
                guard budget > 0 else { return stop() }
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
        func walk(_ directory: Int32, _ relative: String, depth: Int) {
            let identity = memory.flatMap { _ in Platform.status(fd: directory)?.identity }
            if let memory, let identity, let recalled = memory.recall(relative, identity) {
                defer { Platform.closeFile(directory) }
                memory.walked(relative, identity, nil)
                guard recalled.omitted <= budget else {
                    budget = 0
                    return stop()
                }
                budget -= recalled.omitted
                let entries = recalled.entries
                visit(sorted ? entries.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) } : entries, in: directory, relative, depth: depth)
                return
            }
            Platform.withEntries(ofListable: directory) { listed in
                let found: [(name: String, type: Platform.EntryType)]
                switch listed {
                case .success(let entries): found = sorted ? entries.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) } : entries
                case .failure(let error):
                    problems.append("\(root.display(relative)): \(error)")
                    return
                }
                var entries: Listing = []
                entries.reserveCapacity(found.count)
                var complete = true, truncated = false
                for (name, listedType) in found {
                    // No more types are read (a status each, where the file system leaves them unknown) than the cap lets the walk visit.
                    guard entries.count < budget else {
                        complete = false
                        truncated = true
                        break
                    }
                    switch Self.type(of: name, in: directory, listed: listedType) {
                    case .success(let known): entries.append((name, known))
                    case .failure(let error):
                        complete = false
                        if !error.isNotFound { problems.append("\(root.display("\(relative)/\(name)")): \(error)") }
                    }
                }
                if let memory, let identity, complete, identity.isSettled() { memory.walked(relative, identity, entries) }
                visit(entries, in: directory, relative, depth: depth)
                if truncated { stop() }
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
