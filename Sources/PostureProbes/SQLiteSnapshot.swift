import Foundation
import GRDB

/// Reads an SQLite database inside the scan root from a private copy (with its `-wal` and
/// `-journal` files), because the program that owns it, a running browser, may hold a lock on it.
enum SQLiteSnapshot {
    /// Runs `body` on a read-only connection to a private copy of `file`, removed afterwards.
    /// - Parameter kind: what the database is, for error messages ("Login Data database").
    /// - Throws: `ProbeError.unreadable` when the file cannot be copied, `.malformed` when the copy
    ///   cannot be opened or `body` fails.
    static func read<T>(root: ScanRoot, file: String, kind: String, _ body: (Database) throws -> T) throws(ProbeError) -> T {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("posture-sqlite-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        let name = "database"
        do {
            try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            for suffix in ["", "-wal", "-journal"] where root.exists(file + suffix) {
                // The databases read this way live in users' homes: anyone's files, so bounded.
                try Data(try root.readBytes(file + suffix, limit: ScanRoot.userFileLimit)).write(to: copy.appendingPathComponent(name + suffix))
            }
        } catch let error as ProbeError {
            throw error
        } catch {
            throw ProbeError.unreadable(path: root.display(file), reason: "cannot copy it: \(error.localizedDescription)")
        }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: copy.appendingPathComponent(name).path, configuration: configuration)
            return try queue.read(body)
        } catch {
            throw ProbeError.malformed(path: root.display(file), reason: "not a readable \(kind) (\(error))")
        }
    }
}
