import Foundation
import PostureModel
import Testing

@testable import PosturePolicy

/// Evidence a user grew past the budget, judged whole and bounded: the verdict is the same, the
/// lists and strings are within the budget, and what was left out is counted.
@Suite struct EvidenceBudgetTests {
    static let budget = EvidenceBudget(items: 10, characters: 64)
    static let bank = "bank.example.jp"

    /// One check on grown evidence, and the verdict it must reach whole and bounded.
    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var check: String
        var with: String = ""
        var status: FindingStatus
        /// The list that was cut, and how many entries it must leave out.
        var leftOut: (path: String, count: Int)
        var evidence: @Sendable () -> Evidence
        var testDescription: String { name }
    }

    static func evidence(_ change: (inout Evidence) -> Void) -> Evidence {
        var evidence = Evidence()
        change(&evidence)
        return evidence
    }

    static func credentials(_ origins: [String], notes: [String] = []) -> Evidence {
        evidence {
            $0.credentials = CredentialsEvidence(
                savedLogins: origins.map { .init(browser: "firefox", profilePath: "/home/a/p", origin: $0) },
                passwordNotes: notes)
        }
    }

    static func integrity(_ change: (inout IntegrityEvidence) -> Void) -> Evidence {
        var section = IntegrityEvidence(
            checked: 100, modified: [], missing: [], unownedExecutables: [], hostsOverrides: [],
            extraCaCertificates: [], ldSoPreload: [])
        change(&section)
        return evidence { $0.integrity = section }
    }

    static let others = (0..<500).map { "https://site\($0).example.com" }
    static let domains = "{domains: [\(bank)]}"

    static let rows: [Row] = [
        Row(
            name: "a bank login after 400 others", check: "credentials.no_saved_bank_logins", with: domains, status: .fail,
            leftOut: ("credentials.saved_logins", 491)
        ) {
            var origins = others
            origins.insert("https://login.\(bank)", at: 400)
            return credentials(origins)
        },
        Row(
            name: "500 logins, none for the bank", check: "credentials.no_saved_bank_logins", with: domains, status: .pass,
            leftOut: ("credentials.saved_logins", 490)
        ) { credentials(others) },
        Row(
            name: "a bank login whose host is 2,000 characters", check: "credentials.no_saved_bank_logins", with: domains, status: .fail,
            leftOut: ("credentials.saved_logins", 491)
        ) {
            credentials(others + ["https://" + String(repeating: "a.", count: 1000) + "login.\(bank)/" + String(repeating: "p", count: 3000)])
        },
        Row(
            name: "a password note after 100 others", check: "credentials.no_saved_bank_logins", with: domains, status: .fail,
            leftOut: ("credentials.password_notes", 91)
        ) {
            credentials([], notes: (0...100).map { "/home/a/Desktop/password-\($0).txt" })
        },
        Row(
            name: "one modified file after 50 conffiles", check: "integrity.no_modified_system_files", status: .fail,
            leftOut: ("integrity.modified", 41)
        ) {
            integrity {
                $0.modified =
                    (0..<50).map { .init(path: "/etc/c\($0)", package: "p", kind: "conffile") }
                    + [.init(path: "/usr/bin/ls", package: "coreutils", kind: "file")]
            }
        },
        Row(
            name: "50 modified conffiles only", check: "integrity.no_modified_system_files", status: .pass,
            leftOut: ("integrity.modified", 40)
        ) {
            integrity { $0.modified = (0..<50).map { .init(path: "/etc/c\($0)", package: "p", kind: "conffile") } }
        },
        Row(
            name: "a bank hosts override after 100 others", check: "integrity.no_interception", with: domains, status: .fail,
            leftOut: ("integrity.hosts_overrides", 91)
        ) {
            integrity {
                $0.hostsOverrides =
                    (0..<100).map { .init(name: "h\($0).example.com", address: "10.0.0.1") }
                    + [.init(name: String(repeating: "x", count: 300) + ".\(bank)", address: "10.6.6.6")]
            }
        },
        Row(
            name: "100 unowned executables", check: "integrity.no_unowned_executables", status: .fail,
            leftOut: ("integrity.unowned_executables", 90)
        ) {
            integrity { $0.unownedExecutables = (0..<100).map { .init(path: "/usr/bin/x\($0)", sha256: "00") } }
        },
        Row(
            name: "a security update after 100 others", check: "updates.none_pending", with: "{security_only: true}", status: .fail,
            leftOut: ("packages.pending_updates", 91)
        ) {
            evidence {
                $0.packages = PackagesEvidence(
                    manager: "dpkg", installed: 900, indexUpdatedAt: EvaluatorTests.now.addingTimeInterval(-3600),
                    pendingUpdates: (0..<100).map {
                        .init(
                            name: "p\($0)", architecture: "amd64", installed: "1",
                            candidate: "2", security: false, suite: "bookworm")
                    }
                        + [
                            .init(
                                name: "openssl", architecture: "amd64", installed: "1", candidate: "2",
                                security: true, suite: "bookworm-security")
                        ],
                    indexError: nil, indexLists: 4)
            }
        }
    ]

    @Test(arguments: rows)
    func theVerdictSurvivesTheBudget(_ row: Row) throws {
        let whole = row.evidence()
        let bounded = Self.budget.bound(whole, keeping: [Self.bank])
        let before = try EvaluatorTests.finding(row.check, with: row.with, evidence: whole)
        let after = try EvaluatorTests.finding(row.check, with: row.with, evidence: bounded)
        #expect(before.status == row.status, "\(before.summary)")
        #expect(after.status == row.status, "\(after.summary)")
        let truncation = try #require(bounded.truncation)
        #expect(truncation.count(row.leftOut.path) == row.leftOut.count, "\(truncation.leftOut)")
        #expect(truncation.keptDomains == [Self.bank])

        let json = String(decoding: try PostureJSON.encoder().encode(bounded), as: UTF8.self)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        for string in Self.strings(in: object) where !string.hasPrefix("left out") {
            #expect(string.unicodeScalars.count <= 4 * Self.budget.characters, "\(string.prefix(80))…")
        }
    }

    /// Every string value in a decoded JSON object.
    static func strings(in value: Any) -> [String] {
        switch value {
        case let string as String: return [string]
        case let array as [Any]: return array.flatMap { strings(in: $0) }
        case let object as [String: Any]: return object.values.flatMap { strings(in: $0) }
        default: return []
        }
    }

    /// Logins were left out and the agent did not keep this check's domain first (its profiles
    /// named another bank): a pass would be a guess, so the check is unknown.
    @Test func aDomainTheAgentDidNotKeepIsUnknownNotPassed() throws {
        let bounded = Self.budget.bound(Self.credentials(Self.others), keeping: ["other-bank.example"])
        let finding = try EvaluatorTests.finding("credentials.no_saved_bank_logins", with: Self.domains, evidence: bounded)
        #expect(finding.status == .unknown, "\(finding.summary)")
        #expect(finding.summary.contains("490 saved login(s) were left out"), "\(finding.summary)")
        let covered = Self.budget.bound(Self.credentials(Self.others), keeping: ["example.jp"])
        #expect(
            try EvaluatorTests.finding("credentials.no_saved_bank_logins", with: Self.domains, evidence: covered).status == .pass,
            "a parent domain kept covers the bank's")
    }

    /// Within the budget nothing is marked: the report is exactly the evidence.
    @Test func smallEvidenceIsUntouched() throws {
        let evidence = Self.credentials(["https://login.\(Self.bank)"], notes: ["/home/a/Desktop/pw.txt"])
        let bounded = Self.budget.bound(evidence, keeping: [Self.bank])
        #expect(bounded.truncation == nil)
        #expect(try PostureJSON.encoder().encode(bounded) == PostureJSON.encoder().encode(evidence))
    }

    /// Shortened strings keep what checks and people read: an origin its scheme and the end of its
    /// host, a path its file name.
    @Test(arguments: [
        (
            "origin", "https://" + String(repeating: "a", count: 100) + ".login.bank.example.jp/" + String(repeating: "q", count: 100),
            "https://…", ".login.bank.example.jp/…"
        ),
        ("path", "/home/a/" + String(repeating: "d/", count: 100) + "password.txt", "/home/a/d/", "password.txt"),
        ("host name", String(repeating: "x", count: 100) + ".bank.example.jp", "…", ".bank.example.jp")
    ])
    func shortenedStringsKeepWhatMatters(_ kind: String, _ text: String, _ prefix: String, _ suffix: String) {
        var cut = EvidenceBudget.Cut(budget: Self.budget, domains: [])
        let shortened =
            switch kind {
            case "origin": cut.origin(text)
            case "path": cut.path(text)
            default: cut.hostName(text)
            }
        #expect(shortened.unicodeScalars.count <= Self.budget.characters, "\(shortened)")
        #expect(shortened.hasPrefix(prefix) && shortened.hasSuffix(suffix), "\(shortened)")
        #expect(cut.truncation.shortenedStrings == 1)
    }
}
