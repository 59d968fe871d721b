package import Crypto
import Foundation

/// Witness cosignatures, cosignature/v1 with Ed25519 (https://c2sp.org/tlog-cosignature): a note
/// signature line of key type 0x04 whose payload is key hash (4) ‖ timestamp (8, big-endian) ‖
/// Ed25519 signature (64) over "cosignature/v1\ntime <timestamp>\n" followed by the checkpoint body.
package enum Cosignature {
    /// The largest timestamp allowed: 2^63 - 1.
    package static let maximumTimestamp = UInt64(Int64.max)

    /// The bytes a cosigner signs for `body` (a checkpoint note text) at `timestamp` (POSIX seconds).
    package static func signedMessage(body: String, timestamp: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n".utf8) + Array(body.utf8)
    }

    /// The timestamp a cosignature line carries, without checking the signature.
    package static func timestamp(of signature: NoteSignature) throws(CosignatureError) -> UInt64 {
        guard signature.signature.count == 8 + 64 else {
            throw .malformedCosignature(name: signature.name, keyHash: signature.keyHash, byteCount: signature.signature.count)
        }
        let timestamp = Encoding.uint64(bigEndian: signature.signature)
        guard timestamp <= maximumTimestamp else { throw .timestampOutOfRange(timestamp) }
        return timestamp
    }
}

/// A trusted witness key (type 0x04): checks cosignatures on checkpoints.
package struct CosignatureVerifier: Hashable, Sendable {
    /// The witness's key name, hash and bytes.
    package let key: TypedNoteKey
    package var name: String { key.name }
    /// The key hash, SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4].
    package var keyHash: UInt32 { key.keyHash }
    /// The 32-byte Ed25519 public key.
    package var publicKey: [UInt8] { key.publicKey }

    /// The verifier of witness `name` with this Ed25519 public key (32 bytes).
    package init(name: String, publicKey: [UInt8]) throws(NoteError) {
        key = try TypedNoteKey(name: name, publicKey: publicKey, type: NoteKeys.cosignatureType)
    }

    /// The verifier of witness `name` with this public key.
    package init(name: String, publicKey: Curve25519.Signing.PublicKey) throws(NoteError) {
        try self.init(name: name, publicKey: Array(publicKey.rawRepresentation))
    }

    /// Parses a witness verifier key, "<name>+<hex key hash>+<base64(0x04 ‖ public key)>".
    package init(verifierKey: String) throws(NoteError) {
        key = try TypedNoteKey(verifierKey: verifierKey, type: NoteKeys.cosignatureType)
    }

    /// The verifier key string.
    package var verifierKey: String { key.verifierKey }

    /// Checks that `signature` is this witness's cosignature of `body`; returns its timestamp.
    package func verify(_ signature: NoteSignature, body: String) throws(CosignatureError) -> UInt64 {
        guard signature.name == name, signature.keyHash == keyHash else {
            throw .wrongKey(expected: name, keyHash: keyHash, found: signature.name, foundKeyHash: signature.keyHash)
        }
        let timestamp = try Cosignature.timestamp(of: signature)
        let message = Cosignature.signedMessage(body: body, timestamp: timestamp)
        guard NoteKeys.isValid(Array(signature.signature.dropFirst(8)), for: message, publicKey: publicKey) else {
            throw .invalidSignature(name: name, keyHash: keyHash)
        }
        return timestamp
    }

    /// Finds and checks this witness's cosignature in `note` (the first line with its name and key
    /// hash); returns its timestamp.
    package func verifyCosignature(in note: SignedNote) throws(CosignatureError) -> UInt64 {
        guard let signature = note.signatures.first(where: { $0.name == name && $0.keyHash == keyHash }) else {
            throw .missingCosignature(name: name, keyHash: keyHash)
        }
        return try verify(signature, body: note.text)
    }
}

/// A witness signing key (type 0x04): cosigns checkpoints.
package struct CosignatureSigner: Sendable {
    /// The witness's key name.
    package let name: String
    /// The 32-byte seed.
    private let seed: [UInt8]
    /// The matching verifier.
    package let verifier: CosignatureVerifier

    /// The cosigner `name` with `privateKey`.
    package init(name: String, privateKey: Curve25519.Signing.PrivateKey) throws(NoteError) {
        self.name = name
        self.seed = Array(privateKey.rawRepresentation)
        self.verifier = try CosignatureVerifier(name: name, publicKey: privateKey.publicKey)
    }

    /// Parses a signer key, "PRIVATE+KEY+<name>+<hex key hash>+<base64(0x04 ‖ seed)>".
    package init(signerKey: String) throws(NoteError) {
        let (name, seed) = try NoteKeys.parseSignerKey(signerKey, type: NoteKeys.cosignatureType)
        try self.init(name: name, privateKey: try! Curve25519.Signing.PrivateKey(rawRepresentation: seed))
    }

    /// A cosigner `name` with a new random key.
    package static func generate(name: String) throws(NoteError) -> CosignatureSigner {
        try CosignatureSigner(name: name, privateKey: Curve25519.Signing.PrivateKey())
    }

    /// The key hash of its cosignature lines.
    package var keyHash: UInt32 { verifier.keyHash }

    /// The secret signer key string.
    package var signerKey: String {
        "PRIVATE+KEY+\(name)+\(Encoding.hex(Encoding.bigEndian(keyHash)))+\(Encoding.base64([NoteKeys.cosignatureType] + seed))"
    }

    /// The cosignature line for `checkpoint` at `timestamp` (POSIX seconds). Decide first, e.g. with
    /// `WitnessState`, whether the checkpoint deserves it.
    package func cosignature(for checkpoint: Checkpoint, timestamp: UInt64) throws(CosignatureError) -> NoteSignature {
        guard timestamp <= Cosignature.maximumTimestamp else { throw .timestampOutOfRange(timestamp) }
        let message = Cosignature.signedMessage(body: checkpoint.body, timestamp: timestamp)
        do throws(NoteError) {
            let signature = try NoteKeys.sign(message, seed: seed)
            return NoteSignature(name: name, keyHash: keyHash, signature: Encoding.bigEndian(timestamp) + signature)
        } catch {
            throw .signing(error)
        }
    }

    /// `note` (a signed checkpoint) with this witness's cosignature added, replacing an earlier one.
    package func cosign(_ note: SignedNote, timestamp: UInt64) throws(CosignatureError) -> SignedNote {
        let checkpoint: Checkpoint
        do throws(CheckpointError) {
            checkpoint = try Checkpoint(parsing: note.text)
        } catch {
            throw .notACheckpoint(error)
        }
        let signature = try cosignature(for: checkpoint, timestamp: timestamp)
        do throws(NoteError) {
            return try note.adding(signature)
        } catch {
            throw .signing(error)
        }
    }
}

/// Why a cosignature could not be made or was rejected.
package enum CosignatureError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The note has no line with the witness's name and key hash.
    case missingCosignature(name: String, keyHash: UInt32)
    /// The line is from another key than the verifier's.
    case wrongKey(expected: String, keyHash: UInt32, found: String, foundKeyHash: UInt32)
    /// The payload after the key hash is not timestamp (8) ‖ signature (64).
    case malformedCosignature(name: String, keyHash: UInt32, byteCount: Int)
    /// The timestamp is above 2^63 - 1.
    case timestampOutOfRange(UInt64)
    /// The Ed25519 signature does not verify.
    case invalidSignature(name: String, keyHash: UInt32)
    /// The note to cosign is not a checkpoint.
    case notACheckpoint(CheckpointError)
    /// Signing failed.
    case signing(NoteError)

    package var description: String {
        switch self {
        case .missingCosignature(let name, let keyHash):
            "the note has no cosignature by witness \(name)+\(Encoding.hex(Encoding.bigEndian(keyHash))): the witness has not cosigned this checkpoint"
        case .wrongKey(let expected, let keyHash, let found, let foundKeyHash):
            "the line is by \(found)+\(Encoding.hex(Encoding.bigEndian(foundKeyHash))), not by witness \(expected)+\(Encoding.hex(Encoding.bigEndian(keyHash)))"
        case .malformedCosignature(let name, _, let byteCount):
            "the cosignature by \(name) has \(byteCount) bytes after the key hash, not 72 (timestamp and Ed25519 signature): it is not a cosignature/v1 line"
        case .timestampOutOfRange(let timestamp): "cosignature timestamp \(timestamp) is above 2^63 - 1"
        case .invalidSignature(let name, let keyHash):
            "the cosignature by \(name)+\(Encoding.hex(Encoding.bigEndian(keyHash))) does not verify: the checkpoint or timestamp was altered, or it is forged"
        case .notACheckpoint(let error): "only checkpoints are cosigned: \(error)"
        case .signing(let error): "cosigning failed: \(error)"
        }
    }
}
