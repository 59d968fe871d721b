import Foundation
package import PostureModel

/// Password-age records of login accounts from `etc/passwd`, `etc/shadow` and `etc/login.defs`.
///
/// Human accounts are those with a UID between `UID_MIN` and `UID_MAX` and a login shell;
/// root is reported too (uid 0). Nothing of the password hash is kept: only whether the
/// account is locked.
package struct AccountsProbe: Sendable {
    package init() {}

    /// The accounts, and why their password dates are unknown (for example: shadow unreadable).
    package func collect(root: ScanRoot) throws(ProbeError) -> (accounts: [AccountEvidence], problem: String?) {
        let passwd = PasswdFile.parse(try root.readText("etc/passwd"))
        let defs = (try? root.readText("etc/login.defs")).map(Self.loginDefs) ?? [:]
        let uidMin = defs["UID_MIN"].flatMap { Int($0) } ?? 1000
        let uidMax = defs["UID_MAX"].flatMap { Int($0) } ?? 60000
        let nologin = ["/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "/bin/sync"]
        let people = passwd.filter { entry in
            // Compared one bound at a time: a login.defs whose UID_MIN exceeds UID_MAX makes no range.
            entry.uid == 0 || (uidMin <= entry.uid && entry.uid <= uidMax && !nologin.contains(entry.shell))
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
            return AccountEvidence(
                user: entry.user, uid: entry.uid, passwordLastChanged: record?.lastChanged,
                passwordMaxDays: record?.maxDays, locked: record?.locked ?? false)
        }
        if problem == nil, let missing = accounts.first(where: { shadow[$0.user] == nil }) {
            problem = "\(missing.user) has no entry in /etc/shadow"
        }
        if problem == nil, let damaged = accounts.first(where: { shadow[$0.user]?.lastChangedUnreadable == true }) {
            problem = "/etc/shadow is damaged: the last password change of \(damaged.user) is not a day"
        }
        return (accounts, problem)
    }

    struct ShadowEntry {
        var user: String
        var locked: Bool
        var lastChanged: Day?
        var maxDays: Int?
        /// The last-change field holds something other than a day count (empty is "aging disabled").
        var lastChangedUnreadable = false
    }

    /// 9999-12-31, the last day a `Day` holds.
    static let maxShadowDay = Day(year: 9999, month: 12, day: 31)!.daysSinceEpoch

    /// Reads the fields posture needs; the hash field is reduced to "locked or not" at once.
    static func parseShadow(_ text: String) -> [ShadowEntry] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 5, !fields[0].isEmpty else { return nil }
            let hash = fields[1]
            let locked = hash.hasPrefix("!") || hash.hasPrefix("*")
            // Days since 1970; a count past the year 9999 is no date (and would overflow the calendar arithmetic).
            let lastChanged = Int(fields[2]).flatMap { (0...maxShadowDay).contains($0) ? Day(daysSinceEpoch: $0) : nil }
            let max = Int(fields[4]).flatMap { $0 >= 99999 || $0 < 0 ? nil : $0 }
            return ShadowEntry(
                user: String(fields[0]), locked: locked, lastChanged: lastChanged, maxDays: max,
                lastChangedUnreadable: lastChanged == nil && !fields[2].isEmpty)
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

extension AccountsProbe: BlockingProbe {
    package var name: ProbeName { .accounts }
    package var reads: String { "etc/passwd, etc/shadow and etc/login.defs" }
    package func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput {
        let (accounts, problem) = try collect(root: context.root)
        return ProbeOutput(problems: problem.map { [$0] } ?? []) { $0.accounts = accounts }
    }
}
