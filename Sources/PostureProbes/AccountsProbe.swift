import Foundation
import PostureModel

/// Password-age records of login accounts from `etc/passwd`, `etc/shadow` and `etc/login.defs`.
///
/// Human accounts are those with a UID between `UID_MIN` and `UID_MAX` and a login shell;
/// root is reported too (uid 0). Nothing of the password hash is kept: only whether the
/// account is locked.
public struct AccountsProbe: Sendable {
    public init() {}

    /// The accounts, and why their password dates are unknown (for example: shadow unreadable).
    public func collect(root: ScanRoot) throws(ProbeError) -> (accounts: [AccountEvidence], problem: String?) {
        let passwd = PasswdFile.parse(try root.readText("etc/passwd"))
        let defs = (try? root.readText("etc/login.defs")).map(Self.loginDefs) ?? [:]
        let uidMin = defs["UID_MIN"].flatMap { Int($0) } ?? 1000
        let uidMax = defs["UID_MAX"].flatMap { Int($0) } ?? 60000
        let nologin = ["/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "/bin/sync"]
        let people = passwd.filter { entry in
            entry.uid == 0 || ((uidMin...uidMax).contains(entry.uid) && !nologin.contains(entry.shell))
        }

        var shadow: [String: ShadowEntry] = [:]
        var problem: String?
        do {
            for entry in Self.parseShadow(try root.readText("etc/shadow")) { shadow[entry.user] = entry }
        } catch {
            problem = "\(error)" + (root.isLive && Platform.effectiveUserID != 0 ? " (run as root to read it)" : "")
        }
        let accounts = people.map { entry in
            let record = shadow[entry.user]
            return AccountEvidence(user: entry.user, uid: entry.uid, passwordLastChanged: record?.lastChanged,
                                   passwordMaxDays: record?.maxDays, locked: record?.locked ?? false)
        }
        if problem == nil, let missing = accounts.first(where: { shadow[$0.user] == nil }) {
            problem = "\(missing.user) has no entry in /etc/shadow"
        }
        return (accounts, problem)
    }

    struct ShadowEntry {
        var user: String
        var locked: Bool
        var lastChanged: Day?
        var maxDays: Int?
    }

    /// Reads the fields posture needs; the hash field is reduced to "locked or not" at once.
    static func parseShadow(_ text: String) -> [ShadowEntry] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 5, !fields[0].isEmpty else { return nil }
            let hash = fields[1]
            let locked = hash.hasPrefix("!") || hash.hasPrefix("*")
            let lastChanged = Int(fields[2]).map { Day(daysSinceEpoch: $0) }
            let max = Int(fields[4]).flatMap { $0 >= 99999 || $0 < 0 ? nil : $0 }
            return ShadowEntry(user: String(fields[0]), locked: locked, lastChanged: lastChanged, maxDays: max)
        }
    }

    static func loginDefs(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, !words[0].hasPrefix("#") else { continue }
            values[String(words[0])] = String(words[1])
        }
        return values
    }
}
