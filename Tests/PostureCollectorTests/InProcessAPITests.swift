import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostureCollector
import PostureCollectorServer
import PostureEvidence
import PostureModel
import PostureTestSupport
import Testing

/// The collector's HTTP API through Hummingbird's in-process test client: the same router as
/// `posture-collector serve`, over an SQLite store in a temporary root, with no socket or process.
/// The end-to-end tests (`CollectorScenarios`) keep the real binary on loopback TLS.
@Suite struct InProcessAPITests {
    /// A collector with an empty store, a bank-wide staff token and one for contract C-2002.
    struct Fixture {
        let root: TemporaryRoot
        let collector: Collector
        let router: Router<CollectorRequestContext>
        let bankToken: String
        let otherContractToken: String

        init() throws {
            root = try TemporaryRoot()
            let storage = try SQLiteStorage(path: root.url("collector.db").path)
            collector = Collector(storage: storage, receiptKey: DeviceKey(privateKey: Curve25519.Signing.PrivateKey()), limits: .init())
            let staffFile = root.url("staff-tokens").path
            bankToken = try StaffTokens.issue(file: staffFile, scope: .bank, lifetime: 3600, name: "desk").token
            otherContractToken = try StaffTokens.issue(file: staffFile, scope: .contract("C-2002"), lifetime: 3600, name: nil).token
            router = CollectorServer(
                config: CollectorConfig(), collector: collector, staffTokens: try StaffTokens(file: staffFile),
                logger: Logger(label: "test")
            ).router()
        }
    }

    static func json(_ body: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }

    @Test func enrollUploadRepeatAndReadBack() async throws {
        let fixture = try Fixture()
        let device = TestDevice()
        let token = try await fixture.collector.issueToken(contract: "C-1001", lifetime: 3600)
        let (id, envelope) = try device.envelope(sequence: 1, previous: nil)
        let bank = fixture.bankToken, other = fixture.otherContractToken
        let receiptKey = fixture.collector.receiptKey.publicKey
        try await Application(router: fixture.router).test(.router) { client in
            let nonce = try await client.execute(uri: "/v1/enroll/challenge", method: .get) { Self.json($0.body)["nonce"] as? String }
            let proof = try device.key.privateKey.signature(
                for: EnrollmentProof.message(
                    token: token, publicKey: device.key.publicLine,
                    nonce: try #require(nonce)))
            let enrollment = try JSONSerialization.data(withJSONObject: [
                "token": token, "public_key": device.key.publicLine, "hostname": "pc-1",
                "nonce": nonce!, "signature": proof.base64EncodedString()
            ])
            try await client.execute(
                uri: "/v1/enroll", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(bytes: enrollment)
            ) { response in
                #expect(response.status == .created)
                #expect(Self.json(response.body)["contract"] as? String == "C-1001")
            }
            // The same token twice: enrollment tokens are single use.
            try await client.execute(uri: "/v1/enroll", method: .post, body: ByteBuffer(bytes: enrollment)) { response in
                #expect(response.status.code >= 400 && response.status.code < 500)
            }

            let headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("Idempotency-Key")!: id]
            try await client.execute(uri: "/v1/reports", method: .post, headers: headers, body: ByteBuffer(bytes: envelope)) { response in
                #expect(response.status == .created)
                let receipt = try Receipt.verified(Data(response.body.readableBytesView), key: receiptKey, reportID: id, envelope: envelope)
                #expect(receipt.chain == .ok && receipt.sequence == 1)
            }
            try await client.execute(uri: "/v1/reports", method: .post, headers: headers, body: ByteBuffer(bytes: envelope)) { response in
                #expect(response.status == .ok, "a repeat is answered with the first receipt")
            }
            try await client.execute(
                uri: "/v1/reports", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(bytes: envelope)
            ) { response in
                #expect(response.status == .badRequest)
                #expect((Self.json(response.body)["error"] as? String)?.contains("Idempotency-Key") == true)
            }

            let reports = "/v1/devices/\(device.keyID)/reports"
            try await client.execute(uri: reports, method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: reports, method: .get, headers: [.authorization: "Bearer \(other)"]) { response in
                #expect(response.status == .notFound, "a contract:C-2002 token sees nothing of contract C-1001")
            }
            try await client.execute(uri: reports, method: .get, headers: [.authorization: "Bearer \(bank)"]) { response in
                #expect(response.status == .ok)
                let lines = Data(response.body.readableBytesView).split(separator: UInt8(ascii: "\n"))
                #expect(lines.map { Data($0) } == [envelope], "the envelope comes back byte for byte")
            }
        }
    }

    @Test(arguments: [
        ("/v1/devices/0000/reports?from=yesterday", "from"),
        ("/v1/devices/0000/reports?limit=0", "limit"),
        ("/v1/devices/0000/reports?cursor=nope", "cursor")
    ])
    func malformedQueriesAreRefusedWithTheirReason(uri: String, named: String) async throws {
        let fixture = try Fixture()
        let bank = fixture.bankToken
        try await Application(router: fixture.router).test(.router) { client in
            try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(bank)"]) { response in
                #expect(response.status == .badRequest)
                #expect((Self.json(response.body)["error"] as? String)?.contains(named) == true)
            }
        }
    }
}
