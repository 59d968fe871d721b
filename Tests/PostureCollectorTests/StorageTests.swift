import Crypto
import Foundation
import PostureCollector
import PostureEvidence
import PostureModel
import PostureReference
import PostureTestSupport
import PostureTransparency
import PostureTransport
import Testing

/// The store's guarantees under concurrency, for each store.
enum StorageScenarios {
    static func enroll(_ collector: Collector, _ device: TestDevice, contract: String = "C-\(UUID().uuidString)") async throws {
        let token = try await collector.issueToken(contract: contract, lifetime: 3600)
        _ = try await collector.enroll(body: enrollment(collector, token: token, key: device.key))
    }

    /// A signed enrollment request body for `key` with `token`.
    static func enrollment(_ collector: Collector, token: String, key: DeviceKey) throws -> Data {
        let nonce = collector.enrollmentChallenge()
        return try JSONSerialization.data(withJSONObject: [
            "token": token, "public_key": key.publicLine, "nonce": nonce,
            "signature": try EnrollmentProof.sign(token: token, nonce: nonce, key: key)
        ])
    }

    /// Concurrent uploads of one device's chain to a real `posture-collector serve`, shuffled and
    /// each sent twice from 16 threads: every report is stored once, every retry gets the first
    /// receipt, and every irregular receipt has its recorded event. The uploads go to a server
    /// process, as in production: an in-process store shares the test runner's cooperative threads
    /// with every other suite, and a task holding a device's row lock there can be stalled for
    /// seconds by unrelated blocking tests (seen as `idle in transaction` in pg_stat_activity).
    static func concurrentIngestStaysConsistent(_ store: StoreKind) async throws {
        let server = try CollectorProcess(store: store)
        let device = TestDevice()
        let contract = "C-\(UUID().uuidString)"
        #expect(try server.enroll(device.key, contract: contract).status == 201)
        let chain = try device.chain(40)
        let attempts = (chain + chain).shuffled()
        let key = try server.receiptKey()
        let results = try Fixtures.onThreads(attempts, width: 16) { report in
            let response = try server.upload(report.bytes, id: report.id)
            return (id: report.id, status: response.status, receipt: response.body)
        }.map { try $0.get() }
        #expect(results.filter { $0.status == 201 }.count == 40)
        #expect(results.filter { $0.status == 200 }.count == 40)
        for id in Set(results.map(\.id)) {
            let receipts = Set(results.filter { $0.id == id }.map(\.receipt))
            #expect(receipts.count == 1, "one receipt per report id")
        }
        let receipts = try results.map { try CheckedReceipt($0.receipt, key: key) }
        #expect(receipts.allSatisfy { $0.keyID == device.keyID })
        let stored = try server.stored(device.keyID)
        #expect(stored == chain.map(\.bytes), "chain order whatever the arrival order")
        #expect(server.stop() == 0)

        // Read back with the stores' own command-line clients: under the whole suite the test
        // runner's threads are busy, and an in-process PostgreSQL client can starve past its bound.
        let irregular = Set(zip(results, receipts).filter { $0.0.status == 201 && $0.1.chain != "ok" }.map(\.0.id)).count
        let query = "SELECT COUNT(*) FROM chain_events WHERE key_id = '\(device.keyID)'"
        let events =
            switch store {
            case .sqlite: try Fixtures.run("/usr/bin/sqlite3", [server.root.url("collector.db").path, query])
            case .postgres: try Fixtures.run("/usr/bin/psql", ["-X", "-A", "-t", "-d", StoreKind.postgresURL ?? "", "-c", query])
            }
        #expect(Int(events.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == irregular, "\(events.stderr)")
        let verified = ChainVerifier(key: device.key.publicKey).verify(
            stored.enumerated().map { ChainVerifier.Item(source: "#\($0.offset + 1)", bytes: $0.element) })
        #expect(verified.ok, "the stored evidence verifies as one unbroken chain: \(verified.chainProblems)")
        #expect(verified.reports.map(\.id) == chain.map(\.id))
    }

    /// One token, many concurrent enrollments: exactly one device gets it. Through the real
    /// server, so PostgreSQL's client never waits on the test runner's busy threads.
    static func tokenWorksOnceUnderConcurrency(_ store: StoreKind) async throws {
        let server = try CollectorProcess(store: store)
        let token = try server.issueToken(contract: "C-9")
        let statuses = try Fixtures.onThreads(Array(0..<12), width: 12) { _ in
            try server.enroll(TestDevice().key, token: token).status
        }.map { try $0.get() }
        #expect(statuses.filter { $0 == 201 }.count == 1, "\(statuses)")
        #expect(statuses.filter { $0 == 401 }.count == 11, "\(statuses)")
        #expect(server.stop() == 0)
    }
}

@Suite struct SQLiteStorageTests {
    @Test func concurrentIngestStaysConsistent() async throws { try await StorageScenarios.concurrentIngestStaysConsistent(.sqlite) }
    @Test func tokenWorksOnceUnderConcurrency() async throws { try await StorageScenarios.tokenWorksOnceUnderConcurrency(.sqlite) }
}

@Suite(.enabled(if: StoreKind.postgresURL != nil, "POSTURE_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped"))
struct PostgresStorageTests {
    /// Collectors scale out on one PostgreSQL: two started at the same moment on an empty database
    /// both create the schema (no deadlock, no error), and 20 devices whose reports alternate
    /// between them have every report stored once, in chain order, each receipt saying `ok`.
    @Test(arguments: 1...3)
    func twoCollectorsShareOneDatabase(_ round: Int) throws {
        let database = try ScratchDatabase()
        defer { try? database.drop() }
        let started = Fixtures.onThreads([0, 1], width: 2) { _ in try CollectorProcess(store: .postgres, storageURL: database.url) }
        let collectors = try started.map { try $0.get() }
        let keys = try collectors.map { try $0.receiptKey() }
        let devices = (0..<20).map { _ in TestDevice() }
        for (index, device) in devices.enumerated() {
            #expect(try collectors[index % 2].enroll(device.key, contract: "C-\(index)").status == 201)
        }
        let results = try Fixtures.onThreads(Array(devices.enumerated()), width: 8) { index, device in
            let chain = try device.chain(4)
            let receipts = try chain.enumerated().map { position, report in
                let via = (index + position) % 2
                let response = try collectors[via].upload(report.bytes, id: report.id)
                guard response.status == 201 else { throw NSError(domain: "upload", code: response.status) }
                return try CheckedReceipt(response.body, key: keys[via]).chain
            }
            return (device.keyID, chain.map(\.bytes), receipts)
        }.map { try $0.get() }
        for (keyID, chain, receipts) in results {
            #expect(receipts == ["ok", "ok", "ok", "ok"], "\(keyID)")
            #expect(try collectors[0].stored(keyID) == chain, "every report once, in chain order")
            #expect(try collectors[1].stored(keyID) == chain)
        }
        for collector in collectors {
            #expect(!collector.log.contains("deadlock"), "\(collector.log.suffix(2000))")
            #expect(collector.stop() == 0)
        }
    }

    /// A batch is written without savepoints, and again with one per submission when one fails:
    /// a device whose reports the database refuses (a trigger raising, as a constraint or a full
    /// disk would) fails alone, whatever batches its reports share with others, and the audit log
    /// has no hole: the others' receipts number every leaf from 0, once.
    @Test func aSubmissionTheDatabaseRefusesFailsAlone() throws {
        let database = try ScratchDatabase()
        defer { try? database.drop() }
        let server = try CollectorProcess(store: .postgres, storageURL: database.url)
        let receiptKey = try server.receiptKey()
        let refused = TestDevice()
        let devices = (0..<6).map { _ in TestDevice() }
        for device in devices + [refused] { #expect(try server.enroll(device.key).status == 201) }
        try ScratchDatabase.psql(
            database.url,
            """
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.key_id = '\(refused.keyID)' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION refuse();
            """)
        let uploads = try (devices + [refused]).flatMap { device in try device.chain(5).map { (device: device.keyID, report: $0) } }
        let results = try Fixtures.onThreads(uploads.shuffled(), width: 14) { upload in
            (upload, try server.upload(upload.report.bytes, id: upload.report.id))
        }.map { try $0.get() }
        var indices: [Int] = []
        for (upload, response) in results {
            if upload.device == refused.keyID {
                #expect(response.status == 503, "\(response.status) \(String(decoding: response.body, as: UTF8.self))")
            } else {
                try #require(response.status == 201, "\(server.log.components(separatedBy: "\n").filter { $0.contains("request failed") }.prefix(1))")
                let receipt = try Receipt.verified(response.body, key: receiptKey, reportID: upload.report.id, envelope: upload.report.bytes)
                indices.append(try #require(receipt.logIndex))
            }
        }
        #expect(indices.sorted() == Array(0..<30), "every leaf numbered once: \(indices.sorted())")
        for device in devices { #expect(try server.stored(device.keyID).count == 5) }
        #expect(try server.stored(refused.keyID).isEmpty)
        #expect(server.log.contains("written again with a savepoint each"), "\(server.log.suffix(2000))")
        #expect(server.stop() == 0)
    }

    @Test func concurrentIngestStaysConsistent() async throws { try await StorageScenarios.concurrentIngestStaysConsistent(.postgres) }
    @Test func tokenWorksOnceUnderConcurrency() async throws { try await StorageScenarios.tokenWorksOnceUnderConcurrency(.postgres) }
}

/// The config file is strict, as the agent's is.
@Suite struct CollectorConfigTests {
    @Test(arguments: [
        ("listen: 127.0.0.1:8443\nverify: false\n", "2: unknown key 'verify'"),
        ("listen: 0.0.0.0:8443\n", "1: plain HTTP is for loopback only"),
        ("storage: mysql://x\n", "1: storage must be sqlite"),
        ("storage: postgres://localhost/db\n", "needs a user"),
        ("limits: {max_body: 1GB}\n", "limits.max_body must be a size"),
        ("limits: {per_device_per_minute: 0}\n", "at least 1"),
        ("timeouts: {idle: forever}\n", "timeouts.idle must be a duration"),
        ("console: {session: 10s}\n", "console.session must be at least 1m"),
        ("console: {session: soon}\n", "console.session must be a duration"),
        ("console: {profiles: akishin-ib}\n", "console.profiles must be a list"),
        ("console: {profiles: [[akishin-ib]]}\n", "console.profiles"),
        ("console: {colour: blue}\n", "unknown key 'colour'"),
        ("console: [profiles]\n", "console must be a mapping"),
        ("witnesses: [nope]\n", "witnesses[0] is not a witness's verifier key"),
        ("witnesses: nope\n", "witnesses")
    ])
    func badConfigNamesFileAndLine(_ row: (String, String)) throws {
        let root = try TemporaryRoot("config")
        let path = try root.write("collector.yaml", row.0).path
        #expect(throws: LocatedError.self) { try CollectorConfig.parse(path: path) }
        do {
            _ = try CollectorConfig.parse(path: path)
        } catch {
            #expect("\(error)".contains(row.1), "\(error)")
            #expect("\(error)".hasPrefix(path))
        }
        let result = try Fixtures.run(CollectorProcess.binary, ["serve", "--config", path])
        #expect(result.status == 65, "\(result.stderr)")
    }

    /// A console profile that does not exist stops `serve` with the searched places named.
    @Test func unknownConsoleProfileIsNamed() throws {
        let root = try TemporaryRoot("config")
        _ = try StaffTokens.issue(file: root.url("staff-tokens").path, scope: .bank, lifetime: 3600, name: "test")
        let path = try root.write(
            "collector.yaml",
            "listen: 127.0.0.1:0\nstorage: sqlite://\(root.url("c.db").path)\nreceipt_key: r.key\nstaff_tokens_file: staff-tokens\n"
                + "console: {profiles: [no-such-profile]}\n"
        ).path
        let result = try Fixtures.run(CollectorProcess.binary, ["serve", "--config", path])
        #expect(result.status == 66, "\(result.stderr)")
        #expect(result.stderr.contains("no profile 'no-such-profile'") && result.stderr.contains("posture profiles list"), "\(result.stderr)")
    }

    /// A witness whose state file is damaged stops before asking the log anything (exit 65), and
    /// leaves the file for a person to look at.
    @Test func aDamagedWitnessStateStops() throws {
        let root = try TemporaryRoot("witness")
        let key = root.url("w.key").path, state = try root.write("w.state", "{\"origin\": 1").path
        #expect(try Fixtures.run(CollectorProcess.binary, ["witness", "key", "--key", key, "--name", "w.test"]).status == 0)
        let log = try NoteVerifier(name: "posture-collector/0011223344556677", publicKey: Curve25519.Signing.PrivateKey().publicKey).verifierKey
        let result = try Fixtures.run(
            CollectorProcess.binary,
            ["witness", "run", "--once", "--url", "https://127.0.0.1:1", "--log-key", log, "--key", key, "--name", "w.test", "--state", state])
        #expect(result.status == 65 && result.stderr.contains("is not a witness state file"), "\(result.stderr)")
        #expect(try String(contentsOfFile: state, encoding: .utf8) == "{\"origin\": 1")
    }

    /// An unreachable PostgreSQL server is reported at once (exit 69), not retried forever.
    @Test func unreachableStoreExits69() throws {
        let root = try TemporaryRoot("config")
        let path = try root.write("collector.yaml", "storage: postgres://nobody@127.0.0.1:1/db?sslmode=disable\nreceipt_key: r.key\n").path
        let started = Date()
        let result = try Fixtures.run(CollectorProcess.binary, ["serve", "--config", path])
        #expect(result.status == 69)
        #expect(result.stderr.contains("cannot use PostgreSQL at postgres://nobody@127.0.0.1:1/db"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 20)
    }

    @Test func defaultsAndRelativePaths() throws {
        let root = try TemporaryRoot("config")
        let path = try root.write(
            "collector.yaml",
            """
            listen: 127.0.0.1:9000
            storage: sqlite://data/collector.db
            receipt_key: keys/receipt.key
            limits: {max_body: 512KiB, per_device_per_minute: 10}
            """
        ).path
        let config = try CollectorConfig.parse(path: path)
        #expect(config.port == 9000)
        #expect(config.storage == .sqlite(path: root.url("data/collector.db").path))
        #expect(config.receiptKey == root.url("keys/receipt.key").path)
        #expect(config.limits.maxBody == 512 << 10)
        #expect(config.tlsCertificate == nil)
    }
}

/// The agent's binaries carry none of the collector's server dependencies.
@Suite struct BinaryIsolationTests {
    static func modules(in binary: String) throws -> Set<String> {
        let data = try Data(contentsOf: URL(fileURLWithPath: binary))
        return Set(["Hummingbird", "PostgresNIO", "NIOPosix", "NIOSSL"].filter { data.range(of: Data($0.utf8)) != nil })
    }

    @Test func agentBinariesDoNotLinkServerModules() throws {
        #expect(try Self.modules(in: Fixtures.product("posture")).isEmpty)
        #expect(try Self.modules(in: Fixtures.product("posture-agentd")).isEmpty)
        #expect(try Self.modules(in: CollectorProcess.binary) == ["Hummingbird", "PostgresNIO", "NIOPosix", "NIOSSL"], "the check can see them")
    }
}

/// A store made before the overview filtered in SQL (no `problems` column; the older covering
/// index) is upgraded in place by the next collector to start, its rows kept.
@Suite struct SchemaUpgradeTests {
    @Test(arguments: StoreKind.available)
    func aStoreFromBeforeTheOverviewColumnIsUpgraded(_ store: StoreKind) throws {
        let root = try TemporaryRoot()
        let scratch = store == .postgres ? try ScratchDatabase() : nil
        defer { try? scratch?.drop() }
        let url = scratch?.url ?? store.storageURL(in: root)
        func sql(_ text: String) throws -> String {
            let result =
                if let scratch {
                    try Fixtures.run("/usr/bin/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", scratch.url, "-c", text])
                } else {
                    try Fixtures.run("/usr/bin/sqlite3", ["-bail", root.url("collector.db").path, text])
                }
            guard result.status == 0 else { throw NSError(domain: "sql", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(text): \(result.stderr)"]) }
            return result.stdout
        }
        let device = TestDevice()
        let first = try CollectorProcess(store: store, storageURL: url)
        #expect(try first.enroll(device.key, contract: "C-1").status == 201)
        #expect(first.stop() == 0)
        // The schema as the collector made it before: the older index, no column, no migration.
        _ = try sql(
            """
            DROP INDEX device_verdicts_overview; ALTER TABLE device_verdicts DROP COLUMN problems;
            CREATE INDEX device_verdicts_profile ON device_verdicts(profile, key_id, report_id, collected_at, received_at, failing, unknown);
            """ + (scratch == nil ? " DELETE FROM grdb_migrations WHERE identifier = 'console-overview';" : ""))
        let second = try CollectorProcess(store: store, storageURL: url)
        let report = try device.chain(1)[0]
        #expect(try second.upload(report.bytes, id: report.id).status == 201)
        #expect(try second.stored(device.keyID).count == 1)
        #expect(second.stop() == 0)
        let problems = try sql("SELECT problems FROM device_verdicts WHERE key_id = '\(device.keyID)' ORDER BY profile")
        #expect(problems.contains("=unknown\n"), "the verdict's problems are kept: \(problems)")
        let indexes =
            try sql(
                scratch == nil
                    ? "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'device_verdicts'"
                    : "SELECT indexname FROM pg_indexes WHERE tablename = 'device_verdicts'")
        #expect(indexes.contains("device_verdicts_overview") && !indexes.contains("device_verdicts_profile"), "\(indexes)")
    }
}
