import Crypto
import Foundation

/// Digests of files already hashed, valid only while the file is provably unchanged: same
/// device, inode, size, mtime and ctime, and the same expected MD5 in the package database.
///
/// Stored under the state directory as fixed 80-byte records sealed with HMAC-SHA256 (key in
/// `integrity-cache.key`, 0600); a cache that fails the seal (tampered, truncated, another key)
/// is discarded and everything is re-hashed. Records are keyed by a 64-bit hash of the path and
/// kept sorted, so a cache of a million files costs 80 MB on disk and in memory, not more.
struct IntegrityCache: Sendable {
    static let fileName = "integrity-cache.bin"
    static let keyName = "integrity-cache.key"
    static let magic = Array("POSTURE-IC2\n".utf8)
    static let headerSize = magic.count + 8
    static let recordSize = 80

    /// The cache file as read; records (80 bytes each, little-endian) start at `headerSize`,
    /// indexed by an open-addressing table.
    private let storage: [UInt8]
    private let slots: [UInt32]
    private let mask: Int
    let count: Int
    /// When every file was last hashed in full.
    let lastFullRun: Date

    /// FNV-1a over the path bytes (without the leading slash), the key of cache records.
    static func key(bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    static func key(path: String) -> UInt64 { key(bytes: path.utf8.drop { $0 == 0x2F }) }

    private init(storage: [UInt8], count: Int, lastFullRun: Date) {
        self.storage = storage
        self.count = count
        self.lastFullRun = lastFullRun
        var capacity = 16
        while capacity < count * 2 { capacity <<= 1 }
        var slots = [UInt32](repeating: 0, count: capacity)
        let mask = capacity - 1
        storage.withUnsafeBytes { raw in
            for index in 0..<count {
                let key = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: Self.headerSize + index * Self.recordSize, as: UInt64.self))
                var slot = Int(truncatingIfNeeded: key) & mask
                while slots[slot] != 0 { slot = (slot + 1) & mask }
                slots[slot] = UInt32(index + 1)
            }
        }
        self.slots = slots
        self.mask = mask
    }

    /// The digest recorded for this exact file state, if any.
    func digest(key: UInt64, identity: FileIdentity, expected: MD5Digest) -> MD5Digest? {
        storage.withUnsafeBytes { raw -> MD5Digest? in
            func u64(_ offset: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
            var slot = Int(truncatingIfNeeded: key) & mask
            while slots[slot] != 0 {
                let o = Self.headerSize + Int(slots[slot] - 1) * Self.recordSize
                if u64(o) == key, u64(o + 8) == identity.device, u64(o + 16) == identity.inode,
                   Int64(bitPattern: u64(o + 24)) == identity.size,
                   Int64(bitPattern: u64(o + 32)) == identity.modifiedNanoseconds,
                   Int64(bitPattern: u64(o + 40)) == identity.changedNanoseconds,
                   u64(o + 48) == expected.high, u64(o + 56) == expected.low {
                    return MD5Digest(high: u64(o + 64), low: u64(o + 72))
                }
                slot = (slot + 1) & mask
            }
            return nil
        }
    }

    /// Calls `body` with each stored record's key and raw 80 bytes.
    func forEachRecord(_ body: (UInt64, UnsafeRawBufferPointer) -> Void) {
        storage.withUnsafeBytes { raw in
            for index in 0..<count {
                let start = Self.headerSize + index * Self.recordSize
                let record = UnsafeRawBufferPointer(rebasing: raw[start..<(start + Self.recordSize)])
                body(UInt64(littleEndian: record.loadUnaligned(as: UInt64.self)), record)
            }
        }
    }

    /// The cache in `directory`, or why it cannot be used.
    enum LoadOutcome {
        case loaded(IntegrityCache)
        case absent
        case rejected(String)
    }

    static func load(directory: String) -> LoadOutcome {
        let path = "\(directory)/\(fileName)"
        guard FileManager.default.fileExists(atPath: path) else { return .absent }
        guard let key = try? loadKey(directory: directory, create: false) else { return .rejected("its key is missing") }
        guard let host = try? ScanRoot("/"), let bytes = try? host.readBytes(String(path.drop { $0 == "/" })) else {
            return .rejected("it cannot be read")
        }
        guard bytes.count >= headerSize + 32, (bytes.count - headerSize - 32) % recordSize == 0 else {
            return .rejected("it is truncated")
        }
        let valid = bytes.withUnsafeBytes { raw in
            HMAC<SHA256>.isValidAuthenticationCode(UnsafeRawBufferPointer(rebasing: raw[(raw.count - 32)...]),
                                                  authenticating: UnsafeRawBufferPointer(rebasing: raw[..<(raw.count - 32)]),
                                                  using: key)
        }
        guard valid else { return .rejected("its seal does not match (modified or corrupt)") }
        guard Array(bytes[..<magic.count]) == magic else { return .rejected("unknown format") }
        let stamp = bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: magic.count, as: Int64.self)) }
        return .loaded(IntegrityCache(storage: bytes, count: (bytes.count - headerSize - 32) / recordSize,
                                      lastFullRun: Date(timeIntervalSince1970: TimeInterval(stamp))))
    }

    /// The cache's HMAC key (32 random bytes, mode 0600), made on first use.
    static func loadKey(directory: String, create: Bool) throws(ProbeError) -> SymmetricKey {
        let path = "\(directory)/\(keyName)"
        if let data = FileManager.default.contents(atPath: path), data.count == 32 { return SymmetricKey(data: data) }
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

/// Writes a new cache as results arrive, so a full verification never holds every record in memory.
struct IntegrityCacheWriter {
    private var hmac: HMAC<SHA256>
    private var buffer: [UInt8] = []
    private let fd: Int32
    private let temporary: String
    private let destination: String
    private var failure: FileError?

    init(directory: String, lastFullRun: Date) throws(ProbeError) {
        let key = try IntegrityCache.loadKey(directory: directory, create: true)
        destination = "\(directory)/\(IntegrityCache.fileName)"
        temporary = destination + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        switch Platform.createFile(temporary, mode: 0o600) {
        case .success(let fd): self.fd = fd
        case .failure(let error): throw ProbeError.unreadable(path: temporary, reason: "cannot write: \(error)")
        }
        hmac = HMAC<SHA256>(key: key)
        buffer.reserveCapacity(1 << 16)
        buffer.append(contentsOf: IntegrityCache.magic)
        append(UInt64(bitPattern: Int64(lastFullRun.timeIntervalSince1970)))
    }

    private mutating func append(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    mutating func add(key: UInt64, identity: FileIdentity, expected: MD5Digest, actual: MD5Digest) {
        append(key)
        append(identity.device)
        append(identity.inode)
        append(UInt64(bitPattern: identity.size))
        append(UInt64(bitPattern: identity.modifiedNanoseconds))
        append(UInt64(bitPattern: identity.changedNanoseconds))
        append(expected.high)
        append(expected.low)
        append(actual.high)
        append(actual.low)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Copies a record of an earlier cache unchanged.
    mutating func add(raw record: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: record)
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
