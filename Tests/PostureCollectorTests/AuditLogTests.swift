import Crypto
import Foundation
import PostureCollector
import PostureEvidence
import PostureModel
import PostureTestSupport
import PostureTransparency
import PostureTransport
import Testing

/// The collector's audit log through a real `posture-collector serve` (loopback TLS, each store):
/// every stored envelope (a fork too) is a leaf in receipt order, its receipt names the leaf, the
/// checkpoint is a note signed by the receipt key, and every inclusion and consistency proof the
/// API serves verifies with PostureTransparency's RFC 9162 verifier (itself checked against a
/// naive RFC 6962 reference in PostureTransparencyTests). The server runs in its own process, as
/// in production, so the stores never wait on the test runner's threads.
@Suite struct AuditLogTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] ?? [:]
    }

    static func proof(_ response: HTTPResponse) throws -> [Hash] {
        try ((json(response)["proof"] as? [String]) ?? []).map { try Hash(base64: $0) }
    }

    @Test(arguments: StoreKind.available)
    func receiptsCheckpointsAndProofsVerify(store: StoreKind) async throws {
        let scratch = store == .postgres ? try ScratchDatabase() : nil
        defer { try? scratch?.drop() }
        let server = try CollectorProcess(store: store, storageURL: scratch?.url)
        let devices = [TestDevice(), TestDevice()]
        for device in devices { #expect(try server.enroll(device.key).status == 201) }
        // Two devices' chains interleaved, and a fork: a second report at sequence 2.
        var uploads: [(id: String, bytes: Data)] = []
        let chains = try devices.map { try $0.chain(7) }
        for position in 0..<7 { for chain in chains { uploads.append(chain[position]) } }
        uploads.append(try devices[0].envelope(sequence: 2, previous: chains[0][0].bytes))
        let receiptKey = try server.receiptKey()
        let verifier = try NoteVerifier(
            verifierKey: String(decoding: try server.send("/v1/log/key", method: "GET").body, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(verifier.publicKey == Array(receiptKey.rawRepresentation), "the log signs with the receipt key agents pinned")

        var checkpoints: [Checkpoint] = []
        for (number, upload) in uploads.enumerated() {
            let response = try server.upload(upload.bytes, id: upload.id)
            #expect(response.status == 201)
            let receipt = try Receipt.verified(response.body, key: receiptKey, reportID: upload.id, envelope: upload.bytes)
            #expect(receipt.logIndex == number, "leaves are appended in receipt order")
            if number % 5 == 4 || number == uploads.count - 1 {
                let note = String(decoding: try server.send("/v1/log/checkpoint", method: "GET").body, as: UTF8.self)
                checkpoints.append(try Checkpoint.open(note, logVerifier: verifier).checkpoint)
            }
        }
        let last = try #require(checkpoints.last)
        #expect(last.size == uploads.count)
        for (index, upload) in uploads.enumerated() {
            let answer = try server.send("/v1/log/inclusion?index=\(index)&size=\(last.size)", method: "GET")
            let timing = try #require(answer.headers["server-timing"], "the collector's own time is in the answer")
            #expect(timing.hasPrefix("proof;dur=") && Double(timing.dropFirst("proof;dur=".count)).map { $0 >= 0 } == true, "\(timing)")
            let proof = try Self.proof(answer)
            try MerkleTree.verifyInclusion(leafHash: .leaf(Array(upload.bytes)), index: index, treeSize: last.size, proof: proof, root: last.root)
            // An edited envelope is not in the log.
            var edited = upload.bytes
            edited[edited.startIndex] ^= 1
            #expect(throws: (any Error).self) {
                try MerkleTree.verifyInclusion(leafHash: .leaf(Array(edited)), index: index, treeSize: last.size, proof: proof, root: last.root)
            }
        }
        for (old, new) in zip(checkpoints, checkpoints.dropFirst()) {
            let proof = try Self.proof(try server.send("/v1/log/consistency?from=\(old.size)&to=\(new.size)", method: "GET"))
            try MerkleTree.verifyConsistency(oldSize: old.size, newSize: new.size, oldRoot: old.root, newRoot: new.root, proof: proof)
        }
        for bad in ["/v1/log/inclusion?index=3&size=\(last.size + 1)", "/v1/log/inclusion?index=-1&size=2", "/v1/log/consistency?from=5&to=2"] {
            #expect(try server.send(bad, method: "GET").status == 400, "\(bad)")
        }
        #expect(server.stop() == 0)
    }

    /// `posture-collector witness` cosigns a checkpoint only when it extends the last one it
    /// cosigned; the collector keeps cosignatures by the witnesses it lists and serves them. A
    /// second log under the same receipt key with other entries of the same size is refused (split
    /// view) and leaves the witness's state as it was.
    @Test(arguments: StoreKind.available)
    func aWitnessCosignsOnlyExtensions(store: StoreKind) async throws {
        let scratch = store == .postgres ? try ScratchDatabase() : nil
        defer { try? scratch?.drop() }
        let root = try TemporaryRoot("witness")
        let keyFile = root.url("witness.key").path, stateFile = root.url("witness.state").path
        let made = try Fixtures.run(CollectorProcess.binary, ["witness", "key", "--key", keyFile, "--name", "witness.test"])
        #expect(made.status == 0, "\(made.stderr)")
        let witnessKey = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let cosignatures = try CosignatureVerifier(verifierKey: witnessKey)
        let server = try CollectorProcess(store: store, storageURL: scratch?.url, extraConfig: "witnesses: [\"\(witnessKey)\"]")
        let logKey = String(decoding: try server.send("/v1/log/key", method: "GET").body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let verifier = try NoteVerifier(verifierKey: logKey)
        #expect(try server.send("/v1/log/checkpoint/cosigned", method: "GET").status == 404, "nothing cosigned yet")
        func witness(_ collector: CollectorProcess) throws -> (status: Int32, stdout: String, stderr: String) {
            try Fixtures.run(
                CollectorProcess.binary,
                [
                    "witness", "run", "--once", "--url", collector.base, "--log-key", logKey, "--key", keyFile, "--name", "witness.test",
                    "--state", stateFile, "--ca", collector.pki.caCertificate
                ])
        }
        let device = TestDevice()
        #expect(try server.enroll(device.key).status == 201)
        let chain = try device.chain(4)
        for size in [2, 4] {
            for report in chain[(size - 2)..<size] { #expect(try server.upload(report.bytes, id: report.id).status == 201) }
            let round = try witness(server)
            #expect(round.status == 0 && round.stderr.contains("cosigned the checkpoint of \(size) entries"), "\(round.stderr)")
            let note = try SignedNote(parsing: String(decoding: try server.send("/v1/log/checkpoint/cosigned", method: "GET").body, as: UTF8.self))
            let checkpoint = try Checkpoint.open(note, logVerifier: verifier)
            #expect(checkpoint.size == size)
            #expect(try cosignatures.verifyCosignature(in: note) > 0, "the served note carries the witness's cosignature")
        }
        let saved = try String(contentsOfFile: stateFile, encoding: .utf8)
        #expect(saved.contains("\"size\":4"), "\(saved)")

        // A cosignature by a witness the collector does not list, and one of a root it never had.
        let stranger = try CosignatureSigner(name: "stranger.test", privateKey: .init())
        let current = try SignedNote(parsing: String(decoding: try server.send("/v1/log/checkpoint", method: "GET").body, as: UTF8.self))
        let foreign = try stranger.cosign(current, timestamp: 1)
        #expect(try server.send("/v1/log/cosignature", body: Data(foreign.serialized.utf8)).status == 403)
        #expect(try server.send("/v1/log/cosignature", body: Data("not a note".utf8)).status == 400)
        let otherLog = try NoteSigner(name: verifier.name, privateKey: .init())
        let forged = try otherLog.sign(try Checkpoint(origin: verifier.name, size: 4, root: .emptyTree))
        #expect(try server.send("/v1/log/cosignature", body: Data(forged.serialized.utf8)).status == 400)

        // The same key, another history of the same size: refused, the state kept.
        let split = try CollectorProcess(store: .sqlite, receiptKey: server.root.url("receipt.key"), extraConfig: "witnesses: [\"\(witnessKey)\"]")
        #expect(server.stop() == 0)
        let other = TestDevice()
        #expect(try split.enroll(other.key).status == 201)
        for report in try other.chain(4) { #expect(try split.upload(report.bytes, id: report.id).status == 201) }
        let refused = try witness(split)
        #expect(refused.status == 65 && refused.stderr.contains("split view"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: stateFile, encoding: .utf8) == saved, "a refusal leaves the state as it was")
        #expect(try split.send("/v1/log/checkpoint/cosigned", method: "GET").status == 404)
        #expect(split.stop() == 0)
    }
}
