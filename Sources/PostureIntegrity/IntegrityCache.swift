import Crypto
import Foundation
import PostureModel
import PostureProbes

/// What a verification recorded about one listed path, so the next run can check it from the
/// cache: the expected MD5, and the digest the file had in a given state (device, inode, size,
/// mtime, ctime).
struct CachedDigest: Sendable, Equatable {
    var identity: FileIdentity
    var expected: MD5Digest
    var actual: MD5Digest
}

extension CachedDigest {
    /// The digest to keep for a file just hashed: nil when the file changed too recently for its
    /// identity to stand for its content (`FileIdentity.isSettled`), so it is hashed again next time.
    init?(settled identity: FileIdentity, expected: MD5Digest, actual: MD5Digest) {
        guard identity.isSettled() else { return nil }
        self.init(identity: identity, expected: expected, actual: actual)
    }
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
/// one, then identity (40) and, unless it matched the expected one, the MD5 found (16) when it
/// was hashed.
struct IntegrityCache: Sendable {
    static let fileName = "integrity-cache.bin"
    static let magic = Array("POSTURE-IC4\n".utf8)
    static let headerSize = magic.count + 8 + 32 + 8
    static let sealSize = 32

    enum SectionKind: UInt8 {
        case chunk = 1, package = 2, diverted = 3
    }

    /// One run of a package's entries, as stored.
    struct Chunk: Sendable {
        var package: UInt64
        var sequence: Int
        var count: Int
        /// Where the entries are in the file.
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

    /// The cache file; its seal was checked, so its contents are ours.
    let file: CacheFile
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
        guard let key = try? CacheKey.load(directory: directory, create: false) else { return .rejected("its key is missing") }
        guard let file = CacheFile(path: path) else { return .rejected("it cannot be read: \(Platform.lastErrorText())") }
        guard file.size >= headerSize + sealSize else { return .rejected("it is truncated") }
        // The file streams past a megabyte at a time, sealed and indexed as it goes, so memory
        // holds the index and the part being read, never the whole cache.
        let sealed = file.size - sealSize
        var hmac = HMAC<SHA256>(key: key)
        var index = SectionIndex(start: headerSize, end: sealed)
        var header: [UInt8] = []
        var window: [UInt8] = []
        var offset = 0
        while offset < sealed {
            window.removeAll(keepingCapacity: true)
            guard file.append(offset..<min(offset + (1 << 20), sealed), to: &window) else { return .rejected("it cannot be read") }
            hmac.update(data: window)
            if header.count < headerSize { header += window.prefix(headerSize - header.count) }
            index.consume(window, at: offset)
            offset += window.count
        }
        var seal: [UInt8] = []
        guard file.append(sealed..<file.size, to: &seal), hmac.finalize() == seal else {
            return .rejected("its seal does not match (modified or corrupt)")
        }
        guard header.starts(with: magic) else { return .rejected("it has an older or unknown format") }
        let fields = header.withUnsafeBytes { raw -> (UInt64, [UInt8], UInt64)? in
            var reader = ByteReader(raw, start: magic.count, end: raw.count)
            guard let stamp = reader.u64(), let diversions = reader.bytes(32), let rootKey = reader.u64() else { return nil }
            return (stamp, Array(diversions), rootKey)
        }
        guard let (stamp, diversions, rootKey) = fields else { return .rejected("it is truncated") }
        guard rootKey == Self.key(bytes: root.path.utf8) else { return .rejected("it was made for another root") }
        guard let (packages, diverted, divertedSection) = index.finish() else { return .rejected("it is malformed") }
        return .loaded(
            IntegrityCache(
                file: file, packages: packages, diverted: diverted, divertedSection: divertedSection,
                lastFullRun: Date(timeIntervalSince1970: TimeInterval(Int64(bitPattern: stamp))),
                diversionsDigest: diversions))
    }

    /// The bytes of a section (or any range) of the cache file.
    func bytes(_ range: Range<Int>) throws(ProbeError) -> [UInt8] {
        var bytes: [UInt8] = []
        guard file.append(range, to: &bytes) else {
            throw ProbeError.unreadable(path: Self.fileName, reason: "it changed while being read")
        }
        return bytes
    }

}

/// The cache file, open for reading pieces of it. posture replaces the file by renaming a new
/// one into place, never by writing into it, so what was sealed stays what is read.
final class CacheFile: Sendable {
    let fd: Int32
    let size: Int

    init?(path: String) {
        guard case .success(let fd) = Platform.openForReading(path) else { return nil }
        guard let status = Platform.status(fd: fd) else {
            Platform.closeFile(fd)
            return nil
        }
        self.fd = fd
        self.size = Int(status.size)
    }

    deinit { Platform.closeFile(fd) }

    /// Appends the bytes of `range` to `bytes`; false (and nothing appended) when they cannot all be read.
    func append(_ range: Range<Int>, to bytes: inout [UInt8]) -> Bool {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: range.count))
        let complete = bytes.withUnsafeMutableBytes { raw -> Bool in
            var done = 0
            while done < range.count {
                switch Platform.readSome(fd, into: raw.baseAddress! + start + done, count: range.count - done, at: range.lowerBound + done) {
                case .success(let n) where n > 0: done += n
                default: return false
                }
            }
            return true
        }
        if !complete { bytes.removeSubrange(start...) }
        return complete
    }
}

/// Indexes a cache file's sections from its bytes as they stream past: where every chunk is,
/// and the small package and diverted sections parsed whole.
struct SectionIndex {
    /// Where the section being gathered starts, and its first bytes, as many as are needed.
    private var next: Int
    private var head: [UInt8] = []
    private let end: Int
    private var failed = false
    private var chunks: [UInt64: [IntegrityCache.Chunk]] = [:]
    private var records: [UInt64: (package: IntegrityCache.Package, chunkCount: Int)] = [:]
    private var diverted: [String: CachedDigest] = [:]
    private var divertedSection: Range<Int>

    /// Sections lie between `start` and `end`.
    init(start: Int, end: Int) {
        next = start
        self.end = end
        divertedSection = start..<start
    }

    private var length: Int { Int(head.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) }) }

    /// How much of the section must be read: its header, then a chunk's own header, or the whole of the others.
    private var needed: Int {
        guard head.count >= 8 else { return 8 }
        return head[0] == IntegrityCache.SectionKind.chunk.rawValue ? 24 : 8 + length
    }

    mutating func consume(_ bytes: [UInt8], at offset: Int) {
        var position = offset
        let stop = offset + bytes.count
        while !failed, position < stop {
            if position < next {
                position = min(next, stop)
                continue
            }
            let take = min(needed - head.count, stop - position)
            head += bytes[(position - offset)..<(position - offset + take)]
            position += take
            if head.count == 8, IntegrityCache.SectionKind(rawValue: head[0]) == nil || 8 + length > end - next || needed > 8 + length {
                failed = true
            } else if head.count == needed {
                index()
            }
        }
    }

    private mutating func index() {
        let section = next..<(next + 8 + length)
        let parsed = head.withUnsafeBytes { raw -> Bool in
            var payload = ByteReader(raw, start: 8, end: raw.count)
            switch IntegrityCache.SectionKind(rawValue: raw[0]) {
            case .chunk?:
                guard let package = payload.u64(), let sequence = payload.u32(), let count = payload.u32() else { return false }
                chunks[package, default: []].append(
                    .init(
                        package: package, sequence: Int(sequence), count: Int(count),
                        entries: (section.lowerBound + 24)..<section.upperBound, section: section))
            case .package?:
                guard let key = payload.u64(), let stanza = payload.bytes(16), let list = payload.identity(),
                    let md5sums = payload.identity(), let flags = payload.u8(), payload.bytes(3) != nil,
                    let chunkCount = payload.u32(), let hashCount = payload.u32()
                else { return false }
                var hashes: [String: MD5Digest] = [:]
                for _ in 0..<hashCount {
                    guard let length = payload.u16(), let path = payload.bytes(Int(length)), let digest = payload.digest() else { return false }
                    hashes[String(decoding: path, as: UTF8.self)] = digest
                }
                records[key] = (
                    .init(
                        stanza: Array(stanza), list: flags & 1 != 0 ? list : nil, md5sums: flags & 2 != 0 ? md5sums : nil,
                        chunks: [], divertedHashes: hashes, section: section), Int(chunkCount)
                )
            case .diverted?:
                divertedSection = section
                guard let count = payload.u32() else { return false }
                var offset = payload.offset
                for _ in 0..<count {
                    guard let entry = CacheEntry.decode(raw, at: &offset, end: raw.count) else { return false }
                    if let digest = entry.digest { diverted[entry.pathString(raw)] = digest }
                }
            case nil:
                return false
            }
            return true
        }
        failed = !parsed
        next = section.upperBound
        head.removeAll(keepingCapacity: true)
    }

    /// The packages the cache describes (those whose chunks are all there), and the diverted files;
    /// nil when the sections do not fill the file exactly.
    func finish() -> (packages: [UInt64: IntegrityCache.Package], diverted: [String: CachedDigest], divertedSection: Range<Int>)? {
        guard !failed, head.isEmpty, next == end else { return nil }
        var packages: [UInt64: IntegrityCache.Package] = [:]
        for (key, record) in records {
            let found = (chunks[key] ?? []).sorted { $0.sequence < $1.sequence }
            guard found.count == record.chunkCount, found.enumerated().allSatisfy({ $0.offset == $0.element.sequence }) else { continue }
            var package = record.package
            package.chunks = found
            packages[key] = package
        }
        return (packages, diverted, divertedSection)
    }
}

/// One decoded entry of a cache chunk; the path stays in the bytes it was decoded from.
struct CacheEntry {
    struct Flags: OptionSet {
        let rawValue: UInt8
        static let hasExpected = Flags(rawValue: 1)
        static let conffile = Flags(rawValue: 2)
        static let diverted = Flags(rawValue: 4)
        static let hashed = Flags(rawValue: 8)
        /// The MD5 found was the expected one (and is not stored again).
        static let matched = Flags(rawValue: 16)
    }

    var flags: Flags
    /// Where the path's bytes are; a NUL follows them.
    var path: Range<Int>
    var expected: MD5Digest?
    var digest: CachedDigest?
    /// The whole entry, for copying it unchanged.
    var range: Range<Int>

    func pathString(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes[path], as: UTF8.self) }

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
                let matched = flags.contains(.matched)
                guard end - next >= (matched ? 40 : 56) else { return nil }
                let identity = FileIdentity(
                    device: u64(next), inode: u64(next + 8), size: Int64(bitPattern: u64(next + 16)),
                    modifiedNanoseconds: Int64(bitPattern: u64(next + 24)),
                    changedNanoseconds: Int64(bitPattern: u64(next + 32)))
                let actual = matched ? expected : MD5Digest(high: u64(next + 40), low: u64(next + 48))
                entry.digest = CachedDigest(identity: identity, expected: expected, actual: actual)
                next += matched ? 40 : 56
            }
        }
        offset = next
        entry.range = start..<next
        return entry
    }

    /// Appends an entry for `path` (absolute, as listed).
    static func encode(
        into bytes: inout [UInt8], path: String, conffile: Bool, diverted: Bool,
        expected: MD5Digest?, digest: CachedDigest?
    ) {
        var flags: Flags = []
        if expected != nil { flags.insert(.hasExpected) }
        if conffile { flags.insert(.conffile) }
        if diverted { flags.insert(.diverted) }
        if expected != nil, let digest {
            flags.insert(.hashed)
            if digest.actual == expected { flags.insert(.matched) }
        }
        let utf8 = path.utf8
        bytes.appendLE(UInt16(truncatingIfNeeded: utf8.count))
        bytes.append(flags.rawValue)
        bytes += utf8
        bytes.append(0)
        if let expected {
            bytes.append(expected)
            if let digest {
                bytes.append(digest.identity)
                if digest.actual != expected { bytes.append(digest.actual) }
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

    static func package(
        key: UInt64, stanza: [UInt8], list: FileIdentity?, md5sums: FileIdentity?, chunks: Int,
        divertedHashes: [String: MD5Digest]
    ) -> [UInt8] {
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

/// Bounds-checked little-endian reads over bytes.
struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, start: Int, end: Int) {
        self.bytes = bytes
        self.offset = start
        self.end = end
    }

    var atEnd: Bool { offset >= end }

    private mutating func take<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard end - offset >= size else { return nil }
        defer { offset += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func u8() -> UInt8? { take(UInt8.self) }
    mutating func u16() -> UInt16? { take(UInt16.self) }
    mutating func u32() -> UInt32? { take(UInt32.self) }
    mutating func u64() -> UInt64? { take(UInt64.self) }

    mutating func bytes(_ count: Int) -> Slice<UnsafeRawBufferPointer>? {
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
        return FileIdentity(
            device: device, inode: inode, size: Int64(bitPattern: size),
            modifiedNanoseconds: Int64(bitPattern: mtime), changedNanoseconds: Int64(bitPattern: ctime))
    }
}

extension [UInt8] {
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
        let key = try CacheKey.load(directory: directory, create: true)
        destination = "\(directory)/\(IntegrityCache.fileName)"
        temporary = destination + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        // A run killed while writing left its temporary file: remove those whose process is gone.
        let prefix = IntegrityCache.fileName + ".tmp-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(prefix) {
            if let pid = Int32(name.dropFirst(prefix.count)), !Platform.processExists(pid) { Platform.remove("\(directory)/\(name)") }
        }
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
        if failure == nil, case .failure(let error) = Platform.syncAndClose(fd) {
            failure = error
        } else if failure != nil {
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
