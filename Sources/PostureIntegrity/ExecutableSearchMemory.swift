import PostureProbes

/// What the search for unowned executables keeps for the next scan, in the scan cache: for each
/// directory it walked, under the directory's identity (`FileWalk.ListingMemory`), its
/// subdirectories and the regular files no package owned, under a fingerprint of every owned path
/// (`OwnedPaths.fingerprint`); the other entries (files a package owned, links, devices) are only
/// counted. A rescan opens every directory but lists again only those whose identity changed,
/// and reads the status of only the files no package owned. If the owned paths changed since,
/// what the memory left out may matter now: the walk is then done again without it.
///
/// Layout: version byte, 32-byte fingerprint, then one record per directory, in walk order:
/// parent u32 (1 + the parent's record number, or 0 when the name is the whole path), name (u16
/// length, bytes), identity (5 u64), entries left out u32, entries kept u32, and per kept entry
/// its type byte and name (u16 length, bytes). A subdirectory's record names only itself.
struct ExecutableSearchMemory: Sendable {
    static let key = "unowned-walk"
    static let version: UInt8 = 1

    let fingerprint: [UInt8]
    private let bytes: [UInt8]
    /// Where each record starts.
    private let starts: [Int]
    /// Record numbers by a hash of their whole path (the path itself is compared before a record is used).
    private let numbers: [UInt64: Int]

    /// How many directories it holds.
    var count: Int { starts.count }

    /// The memory in `bytes`; nil when they are not a memory of this version (the walk then lists everything).
    init?(_ bytes: [UInt8]) {
        var starts: [Int] = []
        var numbers: [UInt64: Int] = [:]
        let parsed: [UInt8]? = bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw, start: 0, end: raw.count)
            guard reader.u8() == Self.version, let fingerprint = reader.bytes(32) else { return nil }
            var hashes: [UInt64] = []
            while !reader.atEnd {
                starts.append(reader.offset)
                guard let parent = reader.u32(), parent <= hashes.count, let length = reader.u16(), let name = reader.bytes(Int(length)) else {
                    return nil
                }
                let hash = parent == 0 ? PathHash.of(name) : PathHash.of(name, after: PathHash.of([UInt8(ascii: "/")], after: hashes[Int(parent) - 1]))
                hashes.append(hash)
                numbers[hash] = hashes.count - 1
                guard reader.identity() != nil, reader.u32() != nil, Self.skipEntries(&reader) else { return nil }
            }
            return Array(fingerprint)
        }
        guard let parsed else { return nil }
        self.fingerprint = parsed
        self.bytes = bytes
        self.starts = starts
        self.numbers = numbers
    }

    /// FNV-1a, byte by byte, so a path hashes the same whole or name by name; a collision only
    /// costs a listing (the path is compared).
    enum PathHash {
        static let start: UInt64 = 0xcbf2_9ce4_8422_2325

        static func of(_ bytes: some Sequence<UInt8>, after hash: UInt64 = start) -> UInt64 {
            bytes.reduce(hash) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        }
    }

    /// Moves past a count of entries and the entries.
    private static func skipEntries(_ reader: inout ByteReader) -> Bool {
        guard let count = reader.u32() else { return false }
        for _ in 0..<count {
            guard reader.u8() != nil, let length = reader.u16(), reader.bytes(Int(length)) != nil else { return false }
        }
        return true
    }

    /// Record `number`'s parent field and name.
    func head(_ number: Int) -> (parent: Int, name: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw, start: starts[number], end: raw.count)
            let parent = Int(reader.u32()!)
            let length = Int(reader.u16()!)
            let start = reader.offset
            return (parent, bytes[start..<(start + length)])
        }
    }

    /// Whether record `number` is the directory at `path`.
    private func record(_ number: Int, is path: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        let (parent, name) = head(number)
        guard parent != 0 else { return path.elementsEqual(name) }
        guard path.count > name.count, path.suffix(name.count).elementsEqual(name), path[path.endIndex - name.count - 1] == UInt8(ascii: "/") else {
            return false
        }
        return record(parent - 1, is: path.dropLast(name.count + 1))
    }

    /// The record number of the directory at `path`, when the memory holds it.
    func number(of path: String) -> Int? {
        var path = path
        return path.withUTF8 { utf8 in
            guard let number = numbers[PathHash.of(utf8)], record(number, is: utf8[...]) else { return nil }
            return number
        }
    }

    /// Where record `number`'s identity starts, and where the record ends.
    private func tail(_ number: Int) -> Range<Int> {
        let end = number + 1 < starts.count ? starts[number + 1] : bytes.count
        let name = head(number).name
        return name.endIndex..<end
    }

    /// What `directory` held when it was last walked with exactly this identity: its
    /// subdirectories and the regular files no package owned, and how many entries were left out.
    func listing(of directory: String, identity: FileIdentity) -> (entries: FileWalk.Listing, omitted: Int)? {
        guard let number = number(of: directory) else { return nil }
        let tail = tail(number)
        return bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw, start: tail.lowerBound, end: tail.upperBound)
            guard reader.identity() == identity, let omitted = reader.u32(), let entries = Self.entries(&reader) else { return nil }
            return (entries, Int(omitted))
        }
    }

    /// Decodes a count of entries and the entries.
    private static func entries(_ reader: inout ByteReader) -> FileWalk.Listing? {
        guard let count = reader.u32() else { return nil }
        var entries: FileWalk.Listing = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let code = reader.u8(), let length = reader.u16(), let name = reader.bytes(Int(length)),
                let type = types.indices.contains(Int(code)) ? types[Int(code)] : nil
            else { return nil }
            entries.append((String(decoding: name, as: UTF8.self), type))
        }
        return entries
    }

    private static func append(_ entries: some Collection<(name: String, type: Platform.EntryType)>, to bytes: inout [UInt8]) {
        bytes.appendLE(UInt32(entries.count))
        for (name, type) in entries {
            bytes.append(UInt8(types.firstIndex(of: type) ?? types.count - 1))
            bytes.appendLE(UInt16(name.utf8.count))
            bytes += name.utf8
        }
    }

    /// Entry types by their code in the memory; a listing never holds `.unknown`.
    private static let types: [Platform.EntryType] = [.directory, .regular, .symlink, .other]

    /// What a walk went through, in order, until ownership is known and it becomes the next
    /// memory: each directory listed afresh with its subdirectories and regular files (the rest
    /// only counted), each recalled one by its record in the memory it came from. Held in chunks
    /// of 64 KiB, so that a full walk's 15,000 listings never need one large buffer to grow.
    struct Walked: Sendable {
        /// Per directory: 0, parent u32, name, identity, entries left out u32, entries (a fresh
        /// listing); or 1, parent u32, record number u32 in `recalledFrom`, and the name when
        /// parent is 0. Parent: 1 + the parent's number here, or 0 when the name is the whole path.
        private var chunks: [[UInt8]] = []
        private var current: [UInt8] = []
        /// Bytes held in `chunks`.
        private var held = 0
        private(set) var count = 0
        private(set) var fresh = 0
        /// Set once the listings outgrow `sizeLimit` (a disk with millions of files under its
        /// system directories): nothing more is kept, and no memory is made of this walk (the
        /// scan cache keeps the one it had).
        private(set) var abandoned = false
        /// The directories above the last one added, with their numbers, to find parents.
        private var chain: [(path: String, number: Int)] = []
        let recalledFrom: ExecutableSearchMemory?

        static let chunkSize = 1 << 16
        /// How much of listings it keeps at most: by default far above what a system's walk keeps
        /// (2.5 MB for 15,000 directories), far below the scan cache's limit.
        let sizeLimit: Int

        init(recalledFrom: ExecutableSearchMemory?, sizeLimit: Int = 16 << 20) {
            self.recalledFrom = recalledFrom
            self.sizeLimit = sizeLimit
        }

        /// Adds the directory at `path` (relative to the root): listed afresh (`listing`), or
        /// recalled from `recalledFrom` (nil). Directories come in walk order, parents first.
        mutating func add(_ path: String, identity: FileIdentity, listing: FileWalk.Listing?) {
            guard !abandoned else { return }
            while let last = chain.last, !Self.isInside(path, last.path) { chain.removeLast() }
            let name = Self.lastName(path)
            let parent = chain.last.flatMap { path.utf8.count - $0.path.utf8.count - 1 == name.utf8.count ? $0.number + 1 : nil } ?? 0
            if let listing {
                current.append(0)
                current.appendLE(UInt32(parent))
                Self.appendName(parent == 0 ? Substring(path) : name, to: &current)
                current.append(identity)
                let named = listing.filter { $0.type == .directory || $0.type == .regular }
                current.appendLE(UInt32(listing.count - named.count))
                ExecutableSearchMemory.append(named, to: &current)
                fresh += 1
            } else {
                guard let number = recalledFrom?.number(of: path) else { return }
                current.append(1)
                current.appendLE(UInt32(parent))
                current.appendLE(UInt32(number))
                if parent == 0 { Self.appendName(path, to: &current) }
            }
            guard held + current.count <= sizeLimit else {
                abandoned = true
                chunks = []
                current = []
                return
            }
            if current.count >= Self.chunkSize {
                chunks.append(current)
                held += current.count
                current = []
                current.reserveCapacity(Self.chunkSize + 4096)
            }
            chain.append((path, count))
            count += 1
        }

        private static func lastName(_ path: String) -> Substring {
            path.utf8.lastIndex(of: UInt8(ascii: "/")).map { path[path.utf8.index(after: $0)...] } ?? Substring(path)
        }

        /// Whether `path` lies inside the directory `directory`.
        private static func isInside(_ path: String, _ directory: String) -> Bool {
            let (path, directory) = (path.utf8, directory.utf8)
            guard path.count > directory.count, path.starts(with: directory) else { return false }
            return path[path.index(path.startIndex, offsetBy: directory.count)] == UInt8(ascii: "/")
        }

        private static func appendName(_ name: some StringProtocol, to bytes: inout [UInt8]) {
            bytes.appendLE(UInt16(name.utf8.count))
            bytes += name.utf8
        }

        /// The memory of the walk under `fingerprint`: of each directory listed afresh, the
        /// subdirectories and the regular files `isOwned` does not claim (given the path relative
        /// to the root); each recalled one as its record was, when its memory was made under the
        /// same fingerprint (otherwise it is left out, and listed next time). When every directory
        /// was recalled, that is the memory it came from; nil when the walk was `abandoned`.
        func memory(fingerprint: [UInt8], isOwned: (String) -> Bool) -> [UInt8]? {
            guard !abandoned else { return nil }
            let previous = recalledFrom?.fingerprint == fingerprint ? recalledFrom : nil
            if let previous, fresh == 0, count == previous.count { return previous.bytes }
            var bytes: [UInt8] = [version]
            // At most what the fresh listings take, and the recalled records.
            bytes.reserveCapacity(33 + chunks.reduce(current.count) { $0 + $1.count } + (previous?.bytes.count ?? 0))
            bytes += fingerprint
            // Record numbers in the new memory, by item (an item left out shifts those after it),
            // and the whole paths of the items above the current one.
            var renumbered: [Int?] = []
            renumbered.reserveCapacity(count)
            var above: [(item: Int, path: String)] = []
            var written = 0
            for chunk in chunks + [current] {
                chunk.withUnsafeBytes { raw in
                    var reader = ByteReader(raw, start: 0, end: raw.count)
                    while let tag = reader.u8(), let parentItem = reader.u32().map(Int.init) {
                        while let last = above.last, last.item != parentItem - 1 { above.removeLast() }
                        let parentPath = parentItem == 0 ? nil : above.last?.path
                        let parent = parentItem == 0 ? nil : renumbered[parentItem - 1]
                        let path: String
                        if tag == 0 {
                            let name = String(decoding: reader.bytes(Int(reader.u16()!))!, as: UTF8.self)
                            path = parentPath.map { "\($0)/\(name)" } ?? name
                            let identity = reader.identity()!
                            let others = Int(reader.u32()!)
                            let named = ExecutableSearchMemory.entries(&reader)!
                            let kept = named.filter { $0.type == .directory || !isOwned("\(path)/\($0.name)") }
                            bytes.appendLE(UInt32(parent.map { $0 + 1 } ?? 0))
                            Self.appendName(parent == nil ? Substring(path) : Substring(name), to: &bytes)
                            bytes.append(identity)
                            bytes.appendLE(UInt32(others + named.count - kept.count))
                            ExecutableSearchMemory.append(kept, to: &bytes)
                        } else {
                            let number = Int(reader.u32()!)
                            let whole = parentItem == 0 ? String(decoding: reader.bytes(Int(reader.u16()!))!, as: UTF8.self) : nil
                            let recordName = recalledFrom.map { String(decoding: $0.head(number).name, as: UTF8.self) } ?? ""
                            let name = whole ?? String(Self.lastName(recordName))
                            path = parentPath.map { "\($0)/\(name)" } ?? name
                            guard let previous else {
                                renumbered.append(nil)
                                above.append((renumbered.count - 1, path))
                                continue
                            }
                            bytes.appendLE(UInt32(parent.map { $0 + 1 } ?? 0))
                            Self.appendName(parent == nil ? Substring(path) : Substring(name), to: &bytes)
                            bytes += previous.bytes[previous.tail(number)]
                        }
                        renumbered.append(written)
                        written += 1
                        above.append((renumbered.count - 1, path))
                    }
                }
            }
            return bytes
        }
    }
}
