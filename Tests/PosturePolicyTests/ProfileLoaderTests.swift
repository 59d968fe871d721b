import Foundation
import PostureModel
import PostureReference
import PostureTestSupport
import Testing

@testable import PosturePolicy

@Suite struct ProfileLoaderTests {
    static let valid = """
        id: test-bank
        name: {ja: "テスト銀行", en: "Test Bank"}
        source: {document: "001_x.txt", as_of: "2026-11-24"}
        claim: {window_days: 30, counted_from: occurrence, evidence_max_age: 72h, timezone: Asia/Tokyo}
        data: {order_delay_threshold: 5m}
        requirements:
          - id: software-updated
            clause: "2(1)A"
            consequence: exclusion
            title: {ja: "更新", en: "Updated"}
            check: updates.none_pending
            with: {max_index_age_days: 3}
          - id: os-supported
            clause: "2(1)D"
            consequence: reduction
            title: {ja: "サポート", en: "Supported"}
            check: os.supported
            with: {phase: eol}
          - id: token-custody
            clause: "2(1)C"
            consequence: exclusion
            title: {ja: "トークン", en: "Token"}
            check: attestation
            with: {valid_days: 90}
        """

    @Test func loadsAValidProfile() throws {
        let profile = try ProfileLoader.parse(Self.valid, path: "test.yaml")
        #expect(profile.id == "test-bank")
        #expect(profile.claim.evidenceMaxAge == 72 * 3600)
        #expect(profile.data["order_delay_threshold"] == "5m")
        #expect(profile.requirements.map(\.id) == ["software-updated", "os-supported", "token-custody"])
        #expect(profile.requirements[0].parameters.int("max_index_age_days") == 3)
        #expect(profile.requirements[0].parameters.values["security_only"] == .bool(false))
        #expect(profile.requirements[1].consequence == .reduction)
    }

    /// Each malformed variant: the text to replace, its replacement, the line and words the error must name.
    static let malformed: [(String, String, Int, String)] = [
        ("check: updates.none_pending", "check: updates.nonexistent", 11, "unknown check 'updates.nonexistent'"),
        ("with: {max_index_age_days: 3}", "with: {max_index_age_days: three}", 12, "whole number"),
        ("with: {max_index_age_days: 3}", "with: {max_age: 3}", 12, "unknown key 'max_age'"),
        ("with: {max_index_age_days: 3}", "with: {max_index_age_days: 0}", 12, "at least 1"),
        ("consequence: reduction", "consequence: sometimes", 15, "exclusion, reduction or condition"),
        ("  - id: os-supported", "  - id: software-updated", 13, "duplicate requirement id"),
        ("data: {order_delay_threshold: 5m}", "extra: 1", 5, "unknown key 'extra'"),
        ("    title: {ja: \"更新\", en: \"Updated\"}", "    titel: {ja: \"更新\", en: \"Updated\"}", 10, "unknown key 'titel'"),
        ("timezone: Asia/Tokyo", "timezone: Mars/Olympus", 4, "not a known time zone"),
        ("evidence_max_age: 72h", "evidence_max_age: 3 days", 4, "duration"),
        ("as_of: \"2026-11-24\"", "as_of: \"24/11/2026\"", 3, "YYYY-MM-DD"),
        ("    clause: \"2(1)A\"\n", "", 7, "needs 'clause'"),
        ("    with: {valid_days: 90}", "    with: {valid_days: 90, domains: [a]}", 24, "unknown key 'domains'"),
        ("name: {ja: \"テスト銀行\", en: \"Test Bank\"}", "name: {ja: \"テスト銀行\", en: [\"Test Bank\"", 3, "YAML syntax error")
    ]

    @Test(arguments: malformed)
    func malformedProfilesNameFileAndLine(_ row: (String, String, Int, String)) throws {
        #expect(Self.valid.contains(row.0), "fixture text missing: \(row.0)")
        let text = Self.valid.replacingOccurrences(of: row.0, with: row.1)
        do {
            _ = try ProfileLoader.parse(text, path: "bank.yaml")
            Issue.record("accepted a malformed profile: \(row.1)")
        } catch let error as LocatedError {
            #expect(error.file == "bank.yaml")
            #expect(error.line == row.2, "\(error)")
            #expect(error.message.contains(row.3), "\(error)")
            #expect(error.description.hasPrefix("bank.yaml:\(row.2): "))
        }
    }

    static let counting = """
        id: c
        name: {ja: "c", en: "c"}
        source: {document: "004_x.txt", as_of: "2026-11-24"}
        claim:
          counting:
            counts: transfer
            from: notification
            days: 30
            inclusive: true
            until: {business_days_after: 1, time: "24:00", calendar: jp-bank-holidays}
            text: "30日前以降"
        requirements:
          - id: claim-deadline
            clause: "4"
            consequence: exclusion
            title: {ja: "期限", en: "Deadline"}
            check: claim.deadline
        """

    @Test func theCountingRuleIsData() throws {
        let counting = try #require(try ProfileLoader.parse(Self.counting, path: "c.yaml").claim.counting)
        #expect(counting.counts == .transfer && counting.days == 30 && counting.inclusive)
        #expect(counting.until?.minutes == 1440 && counting.until?.businessDaysAfter == 1 && counting.until?.calendar == "jp-bank-holidays")
    }

    static let malformedCounting: [(String, String, Int, String)] = [
        ("counts: transfer", "counts: transfers", 6, "notification or transfer"),
        ("from: notification", "from: transfer", 7, "must be notification when counts is transfer"),
        ("days: 30", "days: 0", 8, "must be positive"),
        ("inclusive: true", "inclusive: true\n    first_day: counted", 10, "applies to counts: notification only"),
        ("time: \"24:00\"", "time: \"25:00\"", 10, "HH:MM"),
        ("    text: \"30日前以降\"", "    text: \"30日前以降\"\n    window: 3", 12, "unknown key 'window'"),
        ("claim:\n  counting:", "claim:\n  timezone: UTC\n  old:\n    counting:", 6, "unknown key 'old'")
    ]

    @Test(arguments: malformedCounting)
    func malformedCountingNamesFileAndLine(_ row: (String, String, Int, String)) throws {
        #expect(Self.counting.contains(row.0), "fixture text missing: \(row.0)")
        let text = Self.counting.replacingOccurrences(of: row.0, with: row.1)
        do {
            _ = try ProfileLoader.parse(text, path: "bank.yaml")
            Issue.record("accepted a malformed profile: \(row.1)")
        } catch let error as LocatedError {
            #expect(error.line == row.2, "\(error)")
            #expect(error.message.contains(row.3), "\(error)")
        }
    }

    @Test func aDeadlineRequirementNeedsTheRulesCounting() throws {
        let text = Self.counting.replacingOccurrences(of: #"(?s)claim:.*?text: "30日前以降"\n"#, with: "", options: .regularExpression)
        #expect(!text.contains("counting"))
        do {
            _ = try ProfileLoader.parse(text, path: "bank.yaml")
            Issue.record("accepted claim.deadline without claim.counting")
        } catch let error as LocatedError {
            #expect(error.line == 5, "\(error)")
            #expect(error.message.contains("states no claim.counting"), "\(error)")
        }
    }

    @Test func missingRequiredParameterIsAnError() throws {
        let text = Self.valid.replacingOccurrences(
            of: "check: attestation\n    with: {valid_days: 90}",
            with: "check: credentials.no_saved_bank_logins")
        #expect(throws: LocatedError.self) { try ProfileLoader.parse(text, path: "x.yaml") }
    }

    @Test func everyBundledProfileValidatesAndCitesItsSource() throws {
        let repository = ProfileRepository(paths: .standard())
        let profiles = try repository.loadAll()
        let ids = Set(profiles.map(\.id))
        #expect(
            ids.isSuperset(of: [
                "iwagin-business-web", "higashi-nippon-business-ib", "iyogin-internet-eb",
                "akishin-corporate-ib", "iwaicosmo-net-trading"
            ]))
        for profile in profiles {
            #expect(!profile.requirements.isEmpty)
            #expect(profile.source.document.hasSuffix(".txt"))
            #expect(profile.sha256.count == 64)
            if profile.id != "iwaicosmo-net-trading" {
                #expect(profile.requirements.contains { $0.check == .osSupported }, "\(profile.id) has no OS support requirement")
            }
        }
        let broker = try #require(profiles.first { $0.id == "iwaicosmo-net-trading" })
        #expect(broker.data["order_delay_threshold"] == "5m")
        // The broker's policy sets no requirement on the PC and no claim period: nothing of the PC's state excludes.
        #expect(broker.requirements.allSatisfy { $0.check == .attestation }, "\(broker.requirements.map(\.check))")
        #expect(broker.claim.windowDays == nil && broker.claim.counting == nil)
    }

    /// One language per run: every clause a bundled profile cites reads in English without
    /// Japanese words (a citation by Japanese headings carries its English), and in Japanese as the rule's own.
    @Test func everyBundledClauseHasAnEnglishCitation() throws {
        let japanese = { (text: String) in text.unicodeScalars.contains { (0x3040...0x30FF).contains($0.value) || (0x4E00...0x9FFF).contains($0.value) } }
        for profile in try ProfileRepository(paths: .standard()).loadAll() {
            let requirements = profile.requirements + (profile.strongerMeasures?.requirements ?? [])
            for requirement in requirements {
                #expect(!japanese(requirement.clause(in: .en)), "\(profile.id) \(requirement.id): \(requirement.clause(in: .en))")
                #expect(requirement.clause(in: .ja) == requirement.clause)
            }
            if let stronger = profile.strongerMeasures { #expect(!japanese(stronger.clauseEn ?? stronger.clause)) }
        }
        let profile = try ProfileLoader.parse(
            Self.valid.replacingOccurrences(
                of: #"clause: "2(1)A""#,
                with: #"clause: {ja: "対策 (1)", en: "Measures (1)"}"#), path: "t.yaml", sha256: "")
        #expect(profile.requirements[0].clause == "対策 (1)" && profile.requirements[0].clauseEn == "Measures (1)")
        #expect(profile.requirements[1].clause == "2(1)D" && profile.requirements[1].clauseEn == nil)
    }

    @Test func unknownIdIsALookupError() {
        #expect(throws: ProfileRepository.LookupError.self) {
            try ProfileRepository(paths: .standard()).load("no-such-bank")
        }
    }
}
