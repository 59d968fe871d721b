/// A transparency log checkpoint (https://c2sp.org/tlog-checkpoint): the body of a signed note,
/// "<origin>\n<decimal tree size>\n<base64 root hash>\n" and optional non-empty extension lines.
package struct Checkpoint: Hashable, Sendable {
    /// The log's identity, e.g. "example.com/log42".
    package let origin: String
    /// The number of leaves.
    package let size: Int
    /// The RFC 6962 root hash of the first `size` leaves.
    package let root: Hash
    /// Opaque extension lines (without newlines); discouraged by the spec, but signed and cosigned.
    package let extensions: [String]

    /// A checkpoint; the origin and extension lines must be non-empty single lines of note text.
    package init(origin: String, size: Int, root: Hash, extensions: [String] = []) throws(CheckpointError) {
        try Self.checkLine(origin, number: 1)
        guard size >= 0 else { throw .invalidTreeSize(String(size)) }
        for (offset, line) in extensions.enumerated() { try Self.checkLine(line, number: 4 + offset) }
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
    }

    /// Parses a checkpoint body (a note's text).
    package init(parsing body: String) throws(CheckpointError) {
        let bytes = Array(body.utf8)
        do throws(NoteError) {
            try SignedNote.checkText(bytes)
        } catch .missingFinalNewline {
            throw .missingFinalNewline
        } catch {
            throw .invalidText(error)
        }
        let lines = body.utf8.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard lines.count >= 3 else { throw .tooFewLines(lines.count) }
        guard let size = Encoding.canonicalDecimal(lines[1]) else { throw .invalidTreeSize(lines[1]) }
        guard let root = try? Hash(base64: lines[2]) else { throw .invalidRootHash(lines[2]) }
        try self.init(origin: lines[0], size: size, root: root, extensions: Array(lines[3...]))
    }

    /// The note text: origin, size, root and extension lines, each ending in a newline.
    package var body: String {
        ([origin, String(size), root.base64] + extensions).map { $0 + "\n" }.joined()
    }

    /// Parses a signed checkpoint and checks the log's signature: the note must carry a valid
    /// signature of `logVerifier`, and, if given, the origin must be `expectedOrigin`. Other
    /// signature lines (witnesses, other keys) are kept in the returned note, unchecked.
    package static func open(
        _ signedNote: String,
        logVerifier: NoteVerifier,
        expectedOrigin: String? = nil
    ) throws(CheckpointError) -> (checkpoint: Checkpoint, note: SignedNote) {
        let note: SignedNote
        do throws(NoteError) {
            note = try SignedNote(parsing: signedNote)
        } catch {
            throw .note(error)
        }
        return (try open(note, logVerifier: logVerifier, expectedOrigin: expectedOrigin), note)
    }

    /// The checkpoint of a parsed signed note, after checking the log's signature (see `open(_:logVerifier:expectedOrigin:)`).
    package static func open(_ note: SignedNote, logVerifier: NoteVerifier, expectedOrigin: String? = nil) throws(CheckpointError) -> Checkpoint {
        do throws(NoteError) {
            _ = try note.verifiedSignatures(by: [logVerifier])
        } catch {
            throw .note(error)
        }
        let checkpoint = try Checkpoint(parsing: note.text)
        if let expectedOrigin, checkpoint.origin != expectedOrigin {
            throw .originMismatch(expected: expectedOrigin, found: checkpoint.origin)
        }
        return checkpoint
    }

    private static func checkLine(_ line: String, number: Int) throws(CheckpointError) {
        guard !line.isEmpty else { throw .emptyLine(number: number) }
        let bytes = Array(line.utf8)
        guard !bytes.contains(0x0A), Encoding.firstControlCharacter(bytes) == nil else { throw .controlCharacterInLine(number: number) }
    }
}

extension NoteSigner {
    /// `checkpoint` signed by this key, as a log signs its checkpoints.
    package func sign(_ checkpoint: Checkpoint) throws(NoteError) -> SignedNote {
        try sign(text: checkpoint.body)
    }
}

/// Why a checkpoint was rejected.
package enum CheckpointError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The body does not end in a newline.
    case missingFinalNewline
    /// The body is not valid note text.
    case invalidText(NoteError)
    /// The body has fewer than the three lines origin, size and root.
    case tooFewLines(Int)
    /// A line (numbered from 1) is empty.
    case emptyLine(number: Int)
    /// A line (numbered from 1) has a newline or another control character.
    case controlCharacterInLine(number: Int)
    /// The size line is not a canonical non-negative decimal.
    case invalidTreeSize(String)
    /// The root line is not padded base64 of 32 bytes.
    case invalidRootHash(String)
    /// The checkpoint is from another log.
    case originMismatch(expected: String, found: String)
    /// The signed note is malformed or lacks a valid log signature.
    case note(NoteError)

    package var description: String {
        switch self {
        case .missingFinalNewline: "the checkpoint body does not end in a newline: every line, the root hash line included, ends in U+000A"
        case .invalidText(let error): "the checkpoint body is not valid note text: \(error)"
        case .tooFewLines(let count): "the checkpoint body has \(count) lines, not at least 3 (origin, tree size, root hash)"
        case .emptyLine(let number):
            "checkpoint line \(number) is empty: the origin and extension lines must be non-empty (a blank line would end the note text)"
        case .controlCharacterInLine(let number): "checkpoint line \(number) has a newline or control character: each field is one line of text"
        case .invalidTreeSize(let text): "tree size '\(text.prefix(40))' is not a canonical decimal (digits only, no sign, no leading zero, at most \(Int.max))"
        case .invalidRootHash(let text): "root hash '\(text.prefix(60))' is not padded standard base64 of a 32-byte SHA-256 hash"
        case .originMismatch(let expected, let found): "the checkpoint is from log '\(found)', not '\(expected)'"
        case .note(let error): "the signed checkpoint is rejected: \(error)"
        }
    }
}
