import Crypto

/// A SHA-256 hash in an RFC 6962 / RFC 9162 Merkle tree: a leaf hash, an interior node hash or a
/// tree root. Always exactly 32 bytes, kept inline (no allocation), so it is cheap as a dictionary key.
package struct Hash: Hashable, Sendable, CustomStringConvertible {
    /// The size of every hash, in bytes.
    package static let byteCount = 32

    /// The 32 bytes in memory order (a homogeneous tuple is laid out contiguously).
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// A hash from exactly 32 bytes.
    package init(bytes: some Collection<UInt8>) throws(HashError) {
        guard bytes.count == Self.byteCount else { throw .wrongLength(bytes.count) }
        Swift.withUnsafeMutableBytes(of: &words) { raw in
            for (offset, byte) in bytes.enumerated() { raw[offset] = byte }
        }
    }

    /// A hash from 64 hex digits (either case).
    package init(hex: String) throws(HashError) {
        guard let bytes = Encoding.hexDecode(hex), bytes.count == Self.byteCount else { throw .invalidHex(hex) }
        try self.init(bytes: bytes)
    }

    /// A hash from canonical padded standard base64 of 32 bytes (44 characters).
    package init(base64: String) throws(HashError) {
        guard let bytes = Encoding.base64Decode(base64), bytes.count == Self.byteCount else { throw .invalidBase64(base64) }
        try self.init(bytes: bytes)
    }

    init(digest: SHA256.Digest) {
        digest.withUnsafeBytes { source in
            Swift.withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: source) }
        }
    }

    /// The 32 bytes.
    package var bytes: [UInt8] { Swift.withUnsafeBytes(of: words) { Array($0) } }

    /// Lowercase hex, 64 characters.
    package var hex: String { Swift.withUnsafeBytes(of: words) { Encoding.hex($0) } }

    /// Padded standard base64, 44 characters (the form checkpoints use).
    package var base64: String { Swift.withUnsafeBytes(of: words) { Encoding.base64($0) } }

    package var description: String { hex }

    /// Calls `body` with the 32 bytes, without copying them.
    package func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let copy = words
        return try Swift.withUnsafeBytes(of: copy) { (raw) throws(E) -> R in try body(raw) }
    }

    package static func == (lhs: Hash, rhs: Hash) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

extension Hash {
    /// The root of the empty tree: SHA-256 of no bytes (RFC 9162 §2.1.1).
    package static let emptyTree = Hash(digest: SHA256().finalize())

    /// The leaf hash of an entry: SHA-256(0x00 ‖ entry) (RFC 9162 §2.1.1).
    package static func leaf(_ entry: [UInt8]) -> Hash {
        var hasher = SHA256()
        Swift.withUnsafeBytes(of: UInt8(0x00)) { hasher.update(bufferPointer: $0) }
        entry.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return Hash(digest: hasher.finalize())
    }

    /// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right) (RFC 9162 §2.1.1).
    package static func node(_ left: Hash, _ right: Hash) -> Hash {
        var hasher = SHA256()
        Swift.withUnsafeBytes(of: UInt8(0x01)) { hasher.update(bufferPointer: $0) }
        left.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        right.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return Hash(digest: hasher.finalize())
    }
}

/// Why bytes or text could not be read as a 32-byte `Hash`.
package enum HashError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input had this many bytes instead of 32.
    case wrongLength(Int)
    /// The text is not 64 hex digits.
    case invalidHex(String)
    /// The text is not canonical padded base64 of 32 bytes.
    case invalidBase64(String)

    package var description: String {
        switch self {
        case .wrongLength(let count): "a SHA-256 hash is 32 bytes, got \(count): pass the raw digest, not a prefix or an encoding of it"
        case .invalidHex(let text): "'\(text.prefix(80))' is not a hash in hex: expected exactly 64 hex digits"
        case .invalidBase64(let text):
            "'\(text.prefix(80))' is not a hash in base64: expected 44 characters of padded standard base64 encoding 32 bytes"
        }
    }
}
