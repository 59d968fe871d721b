package import Crypto
import Foundation

/// Key names, key hashes and the key string formats of https://c2sp.org/signed-note.
package enum NoteKeys {
    /// Signature type of Ed25519 note signatures.
    package static let ed25519Type: UInt8 = 0x01
    /// Signature type of timestamped Ed25519 witness cosignatures (https://c2sp.org/tlog-cosignature).
    package static let cosignatureType: UInt8 = 0x04

    /// A key's identity in a note: name and key hash.
    struct KeyID: Hashable {
        let name: String
        let keyHash: UInt32
    }

    /// Whether `name` can name a key: non-empty, no Unicode white space, no '+', no control character.
    package static func isValidName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy { !$0.properties.isWhitespace && $0 != "+" && $0.value >= 0x20 && $0.value != 0x7F }
    }

    /// The key hash (key ID): the first 4 bytes, big-endian, of SHA-256(name ‖ 0x0A ‖ type ‖ public key).
    package static func keyHash(name: String, type: UInt8, publicKey: [UInt8]) -> UInt32 {
        var hasher = SHA256()
        Array(name.utf8).withUnsafeBytes { hasher.update(bufferPointer: $0) }
        [0x0A, type].withUnsafeBytes { hasher.update(bufferPointer: $0) }
        publicKey.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize().withUnsafeBytes { Encoding.uint32(bigEndian: $0) }
    }

    /// "<name>+<hex key hash>+<base64(type ‖ public key)>".
    static func verifierKey(name: String, keyHash: UInt32, type: UInt8, publicKey: [UInt8]) -> String {
        "\(name)+\(Encoding.hex(Encoding.bigEndian(keyHash)))+\(Encoding.base64([type] + publicKey))"
    }

    /// Name, key hash and the 32-byte Ed25519 key of a verifier key string of `type`; checks the hash.
    static func parseVerifierKey(_ text: String, type: UInt8) throws(NoteError) -> (name: String, keyHash: UInt32, publicKey: [UInt8]) {
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformedVerifierKey(reason: "it has \(parts.count) '+'-separated parts, not 3") }
        let name = String(parts[0])
        guard isValidName(name) else { throw .invalidKeyName(name) }
        guard parts[1].utf8.count == 8, let hashBytes = Encoding.hexDecode(parts[1]) else {
            throw .malformedVerifierKey(reason: "the key hash '\(parts[1])' is not 8 hex digits")
        }
        guard let key = Encoding.base64Decode(parts[2]), let keyType = key.first else {
            throw .malformedVerifierKey(reason: "the key is not canonical padded base64")
        }
        guard keyType == type else { throw .unsupportedKeyType(found: keyType, expected: type) }
        guard key.count == 33 else { throw .malformedVerifierKey(reason: "an Ed25519 key is 32 bytes, got \(key.count - 1)") }
        let stated = Encoding.uint32(bigEndian: hashBytes)
        let computed = keyHash(name: name, type: type, publicKey: Array(key.dropFirst()))
        guard stated == computed else { throw .keyHashMismatch(stated: stated, computed: computed) }
        guard (try? Curve25519.Signing.PublicKey(rawRepresentation: Array(key.dropFirst()))) != nil else {
            throw .malformedVerifierKey(reason: "the 32 bytes are not an Ed25519 public key")
        }
        return (name, stated, Array(key.dropFirst()))
    }

    /// Name and 32-byte Ed25519 seed of a signer key string of `type`; checks the hash against the
    /// public key derived from the seed.
    static func parseSignerKey(_ text: String, type: UInt8) throws(NoteError) -> (name: String, seed: [UInt8]) {
        let parts = text.split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY" else {
            throw .malformedSignerKey(reason: "it does not start with PRIVATE+KEY+ or lacks a part")
        }
        let name = String(parts[2])
        guard isValidName(name) else { throw .invalidKeyName(name) }
        guard parts[3].utf8.count == 8, let hashBytes = Encoding.hexDecode(parts[3]) else {
            throw .malformedSignerKey(reason: "the key hash '\(parts[3])' is not 8 hex digits")
        }
        guard let key = Encoding.base64Decode(parts[4]), let keyType = key.first else {
            throw .malformedSignerKey(reason: "the key is not canonical padded base64")
        }
        guard keyType == type else { throw .unsupportedKeyType(found: keyType, expected: type) }
        guard key.count == 33, let privateKey = try? Curve25519.Signing.PrivateKey(rawRepresentation: Array(key.dropFirst())) else {
            throw .malformedSignerKey(reason: "an Ed25519 seed is 32 bytes, got \(key.count - 1)")
        }
        let stated = Encoding.uint32(bigEndian: hashBytes)
        let computed = keyHash(name: name, type: type, publicKey: Array(privateKey.publicKey.rawRepresentation))
        guard stated == computed else { throw .keyHashMismatch(stated: stated, computed: computed) }
        return (name, Array(key.dropFirst()))
    }

    /// An Ed25519 signature of `message` by the key of `seed`.
    static func sign(_ message: [UInt8], seed: [UInt8]) throws(NoteError) -> [UInt8] {
        do {
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            return Array(try key.signature(for: message))
        } catch {
            throw .signingFailed(String(describing: error))
        }
    }

    /// Whether `signature` is a valid Ed25519 signature of `message` by `publicKey`.
    static func isValid(_ signature: [UInt8], for message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// A trusted Ed25519 note key (signature type 0x01): checks the signatures of notes and checkpoints.
package struct NoteVerifier: Hashable, Sendable {
    /// The key's name, hash and bytes.
    package let key: TypedNoteKey
    package var name: String { key.name }
    /// The key hash (key ID), as in signature lines.
    package var keyHash: UInt32 { key.keyHash }
    /// The 32-byte Ed25519 public key.
    package var publicKey: [UInt8] { key.publicKey }

    /// The verifier of `name` with this Ed25519 public key (32 bytes).
    package init(name: String, publicKey: [UInt8]) throws(NoteError) {
        key = try TypedNoteKey(name: name, publicKey: publicKey, type: NoteKeys.ed25519Type)
    }

    /// The verifier of `name` with this public key.
    package init(name: String, publicKey: Curve25519.Signing.PublicKey) throws(NoteError) {
        try self.init(name: name, publicKey: Array(publicKey.rawRepresentation))
    }

    /// Parses a verifier key, "<name>+<hex key hash>+<base64(0x01 ‖ public key)>", checking its hash.
    package init(verifierKey: String) throws(NoteError) {
        key = try TypedNoteKey(verifierKey: verifierKey, type: NoteKeys.ed25519Type)
    }

    /// The verifier key string, to publish or to configure clients with.
    package var verifierKey: String { key.verifierKey }

    /// Whether `signature` (64 bytes, without the key hash) signs `message` with this key.
    package func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        NoteKeys.isValid(signature, for: message, publicKey: publicKey)
    }
}

/// An Ed25519 note signing key (signature type 0x01): signs notes and checkpoints as a log.
package struct NoteSigner: Sendable {
    /// The key name, usually the log's origin.
    package let name: String
    /// The 32-byte seed (kept instead of the Crypto key, so the signer is Sendable with any swift-crypto).
    private let seed: [UInt8]
    /// The matching verifier.
    package let verifier: NoteVerifier

    /// The signer of `name` with `privateKey`.
    package init(name: String, privateKey: Curve25519.Signing.PrivateKey) throws(NoteError) {
        self.name = name
        self.seed = Array(privateKey.rawRepresentation)
        self.verifier = try NoteVerifier(name: name, publicKey: privateKey.publicKey)
    }

    /// Parses a signer key, "PRIVATE+KEY+<name>+<hex key hash>+<base64(0x01 ‖ seed)>", checking its hash.
    package init(signerKey: String) throws(NoteError) {
        let (name, seed) = try NoteKeys.parseSignerKey(signerKey, type: NoteKeys.ed25519Type)
        try self.init(name: name, privateKey: try! Curve25519.Signing.PrivateKey(rawRepresentation: seed))
    }

    /// A signer of `name` with a new random key.
    package static func generate(name: String) throws(NoteError) -> NoteSigner {
        try NoteSigner(name: name, privateKey: Curve25519.Signing.PrivateKey())
    }

    /// The private key.
    package var privateKey: Curve25519.Signing.PrivateKey { try! Curve25519.Signing.PrivateKey(rawRepresentation: seed) }

    /// The key hash (key ID) of signature lines.
    package var keyHash: UInt32 { verifier.keyHash }

    /// The secret signer key string; anyone holding it can sign as this key.
    package var signerKey: String {
        "PRIVATE+KEY+\(name)+\(Encoding.hex(Encoding.bigEndian(keyHash)))+\(Encoding.base64([NoteKeys.ed25519Type] + seed))"
    }

    /// The signature line of this key for `text` (which must be a valid note text).
    package func signature(for text: String) throws(NoteError) -> NoteSignature {
        let message = Array(text.utf8)
        try SignedNote.checkText(message)
        return NoteSignature(name: name, keyHash: keyHash, signature: try NoteKeys.sign(message, seed: seed))
    }

    /// `text` signed by this key.
    package func sign(text: String) throws(NoteError) -> SignedNote {
        try SignedNote(text: text, signatures: [signature(for: text)])
    }

    /// `note` with this key's signature added (replacing an earlier one of this key).
    package func sign(_ note: SignedNote) throws(NoteError) -> SignedNote {
        try note.adding(signature(for: note.text))
    }
}

/// An Ed25519 public key for one signature type (0x01 notes, 0x04 cosignatures): its name, key
/// hash and bytes, as note and witness verifiers hold it.
package struct TypedNoteKey: Hashable, Sendable {
    package let name: String
    /// SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4].
    package let keyHash: UInt32
    package let publicKey: [UInt8]
    package let type: UInt8

    /// The key `name` of `type` with this Ed25519 public key (32 bytes).
    package init(name: String, publicKey: [UInt8], type: UInt8) throws(NoteError) {
        guard NoteKeys.isValidName(name) else { throw .invalidKeyName(name) }
        guard publicKey.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)) != nil else {
            throw .malformedVerifierKey(reason: "an Ed25519 public key is 32 bytes, got \(publicKey.count)")
        }
        self.name = name
        self.publicKey = publicKey
        self.type = type
        keyHash = NoteKeys.keyHash(name: name, type: type, publicKey: publicKey)
    }

    /// Parses "<name>+<hex key hash>+<base64(type ‖ public key)>", checking its hash.
    package init(verifierKey: String, type: UInt8) throws(NoteError) {
        (name, keyHash, publicKey) = try NoteKeys.parseVerifierKey(verifierKey, type: type)
        self.type = type
    }

    package var verifierKey: String { NoteKeys.verifierKey(name: name, keyHash: keyHash, type: type, publicKey: publicKey) }
}
