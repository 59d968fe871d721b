import Crypto
import Foundation
import PostureEvidence
import PostureTransparency
import Testing

/// A claim bundle's log section checked offline: proofs against checkpoints signed by the receipt
/// key, built here by PostureTransparency's in-memory log (itself checked against a naive RFC 6962
/// reference), then tampered with one way per case.
@Suite struct LogSectionTests {
    /// The log of six envelopes, three of them the claim's, with a checkpoint at size 6.
    struct Fixture {
        let key = Curve25519.Signing.PrivateKey()
        var log = MemoryNodeStore()
        let envelopes = (0..<6).map { Data("envelope \($0)".utf8) }
        var reports: [(id: String, envelope: Data)] { [1, 3, 5].map { ("r\($0)", envelopes[$0]) } }

        init() {
            for envelope in envelopes { _ = log.append(entry: Array(envelope)) }
        }

        func checkpoint(size: Int, root: Hash? = nil, key signing: Curve25519.Signing.PrivateKey? = nil) throws -> String {
            let origin = CollectorLog(receiptKey: key.publicKey).origin
            let signer = try NoteSigner(name: origin, privateKey: signing ?? key)
            return try signer.sign(try Checkpoint(origin: origin, size: size, root: root ?? (try log.root(treeSize: size)))).serialized
        }

        func section(size: Int = 6) throws -> LogSection {
            LogSection(
                receiptKey: key.publicKey, checkpoints: [try checkpoint(size: size)],
                inclusions: try [1, 3, 5].filter { $0 < size }.map { index in
                    LogSection.Inclusion(
                        reportId: "r\(index)", index: index, checkpoint: 0,
                        proof: try log.inclusionProof(index: index, treeSize: size).map(\.base64))
                })
        }
    }

    @Test func everyReportProvenIncluded() throws {
        let fixture = Fixture()
        let result = try fixture.section().verify(reports: fixture.reports, expectedKey: fixture.key.publicKey)
        #expect(result.everyReportIncluded && result.included == 3 && result.checkpointSize == 6, "\(result)")
    }

    /// A tampering and what it must produce: a problem whose text contains `problem`, or reports
    /// left unproven.
    struct Tampering: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var problem: String?
        var notProven = 0
        var apply: @Sendable (inout LogSection, Fixture) throws -> Void
    }

    static let tamperings: [Tampering] = [
        Tampering(testDescription: "an index moved", problem: "not included at index 2") { section, _ in section.inclusions[0].index = 2 },
        Tampering(testDescription: "a proof hash changed", problem: "not included") { section, fixture in
            section.inclusions[1].proof[0] = (try fixture.log.root()).base64
        },
        Tampering(testDescription: "a proof hash that is not base64", problem: "not base64 of 32 bytes") { section, _ in
            section.inclusions[1].proof[0] = "%%"
        },
        Tampering(testDescription: "a report's proof removed", notProven: 1) { section, _ in section.inclusions.removeLast() },
        Tampering(testDescription: "a checkpoint signed by another key", problem: "does not verify against the receipt key") {
            section, fixture in
            section.checkpoints[0] = try fixture.checkpoint(size: 6, key: .init())
        },
        Tampering(testDescription: "a checkpoint with another root", problem: "not included") { section, fixture in
            section.checkpoints[0] = try fixture.checkpoint(size: 6, root: .emptyTree)
        },
        Tampering(testDescription: "two roots for one size: a split view", problem: "split view") { section, fixture in
            section.checkpoints.append(try fixture.checkpoint(size: 6, root: .emptyTree))
        },
        Tampering(testDescription: "the receipt key swapped", problem: "is not the expected", notProven: 3) { section, _ in
            section = LogSection(receiptKey: Curve25519.Signing.PrivateKey().publicKey, checkpoints: section.checkpoints, inclusions: section.inclusions)
        },
        Tampering(testDescription: "a proof naming a checkpoint that is not there", problem: "which does not verify") { section, _ in
            section.inclusions[2].checkpoint = 7
        }
    ]

    @Test(arguments: tamperings)
    func tamperingIsCaught(_ tampering: Tampering) throws {
        let fixture = Fixture()
        var section = try fixture.section()
        try tampering.apply(&section, fixture)
        let result = section.verify(reports: fixture.reports, expectedKey: fixture.key.publicKey)
        #expect(!result.everyReportIncluded)
        if let problem = tampering.problem {
            #expect(result.problems.contains { $0.contains(problem) }, "\(result.problems)")
        }
        #expect(result.notProven.count == tampering.notProven, "\(result.notProven)")
    }

    /// A bundle made before its last reports were proven says so, and nothing fails.
    @Test func reportsAfterTheCheckpointAreNotProvenYet() throws {
        let fixture = Fixture()
        let result = try fixture.section(size: 4).verify(reports: fixture.reports)
        #expect(result.problems.isEmpty && result.included == 2 && result.notProven == ["r5"], "\(result)")
    }

    /// What a collector answers for a proof is read defensively: anything but a list of at most
    /// 128 base64 hashes of 32 bytes is a problem, never a crash or a partial proof.
    @Test(arguments: [
        "", "{", "[]", "{\"proof\": \"x\"}", "{\"proof\": [\"%%\"]}", "{\"proof\": [\"AAAA\"]}",
        "{\"proof\": [" + Array(repeating: "\"" + Hash.emptyTree.base64 + "\"", count: 129).joined(separator: ",") + "]}",
        "{\"proof\": [\"" + Hash.emptyTree.base64
    ])
    func proofAnswersThatAreNotProofs(_ answer: String) {
        #expect(throws: LogProblem.self) { try CollectorLog.proof(answer: Data(answer.utf8)) }
    }

    @Test func aProofAnswerIsRead() throws {
        let answer = "{\"index\": 1, \"proof\": [\"" + Hash.emptyTree.base64 + "\"], \"size\": 2}"
        #expect(try CollectorLog.proof(answer: Data(answer.utf8)) == [Hash.emptyTree])
    }
}
