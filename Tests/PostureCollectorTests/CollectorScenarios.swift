import Crypto
import Foundation
import GRDB
import PostureCollector
import PostureEvidence
import PostureModel
import PostureReference
import PostureTestSupport
import PostureTransport
import Testing

/// The collector's behaviour, run once per store (SQLite and PostgreSQL) by the suites below.
enum CollectorScenarios {
    static func posture(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try Fixtures.run(Fixtures.product("posture"), arguments, environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"])
    }

    /// The real agent enrolls, scans and delivers over TLS; the collector keeps the envelopes byte
    /// for byte in chain order, and the agent's journal keeps receipts the collector signed.
    static func agentEnrollsAndDelivers(_ store: StoreKind) throws {
        let collector = try CollectorProcess(store: store)
        let root = try Fixtures.debianRoot(pending: false)
        let state = root.url("state").path
        let agentConfig = try root.write(
            "agent.yaml",
            """
            state_dir: \(state)
            profiles: [test-bank]
            schedule: {interval: 1h, jitter: 0s}
            upload:
              url: \(collector.base)/v1/reports
              ca_file: \(collector.pki.caCertificate)
              timeout: 10s
            """
        ).path
        let token = try collector.issueToken(contract: "C-2024-0042")
        let enrolled = try posture(["enroll", "--url", "\(collector.base)/v1/enroll", "--token", token, "--config", agentConfig])
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        #expect(enrolled.stdout.contains("contract C-2024-0042"))
        #expect(
            try posture(["enroll", "--url", "\(collector.base)/v1/enroll", "--token", token, "--config", agentConfig]).status == 77,
            "a token works once")

        for _ in 0..<2 {
            let agent = try posture(["agent", "--once", "--config", agentConfig, "--root", root.path, "--profiles", root.url("profiles").path])
            #expect(agent.status == 0, "\(agent.stderr)")
        }
        let upload = try posture(["upload", "--config", agentConfig])
        #expect(upload.status == 0, "\(upload.stdout) \(upload.stderr)")

        let keyID = try DeviceKey.load(stateDirectory: state).keyID
        let journal = try DatabaseQueue(path: "\(state)/journal.sqlite")
        let rows = try journal.read { db in
            try Row.fetchAll(db, sql: "SELECT report_id, envelope, receipt, delivery FROM envelopes ORDER BY sequence")
        }
        #expect(rows.count == 2)
        let stored = try collector.stored(keyID)
        #expect(stored == rows.map { $0["envelope"] as Data }, "stored byte for byte, in chain order")
        let receiptKey = try collector.receiptKey()
        for (index, row) in rows.enumerated() {
            #expect(row["delivery"] as String == "delivered")
            let receipt = try CheckedReceipt(try #require(row["receipt"] as Data?), key: receiptKey)
            #expect(receipt.reportID == row["report_id"] as String)
            #expect(receipt.keyID == keyID)
            #expect(receipt.envelopeSha256 == sha256Hex(row["envelope"] as Data))
            #expect(receipt.chain == "ok")
            #expect(receipt.sequence == index + 1)
            #expect(!receipt.receivedAt.isEmpty)
        }

        // The bank's two ways to assess the same evidence agree: `posture assess` on the journal
        // export and `posture-collector assess` on what the collector stored.
        let incident = Day(Date().addingTimeInterval(86400), in: TimeZone(identifier: "Asia/Tokyo")!).description
        let profile = root.url("profiles/test-bank.yaml").path
        let export = root.url("export.ndjson").path
        #expect(try posture(["journal", "export", "--config", agentConfig, "--output", export]).status == 0)
        let local = try posture([
            "assess", export, "--key", "\(state)/device.pub", "--profile", profile, "--incident", incident,
            "--format", "json"
        ])
        let bank = try Fixtures.run(
            CollectorProcess.binary,
            [
                "assess", "--config", collector.config, "--contract", "C-2024-0042",
                "--device", keyID, "--profile", profile, "--incident", incident, "--format", "json",
                "--token", collector.staffToken
            ])
        #expect(local.status == bank.status, "\(local.stderr) \(bank.stderr)")
        func judged(_ output: String) throws -> [String] {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
            return try ["outcome", "requirements", "reports", "verification"].map { key in
                String(decoding: try JSONSerialization.data(withJSONObject: try #require(object[key]), options: [.sortedKeys]), as: UTF8.self)
            }
        }
        #expect(try judged(local.stdout) == judged(bank.stdout))
        let unknownContract = try Fixtures.run(
            CollectorProcess.binary,
            [
                "assess", "--config", collector.config, "--contract", "C-none",
                "--profile", profile, "--incident", incident,
                "--token", collector.staffToken
            ])
        #expect(unknownContract.status == 66)

        // A receipt the pinned collector key did not sign is not a delivery: the report stays queued.
        let pinned = try journal.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'collector_receipt_key'") }
        #expect(pinned == (try collector.receiptKey()).rawRepresentation.base64EncodedString(), "enroll pinned the collector's receipt key")
        let impostor = DeviceKey(privateKey: .init()).publicLine
        try journal.write { db in try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'collector_receipt_key'", arguments: [impostor]) }
        let unverified = try posture(["agent", "--once", "--config", agentConfig, "--root", root.path, "--profiles", root.url("profiles").path])
        #expect(unverified.status == 75, "\(unverified.stderr)")
        let queued = try journal.read { db in try Row.fetchOne(db, sql: "SELECT delivery, last_error FROM envelopes ORDER BY sequence DESC LIMIT 1") }
        #expect(queued?["delivery"] as String? == "queued")
        #expect((queued?["last_error"] as String?)?.contains("not signed by the collector key pinned at enrollment") == true, "\(String(describing: queued))")
        try journal.write { db in try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'collector_receipt_key'", arguments: [pinned]) }
        #expect(try posture(["upload", "--config", agentConfig]).status == 0, "the same receipt verifies against the right key")

        #expect(collector.stop() == 0, "SIGTERM stops the server cleanly")
        #expect(collector.log.contains("report stored"))
    }

    /// The agent monitors the collector's audit log: each cycle it verifies the checkpoint against
    /// the pinned receipt key and the last one it kept, and proves its delivered reports included;
    /// `posture claim` carries the proofs, and `posture verify` and `posture assess` check them with
    /// no network. A second log signed by the same key that shows another root for the same size
    /// (a split view), or a smaller log, raises an alarm kept in the journal and shown by `status`.
    static func agentMonitorsTheLog(_ store: StoreKind) throws {
        // A database of its own: the sizes below are this test's leaves only.
        let scratch = store == .postgres ? try ScratchDatabase() : nil
        defer { try? scratch?.drop() }
        let collector = try CollectorProcess(store: store, storageURL: scratch?.url)
        let root = try Fixtures.debianRoot(pending: false)
        let state = root.url("state").path
        func configure(_ base: String) throws -> String {
            try root.write(
                "agent.yaml",
                """
                state_dir: \(state)
                profiles: [test-bank]
                schedule: {interval: 1h, jitter: 0s}
                upload:
                  url: \(base)/v1/reports
                  ca_file: \(collector.pki.caCertificate)
                  timeout: 10s
                """
            ).path
        }
        let agentConfig = try configure(collector.base)
        let token = try collector.issueToken(contract: "C-LOG")
        #expect(try posture(["enroll", "--url", "\(collector.base)/v1/enroll", "--token", token, "--config", agentConfig]).status == 0)
        // Another device's reports interleave, so the agent's leaves are not the whole log.
        let other = TestDevice()
        #expect(try collector.enroll(other.key, contract: "C-OTHER").status == 201)
        let others = try other.chain(3)
        for cycle in 0..<3 {
            #expect(try collector.upload(others[cycle].bytes, id: others[cycle].id).status == 201)
            let agent = try posture(["agent", "--once", "--config", agentConfig, "--root", root.path, "--profiles", root.url("profiles").path])
            #expect(agent.status == 0, "\(agent.stderr)")
            #expect(agent.stderr.contains("log.check"), "\(agent.stderr)")
        }
        func status() throws -> [String: Any] {
            let result = try posture(["status", "--config", agentConfig, "--format", "json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            return try #require(object["collector_log"] as? [String: Any])
        }
        let healthy = try status()
        #expect(healthy["checkpoint_size"] as? Int == 6, "\(healthy)")
        #expect(healthy["awaiting_proof"] as? Int == 0 && healthy["alarms"] as? Int == 0, "\(healthy)")

        // The claim bundle carries a proof per report; verify and assess check them offline.
        let incident = Day(Date().addingTimeInterval(86400), in: TimeZone(identifier: "Asia/Tokyo")!).description
        let profile = root.url("profiles/test-bank.yaml").path
        let bundle = root.url("claim.json").path
        let claim = try posture(["claim", "--profile", profile, "--incident", incident, "--config", agentConfig, "--output", bundle])
        #expect(claim.status == 0 && claim.stderr.contains("3 with a proof of inclusion"), "\(claim.stderr)")
        let verified = try posture(["verify", bundle])
        #expect(verified.status == 0 && verified.stdout.contains("all 3 report(s) proven included"), "\(verified.stdout)")
        let assessed = try posture(["assess", bundle, "--profile", profile, "--incident", incident, "--key", "\(state)/device.pub", "--format", "json"])
        let assessment = try #require(try JSONSerialization.jsonObject(with: Data(assessed.stdout.utf8)) as? [String: Any])
        let log = try #require((assessment["verification"] as? [String: Any])?["log"] as? [String: Any], "\(assessed.stdout)")
        #expect(log["included"] as? Int == 3 && log["reports"] as? Int == 3 && (log["problems"] as? [Any])?.isEmpty == true, "\(log)")
        // An altered proof fails the bundle.
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bundle))) as? [String: Any])
        var section = try #require(object["log"] as? [String: Any])
        var inclusions = try #require(section["inclusions"] as? [[String: Any]])
        inclusions[1]["index"] = (inclusions[1]["index"] as? Int ?? 0) + 1
        section["inclusions"] = inclusions
        object["log"] = section
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: bundle))
        let altered = try posture(["verify", bundle])
        #expect(altered.status == 65 && altered.stdout.contains("collector log: FAILED"), "\(altered.stdout)")

        // A second log under the same receipt key with other entries of the same size: a split view.
        let split = try CollectorProcess(store: .sqlite, receiptKey: collector.root.url("receipt.key"))
        #expect(collector.stop() == 0)
        let stranger = TestDevice()
        #expect(try split.enroll(stranger.key, contract: "C-SPLIT").status == 201)
        for report in try stranger.chain(6) { #expect(try split.upload(report.bytes, id: report.id).status == 201) }
        _ = try configure(split.base)
        let upload = try posture(["upload", "--config", agentConfig])
        #expect(upload.status == 65, "an alarm fails the command")
        #expect(upload.stderr.contains("ALARM: the collector's log shows two roots for size 6: a split view"), "\(upload.stderr)")
        let alarmed = try status()
        #expect(alarmed["alarms"] as? Int == 1 && alarmed["checkpoint_size"] as? Int == 6, "the unverified checkpoint is not kept: \(alarmed)")
        let text = try posture(["status", "--config", agentConfig])
        #expect(text.stdout.contains("ALARM:") && text.stdout.contains("split view"), "\(text.stdout)")
        #expect(try posture(["upload", "--config", agentConfig]).status == 65, "the log still misbehaves")
        #expect(try status()["alarms"] as? Int == 1, "the same alarm again is not repeated")
        // One fewer entry: the log shrank.
        #expect(split.stop() == 0)
        let smaller = try CollectorProcess(store: .sqlite, receiptKey: collector.root.url("receipt.key"))
        _ = try configure(smaller.base)
        let shrunk = try posture(["upload", "--config", agentConfig])
        #expect(shrunk.stderr.contains("the collector's log shrank from 6 to 0 entries"), "\(shrunk.stderr)")
        #expect(try status()["alarms"] as? Int == 2)
        #expect(smaller.stop() == 0)

        // Enrolled with another collector (its own receipt key) whose log reaches 6 entries too:
        // its checkpoint of 6 is not the old log's, and the old reports' proofs are not offered
        // against it.
        let next = try CollectorProcess(store: .sqlite)
        let nextConfig = try configure(next.base)
        #expect(
            try posture(["enroll", "--url", "\(next.base)/v1/enroll", "--token", try next.issueToken(contract: "C-LOG"), "--config", nextConfig]).status == 0)
        let neighbour = TestDevice()
        #expect(try next.enroll(neighbour.key, contract: "C-OTHER").status == 201)
        for report in try neighbour.chain(3) {
            #expect(try next.upload(report.bytes, id: report.id).status == 201)
            let agent = try posture(["agent", "--once", "--config", nextConfig, "--root", root.path, "--profiles", root.url("profiles").path])
            #expect(agent.status == 0, "\(agent.stderr)")
        }
        let reEnrolled = try status()
        #expect(reEnrolled["checkpoint_size"] as? Int == 6 && reEnrolled["awaiting_proof"] as? Int == 0, "\(reEnrolled)")
        #expect(reEnrolled["alarms"] as? Int == 2, "the other collector's log is not held to the old one's checkpoint: \(reEnrolled)")
        let reclaim = try posture(["claim", "--profile", profile, "--incident", incident, "--config", nextConfig, "--output", bundle])
        #expect(reclaim.status == 0 && reclaim.stderr.contains("3 with a proof of inclusion"), "\(reclaim.stderr)")
        let reverified = try posture(["verify", bundle])
        #expect(reverified.status == 0, "\(reverified.stdout)")
        #expect(reverified.stdout.contains("3 of 6 report(s) proven included, 3 not yet proven"), "\(reverified.stdout)")
        #expect(next.stop() == 0)
    }

    /// Unenrolled keys, forged signatures and malformed bodies are refused with their status and a
    /// reason, and leave nothing behind.
    static func refusesBadInput(_ store: StoreKind) throws {
        let collector = try CollectorProcess(store: store)
        let device = TestDevice()
        let stranger = TestDevice()
        #expect(try collector.enroll(device.key).status == 201)
        let good = try device.chain(1)[0]

        let unenrolled = try stranger.envelope(sequence: 1, previous: nil)
        let refused = try collector.upload(unenrolled.bytes, id: unenrolled.id)
        #expect(refused.status == 401)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("not enrolled"))

        var forged = try Envelope.decode(good.bytes)
        let body = String(decoding: try #require(forged.body), as: UTF8.self).replacingOccurrences(of: "pc-1", with: "pc-2")
        forged.payload = Data(body.utf8).base64EncodedString()
        let tampered = try collector.upload(try forged.encoded(), id: good.id)
        #expect(tampered.status == 422, "\(String(decoding: tampered.body, as: UTF8.self))")
        var impostor = try Envelope.decode(try stranger.envelope(sequence: 1, previous: nil, id: good.id).bytes)
        impostor.signatures[0].keyid = device.keyID
        #expect(try collector.upload(try impostor.encoded(), id: good.id).status == 422, "signed by another key under this key's id")

        var twoSignatures = try Envelope.decode(good.bytes)
        twoSignatures.signatures.append(twoSignatures.signatures[0])
        var newlineKeyID = try Envelope.decode(good.bytes)
        newlineKeyID.signatures[0].keyid = "ab\n2026-01-01T00:00:00+0000 critical posture-collector : staff token accepted"
        let cases: [(Data, String?, String)] = [
            (Data("{not json".utf8), "x", "not a DSSE envelope"),
            (Data("[]".utf8), "x", "not a DSSE envelope"),
            (Data(#"{"payloadType":"x","payload":"!!","signatures":[{"keyid":"\#(device.keyID)","sig":"AA=="}]}"#.utf8), "x", "not base64"),
            (try device.envelope(sequence: 1, previous: nil, payloadType: "text/plain").bytes, "x", "payload type"),
            (try Envelope.sign(body: Data(#"{"schema":"posture.report/v1"}"#.utf8), key: device.key).encoded(), "x", "missing"),
            (
                try Envelope.sign(
                    body: Data(
                        #"{"schema":"posture.report/v1","id":"x","collected_at":"2026-12-01T00:00:00Z","chain":{"sequence":1},"agent":{},"host":{},"evidence":"none","findings":[]}"#
                            .utf8),
                    key: device.key
                ).encoded(), "x", "evidence"
            ),
            (good.bytes, "another-id", "Idempotency-Key"),
            (good.bytes, nil, "Idempotency-Key header (the report id) is required"),
            (try twoSignatures.encoded(), good.id, "exactly one signature"),
            (try newlineKeyID.encoded(), good.id, "64 lowercase hex")
        ]
        for (bytes, id, reason) in cases {
            let response = try collector.upload(bytes, id: id)
            let text = String(decoding: response.body, as: UTF8.self)
            #expect(response.status == 400, "\(reason): \(response.status) \(text)")
            #expect(text.contains(reason), "\(text)")
        }
        // A signed report whose id carries a newline and a forged log line: it is logged escaped.
        let forgedLine = "2026-01-01T00:00:00+0000 critical posture-collector : staff token accepted"
        let injecting = try device.envelope(sequence: 1, previous: nil, id: "r\n\(forgedLine)")
        #expect(try collector.upload(injecting.bytes, id: "x").status == 400)
        let big = try collector.upload(Data(repeating: UInt8(ascii: " "), count: 80 << 10), id: "x")
        #expect(big.status == 413)

        #expect(try collector.stored(device.keyID).isEmpty, "nothing refused was stored")
        #expect(
            try collector.send(
                "/v1/devices/\(stranger.keyID)/reports", method: "GET",
                headers: [("Authorization", "Bearer \(collector.staffToken)")]
            ).status == 404)
        let first = try collector.upload(good.bytes, id: good.id)
        #expect(first.status == 201, "the collector still accepts good evidence")
        #expect(try collector.stored(device.keyID) == [good.bytes])
        #expect(!collector.log.contains(" error posture-collector"), "no request failed inside the server: \(collector.log)")
        #expect(collector.log.contains("critical posture-collector : staff token accepted"), "the attempt is in the log")
        #expect(
            !collector.log.split(separator: "\n").contains { $0.hasPrefix("2026-01-01T00:00:00+0000 critical") },
            "no forged line: \(collector.log)")
    }

    /// Repeats answer 200 with the first receipt; replays, gaps and forks are stored and recorded.
    static func keepsTheChainHonest(_ store: StoreKind) throws {
        let collector = try CollectorProcess(store: store)
        let device = TestDevice()
        try collector.enroll(device.key)
        let key = try collector.receiptKey()
        let chain = try device.chain(4)

        let first = try collector.upload(chain[0].bytes, id: chain[0].id)
        #expect(first.status == 201)
        let repeated = try collector.upload(chain[0].bytes, id: chain[0].id)
        #expect(repeated.status == 200)
        #expect(repeated.body == first.body, "a retry gets the first receipt, byte for byte")
        #expect(try CheckedReceipt(first.body, key: key).chain == "ok")

        let gap = try collector.upload(chain[2].bytes, id: chain[2].id)
        #expect(try CheckedReceipt(gap.body, key: key).chain == "gap")
        let late = try collector.upload(chain[1].bytes, id: chain[1].id)
        #expect(late.status == 201)
        #expect(try CheckedReceipt(late.body, key: key).chain == "replay", "an earlier sequence arriving after a later one")
        let fork = try device.envelope(sequence: 2, previous: chain[0].bytes)
        let forked = try collector.upload(fork.bytes, id: fork.id)
        #expect(forked.status == 201)
        #expect(try CheckedReceipt(forked.body, key: key).chain == "fork", "a second, different report at sequence 2 (the twin)")
        let wrongLink = try device.envelope(sequence: 4, previous: chain[0].bytes)
        #expect(try CheckedReceipt(try collector.upload(wrongLink.bytes, id: wrongLink.id).body, key: key).chain == "fork")
        let replay = try device.envelope(sequence: 1, previous: nil)
        let replayed = try collector.upload(replay.bytes, id: replay.id)
        #expect(replayed.status == 201)
        #expect(try CheckedReceipt(replayed.body, key: key).chain == "fork", "sequence 1 again under a new id: a filled position")

        let stored = try collector.stored(device.keyID)
        #expect(
            stored == [chain[0].bytes, replay.bytes, chain[1].bytes, fork.bytes, chain[2].bytes, wrongLink.bytes],
            "every report kept once, in chain order (arrival order within a sequence)")
        #expect(try collector.stored(device.keyID, query: "?from=2099-01-01T00:00:00Z").isEmpty)
        #expect(try collector.stored(device.keyID, query: "?to=2020-01-01T00:00:00Z").isEmpty)
        #expect(try collector.stored(device.keyID, query: "?from=2020-01-01T00:00:00Z&to=2099-01-01T00:00:00Z").count == 6)
        for query in ["?from=yesterday", "?from=2020-01-01T00:00:00Zjunk", "?to=2020-01-01", "?limit=0", "?cursor=zz"] {
            #expect(
                try collector.send(
                    "/v1/devices/\(device.keyID)/reports\(query)", method: "GET",
                    headers: [("Authorization", "Bearer \(collector.staffToken)")]
                ).status == 400, "\(query)")
        }
        // Pages: `limit` with the cursor the collector names; the pages together are the whole read.
        var pages: [Data] = []
        var cursor: String?
        repeat {
            let response = try collector.send(
                "/v1/devices/\(device.keyID)/reports?limit=4\(cursor.map { "&cursor=\($0)" } ?? "")", method: "GET",
                headers: [("Authorization", "Bearer \(collector.staffToken)")])
            #expect(response.status == 200)
            pages += response.body.split(separator: UInt8(ascii: "\n")).map { Data($0) }
            cursor = response.headers["next-cursor"]
        } while cursor != nil && pages.count < 20
        #expect(pages == stored)
        #expect(try collector.send("/v1/devices/\(device.keyID)/reports", method: "GET").status == 401, "staff token required")
        #expect(try collector.send("/v1/devices/\(device.keyID)/reports", method: "GET", headers: [("Authorization", "Bearer nope")]).status == 401)
    }

    /// Tokens work once and expire; a device over its rate gets 429 with Retry-After (forgeries under
    /// its key id do not count against it).
    static func enrollmentAndLimits(_ store: StoreKind) async throws {
        let collector = try CollectorProcess(store: store, limits: "{max_body: 1MiB, per_device_per_minute: 3}")
        let device = TestDevice()
        let token = try collector.issueToken(contract: "C-7")
        func enroll(_ token: String, _ key: DeviceKey) throws -> Int { try collector.enroll(key, token: token).status }
        #expect(try enroll("unknown-token", device.key) == 401)
        #expect(try enroll(token, device.key) == 201)
        #expect(try enroll(token, TestDevice().key) == 401, "used")
        let short = try collector.issueToken(contract: "C-7", expires: "1s")
        try await Task.sleep(nanoseconds: 1_500_000_000)
        #expect(try enroll(short, TestDevice().key) == 401, "expired")
        #expect(try enroll(try collector.issueToken(contract: "C-8"), device.key) == 409, "a key stays with its contract")
        #expect(try collector.send("/v1/enroll", body: Data(#"{"token":"x","public_key":"AAAA"}"#.utf8)).status == 400)
        #expect(token.hasPrefix("pst_enroll_"), "safe to paste after --token")

        // Possession: device C's public key sent with contract A's token but signed by another key is
        // refused, and C then enrolls itself with its own contract.
        let deviceC = TestDevice(), attacker = TestDevice()
        let tokenA = try collector.issueToken(contract: "C-A"), tokenC = try collector.issueToken(contract: "C-C")
        let stolen = try collector.enroll(deviceC.key, token: tokenA, signer: attacker.key)
        #expect(stolen.status == 422, "\(String(decoding: stolen.body, as: UTF8.self))")
        let oldAgent = try collector.send(
            "/v1/enroll", body: try JSONSerialization.data(withJSONObject: ["token": tokenA, "public_key": deviceC.key.publicLine]))
        #expect(oldAgent.status == 400)
        #expect(String(decoding: oldAgent.body, as: UTF8.self).contains("too old"))
        let own = try collector.enroll(deviceC.key, token: tokenC)
        #expect(own.status == 201)
        #expect(String(decoding: own.body, as: UTF8.self).contains("C-C"))

        let chain = try device.chain(4)
        var forged = try Envelope.decode(chain[0].bytes)
        forged.signatures[0].sig = Data(repeating: 7, count: 64).base64EncodedString()
        for _ in 0..<3 { #expect(try collector.upload(try forged.encoded(), id: chain[0].id).status == 422) }
        for report in chain.prefix(3) { #expect(try collector.upload(report.bytes, id: report.id).status == 201) }
        let limited = try collector.upload(chain[3].bytes, id: chain[3].id)
        #expect(limited.status == 429)
        #expect(Int(limited.headers["retry-after"] ?? "") ?? 0 >= 1)
        #expect(try collector.stored(device.keyID).count == 3)

        // Replays of a captured envelope answer 200 and spend nothing: the real device is not limited by them.
        let replayed = TestDevice()
        try collector.enroll(replayed.key)
        let replayedChain = try replayed.chain(3)
        #expect(try collector.upload(replayedChain[0].bytes, id: replayedChain[0].id).status == 201)
        for _ in 0..<5 { #expect(try collector.upload(replayedChain[0].bytes, id: replayedChain[0].id).status == 200) }
        for report in replayedChain.dropFirst() { #expect(try collector.upload(report.bytes, id: report.id).status == 201) }
        #expect(
            try Fixtures.run(CollectorProcess.binary, ["token", "issue", "--config", collector.config, "--contract", "C", "--expires", "soon"]).status == 64)
    }

    /// A client that dribbles its headers is disconnected by the idle timeout; others are served meanwhile.
    static func slowClientIsDisconnected(_ store: StoreKind) throws {
        let collector = try CollectorProcess(store: store, idle: "2s")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Support/slow_client.py").standardized.path
        let slow = try Fixtures.run(
            "/usr/bin/python3",
            [
                script, "--port", "\(collector.port)", "--ca", collector.pki.caCertificate,
                "--interval", "0.3", "--limit", "15"
            ])
        let words = slow.stdout.split(separator: " ")
        #expect(words.first == "closed", "\(slow.stdout) \(slow.stderr)")
        #expect((Double(words.last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 99) < 6)
        let dribble = try Fixtures.run(
            "/usr/bin/python3",
            [
                script, "--port", "\(collector.port)", "--ca", collector.pki.caCertificate,
                "--interval", "0.3", "--limit", "15", "--body"
            ])
        let answer = dribble.stdout.split(separator: " ")
        #expect(answer.first == "answered" && answer.dropFirst().first == "408", "a body dribbled past the request timeout: \(dribble.stdout)")
        #expect((Double(answer.last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 99) < 9)
        #expect(try collector.send("/v1/receipt-key", method: "GET").status == 200)
    }
}

@Suite(.serialized) struct SQLiteCollectorTests {
    /// Every status the server gives is one docs/openapi.yaml lists for that operation, and every
    /// documented operation exists.
    @Test func openAPIDocumentMatchesTheServer() throws {
        let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/openapi.yaml").standardized.path
        let paths = try YAMLNode.load(path: document).mapping("openapi").required("paths").mapping("paths")
        func documented(_ path: String, _ method: String) throws -> Set<Int> {
            let operation = try paths.required(path).mapping(path).required(method).mapping(method)
            return Set(try operation.required("responses").mapping("responses").keys.compactMap { Int($0) })
        }
        let collector = try CollectorProcess(store: .sqlite, limits: "{max_body: 64KiB, per_device_per_minute: 2}")
        let device = TestDevice()
        let reports = try device.chain(3)
        let bearer = [(name: "Authorization", value: "Bearer \(collector.staffToken)")]
        var seen: [(String, String, Int)] = []
        func check(_ path: String, _ method: String, _ response: HTTPResponse) {
            seen.append((path, method, response.status))
        }
        check("/v1/enroll", "post", try collector.enroll(device.key))
        check("/v1/enroll", "post", try collector.send("/v1/enroll", body: Data("{}".utf8)))
        check("/v1/enroll", "post", try collector.enroll(device.key, token: "nope"))
        check("/v1/enroll", "post", try collector.enroll(device.key, contract: "C-other"))
        check("/v1/reports", "post", try collector.upload(reports[0].bytes, id: reports[0].id))
        check("/v1/reports", "post", try collector.upload(reports[0].bytes, id: reports[0].id))
        check("/v1/reports", "post", try collector.upload(reports[1].bytes, id: reports[1].id))
        check("/v1/reports", "post", try collector.upload(reports[2].bytes, id: reports[2].id))
        check("/v1/reports", "post", try collector.upload(Data("{".utf8), id: nil))
        let unenrolled = try TestDevice().chain(1)[0]
        check("/v1/reports", "post", try collector.upload(unenrolled.bytes, id: unenrolled.id))
        check("/v1/reports", "post", try collector.upload(Data(count: 70_000), id: "x"))
        let path = "/v1/devices/{key_id}/reports", concrete = "/v1/devices/\(device.keyID)/reports"
        check(path, "get", try collector.send(concrete, method: "GET", headers: bearer))
        check(path, "get", try collector.send(concrete, method: "GET"))
        check(path, "get", try collector.send(concrete + "?from=never", method: "GET", headers: bearer))
        check(path, "get", try collector.send("/v1/devices/00/reports", method: "GET", headers: bearer))
        check("/v1/receipt-key", "get", try collector.send("/v1/receipt-key", method: "GET"))
        check("/v1/enroll/challenge", "get", try collector.send("/v1/enroll/challenge", method: "GET"))
        check("/v1/log/checkpoint", "get", try collector.send("/v1/log/checkpoint", method: "GET"))
        check("/v1/log/key", "get", try collector.send("/v1/log/key", method: "GET"))
        check("/v1/log/inclusion", "get", try collector.send("/v1/log/inclusion?index=0&size=2", method: "GET"))
        check("/v1/log/inclusion", "get", try collector.send("/v1/log/inclusion?index=2&size=2", method: "GET"))
        check("/v1/log/consistency", "get", try collector.send("/v1/log/consistency?from=1&to=2", method: "GET"))
        check("/v1/log/consistency", "get", try collector.send("/v1/log/consistency?from=3&to=2", method: "GET"))
        check("/v1/log/checkpoint/cosigned", "get", try collector.send("/v1/log/checkpoint/cosigned", method: "GET"))
        check("/v1/log/cosignature", "post", try collector.send("/v1/log/cosignature", body: Data("x".utf8)))
        for (path, method, status) in seen {
            #expect(try documented(path, method).contains(status), "\(method) \(path) answered \(status), not in docs/openapi.yaml")
        }
        #expect(Set(seen.map(\.2)) == [200, 201, 400, 401, 403, 404, 409, 413, 429], "the walk reaches every kind of answer")
        #expect(Set(paths.keys) == Set(seen.map(\.0)), "every documented path exists and was called")
    }

    /// Without `tls` the collector speaks plain HTTP, on loopback only (behind a reverse proxy).
    @Test func plainHTTPOnLoopback() throws {
        let collector = try CollectorProcess(store: .sqlite, tls: false)
        #expect(collector.base.hasPrefix("http://127.0.0.1:"))
        let device = TestDevice()
        #expect(try collector.enroll(device.key).status == 201)
        let report = try device.chain(1)[0]
        #expect(try collector.upload(report.bytes, id: report.id).status == 201)
        #expect(collector.stop() == 0)
    }

    @Test func agentEnrollsAndDelivers() throws { try CollectorScenarios.agentEnrollsAndDelivers(.sqlite) }
    @Test func agentMonitorsTheLog() throws { try CollectorScenarios.agentMonitorsTheLog(.sqlite) }
    @Test func refusesBadInput() throws { try CollectorScenarios.refusesBadInput(.sqlite) }
    @Test func keepsTheChainHonest() throws { try CollectorScenarios.keepsTheChainHonest(.sqlite) }
    @Test func enrollmentAndLimits() async throws { try await CollectorScenarios.enrollmentAndLimits(.sqlite) }
    @Test func slowClientIsDisconnected() throws { try CollectorScenarios.slowClientIsDisconnected(.sqlite) }
}

@Suite(
    .serialized,
    .enabled(
        if: StoreKind.postgresURL != nil,
        "POSTURE_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped (make test starts a server when PostgreSQL is installed)"))
struct PostgresCollectorTests {
    @Test func agentEnrollsAndDelivers() throws { try CollectorScenarios.agentEnrollsAndDelivers(.postgres) }
    @Test func agentMonitorsTheLog() throws { try CollectorScenarios.agentMonitorsTheLog(.postgres) }
    @Test func refusesBadInput() throws { try CollectorScenarios.refusesBadInput(.postgres) }
    @Test func keepsTheChainHonest() throws { try CollectorScenarios.keepsTheChainHonest(.postgres) }
    @Test func enrollmentAndLimits() async throws { try await CollectorScenarios.enrollmentAndLimits(.postgres) }
    @Test func slowClientIsDisconnected() throws { try CollectorScenarios.slowClientIsDisconnected(.postgres) }
}
