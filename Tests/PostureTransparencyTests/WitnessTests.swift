import Crypto
import PostureTransparency
import Testing

/// Witness cosignatures and the witness's decision to cosign.
@Suite("Witness cosignatures")
struct WitnessTests {
    static let origin = "example.com/log"
    static let log = try! NoteSigner(name: origin, privateKey: Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: 32)))
    static let witness = try! CosignatureSigner(
        name: "witness.example/w1", privateKey: Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 5, count: 32)))

    static func checkpoint(_ size: Int, in store: MemoryNodeStore = log2000) -> Checkpoint {
        try! Checkpoint(origin: origin, size: size, root: store.root(treeSize: size))
    }

    @Test("cosign and verify; the line has key hash ‖ timestamp ‖ signature")
    func roundTrip() throws {
        let note = try Self.log.sign(Self.checkpoint(20))
        let cosigned = try Self.witness.cosign(note, timestamp: 1_700_000_000)
        #expect(cosigned.signatures.count == 2)
        let line = cosigned.signatures[1]
        #expect(line.keyHash == NoteKeys.keyHash(name: "witness.example/w1", type: 0x04, publicKey: Self.witness.verifier.publicKey))
        #expect(line.signature.count == 72)
        #expect(Array(line.signature.prefix(8)) == [0, 0, 0, 0, 0x65, 0x53, 0xF1, 0x00])
        // Through text and back.
        let parsed = try SignedNote(parsing: cosigned.serialized)
        #expect(try Self.witness.verifier.verifyCosignature(in: parsed) == 1_700_000_000)
        // The log's key ignores the cosignature line; the witness key ignores the log's.
        #expect(try parsed.verifiedSignatures(by: [Self.log.verifier]).count == 1)
        #expect(try CosignatureVerifier(verifierKey: Self.witness.verifier.verifierKey) == Self.witness.verifier)
        #expect(try CosignatureSigner(signerKey: Self.witness.signerKey).verifier == Self.witness.verifier)
        // Cosigning again replaces the earlier cosignature.
        #expect(try Self.witness.cosign(cosigned, timestamp: 1_700_000_001).signatures.count == 2)
    }

    @Test("a cosignature fails for a modified checkpoint, timestamp or key")
    func tampering() throws {
        let note = try Self.witness.cosign(Self.log.sign(Self.checkpoint(20)), timestamp: 42)
        let line = note.signatures[1]
        let verifier = Self.witness.verifier
        let other = try Self.log.sign(Self.checkpoint(21))
        #expect(throws: CosignatureError.invalidSignature(name: verifier.name, keyHash: verifier.keyHash)) { _ = try verifier.verify(line, body: other.text) }
        var later = line
        later.signature[7] = 43
        #expect(throws: CosignatureError.invalidSignature(name: verifier.name, keyHash: verifier.keyHash)) { _ = try verifier.verify(later, body: note.text) }
        var huge = line
        huge.signature[0] = 0x80
        #expect(throws: CosignatureError.timestampOutOfRange(0x8000_0000_0000_002A)) { _ = try verifier.verify(huge, body: note.text) }
        let impostor = try CosignatureSigner(name: verifier.name, privateKey: Curve25519.Signing.PrivateKey())
        #expect(throws: CosignatureError.missingCosignature(name: verifier.name, keyHash: impostor.keyHash)) {
            _ = try impostor.verifier.verifyCosignature(in: note)
        }
        #expect(caseName(caught { _ = try verifier.verify(note.signatures[0], body: note.text) }) == "wrongKey")
        #expect(throws: CosignatureError.notACheckpoint(.tooFewLines(2))) { _ = try Self.witness.cosign(SignedNote(text: "not\na checkpoint\n"), timestamp: 1) }
        #expect(throws: CosignatureError.timestampOutOfRange(UInt64.max)) { _ = try Self.witness.cosignature(for: Self.checkpoint(1), timestamp: UInt64.max) }
    }

    /// A scenario: the witness's state, the offered checkpoint's size, which log it comes from, how
    /// its proof is altered, and the expected decision.
    struct Scenario: Sendable, CustomTestStringConvertible {
        let name: String
        let cosignedSize: Int
        let offeredSize: Int
        var forked = false
        var origin = WitnessTests.origin
        var proof: @Sendable ([Hash]) -> [Hash] = { $0 }
        let expected: String  // "cosign" or the refusal's case name
        var testDescription: String { name }
    }

    static let scenarios = [
        Scenario(name: "first checkpoint", cosignedSize: 0, offeredSize: 7, expected: "cosign"),
        Scenario(name: "growth with a valid proof", cosignedSize: 7, offeredSize: 300, expected: "cosign"),
        Scenario(name: "the same checkpoint again", cosignedSize: 300, offeredSize: 300, expected: "cosign"),
        Scenario(name: "a shrinking checkpoint", cosignedSize: 300, offeredSize: 299, expected: "treeShrinks"),
        Scenario(name: "split view: same size, other root", cosignedSize: 300, offeredSize: 300, forked: true, expected: "splitView"),
        Scenario(name: "a fork that grew", cosignedSize: 100, offeredSize: 300, forked: true, expected: "inconsistent"),
        Scenario(
            name: "a swapped proof element", cosignedSize: 7, offeredSize: 300, proof: { $0.count > 1 ? [$0[1], $0[0]] + $0.dropFirst(2) : $0 },
            expected: "inconsistent"),
        Scenario(name: "a truncated proof", cosignedSize: 7, offeredSize: 300, proof: { Array($0.dropLast()) }, expected: "inconsistent"),
        Scenario(name: "another log", cosignedSize: 7, offeredSize: 300, origin: "example.com/other", expected: "originMismatch")
    ]

    @Test("the witness cosigns only consistent extensions", arguments: scenarios)
    func decisions(scenario: Scenario) throws {
        // The fork rewrote leaf 50 and everything after.
        var fork = makeLog(size: 50)
        for index in 50..<400 { fork.append(entry: entry(index) + [1]) }
        let state = WitnessState(origin: Self.origin, size: scenario.cosignedSize, root: try log2000.root(treeSize: scenario.cosignedSize))
        let store = scenario.forked ? fork : log2000
        let offered = try Checkpoint(origin: scenario.origin, size: scenario.offeredSize, root: store.root(treeSize: scenario.offeredSize))
        let proof =
            scenario.offeredSize >= scenario.cosignedSize ? try store.consistencyProof(oldSize: scenario.cosignedSize, newSize: scenario.offeredSize) : []
        switch state.decide(offered, consistencyProof: scenario.proof(proof)) {
        case .cosign(let newState):
            #expect(scenario.expected == "cosign")
            #expect(newState == WitnessState(origin: Self.origin, size: offered.size, root: offered.root))
        case .refuse(let refusal):
            #expect(caseName(refusal) == scenario.expected, "\(refusal)")
        }
    }

    @Test("the initial state cosigns any first checkpoint with an empty proof, and only with the log's signature")
    func signedDecisions() throws {
        let state = WitnessState.initial(origin: Self.origin)
        #expect(state.size == 0 && state.root == .emptyTree)
        let note = try Self.log.sign(Self.checkpoint(9))
        #expect(
            state.decide(note, logVerifier: Self.log.verifier, consistencyProof: [])
                == .cosign(WitnessState(origin: Self.origin, size: 9, root: Self.checkpoint(9).root)))
        let impostor = try NoteSigner(name: Self.origin, privateKey: Curve25519.Signing.PrivateKey())
        let forged = try impostor.sign(Self.checkpoint(9))
        #expect(
            state.decide(forged, logVerifier: Self.log.verifier, consistencyProof: [])
                == .refuse(.invalidCheckpoint(.note(.noVerifiedSignature(knownKeys: [Self.origin])))))
        let split = WitnessState(origin: Self.origin, size: 9, root: .emptyTree)
        #expect(
            split.decide(note, logVerifier: Self.log.verifier, consistencyProof: [])
                == .refuse(.splitView(size: 9, cosignedRoot: .emptyTree, offeredRoot: Self.checkpoint(9).root)))
    }
}
