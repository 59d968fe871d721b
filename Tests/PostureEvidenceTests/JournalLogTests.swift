import Crypto
import Foundation
import PostureEvidence
import PostureModel
import PostureTestSupport
import PostureTransparency
import Testing

/// The journal's record of the collector's log is per log (its origin): a size two logs both
/// reached names each its own checkpoint, and a journal written before origins were kept is
/// upgraded in place with what it held.
@Suite struct JournalLogTests {
    /// A journal with two delivered reports in the log of `key`, the first proven at size 2.
    struct Fixture {
        let root: TemporaryRoot
        let state: String
        let key = Curve25519.Signing.PrivateKey()
        var origin: String { CollectorLog(receiptKey: key.publicKey).origin }
        var reportIDs: [String] = []

        init() throws {
            root = try TemporaryRoot("journal-log")
            state = root.url("state").path
            let device = try DeviceKey.generate(stateDirectory: state)
            let journal = try Journal(stateDirectory: state)
            try journal.setMeta([Journal.receiptKeyMeta: key.publicKey.rawRepresentation.base64EncodedString()])
            var log = MemoryNodeStore()
            for index in 0..<2 {
                let signed = try journal.append(EnvelopeTests.report(), key: device, enqueue: true)
                reportIDs.append(signed.report.id)
                _ = log.append(entry: Array(signed.envelope))
                let pending = try #require(try journal.nextQueued())
                try journal.markDelivered(pending.id, receipt: nil, logIndex: (origin, index), at: Date())
            }
            try journal.keepCheckpoint(origin: origin, size: 2, note: try Self.note(log, size: 2, key: key), at: Date())
            let first = try #require(try journal.unproven(origin: origin, below: 2, limit: 1).first)
            try journal.recordInclusion(first.id, size: 2, proof: CollectorLog.packed(try log.inclusionProof(index: 0, treeSize: 2)))
        }

        static func note(_ log: MemoryNodeStore, size: Int, key: Curve25519.Signing.PrivateKey) throws -> String {
            let origin = CollectorLog(receiptKey: key.publicKey).origin
            return try NoteSigner(name: origin, privateKey: key).sign(try Checkpoint(origin: origin, size: size, root: try log.root(treeSize: size)))
                .serialized
        }
    }

    @Test func eachLogKeepsItsOwnCheckpoints() throws {
        let fixture = try Fixture()
        let journal = try Journal(stateDirectory: fixture.state)
        // Another collector's log of the same size, with other leaves.
        let other = Curve25519.Signing.PrivateKey()
        let otherOrigin = CollectorLog(receiptKey: other.publicKey).origin
        var otherLog = MemoryNodeStore()
        for index in 0..<2 { _ = otherLog.append(entry: Array("other \(index)".utf8)) }
        let otherNote = try Fixture.note(otherLog, size: 2, key: other)
        try journal.keepCheckpoint(origin: otherOrigin, size: 2, note: otherNote, at: Date().addingTimeInterval(60))

        #expect(try journal.newestCheckpoint(origin: fixture.origin)?.note.hasPrefix(fixture.origin + "\n") == true)
        #expect(try journal.newestCheckpoint(origin: otherOrigin)?.note == otherNote)
        #expect(try journal.unprovenCount(origin: fixture.origin) == 1)
        #expect(try journal.unprovenCount(origin: otherOrigin) == 0, "the first log's leaves are not the other's to prove")
        #expect(try journal.unproven(origin: otherOrigin, below: 2, limit: 10).isEmpty)

        let section = try journal.logSection(reportIDs: fixture.reportIDs, receiptKey: fixture.key.publicKey)
        #expect(section.inclusions.map(\.reportId) == [fixture.reportIDs[0]] && section.checkpoints.count == 1)
        #expect(section.checkpoints.first?.hasPrefix(fixture.origin + "\n") == true)
        let entries = try journal.entries()
        let verified = section.verify(reports: entries.map { ($0.reportID, $0.envelope) }, expectedKey: fixture.key.publicKey)
        #expect(verified.problems.isEmpty && verified.included == 1, "\(verified)")
        let otherSection = try journal.logSection(reportIDs: fixture.reportIDs, receiptKey: other.publicKey)
        #expect(otherSection.inclusions.isEmpty && otherSection.checkpoints.isEmpty, "no proof is offered against another log's checkpoint")
    }

    /// A journal from before origins (migration v4's shape, made by downgrading this one with the
    /// sqlite3 tool) is upgraded: its checkpoints and leaf indexes are of the log pinned now.
    @Test func anEarlierJournalIsUpgradedInPlace() throws {
        let fixture = try Fixture()
        let downgrade = """
            CREATE TABLE old_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL, verified_at REAL NOT NULL);
            INSERT INTO old_checkpoints SELECT size, note, verified_at FROM log_checkpoints;
            DROP TABLE log_checkpoints;
            ALTER TABLE old_checkpoints RENAME TO log_checkpoints;
            ALTER TABLE envelopes DROP COLUMN log_origin;
            DELETE FROM grdb_migrations WHERE identifier = 'v5-log-origin';
            """
        let sqlite = try Fixtures.run("/usr/bin/sqlite3", ["-bail", "\(fixture.state)/\(Journal.fileName)", downgrade])
        #expect(sqlite.status == 0, "\(sqlite.stderr)")
        let columns = try Fixtures.run("/usr/bin/sqlite3", ["\(fixture.state)/\(Journal.fileName)", "SELECT name FROM pragma_table_info('envelopes')"])
        #expect(!columns.stdout.contains("log_origin"), "the downgrade took")

        let journal = try Journal(stateDirectory: fixture.state)
        #expect(try journal.newestCheckpoint(origin: fixture.origin)?.size == 2)
        #expect(try journal.unprovenCount(origin: fixture.origin) == 1, "the unproven leaf is of the pinned log")
        let section = try journal.logSection(reportIDs: fixture.reportIDs, receiptKey: fixture.key.publicKey)
        #expect(section.inclusions.map(\.reportId) == [fixture.reportIDs[0]])
    }
}
