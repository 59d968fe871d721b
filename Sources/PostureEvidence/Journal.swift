package import Crypto
package import Foundation
import GRDB
import GRDBSQLite
package import PostureModel

/// Why the journal could not be opened, read or written.
package enum JournalError: Error, CustomStringConvertible {
    /// The file system holding the journal is full. The transaction was rolled back: what the
    /// journal held before is intact, and what was being written is not in it.
    case noSpace(journal: String, doing: String)
    case failed(journal: String, doing: String, reason: String)
    /// A stored attestation envelope whose payload is not base64.
    case malformedAttestation(journal: String)

    package var description: String {
        switch self {
        case .noSpace(let journal, let doing):
            let directory = URL(fileURLWithPath: journal).deletingLastPathComponent().path
            return "cannot \(doing) \(journal): no space left on device in \(directory); free space there and run again"
                + " (the journal is intact: nothing of this run was stored)"
        case .failed(let journal, let doing, let reason): return "cannot \(doing) \(journal): \(reason)"
        case .malformedAttestation(let journal): return "\(journal) holds an attestation envelope whose payload is not base64"
        }
    }
}

/// The device's append-only history of signed reports, in `journal.sqlite` under the state directory.
///
/// SQLite in WAL mode with `synchronous=FULL`: an append is one transaction that reads the chain
/// head, signs the next report and stores it, so a `kill -9` at any point loses at most the report
/// being written and never leaves a half record, and two writers (the daemon and `scan --sign`)
/// take turns instead of forking the chain. The chain head lives in its own table, so pruning old
/// reports never loses it.
package final class Journal: Sendable {
    package static let fileName = "journal.sqlite"
    /// Meta key of the collector's receipt key (base64), fetched and pinned by `posture enroll`.
    package static let receiptKeyMeta = "collector_receipt_key"

    let queue: DatabaseQueue
    package let path: String

    package init(stateDirectory: String) throws {
        let path = "\(stateDirectory)/\(Self.fileName)"
        self.path = path
        queue = try Self.attempt("open the journal", path) {
            try StateDirectory.prepare(stateDirectory)
            try Self.ownFile(path)
            // Two first runs at once would both create the tables: setup takes turns.
            let lock = try Self.setupLock(stateDirectory)
            defer { Platform.closeFile(lock) }
            var configuration = Configuration()
            configuration.busyMode = .timeout(30)
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                // The -wal and -shm files stay (the WAL emptied) when the last connection closes, so
                // the journal can still be opened and read when the disk is full.
                var persist: CInt = 1
                let code = sqlite3_file_control(db.sqliteConnection, nil, SQLITE_FCNTL_PERSIST_WAL, &persist)
                guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
                try db.execute(sql: "PRAGMA journal_size_limit = 0")
            }
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            _ = try queue.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
            try Self.migrator.migrate(queue)
            return queue
        }
    }

    /// An exclusive `flock` on `journal.lock` (0600), held until the descriptor is closed. A lock
    /// file of its own, because closing any descriptor of the database would drop SQLite's locks.
    private static func setupLock(_ stateDirectory: String) throws -> Int32 {
        let path = "\(stateDirectory)/journal.lock"
        try StateDirectory.checkFile(path)
        let fd = Platform.openPrivate(path)
        guard fd >= 0 else { throw FileWriteError(path: path, errno: Platform.lastError) }
        Platform.lockExclusive(fd)
        return fd
    }

    /// Creates the journal file 0600 (SQLite gives its -wal and -shm the same mode), or tightens
    /// an existing one; refuses one that is a symlink or another user's.
    private static func ownFile(_ path: String) throws {
        try StateDirectory.checkFile(path)
        let fd = Platform.openPrivate(path)
        guard fd >= 0 else { return }  // SQLite says why when it opens the file
        defer { Platform.closeFile(fd) }
        Platform.restrictToOwner(fd)
    }

    /// Runs `body`, turning what it throws into a `JournalError` that says what was being done and
    /// whether the disk is full.
    private static func attempt<T>(_ doing: String, _ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as JournalError {
            throw error
        } catch let error as StateDirectoryError {
            throw error
        } catch {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            if isNoSpace(error, directory: directory) { throw JournalError.noSpace(journal: path, doing: doing) }
            throw JournalError.failed(journal: path, doing: doing, reason: "\(error)")
        }
    }

    /// SQLite says SQLITE_FULL when a write finds no space; growing its shared-memory index or
    /// syncing may fail as a plain I/O error, so for those the file system is asked.
    private static func isNoSpace(_ error: any Error, directory: String) -> Bool {
        if FileWriteError(path: directory, error: error).isNoSpace { return true }
        guard let error = error as? DatabaseError else { return false }
        if error.resultCode == .SQLITE_FULL { return true }
        guard error.resultCode == .SQLITE_IOERR else { return false }
        return Platform.isFull(directory)
    }

    private func read<T>(_ doing: String, _ body: (Database) throws -> T) throws -> T {
        try Self.attempt(doing, path) { try queue.read(body) }
    }

    private func write<T>(_ doing: String, _ body: (Database) throws -> T) throws -> T {
        try Self.attempt(doing, path) { try queue.write(body) }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE envelopes (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        key_id TEXT NOT NULL,
                        sequence INTEGER NOT NULL,
                        report_id TEXT NOT NULL UNIQUE,
                        collected_at REAL NOT NULL,
                        sha256 TEXT NOT NULL,
                        envelope BLOB NOT NULL,
                        UNIQUE (key_id, sequence));
                    CREATE INDEX envelopes_time ON envelopes(collected_at);
                    CREATE TABLE chain_heads (key_id TEXT PRIMARY KEY, sequence INTEGER NOT NULL, sha256 TEXT NOT NULL);
                    """)
        }
        migrator.registerMigration("v2-delivery") { db in
            try db.execute(
                sql: """
                    ALTER TABLE envelopes ADD COLUMN delivery TEXT NOT NULL DEFAULT 'local';
                    ALTER TABLE envelopes ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE envelopes ADD COLUMN next_attempt_at REAL NOT NULL DEFAULT 0;
                    ALTER TABLE envelopes ADD COLUMN last_error TEXT;
                    ALTER TABLE envelopes ADD COLUMN receipt BLOB;
                    ALTER TABLE envelopes ADD COLUMN delivered_at REAL;
                    CREATE INDEX envelopes_delivery ON envelopes(delivery, id);
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
                    """)
        }
        migrator.registerMigration("v3-attestations") { db in
            try db.execute(
                sql: """
                    CREATE TABLE attestations (
                        id TEXT PRIMARY KEY,
                        key_id TEXT NOT NULL,
                        profile TEXT NOT NULL,
                        requirement TEXT NOT NULL,
                        recorded_at REAL NOT NULL,
                        expires_at REAL,
                        envelope BLOB NOT NULL);
                    CREATE INDEX attestations_time ON attestations(recorded_at);
                    """)
        }
        // The collector's audit log as the agent checks it: each delivered report's leaf index (from
        // its receipt) and, once proven, the inclusion proof against a kept checkpoint.
        migrator.registerMigration("v4-log") { db in
            try db.execute(
                sql: """
                    ALTER TABLE envelopes ADD COLUMN log_index INTEGER;
                    ALTER TABLE envelopes ADD COLUMN log_size INTEGER;
                    ALTER TABLE envelopes ADD COLUMN log_proof BLOB;
                    CREATE INDEX envelopes_unproven ON envelopes(id) WHERE log_index IS NOT NULL AND log_size IS NULL;
                    CREATE TABLE log_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL, verified_at REAL NOT NULL);
                    CREATE TABLE log_alarms (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, message TEXT NOT NULL, note TEXT);
                    """)
        }
        // Checkpoints and leaf indexes belong to one log, named by its origin: after enrolling with
        // another collector, a size the old log also reached must not name the old log's note. A
        // leaf index recorded before is of the log whose receipt key is pinned now.
        migrator.registerMigration("v5-log-origin") { db in
            try db.execute(
                sql: """
                    CREATE TABLE log_checkpoints_by_origin (
                        origin TEXT NOT NULL, size INTEGER NOT NULL, note TEXT NOT NULL, verified_at REAL NOT NULL,
                        PRIMARY KEY (origin, size));
                    INSERT INTO log_checkpoints_by_origin
                        SELECT substr(note, 1, instr(note, char(10)) - 1), size, note, verified_at FROM log_checkpoints;
                    DROP TABLE log_checkpoints;
                    ALTER TABLE log_checkpoints_by_origin RENAME TO log_checkpoints;
                    ALTER TABLE envelopes ADD COLUMN log_origin TEXT;
                    UPDATE envelopes SET log_origin = (SELECT origin FROM log_checkpoints c WHERE c.size = envelopes.log_size)
                        WHERE log_size IS NOT NULL;
                    """)
            let pinned = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.receiptKeyMeta])
            if let key = pinned.flatMap(DeviceKey.publicKey(base64:)) {
                try db.execute(
                    sql: "UPDATE envelopes SET log_origin = ? WHERE log_index IS NOT NULL AND log_origin IS NULL",
                    arguments: [CollectorLog(receiptKey: key).origin])
            }
        }
        return migrator
    }

    /// The journal in `stateDirectory` if one was ever written there, without creating one.
    package static func existing(stateDirectory: String) throws -> Journal? {
        FileManager.default.fileExists(atPath: "\(stateDirectory)/\(fileName)") ? try Journal(stateDirectory: stateDirectory) : nil
    }

    /// A stored envelope and what the journal knows about it.
    package struct Entry: Sendable {
        package var keyID: String
        package var sequence: Int
        package var reportID: String
        package var collectedAt: Date
        package var sha256: String
        package var envelope: Data
    }

    /// Chains, signs and stores `report`; returns the envelope bytes and the report as signed.
    /// With `enqueue`, the report is queued for delivery in the same transaction, before any upload attempt.
    package func append(
        _ report: Report, key: DeviceKey, bootID: String? = BootID.current(),
        enqueue: Bool = false
    ) throws -> (envelope: Data, report: Report) {
        try write("append the report to the journal") { db in
            let head = try Row.fetchOne(db, sql: "SELECT sequence, sha256 FROM chain_heads WHERE key_id = ?", arguments: [key.keyID])
            var signed = report
            let sequence: Int = (head?["sequence"] ?? 0) + 1
            signed.chain = ChainLink(sequence: sequence, previous: head?["sha256"], bootId: bootID)
            let envelope = try Envelope.signedReport(signed, key: key)
            let digest = sha256Hex(envelope)
            try db.execute(
                sql: """
                    INSERT INTO envelopes (key_id, sequence, report_id, collected_at, sha256, envelope, delivery)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.keyID, sequence, signed.id, signed.collectedAt.timeIntervalSince1970, digest, envelope,
                    enqueue ? "queued" : "local"
                ])
            try db.execute(
                sql: "INSERT OR REPLACE INTO chain_heads (key_id, sequence, sha256) VALUES (?, ?, ?)",
                arguments: [key.keyID, sequence, digest])
            return (envelope, signed)
        }
    }

    /// Envelopes collected in `[from, to]` (either bound optional), oldest first.
    package func entries(from: Date? = nil, to: Date? = nil) throws -> [Entry] {
        try read("read the journal") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT key_id, sequence, report_id, collected_at, sha256, envelope FROM envelopes
                    WHERE collected_at >= ? AND collected_at <= ? ORDER BY key_id, sequence
                    """,
                arguments: [
                    from?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude,
                    to?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude
                ]
            ).map { row in
                Entry(
                    keyID: row["key_id"], sequence: row["sequence"], reportID: row["report_id"],
                    collectedAt: Date(timeIntervalSince1970: row["collected_at"]), sha256: row["sha256"],
                    envelope: row["envelope"])
            }
        }
    }

    /// The newest sequence number and envelope hash for `keyID`.
    package func head(keyID: String) throws -> (sequence: Int, sha256: String)? {
        try read("read the chain head from") { db in
            try Row.fetchOne(db, sql: "SELECT sequence, sha256 FROM chain_heads WHERE key_id = ?", arguments: [keyID])
                .map { ($0["sequence"], $0["sha256"]) }
        }
    }

    // MARK: Attestations

    /// A signed attestation as stored: the declaration and its envelope's exact bytes.
    package struct SignedAttestation: Sendable {
        package var attestation: Attestation
        package var envelope: Data
    }

    /// Signs `attestation` with `key` and stores it; later reports carry it until it expires.
    package func record(_ attestation: Attestation, key: DeviceKey) throws -> SignedAttestation {
        var stored = attestation
        if stored.id == nil { stored.id = UUID().uuidString.lowercased() }
        let envelope = try Self.attempt("record the attestation in", path) {
            try Envelope.sign(body: try PostureJSON.encoder().encode(stored), type: Envelope.attestationType, key: key).encoded()
        }
        try write("record the attestation in") { db in
            try db.execute(
                sql: """
                    INSERT INTO attestations (id, key_id, profile, requirement, recorded_at, expires_at, envelope)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    stored.id, key.keyID, stored.profile, stored.requirement,
                    stored.recordedAt.timeIntervalSince1970, stored.expiresAt?.timeIntervalSince1970, envelope
                ])
        }
        return SignedAttestation(attestation: stored, envelope: envelope)
    }

    /// The declarations recorded with `posture attest` that count at `now` (until they expire);
    /// every report made then carries them.
    package func attestationsInForce(at now: Date) throws -> [Attestation] {
        try attestations(activeFrom: now, to: now).map(\.attestation)
    }

    /// Attestations recorded up to `to` that are still valid at `from` (either bound optional), oldest first.
    package func attestations(activeFrom from: Date? = nil, to: Date? = nil) throws -> [SignedAttestation] {
        try read("read attestations from") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT envelope FROM attestations
                    WHERE recorded_at <= ? AND (expires_at IS NULL OR expires_at >= ?) ORDER BY recorded_at, id
                    """,
                arguments: [
                    to?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude,
                    from?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude
                ]
            ).map { row in
                let envelope: Data = row["envelope"]
                guard let body = try Envelope.decode(envelope).body else { throw JournalError.malformedAttestation(journal: path) }
                return SignedAttestation(
                    attestation: try PostureJSON.decoder().decode(Attestation.self, from: body),
                    envelope: envelope)
            }
        }
    }

    // MARK: Delivery queue

    /// A queued report awaiting upload.
    package struct Pending: Sendable {
        package var id: Int64
        package var reportID: String
        package var envelope: Data
        package var attempts: Int
        package var nextAttemptAt: Date
    }

    /// The oldest queued report (delivery is in order), if any.
    package func nextQueued() throws -> Pending? {
        try read("read the delivery queue from") { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT id, report_id, envelope, attempts, next_attempt_at FROM envelopes WHERE delivery = 'queued' ORDER BY id LIMIT 1
                    """
            ).map {
                Pending(
                    id: $0["id"], reportID: $0["report_id"], envelope: $0["envelope"], attempts: $0["attempts"],
                    nextAttemptAt: Date(timeIntervalSince1970: $0["next_attempt_at"]))
            }
        }
    }

    /// - Parameter logIndex: the report's leaf in the collector's audit log, from its receipt, and
    ///   that log's origin.
    package func markDelivered(_ id: Int64, receipt: Data?, logIndex: (origin: String, index: Int)? = nil, at date: Date) throws {
        try write("record the delivery in") { db in
            try db.execute(
                sql: """
                    UPDATE envelopes SET delivery = 'delivered', receipt = ?, delivered_at = ?, last_error = NULL, log_origin = ?, log_index = ?
                    WHERE id = ?
                    """,
                arguments: [receipt, date.timeIntervalSince1970, logIndex?.origin, logIndex?.index, id])
            try Self.setMeta(
                db,
                [
                    "last_delivery_at": "\(date.timeIntervalSince1970)", "last_delivery_result": "delivered",
                    "last_delivery_error": nil
                ])
        }
    }

    package func scheduleRetry(_ id: Int64, error: String, next: Date, at date: Date) throws {
        try write("record the delivery attempt in") { db in
            try db.execute(
                sql: "UPDATE envelopes SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                arguments: [next.timeIntervalSince1970, error, id])
            try Self.setMeta(
                db,
                [
                    "last_delivery_at": "\(date.timeIntervalSince1970)", "last_delivery_result": "retry",
                    "last_delivery_error": error
                ])
        }
    }

    package func markDeadLetter(_ id: Int64, error: String, at date: Date) throws {
        try write("record the dead letter in") { db in
            try db.execute(
                sql: "UPDATE envelopes SET delivery = 'dead', attempts = attempts + 1, last_error = ? WHERE id = ?",
                arguments: [error, id])
            try Self.setMeta(
                db,
                [
                    "last_delivery_at": "\(date.timeIntervalSince1970)", "last_delivery_result": "dead_letter",
                    "last_delivery_error": error
                ])
        }
    }

    /// Counts of reports by delivery state (`local`, `queued`, `delivered`, `dead`).
    package func deliveryCounts() throws -> [String: Int] {
        try read("count the reports in") { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT delivery, COUNT(*) AS n FROM envelopes GROUP BY delivery") {
                counts[row["delivery"]] = row["n"]
            }
            return counts
        }
    }

    /// Small facts kept beside the reports (last delivery, last scan …).
    package func meta() throws -> [String: String] {
        try read("read") { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT key, value FROM meta").compactMap { row in
                    (row["value"] as String?).map { (row["key"] as String, $0) }
                })
        }
    }

    package func setMeta(_ values: [String: String?]) throws {
        try write("update") { db in try Self.setMeta(db, values) }
    }

    static func setMeta(_ db: Database, _ values: [String: String?]) throws {
        for (key, value) in values {
            if let value {
                try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", arguments: [key, value])
            } else {
                try db.execute(sql: "DELETE FROM meta WHERE key = ?", arguments: [key])
            }
        }
    }

    // MARK: The collector's audit log

    /// A delivered report whose inclusion in the collector's log is not yet proven.
    package struct Unproven: Sendable {
        package var id: Int64
        package var reportID: String
        package var envelope: Data
        package var logIndex: Int
    }

    /// Up to `limit` delivered reports not yet proven whose leaves the log `origin` of `size`
    /// holds, oldest first.
    package func unproven(origin: String, below size: Int, limit: Int) throws -> [Unproven] {
        try read("read the reports to prove from") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, report_id, envelope, log_index FROM envelopes INDEXED BY envelopes_unproven
                    WHERE log_index IS NOT NULL AND log_size IS NULL AND log_origin = ? AND log_index < ? ORDER BY id LIMIT ?
                    """, arguments: [origin, size, limit]
            ).map { Unproven(id: $0["id"], reportID: $0["report_id"], envelope: $0["envelope"], logIndex: $0["log_index"]) }
        }
    }

    /// Reports delivered to the log `origin` whose inclusion is not yet proven.
    package func unprovenCount(origin: String) throws -> Int {
        try read("count the reports to prove in") { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM envelopes INDEXED BY envelopes_unproven
                    WHERE log_index IS NOT NULL AND log_size IS NULL AND log_origin = ?
                    """, arguments: [origin]) ?? 0
        }
    }

    /// Keeps a report's inclusion proof against the kept checkpoint of `size` (of the log that
    /// holds the report's leaf).
    package func recordInclusion(_ id: Int64, size: Int, proof: Data) throws {
        try write("record an inclusion proof in") { db in
            try db.execute(sql: "UPDATE envelopes SET log_size = ?, log_proof = ? WHERE id = ?", arguments: [size, proof, id])
        }
    }

    /// The checkpoint of the log `origin` verified last (its signed note), if any: the largest
    /// of that log, even after the agent reported to another collector for a while.
    package func newestCheckpoint(origin: String) throws -> (size: Int, note: String)? {
        try read("read the collector's checkpoint from") { db in
            try Row.fetchOne(
                db, sql: "SELECT size, note FROM log_checkpoints WHERE origin = ? ORDER BY verified_at DESC, size DESC LIMIT 1",
                arguments: [origin]
            ).map { ($0["size"], $0["note"]) }
        }
    }

    package func keepCheckpoint(origin: String, size: Int, note: String, at date: Date) throws {
        try write("keep the collector's checkpoint in") { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO log_checkpoints (origin, size, note, verified_at) VALUES (?, ?, ?, ?)",
                arguments: [origin, size, note, date.timeIntervalSince1970])
        }
    }

    /// Keeps an alarm about the collector's log as evidence, with the note that raised it; the
    /// same alarm as the last one (a collector that keeps misbehaving) is not repeated.
    package func recordLogAlarm(_ message: String, note: String?, at date: Date) throws {
        try write("record an alarm about the collector's log in") { db in
            let last = try Row.fetchOne(db, sql: "SELECT message, note FROM log_alarms ORDER BY id DESC LIMIT 1")
            if let last, last["message"] as String == message, last["note"] as String? == note { return }
            try db.execute(sql: "INSERT INTO log_alarms (at, message, note) VALUES (?, ?, ?)", arguments: [date.timeIntervalSince1970, message, note])
        }
    }

    /// Alarms about the collector's log, oldest first.
    package func logAlarms() throws -> [(at: Date, message: String)] {
        try read("read the alarms about the collector's log from") { db in
            try Row.fetchAll(db, sql: "SELECT at, message FROM log_alarms ORDER BY id").map {
                (Date(timeIntervalSince1970: $0["at"]), $0["message"])
            }
        }
    }

    /// The inclusion proofs of `reportIDs` in the log `origin` that are proven, and the
    /// checkpoints of that log they are against.
    package func inclusions(
        reportIDs: [String], origin: String
    ) throws -> (checkpoints: [Int: String], proofs: [String: (index: Int, size: Int, proof: Data)]) {
        try read("read inclusion proofs from") { db in
            var proofs: [String: (index: Int, size: Int, proof: Data)] = [:]
            for chunk in stride(from: 0, to: reportIDs.count, by: 500).map({ Array(reportIDs[$0..<min($0 + 500, reportIDs.count)]) }) {
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT report_id, log_index, log_size, log_proof FROM envelopes
                        WHERE log_size IS NOT NULL AND log_origin = ? AND report_id IN (\(marks))
                        """,
                    arguments: StatementArguments([origin] + chunk))
                {
                    proofs[row["report_id"]] = (row["log_index"], row["log_size"], row["log_proof"])
                }
            }
            var checkpoints: [Int: String] = [:]
            for size in Set(proofs.values.map(\.size)) {
                if let note = try String.fetchOne(
                    db, sql: "SELECT note FROM log_checkpoints WHERE origin = ? AND size = ?", arguments: [origin, size])
                {
                    checkpoints[size] = note
                }
            }
            return (checkpoints, proofs)
        }
    }

    /// The log part of a claim bundle for `reportIDs`: their proofs and the checkpoints they are
    /// against (smallest first), signed by `receiptKey`.
    package func logSection(reportIDs: [String], receiptKey: Curve25519.Signing.PublicKey) throws -> LogSection {
        let (notes, proofs) = try inclusions(reportIDs: reportIDs, origin: CollectorLog(receiptKey: receiptKey).origin)
        let sizes = notes.keys.sorted()
        let position = Dictionary(uniqueKeysWithValues: sizes.enumerated().map { ($1, $0) })
        let inclusions = reportIDs.compactMap { id -> LogSection.Inclusion? in
            guard let found = proofs[id], let checkpoint = position[found.size], let hashes = CollectorLog.unpacked(found.proof) else { return nil }
            return LogSection.Inclusion(reportId: id, index: found.index, checkpoint: checkpoint, proof: hashes.map(\.base64))
        }
        return LogSection(receiptKey: receiptKey, checkpoints: sizes.map { notes[$0]! }, inclusions: inclusions)
    }

    /// Deletes reports older than `retentionDays`, then the oldest until the stored envelopes fit
    /// in `maxBytes`. The chain heads stay, so the next report still links to the last one made.
    package func prune(retentionDays: Int = 400, maxBytes: Int = 512 << 20, now: Date = Date()) throws {
        try write("prune") { db in
            try db.execute(
                sql: "DELETE FROM envelopes WHERE collected_at < ? AND delivery != 'queued'",
                arguments: [now.timeIntervalSince1970 - Double(retentionDays) * 86400])
            var total = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(envelope)), 0) FROM envelopes") ?? 0
            while total > maxBytes,
                let oldest = try Row.fetchOne(
                    db, sql: "SELECT id, LENGTH(envelope) AS size FROM envelopes WHERE delivery != 'queued' ORDER BY collected_at, id LIMIT 1")
            {
                try db.execute(sql: "DELETE FROM envelopes WHERE id = ?", arguments: [oldest["id"] as Int64])
                total -= oldest["size"] as Int
            }
            try db.execute(
                sql: """
                    DELETE FROM log_checkpoints
                    WHERE NOT EXISTS (SELECT 1 FROM envelopes e WHERE e.log_origin = log_checkpoints.origin AND e.log_size = log_checkpoints.size)
                    AND size < (SELECT MAX(size) FROM log_checkpoints newest WHERE newest.origin = log_checkpoints.origin)
                    """)
        }
    }
}

/// The kernel's id of the current boot, which ties a report to one uptime.
package enum BootID {
    package static func current() -> String? {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension JournalError: ExitStatusError {
    package var exitStatus: Int32 {
        switch self {
        case .noSpace: ExitStatus.ioError
        case .failed, .malformedAttestation: ExitStatus.software
        }
    }
}
