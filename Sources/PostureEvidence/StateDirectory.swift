package import Foundation
import PostureModel

/// The agent's state directory (device key, journal, integrity cache). It must belong to the user
/// running posture and be writable by nobody else: otherwise another account could plant the key
/// reports are signed with, or a journal they are chained to.
package enum StateDirectory {
    /// Creates `path` (0700) when missing, then checks it as `check` does.
    package static func prepare(_ path: String) throws(StateDirectoryError) {
        if Platform.linkStatus(path) == nil {
            guard Platform.lastError == ENOENT else { throw .unusable(path, reason: Platform.errorText()) }
            do {
                try FileManager.default.createDirectory(
                    atPath: path, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
            } catch {
                throw .unusable(path, reason: "cannot create it: \(error.localizedDescription)")
            }
        }
        try check(path)
    }

    /// Refuses a state directory that is a symlink, not a directory, owned by another user, or
    /// writable by group or others.
    package static func check(_ path: String) throws(StateDirectoryError) {
        guard let status = Platform.linkStatus(path) else { throw .unusable(path, reason: Platform.errorText()) }
        guard status.isDirectory else { throw .notADirectory(path) }
        guard status.owner == Platform.effectiveUser else { throw .notOwned(path, owner: status.owner, user: Platform.effectiveUser) }
        guard status.mode & 0o022 == 0 else { throw .writableByOthers(path, mode: status.mode) }
    }

    /// Refuses a file in the state directory that is a symlink or another user's (the key, say).
    package static func checkFile(_ path: String) throws(StateDirectoryError) {
        guard let status = Platform.linkStatus(path) else { return }
        guard status.isRegular else { throw .notADirectory(path) }
        guard status.owner == Platform.effectiveUser else { throw .notOwned(path, owner: status.owner, user: Platform.effectiveUser) }
    }
}

/// Why a state directory (or a file in it) is refused; each message names the fix.
package enum StateDirectoryError: Error, CustomStringConvertible, Equatable {
    case unusable(String, reason: String)
    case notADirectory(String)
    case notOwned(String, owner: uid_t, user: uid_t)
    case writableByOthers(String, mode: Int)

    package var description: String {
        switch self {
        case .unusable(let path, let reason):
            return "cannot use the state directory \(path): \(reason) (run as root, or pass --state-dir DIR)"
        case .notADirectory(let path):
            return "\(path) is not a regular directory or file (a symlink or something else); the state must be real files the agent owns: move it away"
        case .notOwned(let path, let owner, let user):
            return "\(path) belongs to uid \(owner), not to uid \(user) that runs posture, so another account could plant what the agent signs with;"
                + " fix it with `chown \(user) \(path)` if it is yours, or choose another --state-dir"
        case .writableByOthers(let path, let mode):
            return "\(path) can be written by group or others (mode \(String(mode, radix: 8))), so another account could plant what the agent signs with;"
                + " fix it with `chmod 700 \(path)`"
        }
    }
}

extension StateDirectoryError: ExitStatusError {
    package var exitStatus: Int32 { ExitStatus.permission }
}
