package import Foundation
package import Logging
import NIOSSL
import PostgresNIO
import PostureEvidence
import PostureModel
package import PostureTransparency

/// The store for banks that outgrow one machine: PostgreSQL through a connection pool. Each ingest
/// is one transaction that locks its device's row, so one device's submissions are serialised while
/// different devices proceed in parallel; PostgreSQL's own group commit shares the WAL flushes.
package final class PostgresStorage: CollectorStorage, Sendable {
    let client: PostgresClient
    let runner: Task<Void, Never>
    let batcher: PostgresBatcher
    let logger: Logger
    package let url: PostgresURL

    /// Connects (the pool runs until `close`) and creates the tables when they are missing.
    package init(url text: String, logger: Logger) async throws {
        url = try PostgresURL(text)
        self.logger = logger
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password,
            database: url.database, tls: .disable)
        var connection = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password,
            database: url.database, tls: .disable)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let root = url.rootCertificate { tls.trustRoots = .file(root) }
        switch url.tls {
        case .disable: break
        case .prefer:
            configuration.tls = .prefer(tls)
            connection.tls = .prefer(try NIOSSLContext(configuration: tls))
        case .require, .verifyFull:
            configuration.tls = .require(tls)
            connection.tls = .require(try NIOSSLContext(configuration: tls))
        }
        connection.options.connectTimeout = .seconds(10)
        // One direct connection first: it fails fast when the server is unreachable (the pool would
        // keep retrying), and creates the tables when they are missing.
        do {
            let setup = try await PostgresConnection.connect(configuration: connection, id: 0, logger: logger)
            do {
                // Collectors starting together take turns (a session advisory lock), and each
                // statement commits on its own: `CREATE INDEX IF NOT EXISTS` locks its table even when
                // the index exists, and one transaction holding those locks while other collectors
                // ingest (row locks on devices, inserts into reports) is a deadlock cycle.
                // A schema already complete (every table and index named) is left alone: no DDL, so
                // no table lock at all. A statement naming nothing (adding a column) comes before an
                // index that stands for it.
                let statements =
                    StorageSchema.statements(blob: "BYTEA", autoincrement: "BIGSERIAL PRIMARY KEY", real: "DOUBLE PRECISION")
                    + StorageSchema.consoleStatements(blob: "BYTEA", autoincrement: "BIGSERIAL PRIMARY KEY", real: "DOUBLE PRECISION")
                    + StorageSchema.timelineStatements(real: "DOUBLE PRECISION") + StorageSchema.logStatements(blob: "BYTEA")
                    + StorageSchema.overviewStatements(addColumn: "ADD COLUMN IF NOT EXISTS")
                    + StorageSchema.witnessStatements(real: "DOUBLE PRECISION")
                let names = statements.compactMap(StorageSchema.createdName)
                var existing = 0
                for try await (count) in try await setup.query(
                    "SELECT count(*)::BIGINT FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relname = ANY(\(names))",
                    logger: logger
                ).decode(Int64.self) { existing = Int(count) }
                if existing < names.count {
                    try await setup.query("SELECT pg_advisory_lock(7418526)", logger: logger)
                    for statement in statements {
                        try await setup.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await setup.query("SELECT pg_advisory_unlock(7418526)", logger: logger)
                }
            } catch {
                try? await setup.close()
                throw error
            }
            try await setup.close()
        } catch {
            throw StorageError(description: "cannot use PostgreSQL at \(url): \(String(reflecting: error))")
        }
        configuration.options.maximumConnections = 16
        configuration.options.connectTimeout = .seconds(10)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        batcher = PostgresBatcher(client: client, url: "\(url)", logger: logger)
    }

    /// Runs one store operation with a bound, so a server that went away makes requests fail (503) instead of hang.
    func bounded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let url = self.url
        return try await withDeadline(15, timeout: { StorageError(description: "PostgreSQL at \(url) did not answer within 15s") }, body)
    }

    package func issueToken(sha256: String, contract: String, issuedAt: Date, expiresAt: Date) async throws {
        try await bounded { [self] in
            _ = try await client.query(
                """
                INSERT INTO enrollment_tokens (token_sha256, contract, issued_at, expires_at)
                VALUES (\(sha256), \(contract), \(issuedAt.timeIntervalSince1970), \(expiresAt.timeIntervalSince1970))
                """, logger: logger)
        }
    }

    package func enroll(tokenSha256: String, device: Device, now: Date) async throws -> EnrollOutcome {
        try await bounded { [self] in
            try await client.withTransaction(logger: logger) { connection in
                let tokens = try await connection.query(
                    """
                    SELECT contract FROM enrollment_tokens
                    WHERE token_sha256 = \(tokenSha256) AND used_at IS NULL AND expires_at > \(now.timeIntervalSince1970) FOR UPDATE
                    """, logger: logger)
                guard let contract = try await tokens.decode(String.self).first(where: { _ in true }) else { return .refused }
                let bound = try await connection.query("SELECT contract FROM devices WHERE key_id = \(device.keyID)", logger: logger)
                if let existing = try await bound.decode(String.self).first(where: { _ in true }), existing != contract {
                    return .conflict(contract: existing)
                }
                try await connection.query(
                    """
                    UPDATE enrollment_tokens SET used_at = \(now.timeIntervalSince1970), used_by = \(device.keyID) WHERE token_sha256 = \(tokenSha256)
                    """, logger: logger)
                try await connection.query(
                    """
                    INSERT INTO devices (key_id, public_key, contract, hostname, machine_id_sha256, enrolled_at)
                    VALUES (\(device.keyID), \(device.publicKey), \(contract), \(device.hostname), \(device.machineIdSha256), \(now.timeIntervalSince1970))
                    ON CONFLICT (key_id) DO UPDATE SET hostname = excluded.hostname, machine_id_sha256 = excluded.machine_id_sha256
                    """, logger: logger)
                return .enrolled(contract: contract)
            }
        }
    }

    package func device(keyID: String) async throws -> Device? {
        try await bounded { [self] in
            try await devices(query: "SELECT key_id, public_key, contract, hostname, machine_id_sha256, enrolled_at FROM devices WHERE key_id = \(keyID)").first
        }
    }

    package func devices(contract: String) async throws -> [Device] {
        try await bounded { [self] in
            try await devices(
                query: """
                    SELECT key_id, public_key, contract, hostname, machine_id_sha256, enrolled_at FROM devices
                    WHERE contract = \(contract) ORDER BY enrolled_at, key_id
                    """)
        }
    }

    func devices(query: PostgresQuery) async throws -> [Device] {
        var devices: [Device] = []
        for try await (keyID, publicKey, contract, hostname, machine, enrolledAt) in try await client.query(query, logger: logger)
            .decode((String, String, String, String?, String?, Double).self)
        {
            devices.append(
                Device(
                    keyID: keyID, publicKey: publicKey, contract: contract, hostname: hostname, machineIdSha256: machine,
                    enrolledAt: Date(timeIntervalSince1970: enrolledAt)))
        }
        return devices
    }

    package func ingest(_ submission: Submission, now: Date, sign: @escaping ReceiptSigner) async throws -> IngestOutcome {
        try await batcher.submit(submission, now: now, sign: sign)
    }

    /// A submission written but not yet in the log: its receipt waits for its leaf index.
    enum Staged: Sendable {
        case repeated(receipt: Data)
        case stored(chain: ChainStatus)
    }

    /// Writes one submission (chain check, report with an empty receipt, head, events, verdicts)
    /// inside the batch's transaction, in three statements: the device's row locked, the reports
    /// the chain rule needs read, and every row written by one statement.
    static func stage(_ connection: PostgresConnection, _ logger: Logger, _ submission: Submission, now: Date) async throws -> Staged {
        let heads = try await connection.query(
            """
            SELECT head_sequence, head_sha256 FROM devices WHERE key_id = \(submission.keyID) FOR UPDATE
            """, logger: logger)
        var head = ChainRule.Head(sequence: 0, sha256: nil)
        for try await (sequence, sha256) in heads.decode((Int, String?).self) { head = ChainRule.Head(sequence: sequence, sha256: sha256) }
        // Read after the lock is held (a statement of its own sees what the last holder committed):
        // the report stored under this id, and those at this sequence and the one before it.
        var stored: (sha256: String, receipt: Data)?
        var occupied = false
        var predecessors: [String] = []
        for try await (reportID, sequence, sha256, receipt) in try await connection.query(
            """
            SELECT report_id, sequence, envelope_sha256, CASE WHEN report_id = \(submission.reportID) THEN receipt ELSE ''::BYTEA END
            FROM reports WHERE key_id = \(submission.keyID)
            AND (report_id = \(submission.reportID) OR sequence = \(submission.sequence) OR sequence = \(submission.sequence - 1))
            """, logger: logger
        ).decode((String, Int, String, Data).self) {
            if reportID == submission.reportID {
                stored = (sha256, receipt)
            } else if sequence == submission.sequence {
                occupied = true
            } else {
                predecessors.append(sha256)
            }
        }
        if let stored {
            if stored.sha256 != submission.envelopeSha256 {
                try await record(
                    connection, logger, submission, kind: "conflict",
                    detail: "different bytes (sha256 \(submission.envelopeSha256)) under a stored report id", at: now)
            }
            return .repeated(receipt: stored.receipt)
        }
        let (chain, detail) = ChainRule.classify(submission, head: head, occupied: occupied, predecessors: predecessors)
        let verdicts = submission.verdicts
        let profiles = verdicts.map(\.profile), collected = verdicts.map { $0.collectedAt.timeIntervalSince1970 }
        let failing = verdicts.map { Int64($0.failing) }, unknown = verdicts.map { Int64($0.unknown) }
        let findings = verdicts.map { $0.findings.base64EncodedString() }, problems = verdicts.map(\.problems)
        let statuses = verdicts.map(\.statuses)
        // The report, the head, and each profile's verdict (kept unless a newer report's is) with a
        // change point where its statuses differ from those in force at the report's time.
        try await connection.query(
            """
            WITH report AS (
                INSERT INTO reports (key_id, report_id, sequence, previous, envelope_sha256, collected_at, received_at, chain, envelope, receipt)
                VALUES (\(submission.keyID), \(submission.reportID), \(submission.sequence), \(submission.previous), \(submission.envelopeSha256),
                        \(submission.collectedAt.timeIntervalSince1970), \(now.timeIntervalSince1970), \(chain.rawValue), \(submission.envelope),
                        ''::BYTEA)),
            head AS (
                UPDATE devices SET head_sequence = \(submission.sequence), head_sha256 = \(submission.envelopeSha256)
                WHERE key_id = \(submission.keyID) AND head_sequence < \(submission.sequence)),
            verdicts AS (
                INSERT INTO device_verdicts (key_id, profile, report_id, collected_at, received_at, failing, unknown, findings, problems)
                SELECT \(submission.keyID), t.profile, \(submission.reportID), t.collected_at, \(now.timeIntervalSince1970), t.failing, t.unknown,
                       decode(t.findings, 'base64'), t.problems
                FROM unnest(\(profiles)::TEXT[], \(collected)::DOUBLE PRECISION[], \(failing)::BIGINT[], \(unknown)::BIGINT[],
                            \(findings)::TEXT[], \(problems)::TEXT[]) AS t(profile, collected_at, failing, unknown, findings, problems)
                ON CONFLICT (key_id, profile) DO UPDATE SET report_id = excluded.report_id, collected_at = excluded.collected_at,
                received_at = excluded.received_at, failing = excluded.failing, unknown = excluded.unknown, findings = excluded.findings,
                problems = excluded.problems
                WHERE excluded.collected_at >= device_verdicts.collected_at)
            INSERT INTO verdict_changes (key_id, profile, collected_at, statuses)
            SELECT \(submission.keyID), t.profile, t.collected_at, t.statuses
            FROM unnest(\(profiles)::TEXT[], \(collected)::DOUBLE PRECISION[], \(statuses)::TEXT[]) AS t(profile, collected_at, statuses)
            WHERE COALESCE((SELECT c.statuses FROM verdict_changes c WHERE c.key_id = \(submission.keyID) AND c.profile = t.profile
                            AND c.collected_at <= t.collected_at ORDER BY c.collected_at DESC LIMIT 1), '') <> t.statuses
            ON CONFLICT DO NOTHING
            """, logger: logger)
        if let detail { try await record(connection, logger, submission, kind: chain.rawValue, detail: detail, at: now) }
        return .stored(chain: chain)
    }

    /// Appends the envelopes as the log's next leaves, in order, with the complete subtrees they
    /// finish; the first one's index. A transaction-scoped advisory lock makes appends from every
    /// connection and every collector instance take turns, so the log grows in receipt order; it
    /// is held to the commit, and taken last in the transaction so it is held the least.
    static func appendToLog(_ connection: PostgresConnection, _ logger: Logger, _ submissions: [Submission]) async throws -> Int {
        let leaves = submissions.map(\.leafHash)
        try await connection.query("SELECT pg_advisory_xact_lock(7418527)", logger: logger)
        var start = 0
        for try await size in try await connection.query("SELECT COALESCE(MAX(idx) + 1, 0)::BIGINT FROM log_leaves", logger: logger).decode(Int.self) {
            start = size
        }
        let frontier = try await nodes(connection, logger, MerkleTree.nodesToReadForAppending(atIndex: start))
        let created = try MerkleTree.nodesToStore(appendingLeaves: leaves, startingAt: start) { (id) throws(StorageError) -> Hash in
            guard let hash = frontier[id] else { throw StorageError(description: "the audit log lacks node \(id) below leaf \(start)") }
            return hash
        }
        // One statement for the nodes and the leaves: each round trip here is time the lock is held.
        let levels = created.map { Int64($0.key.level) }, indices = created.map { Int64($0.key.index) }, hashes = created.map { $0.value.hex }
        let leafIndices = submissions.indices.map { Int64(start + $0) }
        try await connection.query(
            """
            WITH nodes AS (INSERT INTO log_nodes (level, idx, hash)
                           SELECT l, i, decode(h, 'hex') FROM unnest(\(levels)::BIGINT[], \(indices)::BIGINT[], \(hashes)::TEXT[]) AS t(l, i, h))
            INSERT INTO log_leaves (idx, key_id, report_id)
            SELECT * FROM unnest(\(leafIndices)::BIGINT[], \(submissions.map(\.keyID))::TEXT[], \(submissions.map(\.reportID))::TEXT[])
            """, logger: logger)
        return start
    }

    /// The stored nodes among `ids`, in one query.
    static func nodes(_ connection: PostgresConnection, _ logger: Logger, _ ids: Set<NodeID>) async throws -> [NodeID: Hash] {
        guard !ids.isEmpty else { return [:] }
        let sorted = ids.sorted()
        let levels = sorted.map { Int64($0.level) }, indices = sorted.map { Int64($0.index) }
        var found: [NodeID: Hash] = [:]
        for try await (level, index, hash) in try await connection.query(
            """
            SELECT n.level, n.idx, n.hash FROM log_nodes n JOIN unnest(\(levels)::BIGINT[], \(indices)::BIGINT[]) AS k(level, idx)
            ON n.level = k.level AND n.idx = k.idx
            """, logger: logger
        ).decode((Int, Int, Data).self) {
            found[NodeID(level: level, index: index)] = try Hash(bytes: [UInt8](hash))
        }
        return found
    }

    package func logSize() async throws -> Int {
        try await bounded { [self] in
            var size = 0
            for try await count in try await client.query("SELECT COALESCE(MAX(idx) + 1, 0)::BIGINT FROM log_leaves", logger: logger).decode(Int.self) {
                size = count
            }
            return size
        }
    }

    package func keepCosignature(witness: String, size: Int, signature: String, at: Date) async throws {
        try await bounded { [self] in
            try await client.query(
                """
                INSERT INTO log_cosignatures (witness, size, signature, received_at)
                VALUES (\(witness), \(size), \(signature), \(at.timeIntervalSince1970)) ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    package func newestCosignatures() async throws -> (size: Int, signatures: [String])? {
        try await bounded { [self] in
            var size: Int?
            var signatures: [String] = []
            for try await (rowSize, signature) in try await client.query(
                """
                SELECT size, signature FROM log_cosignatures WHERE size = (SELECT MAX(size) FROM log_cosignatures) ORDER BY witness
                """, logger: logger
            ).decode((Int, String).self) {
                size = rowSize
                signatures.append(signature)
            }
            return size.map { ($0, signatures) }
        }
    }

    package func logNodes(_ ids: Set<NodeID>) async throws -> [NodeID: Hash] {
        try await bounded { [self] in
            try await client.withConnection { connection in try await Self.nodes(connection, logger, ids) }
        }
    }

    static func record(_ connection: PostgresConnection, _ logger: Logger, _ submission: Submission, kind: String, detail: String, at: Date) async throws {
        try await connection.query(
            """
            INSERT INTO chain_events (key_id, report_id, kind, detail, at)
            VALUES (\(submission.keyID), \(submission.reportID), \(kind), \(detail), \(at.timeIntervalSince1970))
            """, logger: logger)
    }

    package func envelopes(keyID: String, from: Date?, to: Date?) async throws -> [Data] {
        try await bounded { [self] in
            let rows = try await client.query(
                """
                SELECT envelope FROM reports WHERE key_id = \(keyID)
                AND received_at >= \(from?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude)
                AND received_at <= \(to?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude) ORDER BY sequence, arrival
                """, logger: logger)
            var envelopes: [Data] = []
            for try await envelope in rows.decode(Data.self) { envelopes.append(envelope) }
            return envelopes
        }
    }

    package func envelopePage(keyID: String, from: Date?, to: Date?, after cursor: ReadCursor?, limit: Int, withEnvelopes: Bool) async throws
        -> [StoredEnvelope]
    {
        try await bounded { [self] in
            let rows = try await client.query(
                """
                SELECT sequence, arrival, CASE WHEN \(withEnvelopes) THEN envelope ELSE ''::bytea END FROM reports WHERE key_id = \(keyID)
                AND received_at >= \(from?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude)
                AND received_at <= \(to?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude)
                AND (sequence > \(cursor?.sequence ?? -1) OR (sequence = \(cursor?.sequence ?? -1) AND arrival > \(cursor?.arrival ?? -1)))
                ORDER BY sequence, arrival LIMIT \(limit)
                """, logger: logger)
            var page: [StoredEnvelope] = []
            for try await (sequence, arrival, envelope) in rows.decode((Int, Int64, Data).self) {
                page.append(StoredEnvelope(cursor: ReadCursor(sequence: sequence, arrival: arrival), envelope: envelope))
            }
            return page
        }
    }

    package func events(keyID: String) async throws -> [ChainEvent] {
        try await bounded { [self] in
            let rows = try await client.query(
                "SELECT key_id, report_id, kind, detail, at FROM chain_events WHERE key_id = \(keyID) ORDER BY id",
                logger: logger)
            var events: [ChainEvent] = []
            for try await (key, report, kind, detail, at) in rows.decode((String, String, String, String, Double).self) {
                events.append(ChainEvent(keyID: key, reportID: report, kind: kind, detail: detail, at: Date(timeIntervalSince1970: at)))
            }
            return events
        }
    }

    // MARK: Console

    package func fleetPage(_ query: FleetQuery) async throws -> FleetPage {
        let statements = FleetSQL.postgres.statements(query)
        @Sendable func postgres(_ statement: FleetSQL.Statement) -> PostgresQuery {
            var bindings = PostgresBindings()
            for value in statement.values {
                switch value {
                case .text(let text): bindings.append(text)
                case .real(let real): bindings.append(real)
                case .integer(let integer): bindings.append(integer)
                }
            }
            return PostgresQuery(unsafeSQL: statement.sql, binds: bindings)
        }
        return try await bounded { [self] in
            var page = FleetPage()
            var counter = FleetPage.Counter()
            for try await (contract, standing, withEvents, matches) in try await client.query(postgres(statements.standings), logger: logger)
                .decode((String, Int, Int, Int).self)
            {
                counter.add(contract: contract, standing: standing, withEvents: withEvents != 0, matches: matches != 0)
            }
            counter.finish(into: &page, shown: query.contractsShown)
            for try await (keyID, contract, hostname, collectedAt, failing, unknown, events, standing) in try await client.query(
                postgres(statements.rows), logger: logger
            ).decode((String, String, String?, Double?, Int, Int, Int, Int).self) {
                page.rows.append(
                    FleetPage.Row(
                        keyID: keyID, contract: contract, hostname: hostname, collectedAt: collectedAt.map(Date.init(timeIntervalSince1970:)),
                        failing: failing, unknown: unknown, events: events, standing: DeviceStanding.allCases[standing]))
            }
            return page
        }
    }

    package func verdictChanges(keyID: String, profile: String, from: Date) async throws -> [VerdictChange] {
        try await bounded { [self] in
            var changes: [VerdictChange] = []
            for try await (collectedAt, statuses) in try await client.query(
                """
                SELECT collected_at, statuses FROM verdict_changes WHERE key_id = \(keyID) AND profile = \(profile) AND collected_at >= COALESCE(
                    (SELECT MAX(collected_at) FROM verdict_changes WHERE key_id = \(keyID) AND profile = \(profile)
                     AND collected_at < \(from.timeIntervalSince1970)), \(from.timeIntervalSince1970))
                ORDER BY collected_at
                """, logger: logger
            ).decode((Double, String).self) { changes.append(VerdictChange(collectedAt: Date(timeIntervalSince1970: collectedAt), statuses: statuses)) }
            return changes
        }
    }

    package func verdicts(keyID: String) async throws -> [DeviceVerdict] {
        try await bounded { [self] in
            try await verdicts(
                query: """
                    SELECT key_id, profile, report_id, collected_at, received_at, failing, unknown, findings
                    FROM device_verdicts WHERE key_id = \(keyID) ORDER BY profile
                    """)
        }
    }

    func verdicts(query: PostgresQuery) async throws -> [DeviceVerdict] {
        var verdicts: [DeviceVerdict] = []
        for try await (keyID, profile, reportID, collectedAt, receivedAt, failing, unknown, findings) in try await client.query(query, logger: logger)
            .decode((String, String, String, Double, Double, Int, Int, Data).self)
        {
            verdicts.append(
                DeviceVerdict(
                    keyID: keyID, profile: profile, reportID: reportID, collectedAt: Date(timeIntervalSince1970: collectedAt),
                    receivedAt: Date(timeIntervalSince1970: receivedAt), failing: failing, unknown: unknown, findings: findings))
        }
        return verdicts
    }

    package func keep(_ assessment: KeptAssessment) async throws -> Int64 {
        try await bounded { [self] in
            let rows = try await client.query(
                """
                INSERT INTO console_assessments (contract, key_id, profile, staff, at, inputs, assessment, html)
                VALUES (\(assessment.contract), \(assessment.keyID), \(assessment.profile), \(assessment.staff), \(assessment.at.timeIntervalSince1970),
                        \(assessment.inputs), \(assessment.assessment), \(assessment.html)) RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { return id }
            throw StorageError(description: "PostgreSQL kept the assessment but returned no id")
        }
    }

    package func keptAssessment(id: Int64) async throws -> KeptAssessment? {
        try await bounded { [self] in
            try await kept(
                query: """
                    SELECT id, contract, key_id, profile, staff, at, inputs, assessment, html FROM console_assessments WHERE id = \(id)
                    """
            ).first
        }
    }

    package func keptAssessments(keyID: String) async throws -> [KeptAssessment] {
        try await bounded { [self] in
            try await kept(
                query: """
                    SELECT id, contract, key_id, profile, staff, at, inputs, ''::bytea, ''::bytea FROM console_assessments
                    WHERE key_id = \(keyID) ORDER BY id DESC
                    """)
        }
    }

    package func reports(keyID: String, limit: Int) async throws -> [StoredReport] {
        try await bounded { [self] in
            var reports: [StoredReport] = []
            for try await (reportID, sequence, collectedAt, receivedAt, chain, receipt) in try await client.query(
                """
                SELECT report_id, sequence, collected_at, received_at, chain, receipt FROM reports WHERE key_id = \(keyID)
                ORDER BY arrival DESC LIMIT \(limit)
                """, logger: logger
            ).decode((String, Int, Double, Double, String, Data).self) {
                reports.append(
                    StoredReport(
                        reportID: reportID, sequence: sequence, collectedAt: Date(timeIntervalSince1970: collectedAt),
                        receivedAt: Date(timeIntervalSince1970: receivedAt), chain: chain, receipt: receipt))
            }
            return reports
        }
    }

    func kept(query: PostgresQuery) async throws -> [KeptAssessment] {
        var kept: [KeptAssessment] = []
        for try await (id, contract, keyID, profile, staff, at, inputs, assessment, html) in try await client.query(query, logger: logger)
            .decode((Int64, String, String, String, String, Double, Data, Data, Data).self)
        {
            kept.append(
                KeptAssessment(
                    id: id, contract: contract, keyID: keyID, profile: profile, staff: staff, at: Date(timeIntervalSince1970: at),
                    inputs: inputs, assessment: assessment, html: html))
        }
        return kept
    }

    package func close() async throws {
        runner.cancel()
        _ = await runner.value
    }
}

/// A store that could not be opened or used.
package struct StorageError: Error, CustomStringConvertible {
    package var description: String
}

extension StorageError: ExitStatusError {
    package var exitStatus: Int32 { ExitStatus.noInput }
}

/// Group commit for PostgreSQL, as `GroupCommitter` is for SQLite: submissions that arrive while a
/// batch is being written wait and go into the next one together, in one transaction (written again
/// with a savepoint each when one fails, so that one is rolled back alone), the log's lock taken once, every leaf
/// appended in one statement and one commit's flush for all their receipts. A few batches are
/// written at once on their own connections (`lanes`): each stages its submissions in parallel with
/// the others and takes the log's lock only for the append and the commit. Within a batch the
/// submissions are ordered by key id (arrival order kept per device), so batches (of this instance
/// or another) lock device rows in one order, and the lock's holder already has all its rows: no
/// deadlock.
actor PostgresBatcher {
    private struct Job: Sendable {
        var submission: Submission
        var now: Date
        var sign: ReceiptSigner
        var continuation: CheckedContinuation<IngestOutcome, any Error>
    }

    /// Submissions per transaction at most: a batch holds its devices' rows until it commits.
    static let maximumBatch = 64
    /// Batches written at once.
    static let lanes = 4

    private let client: PostgresClient
    /// For messages (the password is never part of it).
    private let url: String
    private let logger: Logger
    private var pending: [Job] = []
    private var running = 0

    init(client: PostgresClient, url: String, logger: Logger) {
        self.client = client
        self.url = url
        self.logger = logger
    }

    func submit(_ submission: Submission, now: Date, sign: @escaping ReceiptSigner) async throws -> IngestOutcome {
        try await withCheckedThrowingContinuation { continuation in
            pending.append(Job(submission: submission, now: now, sign: sign, continuation: continuation))
            if running < Self.lanes {
                running += 1
                Task { await drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(Self.maximumBatch))
            pending.removeFirst(batch.count)
            let ordered = batch.enumerated().sorted { ($0.element.submission.keyID, $0.offset) < ($1.element.submission.keyID, $1.offset) }.map(\.element)
            do {
                // Bounded as every store operation is: a server that went away fails the batch (503).
                let url = self.url
                let deadline: @Sendable () -> StorageError = { StorageError(description: "PostgreSQL at \(url) did not answer within 15s") }
                let results: [Result<IngestOutcome, any Error>]
                do {
                    results = try await withDeadline(15, timeout: deadline) { try await self.write(ordered, savepoints: false) }
                } catch let failed as StagingFailed {
                    logger.debug("a batch of \(ordered.count) submission(s) is written again with a savepoint each: \(String(reflecting: failed.error))")
                    results = try await withDeadline(15, timeout: deadline) { try await self.write(ordered, savepoints: true) }
                }
                for (job, result) in zip(ordered, results) { job.continuation.resume(with: result) }
            } catch {
                for job in ordered { job.continuation.resume(throwing: error) }
            }
        }
        running -= 1
    }

    /// A submission's staging failed in a batch written without savepoints: the transaction is
    /// rolled back and the batch written again with them.
    private struct StagingFailed: Error {
        var error: any Error
    }

    /// Writes a batch in one transaction. Without `savepoints`, a submission that fails aborts the
    /// whole transaction (`StagingFailed`); with them, it fails alone. Failures are rare, and the two
    /// statements a savepoint costs each submission are a fifth of its round trips.
    private func write(_ jobs: [Job], savepoints: Bool) async throws -> [Result<IngestOutcome, any Error>] {
        let logger = self.logger
        do {
            return try await write(jobs, savepoints: savepoints, logger: logger)
        } catch let error as PostgresTransactionError {
            // The transaction was rolled back: a staging failure goes back to `drain` as itself.
            if let failed = error.closureError as? StagingFailed { throw failed }
            throw error
        }
    }

    private func write(_ jobs: [Job], savepoints: Bool, logger: Logger) async throws -> [Result<IngestOutcome, any Error>] {
        try await client.withTransaction(logger: logger) { connection in
            var staged: [Result<PostgresStorage.Staged, any Error>] = []
            for job in jobs {
                guard savepoints else {
                    do {
                        staged.append(.success(try await PostgresStorage.stage(connection, logger, job.submission, now: job.now)))
                    } catch {
                        throw StagingFailed(error: error)
                    }
                    continue
                }
                try await connection.query("SAVEPOINT submission", logger: logger)
                do {
                    staged.append(.success(try await PostgresStorage.stage(connection, logger, job.submission, now: job.now)))
                    try await connection.query("RELEASE SAVEPOINT submission", logger: logger)
                } catch {
                    try await connection.query("ROLLBACK TO SAVEPOINT submission", logger: logger)
                    staged.append(.failure(error))
                }
            }
            let stored = zip(jobs, staged).compactMap { job, result -> (Job, ChainStatus)? in
                if case .success(.stored(let chain)) = result { return (job, chain) }
                return nil
            }
            var receipts: [String: Data] = [:]
            if !stored.isEmpty {
                let first = try await PostgresStorage.appendToLog(connection, logger, stored.map(\.0.submission))
                var keys: [String] = [], ids: [String] = [], signed: [String] = []
                for (offset, (job, chain)) in stored.enumerated() {
                    let receipt = try job.sign(job.submission, chain, job.now, first + offset)
                    receipts[job.submission.keyID + "\u{0}" + job.submission.reportID] = receipt
                    keys.append(job.submission.keyID)
                    ids.append(job.submission.reportID)
                    signed.append(receipt.base64EncodedString())
                }
                try await connection.query(
                    """
                    UPDATE reports r SET receipt = decode(t.receipt, 'base64')
                    FROM unnest(\(keys)::TEXT[], \(ids)::TEXT[], \(signed)::TEXT[]) AS t(key_id, report_id, receipt)
                    WHERE r.key_id = t.key_id AND r.report_id = t.report_id
                    """, logger: logger)
            }
            return zip(jobs, staged).map { job, result in
                result.map { staged in
                    switch staged {
                    // A repeat of a report stored earlier in this batch finds its receipt not yet written.
                    case .repeated(let receipt):
                        .repeated(receipt: receipt.isEmpty ? receipts[job.submission.keyID + "\u{0}" + job.submission.reportID] ?? receipt : receipt)
                    case .stored(let chain): .stored(receipt: receipts[job.submission.keyID + "\u{0}" + job.submission.reportID] ?? Data(), chain: chain)
                    }
                }
            }
        }
    }
}
