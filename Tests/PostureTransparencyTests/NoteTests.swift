import Crypto
import Foundation
import PostureTransparency
import Testing

/// Signed notes, note keys and checkpoints: strict parsing, signing, verification.
@Suite("Signed notes and checkpoints")
struct NoteTests {
    static let log = try! NoteSigner(name: "example.com/log", privateKey: Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: 32)))
    static let other = try! NoteSigner(name: "example.com/log", privateKey: Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 9, count: 32)))
    static let checkpoint = try! Checkpoint(origin: "example.com/log", size: 12, root: log2000.root(treeSize: 12))

    @Test("keys round-trip through their string forms")
    func keyStrings() throws {
        let signer = try NoteSigner.generate(name: "a.example/key")
        #expect(try NoteVerifier(verifierKey: signer.verifier.verifierKey) == signer.verifier)
        #expect(try NoteSigner(signerKey: signer.signerKey).verifier == signer.verifier)
        #expect(try NoteSigner(name: "n", privateKey: signer.privateKey).verifier.publicKey == signer.verifier.publicKey)
        #expect(signer.keyHash == NoteKeys.keyHash(name: "a.example/key", type: 0x01, publicKey: signer.verifier.publicKey))
    }

    @Test("invalid key names are rejected", arguments: ["", "a b", "a+b", "a\tb", "a\u{00A0}b", "a\u{2028}b", "a\u{1}b"])
    func invalidNames(name: String) {
        #expect(throws: NoteError.invalidKeyName(name)) { _ = try NoteSigner.generate(name: name) }
    }

    @Test("a signed checkpoint opens with the log's key and round-trips")
    func signedCheckpoint() throws {
        let note = try Self.log.sign(Self.checkpoint)
        let text = note.serialized
        #expect(text.hasPrefix("example.com/log\n12\n\(Self.checkpoint.root.base64)\n\n— example.com/log "))
        let (opened, parsed) = try Checkpoint.open(text, logVerifier: Self.log.verifier, expectedOrigin: "example.com/log")
        #expect(opened == Self.checkpoint)
        #expect(parsed == note)
        #expect(throws: CheckpointError.originMismatch(expected: "other", found: "example.com/log")) {
            _ = try Checkpoint.open(text, logVerifier: Self.log.verifier, expectedOrigin: "other")
        }
    }

    @Test("a note signed by another key is rejected; a forged line for the trusted key too")
    func otherKey() throws {
        // Same name, other key: its key hash differs, so the line is unknown and ignored.
        let byOther = try Self.other.sign(Self.checkpoint)
        #expect(throws: NoteError.noVerifiedSignature(knownKeys: ["example.com/log"])) { _ = try byOther.verifiedSignatures(by: [Self.log.verifier]) }
        #expect(throws: CheckpointError.note(.noVerifiedSignature(knownKeys: ["example.com/log"]))) {
            _ = try Checkpoint.open(byOther.serialized, logVerifier: Self.log.verifier)
        }
        // The other key's signature under the trusted key's name and hash: a bad signature of a known key.
        var line = byOther.signatures[0]
        line.keyHash = Self.log.keyHash
        let forged = try SignedNote(text: byOther.text, signatures: [line])
        #expect(throws: NoteError.invalidSignature(name: "example.com/log", keyHash: Self.log.keyHash)) {
            _ = try forged.verifiedSignatures(by: [Self.log.verifier])
        }
        // A bad signature from a known key rejects the note even if another known key verifies.
        let witness = try NoteSigner.generate(name: "witness")
        let both = try witness.sign(forged)
        #expect(throws: (any Error).self) { _ = try both.verifiedSignatures(by: [Self.log.verifier, witness.verifier]) }
    }

    @Test(
        "a modified note body is rejected",
        arguments: [
            ("example.com/log\n12\n", "example.com/log\n13\n"),
            ("example.com/log\n", "example.com/lag\n"),
            ("=\n", "=\nextension\n")
        ])
    func modifiedBody(original: String, replacement: String) throws {
        let signed = try Self.log.sign(Self.checkpoint).serialized
        let tampered = signed.replacingFirst(original, with: replacement)
        #expect(tampered != signed)
        let note = try SignedNote(parsing: tampered)
        #expect(throws: NoteError.invalidSignature(name: "example.com/log", keyHash: Self.log.keyHash)) {
            _ = try note.verifiedSignatures(by: [Self.log.verifier])
        }
    }

    @Test(
        "strict note parsing",
        arguments: [
            ("text\n\n— k AAAAAAA=", NoteError.missingFinalNewline),
            ("text\n— k AAAAAAA=\n", .missingSignatureBlock),
            ("text\n\n", .missingSignatureBlock),
            ("text\n\n— k AAAAAAA=\n\n", .missingSignatureBlock),
            ("text\n\n- k AAAAAAA=\n", .malformedSignatureLine(number: 1, reason: "it does not start with an em dash (U+2014) and a space")),
            ("text\n\n— kAAAAAAA=\n", .malformedSignatureLine(number: 1, reason: "no space between the key name and the signature")),
            ("text\n\n— k AAAAAAA\n", .malformedSignatureLine(number: 1, reason: "the signature is not canonical padded base64")),
            ("text\n\n— k AAAAAA==\n", .malformedSignatureLine(number: 1, reason: "the signature has 4 bytes, less than a key hash and one byte")),
            ("text\n\n— k+1 AAAAAAA=\n", .malformedSignatureLine(number: 1, reason: "invalid key name 'k+1'")),
            ("text\n\n— k AAAAAAA=\n— k  AAAAAAA=\n", .malformedSignatureLine(number: 2, reason: "the signature is not canonical padded base64")),
            ("te\rxt\n\n— k AAAAAAA=\n", .controlCharacter(offset: 2))
        ])
    func strictParsing(note: String, error: NoteError) {
        #expect(throws: error) { _ = try SignedNote(parsing: note) }
    }

    @Test("at most 100 signature lines")
    func signatureLimit() throws {
        let line = "— k AAAAAAA=\n"
        #expect(try SignedNote(parsing: "t\n\n" + String(repeating: line, count: 100)).signatures.count == 100)
        #expect(throws: NoteError.tooManySignatures(limit: 100)) { _ = try SignedNote(parsing: "t\n\n" + String(repeating: line, count: 101)) }
    }

    @Test("note texts must end in a newline and hold no control characters")
    func noteText() {
        #expect(throws: NoteError.missingFinalNewline) { _ = try Self.log.sign(text: "no newline") }
        #expect(throws: NoteError.controlCharacter(offset: 3)) { _ = try Self.log.sign(text: "tab\there\n") }
        #expect(throws: NoteError.invalidKeyName("bad name")) {
            _ = try SignedNote(text: "ok\n", signatures: [NoteSignature(name: "bad name", keyHash: 0, signature: [1])])
        }
    }

    @Test(
        "checkpoint bodies: strict parsing",
        arguments: [
            ("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", CheckpointError.missingFinalNewline),
            ("o\n1\n", .tooFewLines(2)),
            ("o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", .invalidTreeSize("01")),
            ("o\n+1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", .invalidTreeSize("+1")),
            ("o\n1 \n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", .invalidTreeSize("1 ")),
            ("o\n9223372036854775808\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", .invalidTreeSize("9223372036854775808")),
            ("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n", .invalidRootHash("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")),
            ("\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", .emptyLine(number: 1)),
            ("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n", .emptyLine(number: 4))
        ])
    func checkpointParsing(body: String, error: CheckpointError) {
        #expect(throws: error) { _ = try Checkpoint(parsing: body) }
    }

    @Test("checkpoints with extensions round-trip; fields must be single lines")
    func checkpointFields() throws {
        let root = try log2000.root(treeSize: 3)
        let checkpoint = try Checkpoint(origin: "o.example/x", size: 3, root: root, extensions: ["ext one", "ext two"])
        #expect(checkpoint.body == "o.example/x\n3\n\(root.base64)\next one\next two\n")
        #expect(try Checkpoint(parsing: checkpoint.body) == checkpoint)
        #expect(try Checkpoint(parsing: "o\n0\n\(Hash.emptyTree.base64)\n").size == 0)
        #expect(throws: CheckpointError.controlCharacterInLine(number: 1)) { _ = try Checkpoint(origin: "two\nlines", size: 1, root: root) }
        #expect(throws: CheckpointError.controlCharacterInLine(number: 5)) { _ = try Checkpoint(origin: "o", size: 1, root: root, extensions: ["a", "b\nc"]) }
        #expect(throws: CheckpointError.invalidTreeSize("-1")) { _ = try Checkpoint(origin: "o", size: -1, root: root) }
    }
}

extension String {
    /// This string with the first occurrence of `target` replaced.
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
