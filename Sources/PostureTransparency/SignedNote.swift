/// One signature line of a signed note (https://c2sp.org/signed-note):
/// "— <name> <base64(key hash ‖ signature)>\n". Lines from unknown keys are kept as they are.
package struct NoteSignature: Hashable, Sendable {
    /// The key name.
    package var name: String
    /// The 32-bit key ID: the first 4 bytes of the decoded payload, big-endian.
    package var keyHash: UInt32
    /// The signature bytes after the key hash (algorithm-specific; for cosignatures, timestamp ‖ signature).
    package var signature: [UInt8]

    /// A signature line's parts.
    package init(name: String, keyHash: UInt32, signature: [UInt8]) {
        self.name = name
        self.keyHash = keyHash
        self.signature = signature
    }

    /// The line as it appears in a note, with its final newline.
    package var line: String { "— \(name) \(Encoding.base64(Encoding.bigEndian(keyHash) + signature))\n" }
}

/// A signed note (https://c2sp.org/signed-note): a text ending in a newline, a blank line, and one or
/// more signature lines. Parsing is strict; verification follows the spec: lines from unknown keys
/// are ignored, a bad signature from a known key rejects the note, and so does a note that no known
/// key signed.
package struct SignedNote: Hashable, Sendable {
    /// The most signature lines a note may have (as golang.org/x/mod/sumdb/note).
    package static let maximumSignatures = 100

    /// The signed text, final newline included, separating blank line excluded.
    package private(set) var text: String
    /// The signature lines, in order.
    package private(set) var signatures: [NoteSignature]

    /// A note of `text` (valid UTF-8, no control characters but newline, ending in a newline) with
    /// `signatures`, typically none yet.
    package init(text: String, signatures: [NoteSignature] = []) throws(NoteError) {
        try Self.checkText(Array(text.utf8))
        for signature in signatures where !NoteKeys.isValidName(signature.name) { throw .invalidKeyName(signature.name) }
        self.text = text
        self.signatures = signatures
    }

    /// Parses a signed note from its text.
    package init(parsing note: String) throws(NoteError) {
        try self.init(parsing: Array(note.utf8))
    }

    /// Parses a signed note from its bytes.
    package init(parsing bytes: [UInt8]) throws(NoteError) {
        guard Encoding.isValidUTF8(bytes) else { throw .invalidUTF8 }
        if let offset = Encoding.firstControlCharacter(bytes) { throw .controlCharacter(offset: offset) }
        // The text ends at the last blank line.
        var split: Int?
        var position = bytes.count - 2
        while position >= 0 {
            if bytes[position] == 0x0A && bytes[position + 1] == 0x0A {
                split = position
                break
            }
            position -= 1
        }
        guard let split else { throw .missingSignatureBlock }
        let block = bytes[(split + 2)...]
        guard let last = block.last else { throw .missingSignatureBlock }
        guard last == 0x0A else { throw .missingFinalNewline }
        var signatures: [NoteSignature] = []
        for (number, line) in block.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            guard signatures.count < Self.maximumSignatures else { throw .tooManySignatures(limit: Self.maximumSignatures) }
            signatures.append(try Self.parseSignatureLine(Array(line), number: number + 1))
        }
        self.text = String(decoding: bytes[...split], as: UTF8.self)
        self.signatures = signatures
    }

    /// The note as text: the text, a blank line, the signature lines. A note without signatures is
    /// not a valid signed note, and `init(parsing:)` rejects this form of it.
    package var serialized: String { text + "\n" + signatures.map(\.line).joined() }

    /// The signatures that `verifiers` check, after checking them all: throws if a signature from a
    /// known key (same name and key hash) fails, or if none is from a known key. A key's repeated
    /// signatures count once.
    package func verifiedSignatures(by verifiers: [NoteVerifier]) throws(NoteError) -> [NoteSignature] {
        let message = Array(text.utf8)
        var verified: [NoteSignature] = []
        var seen: Set<NoteKeys.KeyID> = []
        for signature in signatures {
            let matches = Set(verifiers.filter { $0.name == signature.name && $0.keyHash == signature.keyHash })
            guard let verifier = matches.first else { continue }
            guard matches.count == 1 else { throw .ambiguousVerifier(name: signature.name, keyHash: signature.keyHash) }
            guard seen.insert(NoteKeys.KeyID(name: signature.name, keyHash: signature.keyHash)).inserted else { continue }
            guard verifier.isValidSignature(signature.signature, for: message) else {
                throw .invalidSignature(name: signature.name, keyHash: signature.keyHash)
            }
            verified.append(signature)
        }
        guard !verified.isEmpty else { throw .noVerifiedSignature(knownKeys: verifiers.map(\.name)) }
        return verified
    }

    /// This note with `signature` added, replacing any line with the same name and key hash.
    package func adding(_ signature: NoteSignature) throws(NoteError) -> SignedNote {
        guard NoteKeys.isValidName(signature.name) else { throw .invalidKeyName(signature.name) }
        var note = self
        note.signatures.removeAll { $0.name == signature.name && $0.keyHash == signature.keyHash }
        guard note.signatures.count < Self.maximumSignatures else { throw .tooManySignatures(limit: Self.maximumSignatures) }
        note.signatures.append(signature)
        return note
    }

    static func checkText(_ bytes: [UInt8]) throws(NoteError) {
        guard Encoding.isValidUTF8(bytes) else { throw .invalidUTF8 }
        if let offset = Encoding.firstControlCharacter(bytes) { throw .controlCharacter(offset: offset) }
        guard bytes.last == 0x0A else { throw .missingFinalNewline }
    }

    private static let signaturePrefix: [UInt8] = Array("— ".utf8)

    private static func parseSignatureLine(_ line: [UInt8], number: Int) throws(NoteError) -> NoteSignature {
        guard line.starts(with: signaturePrefix) else {
            throw .malformedSignatureLine(number: number, reason: "it does not start with an em dash (U+2014) and a space")
        }
        let rest = line.dropFirst(signaturePrefix.count)
        guard let space = rest.firstIndex(of: 0x20) else {
            throw .malformedSignatureLine(number: number, reason: "no space between the key name and the signature")
        }
        let name = String(decoding: rest[..<space], as: UTF8.self)
        guard NoteKeys.isValidName(name) else { throw .malformedSignatureLine(number: number, reason: "invalid key name '\(name)'") }
        let encoded = String(decoding: rest[(space + 1)...], as: UTF8.self)
        guard let payload = Encoding.base64Decode(encoded) else {
            throw .malformedSignatureLine(number: number, reason: "the signature is not canonical padded base64")
        }
        guard payload.count >= 5 else {
            throw .malformedSignatureLine(number: number, reason: "the signature has \(payload.count) bytes, less than a key hash and one byte")
        }
        return NoteSignature(name: name, keyHash: Encoding.uint32(bigEndian: payload), signature: Array(payload.dropFirst(4)))
    }
}

/// Why a signed note, a key or a signature was rejected.
package enum NoteError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The note is not valid UTF-8.
    case invalidUTF8
    /// The note has an ASCII control character other than newline at this byte offset.
    case controlCharacter(offset: Int)
    /// There is no blank line followed by signature lines.
    case missingSignatureBlock
    /// The text, or the last signature line, does not end in a newline.
    case missingFinalNewline
    /// A signature line (numbered from 1) is malformed.
    case malformedSignatureLine(number: Int, reason: String)
    /// The note has more signature lines than allowed.
    case tooManySignatures(limit: Int)
    /// A key name is empty or has a space or a plus sign.
    case invalidKeyName(String)
    /// A verifier key string is malformed.
    case malformedVerifierKey(reason: String)
    /// A signer key string is malformed.
    case malformedSignerKey(reason: String)
    /// A key's algorithm (signature type) byte is not the one expected.
    case unsupportedKeyType(found: UInt8, expected: UInt8)
    /// A key string's key hash does not match its name and key.
    case keyHashMismatch(stated: UInt32, computed: UInt32)
    /// A known key's signature does not verify.
    case invalidSignature(name: String, keyHash: UInt32)
    /// No signature is from any of the given keys.
    case noVerifiedSignature(knownKeys: [String])
    /// Two different given keys share a name and key hash.
    case ambiguousVerifier(name: String, keyHash: UInt32)
    /// The signing operation failed.
    case signingFailed(String)

    package var description: String {
        switch self {
        case .invalidUTF8: "the note is not valid UTF-8"
        case .controlCharacter(let offset): "the note has a control character at byte \(offset): only newline (U+000A) is allowed below U+0020"
        case .missingSignatureBlock:
            "the note has no blank line followed by signature lines: a signed note is text, an empty line, then '— <name> <signature>' lines"
        case .missingFinalNewline: "the note text or its last signature line does not end in a newline (U+000A)"
        case .malformedSignatureLine(let number, let reason): "signature line \(number) is malformed: \(reason)"
        case .tooManySignatures(let limit): "the note has more than \(limit) signature lines"
        case .invalidKeyName(let name): "key name '\(name)' is invalid: it must be non-empty, without spaces, plus signs or control characters"
        case .malformedVerifierKey(let reason): "malformed verifier key (expected <name>+<8 hex digits>+<base64 of type byte and public key>): \(reason)"
        case .malformedSignerKey(let reason): "malformed signer key (expected PRIVATE+KEY+<name>+<8 hex digits>+<base64 of type byte and seed>): \(reason)"
        case .unsupportedKeyType(let found, let expected):
            "key type 0x\(Encoding.hex([found])) where 0x\(Encoding.hex([expected])) is expected (0x01 Ed25519 note key, 0x04 Ed25519 cosignature key)"
        case .keyHashMismatch(let stated, let computed):
            "the key hash \(Encoding.hex(Encoding.bigEndian(stated))) does not match the name and key (\(Encoding.hex(Encoding.bigEndian(computed)))): the key string was altered or mis-copied"
        case .invalidSignature(let name, let keyHash):
            "the signature by \(name)+\(Encoding.hex(Encoding.bigEndian(keyHash))) does not verify: the note was altered after signing, or the signature is forged"
        case .noVerifiedSignature(let knownKeys):
            "the note has no signature from a trusted key (\(knownKeys.joined(separator: ", "))): it was signed by other keys or not at all"
        case .ambiguousVerifier(let name, let keyHash):
            "two different trusted keys are named \(name)+\(Encoding.hex(Encoding.bigEndian(keyHash))): remove the duplicate from the configuration"
        case .signingFailed(let reason): "signing failed: \(reason)"
        }
    }
}
