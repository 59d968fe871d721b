import Foundation
import PostureModel

/// An assessment for a person reading a terminal or a ticket: the outcome first, then each
/// requirement with its verdict at the incident and how it changed over the window.
public struct AssessmentText {
    public var assessment: Assessment
    public var language: Language

    public init(assessment: Assessment, language: Language) {
        self.assessment = assessment
        self.language = language
    }

    /// `2026-11-09 18:00` in the profile's time zone.
    static func local(_ date: Date, _ timezone: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: timezone) ?? TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }

    public func render() -> String {
        let a = assessment
        let ja = language == .ja
        let zone = a.profile.timezone
        func at(_ date: Date) -> String { Self.local(date, zone) }
        var out = ""
        out += (ja ? "請求の判定: " : "Claim assessment: ") + "\(a.profile.name.text(for: language)) (\(a.profile.id))\n"
        out += (ja ? "端末の鍵: " : "device key: ") + a.verification.keyId + "\n"
        out += (ja ? "被害発生: " : "incident: ") + "\(a.claim.incident) (\(ja ? "基準時刻" : "from") \(at(a.claim.incidentStart)) \(zone))"
        if let notified = a.claim.notified { out += (ja ? "  通知: " : "  notified: ") + at(notified) }
        out += (ja ? "  届出: " : "  filed: ") + at(a.claim.filed) + "\n"
        out += (ja ? "対象期間: " : "window: ") + "\(at(a.claim.windowFrom)) → \(at(a.claim.windowTo))\n"
        if a.verification.ok {
            out += (ja ? "証跡: 検証済み " : "evidence: verified, ") + "\(a.verification.envelopes) "
                + (ja ? "件の署名付きレポート、" : "signed report(s), ") + "\(a.verification.attestations) "
                + (ja ? "件の申告; 期間内 " : "attestation(s); ") + "\(a.reports.count)" + (ja ? " 件\n" : " in the window\n")
        } else {
            out += (ja ? "証跡の検証に失敗しました:\n" : "evidence FAILED verification:\n")
            for problem in a.verification.problems { out += "  \(problem)\n" }
        }
        if let last = a.lastReportBeforeIncident {
            let hours = Int(a.claim.incidentStart.timeIntervalSince(last.collectedAt) / 3600)
            out += (ja ? "発生前の最後のレポート: " : "last report before the incident: ")
                + "\(at(last.collectedAt)) (\(hours)h), sequence \(last.sequence), sha256 \(last.sha256.prefix(16))…\n"
        }
        for gap in a.gaps {
            let what = gap.kind == .chain ? (ja ? "チェーンの欠落 \(gap.missing ?? 0) 件" : "chain gap, \(gap.missing ?? 0) report(s) missing")
                                          : (ja ? "レポートのない期間" : "no reports")
            out += (ja ? "欠落: " : "gap: ") + "\(what), \(at(gap.from)) → \(at(gap.to)) (sequence \(gap.afterSequence)–\(gap.beforeSequence))"
                + (gap.spansIncident ? (ja ? " 【発生時刻をまたぐ】" : " [spans the incident]") : "") + "\n"
        }
        out += "\n" + (ja ? "判定: " : "OUTCOME: ") + Labels.outcome(a.outcome.verdict, language: language)
        if !a.outcome.clauses.isEmpty { out += (ja ? "(条項 " : " (clauses ") + a.outcome.clauses.joined(separator: ", ") + ")" }
        out += "\n"
        for reason in a.reasons(in: language) { out += "  - \(reason)\n" }
        if !a.outcome.unassessed.isEmpty {
            out += (ja ? "  判定できない要件: " : "  not assessable: ") + a.outcome.unassessed.joined(separator: ", ") + "\n"
        }
        for requirement in a.requirements {
            let status = requirement.atIncident?.status
            let label = status.map { Labels.status($0, check: requirement.check, language: language).text } ?? (ja ? "証跡なし" : "no evidence")
            out += "\n  \(label.padding(toLength: 9, withPad: " ", startingAt: 0))\(requirement.title.text(for: language))"
            out += "  [\(ja ? "条項" : "clause") \(requirement.clause), \(Labels.consequence(requirement.consequence, language: language))]\n"
            if let finding = requirement.atIncident {
                out += "           " + finding.summary(in: language) + "\n"
            }
            if requirement.timeline.count > 1 || requirement.timeline.first.map({ $0.status != status }) == true {
                let steps = requirement.timeline.map { segment in
                    "\(Labels.status(segment.status, check: requirement.check, language: language).text) \(at(segment.from))–\(at(segment.to))"
                }
                out += "           " + (ja ? "推移: " : "timeline: ") + steps.joined(separator: " · ") + "\n"
            }
        }
        if !a.disagreements.isEmpty {
            out += "\n" + (ja ? "端末での判定と異なる項目:\n" : "judged differently on the PC:\n")
            for line in a.disagreements { out += "  \(line)\n" }
        }
        return out
    }
}
