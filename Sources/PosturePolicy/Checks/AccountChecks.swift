import Foundation
import PostureModel

extension CheckRegistry {
    /// Passwords changed in time and not saved on the PC: the `accounts` and `credentials` probes.
    static let accounts: [CheckDefinition] = [
        CheckDefinition(.accountsPasswordAge, probe: .accounts, parameters: PasswordAgeParameters.self) {
            Verdicts.passwordAge($0.evidence, $1, $0.today)
        },
        CheckDefinition(.credentialsNoSavedBankLogins, probe: .credentials, parameters: SavedLoginsParameters.self) {
            Verdicts.savedLogins($0.evidence, $1)
        }
    ]
}

/// `accounts.password_age`: the longest a password may go unchanged, and whether root counts.
struct PasswordAgeParameters: CheckParameterSet {
    var maxDays = 90
    var includeRoot = false
    static let fields: [ParameterField<Self>] = [.field("max_days", \.maxDays, minimum: 1), .field("include_root", \.includeRoot)]
}

/// `credentials.no_saved_bank_logins`: the bank's domains a saved login must not be for.
struct SavedLoginsParameters: CheckParameterSet {
    var domains: [String] = []
    static let fields: [ParameterField<Self>] = [.field("domains", \.domains, required: true)]
}

extension Verdicts {
    static func passwordAge(_ evidence: Evidence, _ p: PasswordAgeParameters, _ today: Day) -> Verdict {
        guard let accounts = evidence.accounts else { return .notCollected(.accounts, evidence) }
        let maxDays = p.maxDays
        let relevant = accounts.filter { !$0.locked && ($0.uid != 0 || p.includeRoot) }
        guard !relevant.isEmpty else {
            return Verdict(
                status: .notApplicable,
                summary: .init(
                    en: "No login account with a password",
                    ja: "パスワードでログインできるアカウントはありません"))
        }
        let remedy = LocalizedText(
            en: "Change the password (`passwd USER`) and set a maximum age (`sudo chage -M \(maxDays) USER`).",
            ja: "パスワードを変更し(`passwd ユーザー`)、有効期限を設定してください(`sudo chage -M \(maxDays) ユーザー`)。")
        var stale: [String] = []
        var unknown: [String] = []
        for account in relevant {
            guard let changed = account.passwordLastChanged else {
                unknown.append(account.user)
                continue
            }
            let age = changed.days(until: today)
            if age > maxDays { stale.append("\(account.user) (\(age) days)") }
        }
        if !stale.isEmpty {
            return .fail(
                "Password older than \(maxDays) days: \(abbreviated(stale))",
                "パスワードが \(maxDays) 日以上変更されていません: \(abbreviated(stale, ja: true))", remedy: remedy)
        }
        if !unknown.isEmpty {
            let reason = evidence.unavailable[ProbeName.accounts.rawValue].map { " (\($0))" } ?? ""
            return .unknown(
                "Password age unknown for: \(abbreviated(unknown))\(reason)",
                "パスワードの変更日が不明: \(abbreviated(unknown, ja: true))\(reason)")
        }
        return .pass(
            "All \(relevant.count) account password(s) changed within \(maxDays) days",
            "\(relevant.count) 件のアカウントのパスワードは \(maxDays) 日以内に変更されています")
    }

    static func savedLogins(_ evidence: Evidence, _ p: SavedLoginsParameters) -> Verdict {
        guard let credentials = evidence.credentials else { return .notCollected(.credentials, evidence) }
        let domains = p.domains.map { $0.lowercased() }
        let matches = credentials.savedLogins.filter { login in
            let host = hostName(of: login.origin)
            return domains.contains { Self.host(host, isIn: $0) }
        }
        var found = matches.map { "\($0.browser): \($0.origin)" }
        found += credentials.passwordNotes
        if !found.isEmpty {
            return .fail(
                "Bank passwords stored on the PC: \(abbreviated(found))",
                "銀行のパスワードがPCに保存されています: \(abbreviated(found, ja: true))",
                remedy: .init(
                    en: "Delete the saved logins in the browser's password manager and remove password notes, then change the bank password.",
                    ja: "ブラウザに保存されたログイン情報とパスワードのメモを削除し、銀行のパスワードを変更してください。"))
        }
        if let problem = evidence.unavailable[ProbeName.credentials.rawValue] {
            return .unknown("Not every browser profile could be read: \(problem)", "読み取れないブラウザ設定があります: \(problem)")
        }
        if let unseen = leftOut(evidence, "credentials.saved_logins", coveringAll: domains) {
            return .unknown(
                "\(unseen) saved login(s) were left out of the report, so one for \(abbreviated(domains, limit: 3)) cannot be ruled out",
                "\(unseen) 件の保存ログインがレポートから省かれたため、\(abbreviated(domains, limit: 3, ja: true)) の保存ログインがないとは言えません")
        }
        return .pass(
            "No saved login for \(abbreviated(domains, limit: 3)) and no password notes",
            "\(abbreviated(domains, limit: 3, ja: true)) の保存ログインやパスワードのメモはありません")
    }

    /// Entries left out of the list at `path` that could concern `domains`: nil when none were, or
    /// when the agent kept every entry of each of them (`truncation.kept_domains`).
    static func leftOut(_ evidence: Evidence, _ path: String, coveringAll domains: [String]) -> Int? {
        guard let truncation = evidence.truncation, truncation.count(path) > 0 else { return nil }
        let covered = domains.allSatisfy { domain in truncation.keptDomains.contains { host(domain, isIn: $0) } }
        return covered ? nil : truncation.count(path)
    }

    /// Whether `host` is `domain` or a name under it.
    static func host(_ host: String, isIn domain: String) -> Bool {
        host == domain || host.hasSuffix("." + domain)
    }

    static func hostName(of origin: String) -> String {
        var text = Substring(origin.lowercased())
        if let scheme = text.range(of: "://") { text = text[scheme.upperBound...] }
        if let slash = text.firstIndex(of: "/") { text = text[..<slash] }
        if let at = text.lastIndex(of: "@") { text = text[text.index(after: at)...] }
        if let colon = text.lastIndex(of: ":") { text = text[..<colon] }
        return String(text)
    }
}
