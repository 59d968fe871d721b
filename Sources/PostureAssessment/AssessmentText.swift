import Foundation
import PostureEvidence
package import PostureModel
import PosturePolicy

/// An assessment for a person reading a terminal or a ticket: the outcome first, then each
/// requirement with its verdict at the incident and how it changed over the window.
package struct AssessmentText {
    package var assessment: Assessment
    package var language: Language

    package init(assessment: Assessment, language: Language) {
        self.assessment = assessment
        self.language = language
    }

    /// `2026-11-09 18:00` in the profile's time zone.
    static func local(_ date: Date, _ timezone: String) -> String { AssessmentTime.local(date, timezone) }

    /// Per transfer: its verdict, the report it is judged from, and the rule's period with its dates.
    static func transferLines(_ a: Assessment, language: Language) -> [String] {
        let ja = language == .ja
        let zone = a.profile.timezone
        return a.transfers.map { transfer in
            var line = (ja ? "取引 " : "transfer ") + "\(transfer.incident): \(Labels.outcome(transfer.verdict, language: language))"
            if let last = transfer.lastReportBefore {
                line +=
                    ja
                    ? "(直前のレポート \(local(last.collectedAt, zone)), sequence \(last.sequence))"
                    : " (last report before it \(local(last.collectedAt, zone)), sequence \(last.sequence))"
            }
            if let cover = transfer.cover {
                var dates: [String] = []
                if let day = cover.notifyBy { dates.append((ja ? "通知期限 " : "notify by ") + day.description) }
                if let day = cover.coveredFrom { dates.append((ja ? "補償対象 " : "covered from ") + day.description) }
                if let end = cover.coveredUntil { dates.append((ja ? "締切 " : "until ") + AssessmentTime.cutOff(end, zone)) }
                if let start = cover.coverStarts { dates.append((ja ? "補償開始 " : "cover starts ") + local(start, zone)) }
                line += "\n    " + (ja ? "請求期間: " : "claim period: ") + "\(Labels.status(cover.status, check: "claim.deadline", language: language).text)"
                line += dates.isEmpty ? "" : " [\(dates.joined(separator: ", "))]"
                line += " — " + cover.summary.text(for: language)
            }
            return line
        }
    }

    /// The text, each line escaped (evidence names files, hosts and reasons its sender chose).
    package func render() -> String { ControlCharacters.escapedLines(unescaped()) }

    func unescaped() -> String {
        let a = assessment
        let ja = language == .ja
        let zone = a.profile.timezone
        func at(_ date: Date) -> String { Self.local(date, zone) }
        var out = ""
        out += (ja ? "請求の判定: " : "Claim assessment: ") + "\(a.profile.name.text(for: language)) (\(a.profile.id))\n"
        out += (ja ? "端末の鍵: " : "device key: ") + a.verification.keyId + "\n"
        if !a.verification.keyPinned {
            out += (ja ? "注意: 鍵が固定されていません(" : "WARNING: the key is not pinned (") + a.keySource + ")\n"
        }
        out += (ja ? "被害発生: " : "incident: ") + a.claim.incidents.joined(separator: ", ") + " (\(zone))"
        out += (ja ? "  銀行への通知日: " : "  bank notified: ") + (a.claim.notifiedDay?.description ?? (ja ? "未指定(期限は判定不能)" : "not given (deadline unknown)")) + "\n"
        out += (ja ? "請求期間の規定: " : "claim period rule: ") + (a.profile.counting?.describe(in: language) ?? (ja ? "定めなし" : "none stated by the rule")) + "\n"
        if let start = a.profile.coverStarts {
            out += (ja ? "補償開始: " : "cover starts: ") + "\(at(start)) (\(a.profile.coverStartsText ?? ""))\n"
        }
        out += (ja ? "対象期間: " : "window: ") + "\(at(a.claim.windowFrom)) → \(at(a.claim.windowTo))\n"
        if a.verification.ok {
            out +=
                (ja ? "証跡: 検証済み " : "evidence: verified, ") + "\(a.verification.envelopes) "
                + (ja ? "件の署名付きレポート、" : "signed report(s), ") + "\(a.verification.attestations) "
                + (ja ? "件の申告; 期間内 " : "attestation(s); ") + "\(a.reports.count)" + (ja ? " 件\n" : " in the window\n")
        } else {
            out += (ja ? "証跡の検証に失敗しました:\n" : "evidence FAILED verification:\n")
            for problem in a.verification.problems { out += "  \(ControlCharacters.escaped(problem))\n" }
        }
        if let log = a.verification.log {
            out += ControlCharacters.escaped(log.summary(in: language)) + "\n"
            for problem in log.problems { out += "  \(ControlCharacters.escaped(problem))\n" }
        }
        if let last = a.lastReportBeforeIncident {
            let hours = Int(a.claim.incidentStart.timeIntervalSince(last.collectedAt) / 3600)
            out +=
                (ja ? "発生前の最後のレポート: " : "last report before the incident: ")
                + "\(at(last.collectedAt)) (\(hours)h), sequence \(last.sequence), sha256 \(last.sha256.prefix(16))…\n"
        }
        for gap in a.gaps {
            let what =
                gap.kind == .chain
                ? (ja ? "チェーンの欠落 \(gap.missing ?? 0) 件" : "chain gap, \(gap.missing ?? 0) report(s) missing")
                : (ja ? "レポートのない期間" : "no reports")
            out +=
                (ja ? "欠落: " : "gap: ") + "\(what), \(at(gap.from)) → \(at(gap.to)) (sequence \(gap.afterSequence)–\(gap.beforeSequence))"
                + (gap.spansIncident ? (ja ? " 【発生時刻をまたぐ】" : " [spans the incident]") : "") + "\n"
        }
        if a.transfers.count > 1 || a.transfers.first?.cover != nil {
            for line in Self.transferLines(a, language: language) { out += line + "\n" }
        }
        out += "\n" + (ja ? "判定: " : "OUTCOME: ") + Labels.outcome(a.outcome.verdict, language: language)
        if !a.outcome.clauses.isEmpty { out += (ja ? "(条項 " : " (clauses ") + a.clauses(in: language).joined(separator: ", ") + ")" }
        out += "\n"
        for reason in a.reasons(in: language) { out += "  - \(ControlCharacters.escaped(reason))\n" }
        if !a.outcome.unassessed.isEmpty {
            out += (ja ? "  判定できない要件: " : "  not assessable: ") + a.outcome.unassessed.joined(separator: ", ") + "\n"
        }
        for requirement in a.requirements {
            let status = requirement.atIncident?.status
            let label = status.map { Labels.status($0, check: requirement.check, language: language).text } ?? (ja ? "証跡なし" : "no evidence")
            out += "\n  \(label.padding(toLength: 9, withPad: " ", startingAt: 0))\(requirement.title.text(for: language))"
            out += "  [\(ja ? "条項" : "clause") \(requirement.clause(in: language)), \(Labels.consequence(requirement.consequence, language: language))]\n"
            if let finding = requirement.atIncident {
                out += "           " + ControlCharacters.escaped(finding.summary(in: language)) + "\n"
            }
            if requirement.timeline.count > 1 || requirement.timeline.first.map({ $0.status != status }) == true {
                let steps = requirement.timeline.map { segment in
                    "\(Labels.status(segment.status, check: requirement.check, language: language).text) \(at(segment.from))–\(at(segment.to))"
                }
                out += "           " + (ja ? "推移: " : "timeline: ") + steps.joined(separator: " · ") + "\n"
            }
        }
        if let stronger = a.strongerMeasures {
            out +=
                "\n"
                + (ja
                    ? "規定以上の対策としてこの端末で確認できたもの(\(stronger.clause)):\n"
                    : "measures this PC shows beyond the rule's (\(stronger.clauseEn ?? stronger.clause)):\n")
            for finding in stronger.shown { out += "  + \(finding.check): \(ControlCharacters.escaped(finding.summary(in: language)))\n" }
            for finding in stronger.notShown {
                out +=
                    "  - \(finding.check) (\(Labels.status(finding.status, check: finding.check, language: language).text)): \(ControlCharacters.escaped(finding.summary(in: language)))\n"
            }
        }
        if !a.disagreements.isEmpty {
            out += "\n" + (ja ? "端末での判定と異なる項目:\n" : "judged differently on the PC:\n")
            for line in a.disagreements { out += "  \(ControlCharacters.escaped(line))\n" }
        }
        return out
    }
}
