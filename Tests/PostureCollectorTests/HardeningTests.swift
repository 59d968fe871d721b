import Crypto
import Foundation
import GRDB
import PostureCollector
import PostureEvidence
import PostureReference
import PostureTestSupport
import PostureTransparency
import PostureTransport
import Testing

/// A store that counts device look-ups, to show what the collector asks before it trusts anything.
final class CountingStorage: CollectorStorage, @unchecked Sendable {
    let inner: any CollectorStorage
    private let lock = NSLock()
    private var count = 0
    var lookups: Int { lock.withLock { count } }

    init(_ inner: any CollectorStorage) { self.inner = inner }

    func issueToken(sha256: String, contract: String, issuedAt: Date, expiresAt: Date) async throws {
        try await inner.issueToken(sha256: sha256, contract: contract, issuedAt: issuedAt, expiresAt: expiresAt)
    }
    func enroll(tokenSha256: String, device: Device, now: Date) async throws -> EnrollOutcome {
        try await inner.enroll(tokenSha256: tokenSha256, device: device, now: now)
    }
    func device(keyID: String) async throws -> Device? {
        lock.withLock { count += 1 }
        return try await inner.device(keyID: keyID)
    }
    func devices(contract: String) async throws -> [Device] { try await inner.devices(contract: contract) }
    func ingest(_ submission: Submission, now: Date, sign: @escaping ReceiptSigner) async throws -> IngestOutcome {
        try await inner.ingest(submission, now: now, sign: sign)
    }
    func envelopes(keyID: String, from: Date?, to: Date?) async throws -> [Data] { try await inner.envelopes(keyID: keyID, from: from, to: to) }
    func envelopePage(keyID: String, from: Date?, to: Date?, after cursor: ReadCursor?, limit: Int, withEnvelopes: Bool) async throws -> [StoredEnvelope] {
        try await inner.envelopePage(keyID: keyID, from: from, to: to, after: cursor, limit: limit, withEnvelopes: withEnvelopes)
    }
    func events(keyID: String) async throws -> [ChainEvent] { try await inner.events(keyID: keyID) }
    func close() async throws { try await inner.close() }
    func fleetPage(_ query: FleetQuery) async throws -> FleetPage { try await inner.fleetPage(query) }
    func keepCosignature(witness: String, size: Int, signature: String, at: Date) async throws {
        try await inner.keepCosignature(witness: witness, size: size, signature: signature, at: at)
    }
    func newestCosignatures() async throws -> (size: Int, signatures: [String])? { try await inner.newestCosignatures() }
    func verdicts(keyID: String) async throws -> [DeviceVerdict] { try await inner.verdicts(keyID: keyID) }
    func keep(_ assessment: KeptAssessment) async throws -> Int64 { try await inner.keep(assessment) }
    func keptAssessment(id: Int64) async throws -> KeptAssessment? { try await inner.keptAssessment(id: id) }
    func keptAssessments(keyID: String) async throws -> [KeptAssessment] { try await inner.keptAssessments(keyID: keyID) }
    func reports(keyID: String, limit: Int) async throws -> [StoredReport] { try await inner.reports(keyID: keyID, limit: limit) }
    func logSize() async throws -> Int { try await inner.logSize() }
    func logNodes(_ ids: Set<NodeID>) async throws -> [NodeID: Hash] { try await inner.logNodes(ids) }
    func verdictChanges(keyID: String, profile: String, from: Date) async throws -> [VerdictChange] {
        try await inner.verdictChanges(keyID: keyID, profile: profile, from: from)
    }
}

@Suite struct BoundedWorkTests {
    /// 3,000 signatures under an enrolled key id: 400 before any signature is checked (a check
    /// would answer 422) and before the store is asked for a key; so are malformed key ids.
    @Test func manySignaturesAreRefusedBeforeAnyWork() async throws {
        let root = try TemporaryRoot("bounded")
        let store = CountingStorage(try SQLiteStorage(path: root.url("collector.db").path))
        let device = TestDevice()
        let enroller = Collector(storage: store, receiptKey: DeviceKey(privateKey: .init()), limits: .init())
        try await StorageScenarios.enroll(enroller, device)
        let fresh = Collector(storage: store, receiptKey: enroller.receiptKey, limits: .init())
        let good = try device.chain(1)[0]
        var envelope = try Envelope.decode(good.bytes)
        var zero = envelope.signatures[0]
        zero.sig = Data(count: 64).base64EncodedString()
        envelope.signatures = Array(repeating: zero, count: 3000)
        var wrongID = try Envelope.decode(good.bytes)
        wrongID.signatures[0].keyid = String(repeating: "Z", count: 5000)
        let before = store.lookups
        for body in [try envelope.encoded(), try wrongID.encoded()] {
            await #expect(throws: RequestError.self) { try await fresh.ingest(body: body, idempotencyKey: good.id) }
            do { _ = try await fresh.ingest(body: body, idempotencyKey: good.id) } catch let error as RequestError {
                #expect(error.status == 400, "\(error)")
            }
        }
        #expect(store.lookups == before, "no key was looked up")
        #expect(try await fresh.ingest(body: good.bytes, idempotencyKey: good.id).status == 201)
        #expect(store.lookups == before + 1)
        try await store.close()
    }

    /// Refusals per address are limited before any work; the global bound answers 503.
    @Test func admissionLimitsRefusalsPerAddressAndWorkInFlight() throws {
        let admission = Admission(refusalsPerMinute: 2, maxInFlight: 1)
        let now = Date()
        for _ in 0..<2 {
            try admission.enter(address: "10.0.0.1", now: now)
            admission.leave(address: "10.0.0.1", charged: true, now: now)
        }
        #expect(throws: RequestError.rateLimited(retryAfter: 60, reason: "too many refused requests from this address; retry in")) {
            try admission.enter(address: "10.0.0.1", now: now)
        }
        try admission.enter(address: "10.0.0.2", now: now)
        #expect(throws: RequestError.busy(retryAfter: 1)) { try admission.enter(address: "10.0.0.3", now: now) }
        admission.leave(address: "10.0.0.2", charged: false, now: now)
        try admission.enter(address: "10.0.0.1", now: now.addingTimeInterval(61))
    }

    /// Tokens never start with `-` and carry a prefix secret scanners know.
    @Test func tokensAreSafeToPaste() async throws {
        let root = try TemporaryRoot("tokens")
        let collector = Collector(storage: try SQLiteStorage(path: root.url("c.db").path), receiptKey: DeviceKey(privateKey: .init()), limits: .init())
        for _ in 0..<300 {
            #expect(try await collector.issueToken(contract: "C", lifetime: 60).hasPrefix("pst_enroll_"))
        }
        let file = root.url("staff").path
        #expect(try StaffTokens.issue(file: file, scope: .bank, lifetime: 60, name: nil).token.hasPrefix("pst_staff_"))
    }

    /// The nonce a device signs is this collector's and expires.
    @Test func enrollmentNonces() {
        let issuer = NonceIssuer(receiptKey: DeviceKey(privateKey: .init()))
        let nonce = issuer.issue()
        #expect(issuer.isValid(nonce))
        #expect(!issuer.isValid(nonce, now: Date().addingTimeInterval(NonceIssuer.lifetime + 5)))
        #expect(!NonceIssuer(receiptKey: DeviceKey(privateKey: .init())).isValid(nonce))
        // A character inside the MAC (the last one may carry only unused bits of the encoding).
        var tampered = Array(nonce)
        tampered[40] = tampered[40] == "A" ? "B" : "A"
        #expect(!issuer.isValid(String(tampered)))
    }
}

/// Chain classification as DESIGN.md defines fork, replay and gap.
@Suite struct ChainRuleTests {
    static let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64)

    @Test(
        arguments: [
            // (sequence, previous, head, head sha, occupied, predecessors, expected)
            (1, nil, 0, nil, false, [], ChainStatus.ok),
            (2, a, 1, a, false, [a], .ok),
            (2, a, 2, b, true, [a], .fork),  // the twin: a second, different report at sequence 2
            (1, nil, 3, b, true, [], .fork),  // sequence 1 again under a new id
            (3, b, 2, b, false, [a], .fork),  // links to anything but its stored predecessor
            (1, a, 0, nil, false, [], .fork),  // sequence 1 naming a predecessor
            (2, a, 3, b, false, [a], .replay),  // an earlier position never filled
            (2, a, 3, b, false, [], .replay),
            (5, b, 2, b, false, [], .gap)
        ] as [(Int, String?, Int, String?, Bool, [String], ChainStatus)])
    func classify(_ row: (Int, String?, Int, String?, Bool, [String], ChainStatus)) {
        let submission = Submission(
            keyID: "k", reportID: "r", sequence: row.0, previous: row.1, envelopeSha256: "x",
            collectedAt: Date(), envelope: Data())
        #expect(ChainRule.classify(submission, head: .init(sequence: row.2, sha256: row.3), occupied: row.4, predecessors: row.5).0 == row.6)
    }
}

@Suite struct CollectorHardeningConfigTests {
    @Test(arguments: [
        ("postgres://u@db.bank.example/x", PostgresURL.TLSMode.verifyFull),
        ("postgres://u@10.0.0.5:5432/x", .verifyFull),
        ("postgres://u@127.0.0.1/x", .prefer),
        ("postgres://u@localhost/x", .prefer),
        ("postgres://u@db.bank.example/x?sslmode=require", .require)
    ])
    func postgresTLSDefaults(_ row: (String, PostgresURL.TLSMode)) throws {
        #expect(try PostgresURL(row.0).tls == row.1)
    }
}

/// Tenancy, flooding, TLS suites and streamed reads against a real `posture-collector serve`.
@Suite(.serialized) struct CollectorHardeningTests {
    static func staff(_ collector: CollectorProcess, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try Fixtures.run(CollectorProcess.binary, ["token"] + arguments + ["--config", collector.config])
    }

    /// A `contract:A` token reads and assesses contract A only; revoked and expired tokens are refused.
    @Test func staffTokensAreScoped() throws {
        let collector = try CollectorProcess(store: .sqlite)
        let deviceA = TestDevice(), deviceB = TestDevice()
        #expect(try collector.enroll(deviceA.key, contract: "A").status == 201)
        #expect(try collector.enroll(deviceB.key, contract: "B").status == 201)
        let issued = try Self.staff(collector, ["issue-staff", "--scope", "contract:A", "--name", "it-a"])
        #expect(issued.status == 0, "\(issued.stderr)")
        let tokenA = issued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(tokenA.hasPrefix("pst_staff_"))
        let fileText = try String(contentsOfFile: collector.root.url("staff-tokens").path, encoding: .utf8)
        #expect(!fileText.contains(tokenA), "only the digest is kept")
        func read(_ device: TestDevice, _ token: String) throws -> Int {
            try collector.send("/v1/devices/\(device.keyID)/reports", method: "GET", headers: [("Authorization", "Bearer \(token)")]).status
        }
        #expect(try read(deviceA, tokenA) == 200)
        #expect(try read(deviceB, tokenA) == 404, "contract B is out of scope")
        #expect(try read(deviceB, collector.staffToken) == 200, "a bank token reads every contract")
        let profile = "the-scope-is-checked-first"
        let assessB = try Fixtures.run(
            CollectorProcess.binary,
            [
                "assess", "--config", collector.config, "--contract", "B", "--profile", profile,
                "--incident", "2026-01-01", "--token", tokenA
            ])
        #expect(assessB.status == 77, "\(assessB.stderr)")
        #expect(assessB.stderr.contains("may not assess contract 'B'"))
        let noToken = try Fixtures.run(
            CollectorProcess.binary,
            [
                "assess", "--config", collector.config, "--contract", "A", "--profile", profile,
                "--incident", "2026-01-01"
            ])
        #expect(noToken.status == 77)

        let id = try #require(issued.stderr.split(separator: " ").dropFirst(2).first.map { String($0.dropLast()) })
        #expect(try Self.staff(collector, ["revoke", id]).status == 0)
        #expect(try read(deviceA, tokenA) == 401, "revoked without a restart")
        let short = try Self.staff(collector, ["issue-staff", "--scope", "bank", "--expires", "1s"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try read(deviceA, short) == 401, "expired")
    }

    /// A staff tokens file others can read, or one with tokens in plain text, stops the collector.
    @Test func staffTokensFileMustBePrivateDigests() throws {
        let collector = try CollectorProcess(store: .sqlite)
        #expect(collector.stop() == 0)
        let file = collector.root.url("staff-tokens").path
        chmod(file, 0o644)
        let open = try Fixtures.run(CollectorProcess.binary, ["serve", "--config", collector.config])
        #expect(open.status == 77)
        #expect(open.stderr.contains("chmod 600 \(file)"), "\(open.stderr)")
        try Data("plain-token\n".utf8).write(to: URL(fileURLWithPath: file))
        chmod(file, 0o600)
        let plain = try Fixtures.run(CollectorProcess.binary, ["serve", "--config", collector.config])
        #expect(plain.status == 65)
        #expect(plain.stderr.contains("\(file):1:"), "\(plain.stderr)")
    }

    /// While 8 clients flood bad 3,000-signature envelopes from their own addresses, a good upload
    /// and the receipt key are answered; the flood is refused per address.
    @Test func goodRequestsAreServedDuringAFlood() throws {
        let collector = try CollectorProcess(store: .sqlite, limits: "{max_body: 1MiB, per_device_per_minute: 1000, per_address_refusals_per_minute: 5}")
        let device = TestDevice()
        #expect(try collector.enroll(device.key).status == 201)
        let reports = try device.chain(3)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Support/flood_client.py").standardized.path
        let flood = Process()
        flood.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        // The flood runs until its standard input closes (at most 300 s), so it is on for every good request.
        flood.arguments = [
            script, "--port", "\(collector.port)", "--ca", collector.pki.caCertificate, "--clients", "8", "--seconds", "300", "--min-requests", "10"
        ]
        let output = Pipe(), control = Pipe()
        flood.standardOutput = output
        flood.standardInput = control
        try flood.run()
        Thread.sleep(forTimeInterval: 1.5)
        for report in reports {
            // A bound generous enough for a loaded 2-core machine; the old collector fails the statuses below anyway.
            let started = Date()
            #expect(try collector.upload(report.bytes, id: report.id).status == 201)
            #expect(try collector.send("/v1/receipt-key", method: "GET").status == 200)
            #expect(Date().timeIntervalSince(started) < 30, "answered while the flood runs")
        }
        #expect(flood.isRunning, "the flood was still on")
        try control.fileHandleForWriting.close()
        flood.waitUntilExit()
        let seen = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(seen.contains("400="), "\(seen)")
        #expect(seen.contains("429="), "addresses over their refusals are refused at once: \(seen)")
        #expect(try collector.stored(device.keyID) == reports.map(\.bytes))
    }

    /// TLS 1.3, and TLS 1.2 with AEAD suites only, as openssl s_client sees it.
    @Test func tlsOffersAEADSuitesOnly() throws {
        let collector = try CollectorProcess(store: .sqlite)
        func connect(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try Fixtures.run(
                "/usr/bin/openssl",
                ["s_client", "-connect", "127.0.0.1:\(collector.port)", "-CAfile", collector.pki.caCertificate]
                    + arguments, input: Data())
        }
        let cbc = try connect(["-tls1_2", "-cipher", "ALL:!AESGCM:!CHACHA20"])
        #expect(cbc.status != 0, "CBC and SHA-1 suites are refused: \(cbc.stdout)")
        let aead = try connect(["-tls1_2"])
        #expect(aead.status == 0, "\(aead.stderr)")
        #expect(aead.stdout.contains("GCM") || aead.stdout.contains("CHACHA20"), "\(aead.stdout)")
        #expect(try connect(["-tls1_3"]).status == 0)
    }

    /// 100,000 stored reports stream back byte for byte while the collector's peak memory barely moves;
    /// the old read built the whole answer in memory.
    @Test func readsStreamWithBoundedMemory() throws {
        let collector = try CollectorProcess(store: .sqlite)
        let device = TestDevice()
        #expect(try collector.enroll(device.key).status == 201)
        let count = 100_000
        func envelope(_ index: Int) -> Data {
            Data(#"{"payloadType":"application/vnd.posture.report+json","payload":"\#(String(repeating: "QUFB", count: 100))","n":\#(index)}"#.utf8)
        }
        let database = try DatabaseQueue(path: collector.root.url("collector.db").path)
        try database.write { db in
            let statement = try db.makeStatement(
                sql: """
                    INSERT INTO reports (key_id, report_id, sequence, previous, envelope_sha256, collected_at, received_at, chain, envelope, receipt)
                    VALUES (?, ?, ?, NULL, 'x', 0, 0, 'ok', ?, x'')
                    """)
            for index in 1...count { try statement.execute(arguments: [device.keyID, "r\(index)", index, envelope(index)]) }
        }
        try database.close()
        _ = try collector.stored(device.keyID, query: "?limit=10")
        let before = collector.peakMemory
        let body = try collector.send(
            "/v1/devices/\(device.keyID)/reports", method: "GET",
            headers: [("Authorization", "Bearer \(collector.staffToken)")]
        ).body
        var expected = Data()
        for index in 1...count {
            expected.append(envelope(index))
            expected.append(UInt8(ascii: "\n"))
        }
        #expect(body.count == expected.count)
        #expect(body == expected, "byte for byte, in chain order")
        let grown = collector.peakMemory - before
        #expect(grown < 24 << 20, "peak memory grew \(grown >> 20) MiB for a \(expected.count >> 20) MiB read")
    }
}
