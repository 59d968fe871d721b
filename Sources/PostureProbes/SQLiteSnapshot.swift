import Crypto
import Foundation
package import GRDB
import PostureModel

/// Reads an SQLite database found in a user's home, which its owner may have crafted: from a
/// private copy (with its `-wal` and `-journal` files, since a running browser may hold a lock on
/// the original), opened read-only with the schema untrusted, and only when every object in
/// `sqlite_master` is a plain table or index: a view, trigger or virtual table could make a
/// query recurse forever or grow without bound. Queries are interrupted past `deadline`.
package enum SQLiteSnapshot {
    /// How long the queries on one database may run.
    static let deadline: TimeInterval = 10
    static let copyPrefix = "posture-sqlite-"

    /// Runs `body` on a read-only connection to a private copy of `file`, removed afterwards.
    /// - Parameters:
    ///   - kind: what the database is, for error messages ("Login Data database").
    ///   - tables: the tables `body` reads; each must exist as a plain table.
    /// - Throws: `ProbeError.unreadable` when the file cannot be copied, `.malformed` when the copy
    ///   cannot be opened, holds anything but plain tables, or `body` fails or runs out of time.
    package static func read<T>(
        root: ScanRoot, file: String, kind: String, tables: [String],
        _ body: (Database) throws -> T
    ) throws(ProbeError) -> T {
        try read(root: root, file: file, kind: kind, tables: tables, reusing: nil, body)
    }

    /// `read`, with `reusing` answering from the SHA-256 of the bytes copied (the database with its
    /// `-wal` and `-journal` files): nil runs the queries. A cache keyed by content cannot be fooled
    /// by a file whose identity was put back.
    package static func read<T>(
        root: ScanRoot, file: String, kind: String, tables: [String], reusing: ((String) -> T?)?,
        _ body: (Database) throws -> T
    ) throws(ProbeError) -> T {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("\(copyPrefix)\(getpid())-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        let name = "database"
        // The databases read this way live in users' homes: anyone's files, so bounded.
        var files: [(suffix: String, bytes: [UInt8])] = []
        var digest = SHA256()
        for suffix in ["", "-wal", "-journal"] where root.exists(file + suffix) {
            let bytes = try root.readBytes(file + suffix, limit: ScanRoot.userFileLimit)
            digest.update(data: Array("\(suffix)\u{0}\(bytes.count)\u{0}".utf8))
            digest.update(data: bytes)
            files.append((suffix, bytes))
        }
        if let reusing, let answer = reusing(digest.finalize().hexString) { return answer }
        do {
            try FileManager.default.createDirectory(
                at: copy, withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o700])
            for (suffix, bytes) in files { try Data(bytes).write(to: copy.appendingPathComponent(name + suffix)) }
        } catch {
            throw ProbeError.unreadable(path: root.display(file), reason: "cannot copy it: \(error.localizedDescription)")
        }
        let queue: DatabaseQueue
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA trusted_schema = OFF; PRAGMA cell_size_check = ON; PRAGMA mmap_size = 0")
            }
            queue = try DatabaseQueue(path: copy.appendingPathComponent(name).path, configuration: configuration)
        } catch {
            throw ProbeError.malformed(path: root.display(file), reason: "not a readable \(kind) (\(error))")
        }
        let timer = DispatchWorkItem { queue.interrupt() }
        DispatchQueue.global().asyncAfter(deadline: .now() + deadline, execute: timer)
        defer { timer.cancel() }
        do {
            return try queue.read { db in
                try checkSchema(db, tables: tables)
                return try body(db)
            }
        } catch let error as UnsafeSchema {
            throw ProbeError.malformed(path: root.display(file), reason: "not read: \(error.description)")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT {
            throw ProbeError.malformed(path: root.display(file), reason: "not read: its queries ran past \(Int(deadline)) s")
        } catch {
            throw ProbeError.malformed(path: root.display(file), reason: "not a readable \(kind) (\(error))")
        }
    }

    /// Why a database was not queried.
    struct UnsafeSchema: Error, CustomStringConvertible {
        var description: String
    }

    /// Refuses anything in `sqlite_master` but plain tables and indexes, and missing `tables`.
    static func checkSchema(_ db: Database, tables: [String]) throws {
        var plain = Set<String>()
        for row in try Row.fetchAll(db, sql: "SELECT type, name, sql FROM sqlite_master LIMIT 10000") {
            let type: String = row["type"] ?? ""
            let name: String = row["name"] ?? ""
            let sql: String = row["sql"] ?? ""
            let display = ControlCharacters.escaped(String(name.prefix(64)))
            switch type {
            case "table":
                if sql.uppercased().replacingOccurrences(of: " ", with: "").hasPrefix("CREATEVIRTUALTABLE") {
                    throw UnsafeSchema(description: "it holds a virtual table (\(display))")
                }
                plain.insert(name)
            case "index": continue
            default:
                throw UnsafeSchema(
                    description: "it holds a \(type == "view" || type == "trigger" ? type : "schema object") (\(display)), which only plain tables may be")
            }
        }
        for table in tables where !plain.contains(table) {
            throw UnsafeSchema(description: "it has no table \(table)")
        }
    }

    /// Removes copies left by a scan that was killed before it could (its process is gone).
    package static func removeLeftovers() {
        let directory = FileManager.default.temporaryDirectory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(copyPrefix) {
            let fields = name.dropFirst(copyPrefix.count).split(separator: "-", maxSplits: 1)
            guard let pid = fields.first.flatMap({ pid_t($0) }), pid != getpid(), kill(pid, 0) == -1, errno == ESRCH else { continue }
            let path = directory.appendingPathComponent(name).path
            guard let status = Platform.lstatus(path), status.isDirectory, status.owner == geteuid() else { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
