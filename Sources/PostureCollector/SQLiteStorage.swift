package import Foundation
import GRDB
import PostureEvidence
package import PostureTransparency

/// The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, because a receipt
/// promises that the evidence is on disk. Throughput comes from group commit instead of a weaker
/// sync: submissions that arrive while a transaction is being written wait and go into the next
/// one together, so many receipts share one fsync.
package final class SQLiteStorage: CollectorStorage, Sendable {
    let pool: DatabasePool
    let committer: GroupCommitter
    package let path: String

    package init(path: String) throws {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            for statement in StorageSchema.statements(blob: "BLOB", autoincrement: "INTEGER PRIMARY KEY AUTOINCREMENT", real: "REAL") {
                try db.execute(sql: statement)
            }
        }
        migrator.registerMigration("console") { db in
            for statement in StorageSchema.consoleStatements(blob: "BLOB", autoincrement: "INTEGER PRIMARY KEY AUTOINCREMENT", real: "REAL") {
                try db.execute(sql: statement)
            }
        }
        migrator.registerMigration("log") { db in
            for statement in StorageSchema.logStatements(blob: "BLOB") { try db.execute(sql: statement) }
        }
        migrator.registerMigration("console-timeline") { db in
            for statement in StorageSchema.timelineStatements(real: "REAL") { try db.execute(sql: statement) }
        }
        migrator.registerMigration("log-witness") { db in
            for statement in StorageSchema.witnessStatements(real: "REAL") { try db.execute(sql: statement) }
        }
        migrator.registerMigration("console-overview") { db in
            for statement in StorageSchema.overviewStatements(addColumn: "ADD COLUMN") { try db.execute(sql: statement) }
        }
        try migrator.migrate(pool)
        committer = GroupCommitter(pool: pool)
    }

    package func issueToken(sha256: String, contract: String, issuedAt: Date, expiresAt: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO enrollment_tokens (token_sha256, contract, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [sha256, contract, issuedAt.timeIntervalSince1970, expiresAt.timeIntervalSince1970])
        }
    }

    package func enroll(tokenSha256: String, device: Device, now: Date) async throws -> EnrollOutcome {
        try await pool.write { db in
            guard
                let contract = try String.fetchOne(
                    db,
                    sql: """
                        SELECT contract FROM enrollment_tokens WHERE token_sha256 = ? AND used_at IS NULL AND expires_at > ?
                        """, arguments: [tokenSha256, now.timeIntervalSince1970])
            else { return .refused }
            if let bound = try String.fetchOne(db, sql: "SELECT contract FROM devices WHERE key_id = ?", arguments: [device.keyID]),
                bound != contract
            {
                return .conflict(contract: bound)
            }
            try db.execute(
                sql: "UPDATE enrollment_tokens SET used_at = ?, used_by = ? WHERE token_sha256 = ?",
                arguments: [now.timeIntervalSince1970, device.keyID, tokenSha256])
            try db.execute(
                sql: """
                    INSERT INTO devices (key_id, public_key, contract, hostname, machine_id_sha256, enrolled_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (key_id) DO UPDATE SET hostname = excluded.hostname, machine_id_sha256 = excluded.machine_id_sha256
                    """,
                arguments: [
                    device.keyID, device.publicKey, contract, device.hostname, device.machineIdSha256,
                    now.timeIntervalSince1970
                ])
            return .enrolled(contract: contract)
        }
    }

    package func device(keyID: String) async throws -> Device? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM devices WHERE key_id = ?", arguments: [keyID]).map(Self.device)
        }
    }

    package func devices(contract: String) async throws -> [Device] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM devices WHERE contract = ? ORDER BY enrolled_at, key_id", arguments: [contract]).map(Self.device)
        }
    }

    static func device(_ row: Row) -> Device {
        Device(
            keyID: row["key_id"], publicKey: row["public_key"], contract: row["contract"], hostname: row["hostname"],
            machineIdSha256: row["machine_id_sha256"], enrolledAt: Date(timeIntervalSince1970: row["enrolled_at"]))
    }

    package func ingest(_ submission: Submission, now: Date, sign: @escaping ReceiptSigner) async throws -> IngestOutcome {
        try await committer.submit { db in
            // Every statement of an ingest is prepared once per connection (the one writer's).
            if let row = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT envelope_sha256, receipt FROM reports WHERE key_id = ? AND report_id = ?"),
                arguments: [submission.keyID, submission.reportID])
            {
                let stored: String = row["envelope_sha256"]
                if stored != submission.envelopeSha256 {
                    try Self.record(
                        db, submission, kind: "conflict", detail: "different bytes (sha256 \(submission.envelopeSha256)) under a stored report id", at: now)
                }
                return .repeated(receipt: row["receipt"])
            }
            let head =
                try Row.fetchOne(
                    try db.cachedStatement(sql: "SELECT head_sequence, head_sha256 FROM devices WHERE key_id = ?"), arguments: [submission.keyID]
                )
                .map { ChainRule.Head(sequence: $0["head_sequence"], sha256: $0["head_sha256"]) } ?? ChainRule.Head(sequence: 0, sha256: nil)
            let occupied =
                try Bool.fetchOne(
                    try db.cachedStatement(sql: "SELECT 1 FROM reports WHERE key_id = ? AND sequence = ? LIMIT 1"),
                    arguments: [submission.keyID, submission.sequence]) ?? false
            let predecessors = try String.fetchAll(
                try db.cachedStatement(sql: "SELECT envelope_sha256 FROM reports WHERE key_id = ? AND sequence = ?"),
                arguments: [submission.keyID, submission.sequence - 1])
            let (chain, detail) = ChainRule.classify(submission, head: head, occupied: occupied, predecessors: predecessors)
            let logIndex = try Self.appendToLog(db, submission)
            let receipt = try sign(submission, chain, now, logIndex)
            try db.cachedStatement(
                sql: """
                    INSERT INTO reports (key_id, report_id, sequence, previous, envelope_sha256, collected_at, received_at, chain, envelope, receipt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                submission.keyID, submission.reportID, submission.sequence, submission.previous, submission.envelopeSha256,
                submission.collectedAt.timeIntervalSince1970, now.timeIntervalSince1970, chain.rawValue,
                submission.envelope, receipt
            ])
            if submission.sequence > head.sequence {
                try db.cachedStatement(sql: "UPDATE devices SET head_sequence = ?, head_sha256 = ? WHERE key_id = ?")
                    .execute(arguments: [submission.sequence, submission.envelopeSha256, submission.keyID])
            }
            if let detail { try Self.record(db, submission, kind: chain.rawValue, detail: detail, at: now) }
            for verdict in submission.verdicts { try Self.keepVerdict(db, verdict, receivedAt: now) }
            return .stored(receipt: receipt, chain: chain)
        }
    }

    /// Appends the envelope as the log's next leaf, with the complete subtrees it finishes; its index.
    /// Writes are serialised (one SQLite writer), so the log grows in receipt order.
    static func appendToLog(_ db: Database, _ submission: Submission) throws -> Int {
        let index = try Int.fetchOne(try db.cachedStatement(sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves")) ?? 0
        let frontier = try nodes(db, MerkleTree.nodesToReadForAppending(atIndex: index))
        let created = try MerkleTree.nodesToStore(appendingLeaf: submission.leafHash, atIndex: index) { (id) throws(StorageError) -> Hash in
            guard let hash = frontier[id] else { throw StorageError(description: "the audit log lacks node \(id) below leaf \(index)") }
            return hash
        }
        // Prepared once per connection: every append runs these in the one writer.
        let insertNode = try db.cachedStatement(sql: "INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)")
        for (id, hash) in created { try insertNode.execute(arguments: [id.level, id.index, Data(hash.bytes)]) }
        try db.cachedStatement(sql: "INSERT INTO log_leaves (idx, key_id, report_id) VALUES (?, ?, ?)")
            .execute(arguments: [index, submission.keyID, submission.reportID])
        return index
    }

    /// The stored nodes among `ids`, in one query.
    static func nodes(_ db: Database, _ ids: Set<NodeID>) throws -> [NodeID: Hash] {
        guard !ids.isEmpty else { return [:] }
        let sorted = ids.sorted()
        var found: [NodeID: Hash] = [:]
        // One text per count of nodes (a few dozen at most), so each is prepared once per connection.
        let statement = try db.cachedStatement(
            sql: "SELECT level, idx, hash FROM log_nodes WHERE " + Array(repeating: "(level = ? AND idx = ?)", count: sorted.count).joined(separator: " OR "))
        for row in try Row.fetchAll(statement, arguments: StatementArguments(sorted.flatMap { [$0.level, $0.index] })) {
            found[NodeID(level: row[0], index: row[1])] = try Hash(bytes: [UInt8](row[2] as Data))
        }
        return found
    }

    package func logSize() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves") ?? 0 }
    }

    package func logNodes(_ ids: Set<NodeID>) async throws -> [NodeID: Hash] {
        try await pool.read { db in try Self.nodes(db, ids) }
    }

    package func keepCosignature(witness: String, size: Int, signature: String, at: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO log_cosignatures (witness, size, signature, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [witness, size, signature, at.timeIntervalSince1970])
        }
    }

    package func newestCosignatures() async throws -> (size: Int, signatures: [String])? {
        try await pool.read { db in
            guard let size = try Int.fetchOne(db, sql: "SELECT MAX(size) FROM log_cosignatures") else { return nil }
            return (size, try String.fetchAll(db, sql: "SELECT signature FROM log_cosignatures WHERE size = ? ORDER BY witness", arguments: [size]))
        }
    }

    static func record(_ db: Database, _ submission: Submission, kind: String, detail: String, at: Date) throws {
        try db.cachedStatement(sql: "INSERT INTO chain_events (key_id, report_id, kind, detail, at) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [submission.keyID, submission.reportID, kind, detail, at.timeIntervalSince1970])
    }

    package func envelopes(keyID: String, from: Date?, to: Date?) async throws -> [Data] {
        try await pool.read { db in
            try Data.fetchAll(
                db,
                sql: """
                    SELECT envelope FROM reports WHERE key_id = ? AND received_at >= ? AND received_at <= ? ORDER BY sequence, arrival
                    """,
                arguments: [
                    keyID, from?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude,
                    to?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude
                ])
        }
    }

    package func envelopePage(keyID: String, from: Date?, to: Date?, after cursor: ReadCursor?, limit: Int, withEnvelopes: Bool) async throws
        -> [StoredEnvelope]
    {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT sequence, arrival, CASE WHEN ? THEN envelope ELSE x'' END AS envelope FROM reports
                    WHERE key_id = ? AND received_at >= ? AND received_at <= ?
                    AND (sequence > ? OR (sequence = ? AND arrival > ?)) ORDER BY sequence, arrival LIMIT ?
                    """,
                arguments: [
                    withEnvelopes, keyID, from?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude,
                    to?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude,
                    cursor?.sequence ?? -1, cursor?.sequence ?? -1, cursor?.arrival ?? -1, limit
                ]
            ).map { row in
                StoredEnvelope(cursor: ReadCursor(sequence: row["sequence"], arrival: row["arrival"]), envelope: row["envelope"])
            }
        }
    }

    package func events(keyID: String) async throws -> [ChainEvent] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM chain_events WHERE key_id = ? ORDER BY id", arguments: [keyID]).map { row in
                ChainEvent(
                    keyID: row["key_id"], reportID: row["report_id"], kind: row["kind"], detail: row["detail"],
                    at: Date(timeIntervalSince1970: row["at"]))
            }
        }
    }

    package func close() async throws {
        try pool.close()
    }

    // MARK: Console

    package func fleetPage(_ query: FleetQuery) async throws -> FleetPage {
        let statements = FleetSQL.sqlite.statements(query)
        @Sendable func arguments(_ statement: FleetSQL.Statement) -> StatementArguments {
            StatementArguments(
                statement.values.map { value -> (any DatabaseValueConvertible) in
                    switch value {
                    case .text(let text): text
                    case .real(let real): real
                    case .integer(let integer): integer
                    }
                })
        }
        return try await pool.read { db in
            var page = FleetPage()
            var counter = FleetPage.Counter()
            let standings = try Row.fetchCursor(db, sql: statements.standings.sql, arguments: arguments(statements.standings))
            while let row = try standings.next() {
                counter.add(contract: row[0], standing: row[1], withEvents: row[2] as Int != 0, matches: row[3] as Int != 0)
            }
            counter.finish(into: &page, shown: query.contractsShown)
            page.rows = try Row.fetchAll(db, sql: statements.rows.sql, arguments: arguments(statements.rows)).map { row in
                FleetPage.Row(
                    keyID: row[0], contract: row[1], hostname: row[2], collectedAt: (row[3] as Double?).map(Date.init(timeIntervalSince1970:)),
                    failing: row[4], unknown: row[5], events: row[6], standing: DeviceStanding.allCases[row[7]])
            }
            return page
        }
    }

    /// Keeps a verdict unless a newer report's is already kept for its device and profile.
    static func keepVerdict(_ db: Database, _ verdict: DeviceVerdict, receivedAt: Date) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO device_verdicts (key_id, profile, report_id, collected_at, received_at, failing, unknown, findings, problems)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (key_id, profile) DO UPDATE SET report_id = excluded.report_id, collected_at = excluded.collected_at,
                received_at = excluded.received_at, failing = excluded.failing, unknown = excluded.unknown, findings = excluded.findings,
                problems = excluded.problems
                WHERE excluded.collected_at >= device_verdicts.collected_at
                """
        ).execute(
            arguments: [
                verdict.keyID, verdict.profile, verdict.reportID, verdict.collectedAt.timeIntervalSince1970,
                receivedAt.timeIntervalSince1970, verdict.failing, verdict.unknown, verdict.findings, verdict.problems
            ])
        // A change point when the statuses differ from those in force at the report's time.
        try db.cachedStatement(
            sql: """
                INSERT INTO verdict_changes (key_id, profile, collected_at, statuses) SELECT ?, ?, ?, ?
                WHERE COALESCE((SELECT statuses FROM verdict_changes WHERE key_id = ? AND profile = ? AND collected_at <= ?
                                ORDER BY collected_at DESC LIMIT 1), '') <> ?
                ON CONFLICT DO NOTHING
                """
        ).execute(
            arguments: [
                verdict.keyID, verdict.profile, verdict.collectedAt.timeIntervalSince1970, verdict.statuses, verdict.keyID, verdict.profile,
                verdict.collectedAt.timeIntervalSince1970, verdict.statuses
            ])
    }

    package func verdictChanges(keyID: String, profile: String, from: Date) async throws -> [VerdictChange] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT collected_at, statuses FROM verdict_changes WHERE key_id = ? AND profile = ? AND collected_at >= COALESCE(
                        (SELECT MAX(collected_at) FROM verdict_changes WHERE key_id = ? AND profile = ? AND collected_at < ?), ?)
                    ORDER BY collected_at
                    """, arguments: [keyID, profile, keyID, profile, from.timeIntervalSince1970, from.timeIntervalSince1970]
            ).map { VerdictChange(collectedAt: Date(timeIntervalSince1970: $0[0]), statuses: $0[1]) }
        }
    }

    package func verdicts(keyID: String) async throws -> [DeviceVerdict] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM device_verdicts WHERE key_id = ? ORDER BY profile", arguments: [keyID]).map(Self.verdict)
        }
    }

    static func verdict(_ row: Row) -> DeviceVerdict {
        DeviceVerdict(
            keyID: row["key_id"], profile: row["profile"], reportID: row["report_id"], collectedAt: Date(timeIntervalSince1970: row["collected_at"]),
            receivedAt: Date(timeIntervalSince1970: row["received_at"]), failing: row["failing"], unknown: row["unknown"], findings: row["findings"])
    }

    package func keep(_ assessment: KeptAssessment) async throws -> Int64 {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO console_assessments (contract, key_id, profile, staff, at, inputs, assessment, html) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    assessment.contract, assessment.keyID, assessment.profile, assessment.staff, assessment.at.timeIntervalSince1970,
                    assessment.inputs, assessment.assessment, assessment.html
                ])
            return db.lastInsertedRowID
        }
    }

    package func keptAssessment(id: Int64) async throws -> KeptAssessment? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM console_assessments WHERE id = ?", arguments: [id]).map(Self.kept)
        }
    }

    package func keptAssessments(keyID: String) async throws -> [KeptAssessment] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, contract, key_id, profile, staff, at, inputs, x'' AS assessment, x'' AS html FROM console_assessments
                    WHERE key_id = ? ORDER BY id DESC
                    """, arguments: [keyID]
            ).map(Self.kept)
        }
    }

    package func reports(keyID: String, limit: Int) async throws -> [StoredReport] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT report_id, sequence, collected_at, received_at, chain, receipt FROM reports WHERE key_id = ?
                    ORDER BY arrival DESC LIMIT ?
                    """, arguments: [keyID, limit]
            ).map { row in
                StoredReport(
                    reportID: row["report_id"], sequence: row["sequence"], collectedAt: Date(timeIntervalSince1970: row["collected_at"]),
                    receivedAt: Date(timeIntervalSince1970: row["received_at"]), chain: row["chain"], receipt: row["receipt"])
            }
        }
    }

    static func kept(_ row: Row) -> KeptAssessment {
        KeptAssessment(
            id: row["id"], contract: row["contract"], keyID: row["key_id"], profile: row["profile"], staff: row["staff"],
            at: Date(timeIntervalSince1970: row["at"]), inputs: row["inputs"], assessment: row["assessment"], html: row["html"])
    }
}

/// Runs write jobs in shared transactions: jobs submitted while one transaction commits are
/// batched into the next. Each job runs in its own savepoint, so one failing job rolls back alone.
actor GroupCommitter {
    private struct Job: Sendable {
        var work: @Sendable (Database) throws -> IngestOutcome
        var continuation: CheckedContinuation<IngestOutcome, any Error>
    }

    private let pool: DatabasePool
    private var pending: [Job] = []
    private var draining = false

    init(pool: DatabasePool) { self.pool = pool }

    func submit(_ work: @escaping @Sendable (Database) throws -> IngestOutcome) async throws -> IngestOutcome {
        try await withCheckedThrowingContinuation { continuation in
            pending.append(Job(work: work, continuation: continuation))
            if !draining {
                draining = true
                Task { await drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = pending
            pending = []
            let results: [Result<IngestOutcome, any Error>]
            do {
                results = try await pool.write { db in
                    batch.map { job in
                        Result {
                            var outcome = IngestOutcome.repeated(receipt: Data())
                            try db.inSavepoint {
                                outcome = try job.work(db)
                                return .commit
                            }
                            return outcome
                        }
                    }
                }
            } catch {
                results = batch.map { _ in .failure(error) }
            }
            for (job, result) in zip(batch, results) { job.continuation.resume(with: result) }
        }
        draining = false
    }
}
