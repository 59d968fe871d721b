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
            let proof = try Self.proof(try server.send("/v1/log/inclusion?index=\(index)&size=\(last.size)", method: "GET"))
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
}
