import Crypto
import Foundation

/// What a verification recorded about one listed path, so the next run can check it from the
/// cache: the expected MD5, and the digest the file had in a given state (device, inode, size,
/// mtime, ctime).
struct CachedDigest: Sendable, Equatable {
    var identity: FileIdentity
    var expected: MD5Digest
    var actual: MD5Digest
}

/// The checks of the last verification, package by package, valid only while the package's
/// database entry is provably unchanged (same status stanza, same `.list` and `.md5sums` files,
/// same diversions) and, per file, while the file is provably unchanged (same identity).
///
/// An unchanged package is checked straight from its stored records, in `.list` order, without
/// reading its lists; a changed one is re-read and every file of it re-hashed. The file is a
/// sequence of sections sealed with HMAC-SHA256 (key in `integrity-cache.key`, 0600); a cache
/// that fails the seal (tampered, truncated, another key) or was made for another root is
/// discarded and everything is re-hashed.
///
/// Layout (little-endian): magic, last full run (seconds), SHA-256 of the diversions file, key
/// of the root path; then sections `kind u8, 3 zero bytes, payload length u32, payload`:
/// - chunk: package key u64, sequence u32, entry count u32, entries;
/// - package: package key u64, stanza digest (16), `.list` and `.md5sums` identities (40 each,
///   zero when absent), flags u8 (1 list, 2 md5sums), 3 zero bytes, chunk count u32, count u32 of
///   the hashes it records for diverted-to paths, each `u16 length, path, digest (16)`;
/// - diverted: entry count u32, entries of the diverted files (resolved against other packages).
///
/// An entry is `u16 path length, u8 flags, path, NUL`, then the expected MD5 (16) when it has
/// one, then identity (40) and actual MD5 (16) when it was hashed.
struct IntegrityCache: Sendable {
    static let fileName = "integrity-cache.bin"
    static let keyName = "integrity-cache.key"
    static let magic = Array("POSTURE-IC3\n".utf8)
    static let headerSize = magic.count + 8 + 32 + 8
    static let sealSize = 32

    enum SectionKind: UInt8 {
        case chunk = 1, package = 2, diverted = 3
    }

    /// One run of a package's entries, as stored.
    struct Chunk: Sendable {
        var sequence: Int
        var count: Int
        /// Where the entries are in `storage`.
        var entries: Range<Int>
        /// The whole section (header included), for copying it unchanged.
        var section: Range<Int>
    }

    /// A package as the last verification saw its database entry.
    struct Package: Sendable {
        var stanza: [UInt8]
        var list: FileIdentity?
        var md5sums: FileIdentity?
        var chunks: [Chunk]
        var divertedHashes: [String: MD5Digest]
        var section: Range<Int>
    }

    /// The cache file as read (sealed, so its contents are ours).
    let storage: [UInt8]
    let packages: [UInt64: Package]
    /// The last results for diverted files, by path, and where their section is.
    let diverted: [String: CachedDigest]
    let divertedSection: Range<Int>
    /// When every file was last hashed in full.
    let lastFullRun: Date
    let diversionsDigest: [UInt8]

    /// FNV-1a over bytes: the key of paths (without their leading slash), packages and roots.
    static func key(bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    static func key(path: String) -> UInt64 { key(bytes: path.utf8.drop { $0 == 0x2F }) }

    static func key(package: DpkgDatabase.Package) -> UInt64 { key(bytes: "\(package.name):\(package.architecture)".utf8) }

    /// The part of a package's status stanza that verification depends on, digested.
    static func stanzaDigest(_ package: DpkgDatabase.Package) -> [UInt8] {
        var bytes: [UInt8] = []
        for field in [package.name, package.architecture, package.version, package.state] {
            bytes += field.utf8
            bytes.append(0)
        }
        for conffile in package.conffiles {
            bytes += "\(conffile.path)\u{0}\(conffile.md5)\u{0}\(conffile.obsolete ? 1 : 0)\u{0}".utf8
        }
        return Array(SHA256.hash(data: bytes).prefix(16))
    }

    /// The cache in `directory`, or why it cannot be used.
    enum LoadOutcome {
        case loaded(IntegrityCache)
        case absent
        case rejected(String)
    }

    static func load(directory: String, root: ScanRoot) -> LoadOutcome {
        let path = "\(directory)/\(fileName)"
        guard Platform.lstatus(path) != nil else { return .absent }
        guard let key = try? loadKey(directory: directory, create: false) else { return .rejected("its key is missing") }
        guard let bytes = try? Platform.readFile(path) else { return .rejected("it cannot be read") }
        guard bytes.count >= headerSize + sealSize else { return .rejected("it is truncated") }
        let valid = bytes.withUnsafeBytes { raw in
            HMAC<SHA256>.isValidAuthenticationCode(UnsafeRawBufferPointer(rebasing: raw[(raw.count - sealSize)...]),
                                                  authenticating: UnsafeRawBufferPointer(rebasing: raw[..<(raw.count - sealSize)]),
                                                  using: key)
        }
        guard valid else { return .rejected("its seal does not match (modified or corrupt)") }
        guard bytes.starts(with: magic) else { return .rejected("it has an older or unknown format") }
        var reader = ByteReader(bytes, start: magic.count, end: bytes.count - sealSize)
        guard let stamp = reader.u64(), let diversions = reader.bytes(32), let rootKey = reader.u64() else {
            return .rejected("it is truncated")
        }
        guard rootKey == Self.key(bytes: root.path.utf8) else { return .rejected("it was made for another root") }
        guard let (packages, diverted, divertedSection) = parseSections(bytes, reader: reader) else { return .rejected("it is malformed") }
        return .loaded(IntegrityCache(storage: bytes, packages: packages, diverted: diverted, divertedSection: divertedSection,
                                      lastFullRun: Date(timeIntervalSince1970: TimeInterval(Int64(bitPattern: stamp))),
                                      diversionsDigest: Array(diversions)))
    }

    private static func parseSections(_ bytes: [UInt8], reader: ByteReader)
        -> (packages: [UInt64: Package], diverted: [String: CachedDigest], divertedSection: Range<Int>)? {
        var reader = reader
        var divertedSection = reader.offset..<reader.offset
        var chunks: [UInt64: [Chunk]] = [:]
        var records: [UInt64: (package: Package, chunkCount: Int)] = [:]
        var diverted: [String: CachedDigest] = [:]
        while !reader.atEnd {
            let sectionStart = reader.offset
            guard let kind = reader.u8().flatMap(SectionKind.init(rawValue:)), reader.bytes(3) != nil,
                  let length = reader.u32(), var payload = reader.sub(Int(length)) else { return nil }
            let section = sectionStart..<reader.offset
            switch kind {
            case .chunk:
                guard let package = payload.u64(), let sequence = payload.u32(), let count = payload.u32() else { return nil }
                chunks[package, default: []].append(Chunk(sequence: Int(sequence), count: Int(count),
                                                          entries: payload.offset..<payload.end, section: section))
            case .package:
                guard let key = payload.u64(), let stanza = payload.bytes(16), let list = payload.identity(),
                      let md5sums = payload.identity(), let flags = payload.u8(), payload.bytes(3) != nil,
                      let chunkCount = payload.u32(), let hashCount = payload.u32() else { return nil }
                var hashes: [String: MD5Digest] = [:]
                for _ in 0..<hashCount {
                    guard let length = payload.u16(), let path = payload.bytes(Int(length)), let digest = payload.digest() else { return nil }
                    hashes[String(decoding: path, as: UTF8.self)] = digest
                }
                let package = Package(stanza: Array(stanza), list: flags & 1 != 0 ? list : nil,
                                      md5sums: flags & 2 != 0 ? md5sums : nil, chunks: [], divertedHashes: hashes, section: section)
                records[key] = (package, Int(chunkCount))
            case .diverted:
                divertedSection = section
                guard let count = payload.u32() else { return nil }
                var offset = payload.offset
                let complete = bytes.withUnsafeBytes { raw in
                    for _ in 0..<count {
                        guard let entry = CacheEntry.decode(raw, at: &offset, end: payload.end) else { return false }
                        if let digest = entry.digest { diverted[entry.pathString(bytes)] = digest }
                    }
                    return true
                }
                guard complete else { return nil }
            }
        }
        var packages: [UInt64: Package] = [:]
        for (key, record) in records {
            let found = (chunks[key] ?? []).sorted { $0.sequence < $1.sequence }
            // A package whose chunks are not exactly 0..<count is not described: re-verified from its lists.
            guard found.count == record.chunkCount, found.enumerated().allSatisfy({ $0.offset == $0.element.sequence }) else { continue }
            var package = record.package
            package.chunks = found
            packages[key] = package
        }
        return (packages, diverted, divertedSection)
    }

    /// The cache's HMAC key (32 random bytes, mode 0600), made on first use.
    static func loadKey(directory: String, create: Bool) throws(ProbeError) -> SymmetricKey {
        let path = "\(directory)/\(keyName)"
        if let data = try? Platform.readFile(path), data.count == 32 { return SymmetricKey(data: data) }
        guard create else { throw ProbeError.missing(path: path) }
        let key = SymmetricKey(size: .bits256)
        do {
            try Platform.writeAtomically(key.withUnsafeBytes { Array($0) }, to: path, mode: 0o600)
        } catch {
            throw ProbeError.unreadable(path: path, reason: "cannot write: \(error)")
        }
        return key
    }
}

/// One decoded entry of a cache chunk; the path stays in the cache's storage.
struct CacheEntry {
    struct Flags: OptionSet {
        let rawValue: UInt8
        static let hasExpected = Flags(rawValue: 1)
        static let conffile = Flags(rawValue: 2)
        static let diverted = Flags(rawValue: 4)
        static let hashed = Flags(rawValue: 8)
    }

    var flags: Flags
    /// Where the path's bytes are; a NUL follows them.
    var path: Range<Int>
    var expected: MD5Digest?
    var digest: CachedDigest?
    /// The whole entry, for copying it unchanged.
    var range: Range<Int>

    func pathString(_ storage: [UInt8]) -> String { String(decoding: storage[path], as: UTF8.self) }

    /// The entry at `offset` (advanced past it), or nil when it does not fit before `end`.
    static func decode(_ raw: UnsafeRawBufferPointer, at offset: inout Int, end: Int) -> CacheEntry? {
        let start = offset
        guard end - start >= 3 else { return nil }
        let length = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start, as: UInt16.self)))
        let flags = Flags(rawValue: raw[start + 2])
        let pathStart = start + 3
        var next = pathStart + length + 1
        guard next <= end, raw[next - 1] == 0 else { return nil }
        var entry = CacheEntry(flags: flags, path: pathStart..<(pathStart + length), range: start..<start)
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        if flags.contains(.hasExpected) {
            guard end - next >= 16 else { return nil }
            let expected = MD5Digest(high: u64(next), low: u64(next + 8))
            entry.expected = expected
            next += 16
            if flags.contains(.hashed) {
                guard end - next >= 56 else { return nil }
                let identity = FileIdentity(device: u64(next), inode: u64(next + 8), size: Int64(bitPattern: u64(next + 16)),
                                            modifiedNanoseconds: Int64(bitPattern: u64(next + 24)),
                                            changedNanoseconds: Int64(bitPattern: u64(next + 32)))
                entry.digest = CachedDigest(identity: identity, expected: expected, actual: MD5Digest(high: u64(next + 40), low: u64(next + 48)))
                next += 56
            }
        }
        offset = next
        entry.range = start..<next
        return entry
    }

    /// Appends an entry for `path` (absolute, as listed).
    static func encode(into bytes: inout [UInt8], path: String, conffile: Bool, diverted: Bool,
                       expected: MD5Digest?, digest: CachedDigest?) {
        var flags: Flags = []
        if expected != nil { flags.insert(.hasExpected) }
        if conffile { flags.insert(.conffile) }
        if diverted { flags.insert(.diverted) }
        if expected != nil, digest != nil { flags.insert(.hashed) }
        let utf8 = path.utf8
        bytes.appendLE(UInt16(truncatingIfNeeded: utf8.count))
        bytes.append(flags.rawValue)
        bytes += utf8
        bytes.append(0)
        if let expected {
            bytes.append(expected)
            if let digest {
                bytes.append(digest.identity)
                bytes.append(digest.actual)
            }
        }
    }
}

/// Builds the sections of a cache file.
enum CacheSection {
    static func start(_ kind: IntegrityCache.SectionKind) -> [UInt8] {
        [kind.rawValue, 0, 0, 0, 0, 0, 0, 0]
    }

    /// Fills in the payload length of a section begun with `start`.
    static func finish(_ bytes: inout [UInt8]) {
        let length = UInt32(truncatingIfNeeded: bytes.count - 8)
        withUnsafeBytes(of: length.littleEndian) { bytes.replaceSubrange(4..<8, with: $0) }
    }

    static func chunkHeader(package: UInt64, sequence: Int, count: Int) -> [UInt8] {
        var bytes = start(.chunk)
        bytes.appendLE(package)
        bytes.appendLE(UInt32(truncatingIfNeeded: sequence))
        bytes.appendLE(UInt32(truncatingIfNeeded: count))
        return bytes
    }

    static func package(key: UInt64, stanza: [UInt8], list: FileIdentity?, md5sums: FileIdentity?, chunks: Int,
                        divertedHashes: [String: MD5Digest]) -> [UInt8] {
        let zero = FileIdentity(device: 0, inode: 0, size: 0, modifiedNanoseconds: 0, changedNanoseconds: 0)
        var bytes = start(.package)
        bytes.appendLE(key)
        bytes += stanza
        bytes.append(list ?? zero)
        bytes.append(md5sums ?? zero)
        bytes += [(list != nil ? 1 : 0) | (md5sums != nil ? 2 : 0), 0, 0, 0]
        bytes.appendLE(UInt32(truncatingIfNeeded: chunks))
        bytes.appendLE(UInt32(truncatingIfNeeded: divertedHashes.count))
        for (path, digest) in divertedHashes.sorted(by: { $0.key < $1.key }) {
            bytes.appendLE(UInt16(truncatingIfNeeded: path.utf8.count))
            bytes += path.utf8
            bytes.append(digest)
        }
        finish(&bytes)
        return bytes
    }
}

/// Bounds-checked little-endian reads over a byte array.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], start: Int, end: Int) {
        self.bytes = bytes
        self.offset = start
        self.end = end
    }

    var atEnd: Bool { offset >= end }

    private mutating func take<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard end - offset >= size else { return nil }
        defer { offset += size }
        return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    mutating func u8() -> UInt8? { take(UInt8.self) }
    mutating func u16() -> UInt16? { take(UInt16.self) }
    mutating func u32() -> UInt32? { take(UInt32.self) }
    mutating func u64() -> UInt64? { take(UInt64.self) }

    mutating func bytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, end - offset >= count else { return nil }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    /// A reader over the next `count` bytes, which this one skips.
    mutating func sub(_ count: Int) -> ByteReader? {
        guard count >= 0, end - offset >= count else { return nil }
        defer { offset += count }
        return ByteReader(bytes, start: offset, end: offset + count)
    }

    mutating func digest() -> MD5Digest? {
        guard let high = u64(), let low = u64() else { return nil }
        return MD5Digest(high: high, low: low)
    }

    mutating func identity() -> FileIdentity? {
        guard let device = u64(), let inode = u64(), let size = u64(), let mtime = u64(), let ctime = u64() else { return nil }
        return FileIdentity(device: device, inode: inode, size: Int64(bitPattern: size),
                            modifiedNanoseconds: Int64(bitPattern: mtime), changedNanoseconds: Int64(bitPattern: ctime))
    }
}

extension [UInt8] {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func append(_ digest: MD5Digest) {
        appendLE(digest.high)
        appendLE(digest.low)
    }

    mutating func append(_ identity: FileIdentity) {
        appendLE(identity.device)
        appendLE(identity.inode)
        appendLE(UInt64(bitPattern: identity.size))
        appendLE(UInt64(bitPattern: identity.modifiedNanoseconds))
        appendLE(UInt64(bitPattern: identity.changedNanoseconds))
    }
}

/// Writes a new cache file section by section, so a full verification never holds every record in memory.
struct IntegrityCacheWriter {
    private var hmac: HMAC<SHA256>
    private var buffer: [UInt8] = []
    private let fd: Int32
    private let temporary: String
    private let destination: String
    private var failure: FileError?

    init(directory: String, root: ScanRoot, lastFullRun: Date, diversionsDigest: [UInt8]) throws(ProbeError) {
        let key = try IntegrityCache.loadKey(directory: directory, create: true)
        destination = "\(directory)/\(IntegrityCache.fileName)"
        temporary = destination + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        switch Platform.createFile(temporary, mode: 0o600) {
        case .success(let fd): self.fd = fd
        case .failure(let error): throw ProbeError.unreadable(path: temporary, reason: "cannot write: \(error)")
        }
        hmac = HMAC<SHA256>(key: key)
        buffer.reserveCapacity(1 << 17)
        buffer.append(contentsOf: IntegrityCache.magic)
        buffer.appendLE(UInt64(bitPattern: Int64(lastFullRun.timeIntervalSince1970)))
        buffer += diversionsDigest.count == 32 ? diversionsDigest : [UInt8](repeating: 0, count: 32)
        buffer.appendLE(IntegrityCache.key(bytes: root.path.utf8))
    }

    /// Appends a finished section (or several).
    mutating func add(_ section: some Collection<UInt8>) {
        buffer.append(contentsOf: section)
        if buffer.count >= 1 << 16 { flush() }
    }

    private mutating func flush() {
        hmac.update(data: buffer)
        if failure == nil, case .failure(let error) = Platform.writeAll(fd, buffer) { failure = error }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Seals, syncs and moves the cache into place.
    mutating func finish() throws(ProbeError) {
        flush()
        let seal = Array(hmac.finalize())
        if failure == nil, case .failure(let error) = Platform.writeAll(fd, seal) { failure = error }
        if failure == nil, case .failure(let error) = Platform.syncAndClose(fd) { failure = error } else if failure != nil {
            Platform.closeFile(fd)
        }
        if let failure {
            Platform.remove(temporary)
            throw ProbeError.unreadable(path: destination, reason: "cannot write: \(failure)")
        }
        if case .failure(let error) = Platform.rename(temporary, to: destination) {
            Platform.remove(temporary)
            throw ProbeError.unreadable(path: destination, reason: "cannot write: \(error)")
        }
    }

    /// Abandons the new cache (the old one, if any, stays).
    func discard() {
        Platform.closeFile(fd)
        Platform.remove(temporary)
    }
}
