import Crypto
import Foundation
import Logging
import PostureCollector
import PostureEvidence
import PostureModel
import PostureReference
import PostureTestSupport
import PostureTransport
import Testing

/// The store's guarantees under concurrency, for each store.
enum StorageScenarios {
    static func open(_ store: StoreKind, _ root: TemporaryRoot) async throws -> any CollectorStorage {
        switch store {
        case .sqlite: return try SQLiteStorage(path: root.url("collector.db").path)
        case .postgres: return try await PostgresStorage(url: StoreKind.postgresURL ?? "", logger: Logger(label: "test"))
        }
    }

    static func collector(_ store: StoreKind, _ root: TemporaryRoot) async throws -> Collector {
        var limits = CollectorConfig.Limits()
        limits.perDevicePerMinute = 10_000
        return Collector(storage: try await open(store, root), receiptKey: DeviceKey(privateKey: .init()), limits: limits)
    }

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
        #expect(try server.stored(device.keyID) == chain.map(\.bytes), "chain order whatever the arrival order")
        #expect(server.stop() == 0)

        let storage = try await open(store, server.root)
        let irregular = Set(zip(results, receipts).filter { $0.0.status == 201 && $0.1.chain != "ok" }.map(\.0.id)).count
        #expect(try await storage.events(keyID: device.keyID).count == irregular)
        let evidence = try await Collector(storage: storage, receiptKey: DeviceKey(privateKey: .init()), limits: .init()).evidence(contract: contract)
        #expect(evidence.map(\.device.keyID) == [device.keyID])
        let verified = ChainVerifier(key: try #require(evidence.first?.key)).verify(try #require(evidence.first?.items))
        #expect(verified.ok, "the stored evidence verifies as one unbroken chain: \(verified.chainProblems)")
        #expect(verified.reports.map(\.id) == chain.map(\.id))
        try await storage.close()
    }

    /// One token, many concurrent enrollments: exactly one device gets it.
    static func tokenWorksOnceUnderConcurrency(_ store: StoreKind) async throws {
        let root = try TemporaryRoot("storage")
        let collector = try await collector(store, root)
        let token = try await collector.issueToken(contract: "C-9", lifetime: 3600)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    let body = try? enrollment(collector, token: token, key: TestDevice().key)
                    return (try? await collector.enroll(body: body ?? Data())) != nil
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        try await collector.storage.close()
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
        ("timeouts: {idle: forever}\n", "timeouts.idle must be a duration")
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
