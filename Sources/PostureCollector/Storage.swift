package import Foundation
package import PostureEvidence
package import PostureTransparency

/// An enrolled device: its key bound to a customer contract.
package struct Device: Sendable, Hashable {
    /// DSSE keyid: hex SHA-256 of the raw public key.
    package var keyID: String
    /// Base64 of the 32 raw Ed25519 public-key bytes.
    package var publicKey: String
    package var contract: String
    package var hostname: String?
    package var machineIdSha256: String?
    package var enrolledAt: Date

    package init(keyID: String, publicKey: String, contract: String, hostname: String?, machineIdSha256: String?, enrolledAt: Date) {
        self.keyID = keyID
        self.publicKey = publicKey
        self.contract = contract
        self.hostname = hostname
        self.machineIdSha256 = machineIdSha256
        self.enrolledAt = enrolledAt
    }
}

/// A verified report about to be stored: what the chain check and the receipt need.
package struct Submission: Sendable {
    package var keyID: String
    package var reportID: String
    package var sequence: Int
    package var previous: String?
    package var envelopeSha256: String
    package var collectedAt: Date
    /// The envelope exactly as received.
    package var envelope: Data
    /// Its leaf in the audit log, SHA-256(0x00 ‖ envelope): hashed by the request's own task, not
    /// by the one writer every submission waits for.
    package let leafHash: Hash
    /// The report's verdicts for the console, kept in the same transaction (their receipt time is
    /// the store's); empty when the console is off.
    package var verdicts: [DeviceVerdict] = []

    package init(keyID: String, reportID: String, sequence: Int, previous: String?, envelopeSha256: String, collectedAt: Date, envelope: Data) {
        self.keyID = keyID
        self.reportID = reportID
        self.sequence = sequence
        self.previous = previous
        self.envelopeSha256 = envelopeSha256
        self.collectedAt = collectedAt
        self.envelope = envelope
        leafHash = .leaf(Array(envelope))
    }
}

/// What storing a submission did.
package enum IngestOutcome: Sendable, Equatable {
    /// Stored for the first time; the receipt was signed and kept with it.
    case stored(receipt: Data, chain: ChainStatus)
    /// The same report id was stored before: the first receipt, unchanged.
    case repeated(receipt: Data)
}

/// What an enrollment attempt did.
package enum EnrollOutcome: Sendable, Equatable {
    case enrolled(contract: String)
    /// The token is unknown, used or expired.
    case refused
    /// The key is already bound to another contract.
    case conflict(contract: String)
}

/// One recorded irregularity of a device's chain: a gap, fork, replay or conflicting repeat.
package struct ChainEvent: Sendable, Hashable {
    package var keyID: String
    package var reportID: String
    package var kind: String
    package var detail: String
    package var at: Date
}

/// A position in a device's reading order (chain sequence, then arrival): where the next page starts.
package struct ReadCursor: Sendable, Equatable, CustomStringConvertible {
    package var sequence: Int
    package var arrival: Int64

    package init(sequence: Int, arrival: Int64) {
        self.sequence = sequence
        self.arrival = arrival
    }

    /// The opaque text clients pass back as `cursor`.
    package init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count <= 40, parts.count == 2, let sequence = Int(parts[0]), let arrival = Int64(parts[1]),
            sequence >= 0, arrival >= 0
        else { return nil }
        self.init(sequence: sequence, arrival: arrival)
    }

    package var description: String { "\(sequence)-\(arrival)" }
}

/// One stored envelope, byte for byte, with its place in the reading order.
package struct StoredEnvelope: Sendable {
    package var cursor: ReadCursor
    package var envelope: Data
}

/// One stored report's place and receipt, as the console's device page lists them.
package struct StoredReport: Sendable, Hashable {
    package var reportID: String
    package var sequence: Int
    package var collectedAt: Date
    package var receivedAt: Date
    package var chain: String
    package var receipt: Data

    package init(reportID: String, sequence: Int, collectedAt: Date, receivedAt: Date, chain: String, receipt: Data) {
        self.reportID = reportID
        self.sequence = sequence
        self.collectedAt = collectedAt
        self.receivedAt = receivedAt
        self.chain = chain
        self.receipt = receipt
    }
}

/// Signs the receipt for a submission once storage has decided its chain status and receipt time.
package typealias ReceiptSigner = @Sendable (_ submission: Submission, _ chain: ChainStatus, _ receivedAt: Date, _ logIndex: Int) throws -> Data

/// The collector's store: SQLite (embedded default) or PostgreSQL, with the same behaviour.
///
/// `ingest` is atomic per device: the chain check, the envelope, its leaf in the audit log (appended
/// in receipt order; forks and replays too, they are evidence), the receipt, any chain event and
/// the report's verdicts (each kept unless a newer report's is already kept for its device and
/// profile) are written together, and concurrent submissions of one device are serialised.
package protocol CollectorStorage: Sendable {
    func issueToken(sha256: String, contract: String, issuedAt: Date, expiresAt: Date) async throws
    /// Uses the token once and binds the device to its contract, in one transaction.
    func enroll(tokenSha256: String, device: Device, now: Date) async throws -> EnrollOutcome
    func device(keyID: String) async throws -> Device?
    func devices(contract: String) async throws -> [Device]
    func ingest(_ submission: Submission, now: Date, sign: @escaping ReceiptSigner) async throws -> IngestOutcome
    /// Stored envelopes of a device, byte for byte, in chain order; `from`/`to` filter on receipt time.
    func envelopes(keyID: String, from: Date?, to: Date?) async throws -> [Data]
    /// At most `limit` of them, after `cursor` (nil: from the start), for reads that stream;
    /// without `withEnvelopes`, positions only (empty envelopes).
    func envelopePage(keyID: String, from: Date?, to: Date?, after cursor: ReadCursor?, limit: Int, withEnvelopes: Bool) async throws -> [StoredEnvelope]
    func events(keyID: String) async throws -> [ChainEvent]
    func close() async throws

    // The console's reads and records.
    /// One page of the overview: the devices in the query's scope with their kept verdicts against
    /// its profile, counted, filtered, sorted and paged by the store.
    func fleetPage(_ query: FleetQuery) async throws -> FleetPage
    /// The kept verdicts of one device, with their findings.
    func verdicts(keyID: String) async throws -> [DeviceVerdict]
    /// Keeps an assessment run from the console; returns its id.
    func keep(_ assessment: KeptAssessment) async throws -> Int64
    func keptAssessment(id: Int64) async throws -> KeptAssessment?
    /// A device's kept assessments, newest first, without their bodies.
    func keptAssessments(keyID: String) async throws -> [KeptAssessment]
    /// The points since `from` where the device's statuses against `profile` changed, in time
    /// order, with the last one before `from` (the state the window opens in).
    func verdictChanges(keyID: String, profile: String, from: Date) async throws -> [VerdictChange]
    /// How many envelopes the audit log holds.
    func logSize() async throws -> Int
    /// Keeps a witness's cosignature (a note signature line) of the checkpoint of `size`; a second
    /// one by the same witness for the same size is ignored.
    func keepCosignature(witness: String, size: Int, signature: String, at: Date) async throws
    /// The largest size any witness cosigned, with every cosignature of it, by witness name.
    func newestCosignatures() async throws -> (size: Int, signatures: [String])?
    /// Stored hashes of complete subtrees of the audit log; a node not stored is left out.
    func logNodes(_ ids: Set<NodeID>) async throws -> [NodeID: Hash]
    /// A device's newest `limit` stored reports (by arrival) with their receipts.
    func reports(keyID: String, limit: Int) async throws -> [StoredReport]
}

/// The chain decision shared by both stores, from the device's newest stored position and what is
/// already stored at the submission's sequence.
package enum ChainRule {
    /// The device's newest stored position.
    package struct Head: Sendable {
        package var sequence: Int
        package var sha256: String?
        package init(sequence: Int, sha256: String?) {
            self.sequence = sequence
            self.sha256 = sha256
        }
    }

    /// The status of `submission` and the event detail to record (nil when the chain is ok), as
    /// DESIGN.md defines them: `occupied` says another report already holds its sequence (a fork),
    /// `predecessors` are the digests stored at the sequence before it (linking to none of them is a
    /// fork); an earlier position never filled is a replay; a later one than the next leaves a gap.
    package static func classify(_ submission: Submission, head: Head, occupied: Bool, predecessors: [String]) -> (ChainStatus, String?) {
        let sequence = submission.sequence
        if occupied { return (.fork, "another report is already stored at sequence \(sequence)") }
        if sequence == 1, submission.previous != nil { return (.fork, "sequence 1 names a previous report") }
        if !predecessors.isEmpty, !predecessors.contains(where: { $0 == submission.previous }) {
            return (.fork, "sequence \(sequence) does not link to the stored sequence \(sequence - 1)")
        }
        if sequence <= head.sequence {
            return (.replay, "sequence \(sequence), never filled, arrived after sequence \(head.sequence)")
        }
        if sequence > head.sequence + 1 {
            return (.gap, "\(sequence - head.sequence - 1) report(s) missing between sequence \(head.sequence) and \(sequence)")
        }
        return (.ok, nil)
    }
}

/// The schema both stores share; types differ only where SQLite and PostgreSQL spell them differently.
enum StorageSchema {
    /// The table or index a `CREATE … IF NOT EXISTS name` statement makes; nil for any other statement.
    static func createdName(_ statement: String) -> String? {
        guard let range = statement.range(of: "IF NOT EXISTS ") else { return nil }
        let name = statement[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        return name.isEmpty ? nil : String(name)
    }

    static func statements(blob: String, autoincrement: String, real: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS enrollment_tokens (
                token_sha256 TEXT PRIMARY KEY, contract TEXT NOT NULL, issued_at \(real) NOT NULL,
                expires_at \(real) NOT NULL, used_at \(real), used_by TEXT)
            """,
            """
            CREATE TABLE IF NOT EXISTS devices (
                key_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, contract TEXT NOT NULL, hostname TEXT,
                machine_id_sha256 TEXT, enrolled_at \(real) NOT NULL,
                head_sequence BIGINT NOT NULL DEFAULT 0, head_sha256 TEXT)
            """,
            "CREATE INDEX IF NOT EXISTS devices_contract ON devices(contract)",
            """
            CREATE TABLE IF NOT EXISTS reports (
                arrival \(autoincrement), key_id TEXT NOT NULL REFERENCES devices(key_id), report_id TEXT NOT NULL,
                sequence BIGINT NOT NULL, previous TEXT, envelope_sha256 TEXT NOT NULL, collected_at \(real) NOT NULL,
                received_at \(real) NOT NULL, chain TEXT NOT NULL, envelope \(blob) NOT NULL, receipt \(blob) NOT NULL,
                UNIQUE (key_id, report_id))
            """,
            "CREATE INDEX IF NOT EXISTS reports_chain ON reports(key_id, sequence, arrival)",
            """
            CREATE TABLE IF NOT EXISTS chain_events (
                id \(autoincrement), key_id TEXT NOT NULL, report_id TEXT NOT NULL, kind TEXT NOT NULL,
                detail TEXT NOT NULL, at \(real) NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS chain_events_key ON chain_events(key_id, id)"
        ]
    }

    /// The console's tables (a second migration in SQLite): the newest verdict per device and
    /// profile, and the assessments run from the console.
    static func consoleStatements(blob: String, autoincrement: String, real: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS device_verdicts (
                key_id TEXT NOT NULL REFERENCES devices(key_id), profile TEXT NOT NULL, report_id TEXT NOT NULL,
                collected_at \(real) NOT NULL, received_at \(real) NOT NULL, failing BIGINT NOT NULL, unknown BIGINT NOT NULL,
                findings \(blob) NOT NULL, PRIMARY KEY (key_id, profile))
            """,
            """
            CREATE TABLE IF NOT EXISTS console_assessments (
                id \(autoincrement), contract TEXT NOT NULL, key_id TEXT NOT NULL, profile TEXT NOT NULL, staff TEXT NOT NULL,
                at \(real) NOT NULL, inputs \(blob) NOT NULL, assessment \(blob) NOT NULL, html \(blob) NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS console_assessments_key ON console_assessments(key_id, id)"
        ]
    }

    /// The overview's filters in SQL (a fifth migration in SQLite): each kept verdict's failing and
    /// unknown requirements (`DeviceVerdict.problems`), and an index covering the overview's query,
    /// so its rows are read from the index, never from the table, whose rows each hold a report's
    /// findings. The index stands for the column: a schema with it needs none of these statements.
    static func overviewStatements(addColumn: String) -> [String] {
        [
            "ALTER TABLE device_verdicts \(addColumn) problems TEXT NOT NULL DEFAULT ''",
            "DROP INDEX IF EXISTS device_verdicts_profile",
            """
            CREATE INDEX IF NOT EXISTS device_verdicts_overview
            ON device_verdicts(profile, key_id, collected_at, failing, unknown, problems)
            """
        ]
    }

    /// The audit log (RFC 6962): the hash of every complete subtree, and which report each leaf is.
    static func logStatements(blob: String) -> [String] {
        [
            "CREATE TABLE IF NOT EXISTS log_nodes (level BIGINT NOT NULL, idx BIGINT NOT NULL, hash \(blob) NOT NULL, PRIMARY KEY (level, idx))",
            "CREATE TABLE IF NOT EXISTS log_leaves (idx BIGINT PRIMARY KEY, key_id TEXT NOT NULL, report_id TEXT NOT NULL)"
        ]
    }

    /// Witnesses' cosignatures of the log's checkpoints (a sixth migration in SQLite): one signature
    /// line per witness and tree size, kept as evidence.
    static func witnessStatements(real: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS log_cosignatures (
                witness TEXT NOT NULL, size BIGINT NOT NULL, signature TEXT NOT NULL, received_at \(real) NOT NULL,
                PRIMARY KEY (size, witness))
            """
        ]
    }

    /// The device page's timeline: a row only where a device's statuses against a profile change
    /// (a third migration in SQLite).
    static func timelineStatements(real: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS verdict_changes (
                key_id TEXT NOT NULL REFERENCES devices(key_id), profile TEXT NOT NULL, collected_at \(real) NOT NULL,
                statuses TEXT NOT NULL, PRIMARY KEY (key_id, profile, collected_at))
            """
        ]
    }
}

/// Runs `body`, or throws `timeout()` if it has not finished after `seconds` (the body is cancelled).
package func withDeadline<T: Sendable>(
    _ seconds: TimeInterval, timeout: @escaping @Sendable () -> any Error,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw timeout() }
        return value
    }
}
