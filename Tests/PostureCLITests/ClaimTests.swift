import Foundation
import PostureModel
import PostureTestSupport
import Testing

/// `attest`, `claim`, `assess` and the HTML report, through the built binary.
@Suite struct ClaimCommandTests {
    static let profile = """
        id: claim-bank
        name: {ja: "請求テスト銀行", en: "Claim Test Bank"}
        source: {document: "002_x.txt", as_of: "2026-11-24"}
        claim: {window_days: 30, counted_from: occurrence, evidence_max_age: 72h, timezone: Asia/Tokyo}
        requirements:
          - id: os-supported
            clause: "2(1)D"
            consequence: exclusion
            title: {ja: "OSのサポート", en: "OS supported"}
            check: os.supported
          - id: software-updated
            clause: "2(1)A"
            consequence: reduction
            title: {ja: "ソフトウェア更新", en: "Software updated"}
            check: updates.none_pending
          - id: password-rotated
            clause: "2(1)F"
            consequence: exclusion
            title: {ja: "パスワードの定期変更", en: "Bank password changed regularly"}
            check: attestation
            with: {valid_days: 90}
          - id: claim-deadline
            clause: "3"
            consequence: exclusion
            title: {ja: "30日以内の届出", en: "Claim within 30 days"}
            check: claim.deadline
        """

    /// A PC with two signed reports and an attestation, and the incident the day after tomorrow... in Tokyo.
    static func signedHistory() throws -> (root: TemporaryRoot, state: String, profile: String, incident: String) {
        let root = try CLITests.debianRoot(pending: false)
        let profile = try root.write("profiles/claim-bank.yaml", Self.profile).path
        let state = root.url("state").path
        let attest = try CLITests.posture([
            "attest", "password-rotated", "--profile", profile, "--state-dir", state,
            "--by", "Sato (accounting)", "--note", "changed at the branch"
        ])
        #expect(attest.status == 0, "\(attest.stderr)")
        #expect(attest.stdout.contains("valid until"))
        for _ in 0..<2 {
            let scan = try CLITests.posture([
                "scan", "--sign", "--root", root.path, "--profile", profile, "--state-dir", state,
                "--output", root.url("last.json").path
            ])
            #expect(scan.status == 0, "\(scan.stderr)")
        }
        let tomorrow = Day(Date().addingTimeInterval(86400), in: TimeZone(identifier: "Asia/Tokyo")!)
        return (root, state, profile, tomorrow.description)
    }

    @Test func attestationsShowInLaterReportsAndOnlyForAttestableRequirements() throws {
        let (root, state, profile, _) = try Self.signedHistory()
        let scan = try CLITests.posture(["scan", "--root", root.path, "--profile", profile, "--state-dir", state, "--format", "json"])
        #expect(scan.status == 0, "\(scan.stderr)")
        let report = try PostureJSON.decoder().decode(Report.self, from: Data(scan.stdout.utf8))
        #expect(report.attestations.count == 1)
        #expect(report.attestations.first?.by == "Sato (accounting)")
        #expect(report.findings.first { $0.requirement == "password-rotated" }?.status == .attested)
        let wrong = try CLITests.posture(["attest", "os-supported", "--profile", profile, "--state-dir", state])
        #expect(wrong.status == 64)
        #expect(wrong.stderr.contains("checked by a probe"))
        let unknown = try CLITests.posture(["attest", "no-such", "--profile", profile, "--state-dir", state])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("attestable: password-rotated"))
    }

    @Test func claimBundleVerifiesAndAssessesLikeTheScan() throws {
        let (root, state, profile, incident) = try Self.signedHistory()
        let bundle = root.url("claim.json").path
        let claim = try CLITests.posture(["claim", "--profile", profile, "--incident", incident, "--state-dir", state, "--output", bundle])
        #expect(claim.status == 0, "\(claim.stderr)")
        #expect(claim.stderr.contains("2 signed report(s)"))
        let verify = try CLITests.posture(["verify", bundle])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("attestation 1: ok"))

        let assess = try CLITests.posture([
            "assess", bundle, "--profile", profile, "--incident", incident, "--notified", incident,
            "--state-dir", state, "--format", "json"
        ])
        #expect(assess.status == 0, "\(assess.stdout)\(assess.stderr)")
        let assessment = try #require(try JSONSerialization.jsonObject(with: Data(assess.stdout.utf8)) as? [String: Any])
        #expect((assessment["outcome"] as? [String: Any])?["verdict"] as? String == "no_exclusion_or_reduction_found")
        // The claim and assessment contracts as fields (Tests/Support/contracts): added on purpose, never lost.
        let claimJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bundle)))
        for (json, sample) in [(claimJSON, "claim-v1.paths"), (assessment as Any, "assessment-v1.paths")] {
            let (added, lost) = try ContractPaths.compare(json, with: sample)
            #expect(added == [], "\(sample): fields not in the contract sample: add them on purpose")
            #expect(lost == [], "\(sample): fields of the contract that were lost")
        }
        // The bank's verdicts equal the PC's own, read from the last signed report.
        let envelope = try JSONSerialization.jsonObject(with: Data(contentsOf: root.url("last.json"))) as? [String: Any]
        let payloadText = try #require(envelope?["payload"] as? String)
        let payload = try #require(Data(base64Encoded: payloadText))
        let report = try PostureJSON.decoder().decode(Report.self, from: payload)
        let requirements = try #require(assessment["requirements"] as? [[String: Any]])
        for requirement in requirements where requirement["check"] as? String != "claim.deadline" {
            let atIncident = try #require(requirement["at_incident"] as? [String: Any])
            let pc = try #require(report.findings.first { $0.requirement == requirement["requirement"] as? String })
            #expect(atIncident["status"] as? String == pc.status.rawValue)
            #expect(atIncident["summary"] as? String == pc.summary)
        }

        let text = try CLITests.posture(["assess", bundle, "--profile", profile, "--incident", incident, "--notified", incident, "--state-dir", state])
        #expect(text.stdout.contains("OUTCOME: No exclusion or reduction found"))
        #expect(text.stdout.contains("Attested on"))
        #expect(text.stdout.contains("notify by \(Day(incident)!.adding(days: 30))"), "the computed last day is shown")
        let japanese = try CLITests.posture([
            "assess", bundle, "--profile", profile, "--incident", incident, "--notified", incident,
            "--state-dir", state, "--lang", "ja"
        ])
        #expect(japanese.stdout.contains("免責・減額事由は見つかりませんでした"))
    }

    @Test func assessExitStatusesFollowTheOutcome() throws {
        let (root, state, profile, incident) = try Self.signedHistory()
        let bundle = root.url("claim.json").path
        _ = try CLITests.posture(["claim", "--profile", profile, "--incident", incident, "--state-dir", state, "--output", bundle])
        // The bank notified on day 31 after the incident: the deadline is missed, on whatever day this runs.
        let late = Day(incident)!.adding(days: 31).description
        let missed = try CLITests.posture(["assess", bundle, "--profile", profile, "--incident", incident, "--notified", late, "--state-dir", state])
        #expect(missed.status == 1, "\(missed.stdout)")
        #expect(missed.stdout.contains("Notified \(late), 1 day(s) after the last day \(Day(incident)!.adding(days: 30))"))
        // Without --notified the deadline is unknown: exit 3, never judged on today.
        let unnotified = try CLITests.posture(["assess", bundle, "--profile", profile, "--incident", incident, "--state-dir", state])
        #expect(unnotified.status == 3, "\(unnotified.stdout)")
        #expect(unnotified.stdout.contains("the notification day was not given (--notified)"))
        // --filed is gone: a usage error that names --notified.
        let filed = try CLITests.posture(["assess", bundle, "--profile", profile, "--incident", incident, "--filed", late, "--state-dir", state])
        #expect(filed.status == 64)
        #expect(filed.stderr.contains("--notified"), "\(filed.stderr)")
        // No report from before an incident long ago.
        let early = try CLITests.posture([
            "assess", bundle, "--profile", profile, "--incident", "2026-01-05", "--notified", "2026-01-06",
            "--state-dir", state
        ])
        #expect(early.status == 3, "\(early.stdout)")
        #expect(early.stdout.contains("no signed report from before the incident"))
        #expect(try CLITests.posture(["assess", bundle, "--profile", profile, "--incident", "last tuesday", "--state-dir", state]).status == 64)

        // The bundle's own key, with nothing pinned: at best not assessable, and it says why.
        let empty = root.url("no-key-here").path
        let unpinned = try CLITests.posture([
            "assess", bundle, "--profile", profile, "--incident", incident, "--notified", incident,
            "--state-dir", empty, "--format", "json"
        ])
        #expect(unpinned.status == 3, "\(unpinned.stdout)")
        let unpinnedJSON = try #require(try JSONSerialization.jsonObject(with: Data(unpinned.stdout.utf8)) as? [String: Any])
        #expect((unpinnedJSON["outcome"] as? [String: Any])?["verdict"] as? String == "not_assessable")
        #expect(((unpinnedJSON["outcome"] as? [String: Any])?["reasons"] as? [String])?.contains { $0.contains("not pinned") } == true)
        #expect((unpinnedJSON["verification"] as? [String: Any])?["key_pinned"] as? Bool == false)

        // created_at is unsigned and informational: editing it changes nothing but the assessment time.
        func judged(_ file: String) throws -> Data {
            let run = try CLITests.posture([
                "assess", file, "--profile", profile, "--incident", incident, "--notified", incident,
                "--state-dir", state, "--format", "json"
            ])
            var object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            object["assessed_at"] = nil
            return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        }
        let original = try String(contentsOfFile: bundle, encoding: .utf8)
        let editedText = original.replacingOccurrences(
            of: #""created_at" : "[^"]*""#, with: #""created_at" : "2099-01-01T00:00:00Z""#,
            options: .regularExpression)
        #expect(editedText != original)
        let edited = try root.write("edited.json", editedText).path
        #expect(try judged(edited) == judged(bundle))
        // The bundle altered on its way to the bank.
        var text = try String(contentsOfFile: bundle, encoding: .utf8)
        let marker = "\\\"payload\\\":\\\""
        let range = try #require(text.range(of: marker))
        text.replaceSubrange(range.upperBound..<text.index(range.upperBound, offsetBy: 4), with: "AAAA")
        try text.write(toFile: bundle, atomically: true, encoding: .utf8)
        let tampered = try CLITests.posture(["assess", bundle, "--profile", profile, "--incident", incident, "--state-dir", state])
        #expect(tampered.status == 65)
        #expect(tampered.stderr.contains("does not match its manifest hash"))
        #expect(try CLITests.posture(["verify", bundle]).status == 65)
        #expect(
            try CLITests.posture([
                "assess", root.url("missing.json").path, "--profile", profile, "--incident", incident,
                "--state-dir", state
            ]).status == 66)
    }

    @Test func htmlReportsAreSelfContainedAndCarryTheEvidence() throws {
        let (root, state, profile, incident) = try Self.signedHistory()
        let bundle = root.url("claim.json").path
        _ = try CLITests.posture(["claim", "--profile", profile, "--incident", incident, "--state-dir", state, "--output", bundle])
        let html = try CLITests.posture([
            "assess", bundle, "--profile", profile, "--incident", incident, "--notified", incident,
            "--state-dir", state, "--format", "html", "--lang", "ja"
        ])
        #expect(html.status == 0)
        let page = html.stdout
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.contains("<html lang=\"ja\">"))
        #expect(page.contains("<svg"))
        #expect(page.contains("size: A4"))
        #expect(page.contains("2(1)F"))
        let keyID = try #require(try CLITests.posture(["key", "show", "--state-dir", state]).stdout.split(separator: " ").last)
        #expect(page.contains(keyID.trimmingCharacters(in: .whitespacesAndNewlines)))
        // No external assets: nothing is fetched when the file is opened.
        for external in ["<link", "<script", "src=", "url(", "@import"] { #expect(!page.contains(external), "\(external)") }
        #expect(page.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http") == false)

        let scan = try CLITests.posture(["scan", "--root", root.path, "--profile", profile, "--state-dir", state, "--format", "html"])
        #expect(scan.status == 0, "\(scan.stderr)")
        #expect(scan.stdout.contains("Claim Test Bank"))
        #expect(scan.stdout.contains("attested"))
        #expect(scan.stdout.contains(keyID.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(
            scan.stdout.contains("own check; a bank judges signed reports") && scan.stdout.contains("made from an unsigned local scan"),
            "a local scan does not claim to be signed evidence")
        #expect(!scan.stdout.contains("made from signed evidence"))
        #expect(page.contains("署名付き証跡にもとづき作成"), "an assessment is made from verified signed evidence")
    }
}
