import Foundation
import PostureModel
import Testing

@testable import PosturePolicy

@Suite struct EvaluatorTests {
    static let now = Day("2026-11-24")!.start(in: TimeZone(identifier: "UTC")!).addingTimeInterval(12 * 3600)

    static func profile(_ check: String, with: String = "", consequence: String = "exclusion") throws -> Profile {
        let text = """
            id: p
            name: {ja: "テスト", en: "Test"}
            source: {document: "x.txt", as_of: "2026-11-24"}
            requirements:
              - id: r
                clause: "1"
                consequence: \(consequence)
                title: {ja: "項目", en: "Item"}
                check: \(check)
            \(with.isEmpty ? "" : "    with: \(with)")
            """
        return try ProfileLoader.parse(text, path: "p.yaml")
    }

    static func finding(
        _ check: String, with: String = "", evidence: Evidence,
        attestations: [Attestation] = [], claim: EvaluationContext.Claim? = nil
    ) throws -> Finding {
        let findings = PolicyEngine.evaluate(
            try profile(check, with: with), evidence: evidence,
            context: EvaluationContext(collectedAt: now, attestations: attestations, claim: claim))
        return try #require(findings.first)
    }

    static func os(eol: String?, support: [String: String] = [:]) -> Evidence {
        var evidence = Evidence()
        evidence.os = OSEvidence(
            id: "debian", versionId: "12", prettyName: "Debian 12", codename: "bookworm",
            eol: eol.flatMap { Day($0) }, eolSource: "test",
            support: support.compactMapValues { Day($0) }, supported: nil)
        return evidence
    }

    static func packages(pending: [PendingUpdate]?, fetchedDaysAgo: Double?, error: String? = nil) -> Evidence {
        var evidence = Evidence()
        evidence.packages = PackagesEvidence(
            manager: "dpkg", installed: 10,
            indexUpdatedAt: fetchedDaysAgo.map { now.addingTimeInterval(-$0 * 86400) },
            pendingUpdates: pending, indexError: error, indexLists: 1)
        return evidence
    }

    static let update = PendingUpdate(name: "openssl", architecture: "amd64", installed: "1", candidate: "2", security: true, suite: "s")

    @Test func osSupportUsesTheLastDayInclusive() throws {
        #expect(try Self.finding("os.supported", evidence: Self.os(eol: "2026-11-24")).status == .pass)
        let past = try Self.finding("os.supported", evidence: Self.os(eol: "2026-11-23"))
        #expect(past.status == .fail)
        #expect(past.summary.contains("2026-11-23"))
        #expect(past.remedy != nil)
        #expect(try Self.finding("os.supported", evidence: Self.os(eol: nil)).status == .unknown)
    }

    @Test func osSupportPhaseIsAProfileParameter() throws {
        let evidence = Self.os(eol: "2028-06-30", support: ["eol": "2026-07-11", "eol-lts": "2028-06-30"])
        #expect(try Self.finding("os.supported", evidence: evidence).status == .pass)
        #expect(try Self.finding("os.supported", with: "{phase: eol}", evidence: evidence).status == .fail)
        #expect(try Self.finding("os.supported", with: "{phase: eol-esm}", evidence: evidence).status == .unknown)
        #expect(try Self.finding("os.supported", with: "{min_days_left: 1000}", evidence: evidence).status == .fail)
    }

    /// Phases by DESIGN's names or distro-info's column names, in reports of either kind.
    @Test(
        arguments: [
            (["standard": "2026-07-11", "lts": "2028-06-30"], "standard", FindingStatus.fail),
            (["standard": "2026-07-11", "lts": "2028-06-30"], "eol", .fail),
            (["standard": "2026-07-11", "lts": "2028-06-30"], "eol-lts", .pass),
            (["eol": "2026-07-11", "eol-lts": "2028-06-30"], "standard", .fail),
            (["eol": "2026-07-11", "eol-lts": "2028-06-30"], "lts", .pass),
            (["eol": "2026-07-11", "eol-lts": "2028-06-30"], "extended", .unknown)
        ] as [([String: String], String, FindingStatus)])
    func osSupportPhaseNamesOldAndNew(_ row: ([String: String], String, FindingStatus)) throws {
        let finding = try Self.finding("os.supported", with: "{phase: \(row.1)}", evidence: Self.os(eol: "2028-06-30", support: row.0))
        #expect(finding.status == row.2)
    }

    /// apt holds a phased update back on this machine: it is not pending (it would be once in phase).
    @Test func heldBackPhasedUpdateIsNotPending() throws {
        var held = Self.update
        held.phased = true
        held.phasedUpdatePercentage = 30
        let pass = try Self.finding("updates.none_pending", evidence: Self.packages(pending: [held], fetchedDaysAgo: 1))
        #expect(pass.status == .pass)
        #expect(pass.summary.contains("openssl 2 (30%)"))
        var inPhase = held
        inPhase.phased = false
        #expect(try Self.finding("updates.none_pending", evidence: Self.packages(pending: [inPhase], fetchedDaysAgo: 1)).status == .fail)
        // A report of an agent before phasing was read has no `phased`: the update is pending.
        let old = try JSONDecoder().decode(
            PendingUpdate.self, from: Data(#"{"name":"a","architecture":"amd64","installed":"1","candidate":"2","security":false}"#.utf8))
        #expect(old.phased == false && old.phasedUpdatePercentage == nil)
    }

    @Test func updates() throws {
        #expect(try Self.finding("updates.none_pending", evidence: Self.packages(pending: [], fetchedDaysAgo: 1)).status == .pass)
        let fail = try Self.finding("updates.none_pending", evidence: Self.packages(pending: [Self.update], fetchedDaysAgo: 1))
        #expect(fail.status == .fail)
        #expect(fail.summary.contains("openssl 1 → 2"))
        // A stale index cannot prove there is nothing to install.
        let stale = try Self.finding("updates.none_pending", evidence: Self.packages(pending: [], fetchedDaysAgo: 8))
        #expect(stale.status == .unknown)
        #expect(stale.summary.contains("8 days"))
        #expect(
            try Self.finding(
                "updates.none_pending", with: "{max_index_age_days: 10}",
                evidence: Self.packages(pending: [], fetchedDaysAgo: 8)
            ).status == .pass)
        // ... but what it does show pending is a real failure.
        #expect(try Self.finding("updates.none_pending", evidence: Self.packages(pending: [Self.update], fetchedDaysAgo: 30)).status == .fail)
        #expect(try Self.finding("updates.none_pending", evidence: Self.packages(pending: nil, fetchedDaysAgo: nil)).status == .unknown)
        #expect(try Self.finding("updates.none_pending", evidence: Self.packages(pending: [], fetchedDaysAgo: 1, error: "x.xz")).status == .unknown)
        var nonSecurity = Self.update
        nonSecurity.security = false
        #expect(
            try Self.finding(
                "updates.none_pending", with: "{security_only: true}",
                evidence: Self.packages(pending: [nonSecurity], fetchedDaysAgo: 1)
            ).status == .pass)
    }

    @Test func attestationsExpire() throws {
        let recent = Attestation(requirement: "r", profile: "p", note: "changed", recordedAt: Self.now.addingTimeInterval(-10 * 86400))
        let old = Attestation(requirement: "r", profile: "p", note: nil, recordedAt: Self.now.addingTimeInterval(-100 * 86400))
        let future = Attestation(requirement: "r", profile: "p", note: nil, recordedAt: Self.now.addingTimeInterval(86400))
        #expect(try Self.finding("attestation", evidence: Evidence()).status == .unknown)
        #expect(try Self.finding("attestation", with: "{valid_days: 90}", evidence: Evidence(), attestations: [recent]).status == .attested)
        #expect(try Self.finding("attestation", with: "{valid_days: 90}", evidence: Evidence(), attestations: [old]).status == .unknown)
        #expect(try Self.finding("attestation", evidence: Evidence(), attestations: [old]).status == .attested)
        #expect(try Self.finding("attestation", evidence: Evidence(), attestations: [future]).status == .unknown)
    }

    @Test func claimDeadlineIsNotApplicableToAScanAndCountsToTheNotification() throws {
        let profile = try ProfileLoader.parse(
            """
            id: p
            name: {ja: "テスト", en: "Test"}
            source: {document: "x.txt", as_of: "2026-11-24"}
            claim:
              counting: {counts: notification, from: transfer, days: 30, first_day: not_counted, text: "発生日後30日を超過"}
            requirements:
              - {id: r, clause: "1", consequence: exclusion, title: {ja: "期限", en: "Deadline"}, check: claim.deadline}
            """, path: "p.yaml")
        func status(_ claim: EvaluationContext.Claim?) -> FindingStatus {
            PolicyEngine.evaluate(profile, evidence: Evidence(), context: EvaluationContext(collectedAt: Self.now, claim: claim))[0].status
        }
        #expect(status(nil) == .notApplicable)
        let transfer = Day("2026-11-24")!
        let zone = TimeZone(identifier: "Asia/Tokyo")!
        // 23:30 in Tokyo on the 24th is still the 24th there (14:30 UTC): day 30 is 12-24.
        let late = transfer.start(in: zone).addingTimeInterval(23.5 * 3600)
        #expect(status(.init(transfer: late, transferIsDay: false, notified: transfer.adding(days: 30))) == .pass)
        #expect(status(.init(transfer: late, transferIsDay: false, notified: transfer.adding(days: 31))) == .fail)
        #expect(status(.init(transfer: late, transferIsDay: false, notified: nil)) == .unknown)
    }

    /// Days are the profile's (Asia/Tokyo by default): 01:00 in Tokyo on 07-01 is still 06-30 in UTC.
    @Test func endOfSupportIsJudgedOnTheDayInTheProfilesTimeZone() throws {
        let profile = try Self.profile("os.supported")
        let morning = try #require(ISO8601DateFormatter().date(from: "2026-06-30T16:00:00Z"))
        func status(_ eol: String) -> FindingStatus {
            PolicyEngine.evaluate(profile, evidence: Self.os(eol: eol), context: EvaluationContext(collectedAt: morning))[0].status
        }
        #expect(status("2026-06-30") == .fail, "the day after its last supported day, in Tokyo")
        #expect(status("2026-07-01") == .pass)
    }

    /// An attestation valid 7 days lasts 7×24 hours from when it was recorded, not "7 days rounded down".
    @Test func attestationValidityIsExactHours() throws {
        let profile = try Self.profile("attestation", with: "{valid_days: 7}")
        let recorded = try #require(ISO8601DateFormatter().date(from: "2026-11-01T12:00:00Z"))
        let attestation = Attestation(requirement: "r", profile: "p", note: nil, recordedAt: recorded)
        func status(after hours: Double) -> FindingStatus {
            PolicyEngine.evaluate(
                profile, evidence: Evidence(),
                context: EvaluationContext(collectedAt: recorded.addingTimeInterval(hours * 3600), attestations: [attestation]))[0].status
        }
        #expect(status(after: 7 * 24) == .attested)
        #expect(status(after: 7 * 24 + 1) == .unknown, "7 days and an hour is past 7 days")
        #expect(status(after: 7 * 24 + 23) == .unknown)
    }

    /// The recommended environment is data in the profile; without it the check is unknown and says
    /// where to set it, never asking anyone to attest it.
    @Test func recommendedEnvironmentComparesWithTheBanksList() throws {
        var evidence = Self.os(eol: "2028-06-30")
        evidence.browsers = [
            BrowserEvidence(
                name: "firefox-esr", version: "140.4.0esr", source: "dpkg", candidate: nil, eol: nil,
                supported: true, catalogAsOf: nil)
        ]
        let unlisted = try Self.finding("environment.recommended", evidence: evidence)
        #expect(unlisted.status == .unknown)
        #expect(unlisted.remedy?.contains("with: {os:") == true && unlisted.remedy?.contains("attest") == false)
        let windowsOnly = try Self.finding(
            "environment.recommended", with: "{os: [windows 11, macos], browsers: [microsoft-edge], as_of: \"2026-04-01\"}",
            evidence: evidence)
        #expect(windowsOnly.status == .fail)
        #expect(windowsOnly.summary.contains("not in the bank's recommended environment"))
        #expect(try Self.finding("environment.recommended", with: "{os: [debian 12], browsers: [firefox-esr]}", evidence: evidence).status == .pass)
        #expect(try Self.finding("environment.recommended", with: "{os: [debian], browsers: [google-chrome]}", evidence: evidence).status == .fail)
        #expect(try Self.finding("tool.unavailable_on_linux", with: "{tool: PhishWall}", evidence: evidence).status == .fail)
    }

    /// ClamAV evidence whose signatures were updated each of `ages` seconds before the scan (negative:
    /// after it; nil: the date could not be read).
    static func signatures(_ ages: [TimeInterval?]) -> Evidence {
        var evidence = Evidence()
        evidence.securitySoftware = ages.enumerated().map { index, age in
            SecuritySoftwareEvidence(
                product: "av\(index)", installed: true, running: true,
                signaturesUpdatedAt: age.map { now.addingTimeInterval(-$0) }, commercial: false)
        }
        return evidence
    }

    @Test(
        arguments: [
            ([7 * 86400], "pass", "signatures updated 2026-11-17"),
            ([7 * 86400 + 60], "fail", "7 days old"),
            ([-60], "unknown", "dated 2026-11-24T12:01:00Z, in the future"),
            ([8 * 86400, -3600], "unknown", "dated 2026-11-24T13:00:00Z, in the future"),
            ([-3600, 3600], "pass", "av1 signatures updated 2026-11-24"),
            ([nil], "unknown", "cannot be read")
        ] as [([TimeInterval?], String, String)])
    func signaturesAreFreshForNTimes24HoursAndNeverFromTheFuture(_ row: ([TimeInterval?], String, String)) throws {
        let finding = try Self.finding("security_software.signatures_fresh", with: "{max_age_days: 7}", evidence: Self.signatures(row.0))
        #expect(finding.status.rawValue == row.1)
        #expect(finding.summary.contains(row.2), "\(finding.summary)")
    }

    @Test func savedLoginsMatchBankDomainsOnly() throws {
        var evidence = Evidence()
        evidence.credentials = CredentialsEvidence(
            savedLogins: [
                .init(browser: "firefox", profilePath: "/home/a/.mozilla/firefox/x", origin: "https://shop.example.com")
            ], passwordNotes: [])
        #expect(try Self.finding("credentials.no_saved_bank_logins", with: "{domains: [bank.example.jp]}", evidence: evidence).status == .pass)
        evidence.credentials?.savedLogins.append(
            .init(
                browser: "chromium", profilePath: "/home/a/.config/chromium/Default",
                origin: "https://www.ib.bank.example.jp:443/login"))
        let fail = try Self.finding("credentials.no_saved_bank_logins", with: "{domains: [bank.example.jp]}", evidence: evidence)
        #expect(fail.status == .fail)
        #expect(fail.summary.contains("chromium"))
    }

    @Test func anUnreadableBrowserCertificateStoreIsNeverAPass() throws {
        var evidence = Evidence()
        evidence.integrity = IntegrityEvidence(
            checked: 1, modified: [], missing: [], unownedExecutables: [], hostsOverrides: [],
            extraCaCertificates: [], ldSoPreload: [])
        #expect(try Self.finding("integrity.no_interception", evidence: evidence).status == .pass)
        evidence.integrity?.unreadableCertificateStores = [.init(path: "/home/a/.pki/nssdb/cert9.db", reason: "Permission denied")]
        let unknown = try Self.finding("integrity.no_interception", evidence: evidence)
        #expect(unknown.status == .unknown)
        #expect(unknown.summary.contains("/home/a/.pki/nssdb/cert9.db (Permission denied)"))
        // What could be read still fails on its own.
        evidence.integrity?.extraCaCertificates = [.init(path: "/home/a/.pki/nssdb/cert9.db", subject: "CN=Evil", sha256: "00")]
        #expect(try Self.finding("integrity.no_interception", evidence: evidence).status == .fail)
    }

    /// The remedy names what was found, and nothing else.
    @Test(arguments: [
        ([false, false, true], "Remove the added certificate authorities unless", "追加された認証局を削除"),
        ([true, false, false], "Remove the /etc/ld.so.preload entries unless", "/etc/ld.so.preload の設定を削除"),
        (
            [true, true, true], "Remove the /etc/ld.so.preload entries, the hosts overrides and the added certificate authorities unless",
            "/etc/ld.so.preload の設定・hosts の上書き・追加された認証局を削除"
        )
    ])
    func theInterceptionRemedyNamesWhatWasFound(_ row: ([Bool], String, String)) throws {
        var evidence = Evidence()
        evidence.integrity = IntegrityEvidence(
            checked: 1, modified: [], missing: [], unownedExecutables: [],
            hostsOverrides: row.0[1] ? [.init(name: "bank.example.jp", address: "10.0.0.1")] : [],
            extraCaCertificates: row.0[2] ? [.init(path: "/usr/local/share/ca-certificates/x.crt", subject: "CN=X", sha256: "00")] : [],
            ldSoPreload: row.0[0] ? ["/usr/lib/libhook.so"] : [])
        let finding = try Self.finding("integrity.no_interception", evidence: evidence)
        #expect(finding.status == .fail)
        #expect(finding.remedy?.hasPrefix(row.1) == true, "\(finding.remedy ?? "")")
        #expect(finding.remedy(in: .ja)?.contains(row.2) == true, "\(finding.remedy(in: .ja) ?? "")")
    }
}

/// A packaged browser at the newest build its source offers, a line or two behind the vendor (as
/// Debian's chromium trails Google's by days), is supported: "updated" and "supported" agree. Far
/// behind, from a stale index, with a newer candidate, or installed outside a package, it is not.
@Suite struct BrowserSourceTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var source = "dpkg:chromium"
        var candidate: String? = "156.0.8078.114-1~deb12u1"
        var linesPast: Int? = 1
        var indexAgeDays = 1.0
        var supported: FindingStatus
        var updated: FindingStatus
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "Debian's newest chromium, one line behind", supported: .pass, updated: .pass),
        Row(name: "two lines behind", linesPast: 2, supported: .pass, updated: .pass),
        Row(name: "three lines behind: the source stopped following", linesPast: 3, supported: .fail, updated: .pass),
        Row(name: "a newer build offered", candidate: "157.0.1-1~deb12u1", supported: .fail, updated: .fail),
        Row(name: "the index is 30 days old", indexAgeDays: 30, supported: .fail, updated: .unknown),
        Row(name: "a snap, not a package", source: "snap:chromium", candidate: nil, supported: .fail, updated: .unknown)
    ]

    @Test(arguments: rows)
    func supportedAndUpdatedAgree(_ row: Row) throws {
        var evidence = Evidence()
        evidence.browsers = [
            BrowserEvidence(
                name: "chromium", version: "156.0.8078.114-1~deb12u1", source: row.source,
                candidate: row.candidate, eol: nil, supported: false, catalogAsOf: Day("2026-11-24"),
                linesPastSupport: row.linesPast)
        ]
        evidence.packages = PackagesEvidence(
            manager: "dpkg", installed: 900,
            indexUpdatedAt: EvaluatorTests.now.addingTimeInterval(-row.indexAgeDays * 86400),
            pendingUpdates: [], indexError: nil, indexLists: 4)
        let supported = try EvaluatorTests.finding("browser.supported", evidence: evidence)
        let updated = try EvaluatorTests.finding("browser.updated", evidence: evidence)
        #expect(supported.status == row.supported, "\(supported.summary)")
        #expect(updated.status == row.updated, "\(updated.summary)")
        if row.supported == .pass { #expect(supported.summary.contains("newest build their package source offers")) }
    }
}
