package import Foundation
package import PostureModel

/// What a requirement is judged against besides the evidence: when, attestations, the claim.
package struct EvaluationContext: Sendable {
    /// One transfer of the claim being assessed (`posture assess`); nil for a scan.
    package struct Claim: Sendable {
        /// When the transfer happened (00:00 of its day when only the day is known).
        package var transfer: Date
        /// Only the day of the transfer is known, not its time.
        package var transferIsDay: Bool
        /// The day the bank was notified of (accepted) the claim; nil when not given.
        package var notified: Day?
        /// The bank calendar the profile's cut-off needs, when it names one and it was found.
        package var calendar: BankCalendar?
        package init(transfer: Date, transferIsDay: Bool, notified: Day?, calendar: BankCalendar? = nil) {
            self.transfer = transfer
            self.transferIsDay = transferIsDay
            self.notified = notified
            self.calendar = calendar
        }
    }

    package var collectedAt: Date
    package var attestations: [Attestation]
    package var claim: Claim?

    package init(collectedAt: Date, attestations: [Attestation] = [], claim: Claim? = nil) {
        self.collectedAt = collectedAt
        self.attestations = attestations
        self.claim = claim
    }
}

/// Evidence + profile → findings. Pure: the same code judges on the PC (`scan`) and at the bank (`assess`).
package enum PolicyEngine {
    package static func evaluate(_ profile: Profile, evidence: Evidence, context: EvaluationContext) -> [Finding] {
        profile.requirements.map { requirement in
            let verdict = Verdicts.judge(requirement, profile: profile, evidence: evidence, context: context)
                .withheld(for: requirement.check, evidence)
            let remedy =
                verdict.status == .fail || verdict.status == .unknown
                ? (requirement.remedy ?? verdict.remedy) : nil
            var summary = verdict.summary
            if verdict.status != .notApplicable, !requirement.toolDefaults.isEmpty {
                let periods = requirement.toolDefaults.sorted { $0.key < $1.key }
                summary.en += " [" + periods.map { "\($0.value) days (\($0.key)): posture's default, the rule states no period" }.joined(separator: "; ") + "]"
                summary.ja += "[" + periods.map { "\($0.value)日(\($0.key)): 規定に期間の定めがないため posture の既定値" }.joined(separator: "、") + "]"
            }
            return Finding(
                profile: profile.id, requirement: requirement.id, clause: requirement.clause,
                status: verdict.status, consequence: requirement.consequence,
                check: requirement.check.rawValue, title: requirement.title,
                summary: summary, remedy: remedy, clauseEn: requirement.clauseEn)
        }
    }
}

/// A check's verdict before it becomes a finding.
struct Verdict {
    var status: FindingStatus
    var summary: LocalizedText
    var remedy: LocalizedText?
    /// A fail concluded from what was *not* found (no antivirus among the packages seen), which
    /// stands only when the probe saw everything it looked at.
    var restsOnAbsence = false

    static func pass(_ en: String, _ ja: String) -> Verdict { Verdict(status: .pass, summary: .init(en: en, ja: ja)) }
    static func fail(_ en: String, _ ja: String, remedy: LocalizedText?) -> Verdict {
        Verdict(status: .fail, summary: .init(en: en, ja: ja), remedy: remedy)
    }
    /// A fail that concludes from something not being found (see `restsOnAbsence`).
    static func absent(_ en: String, _ ja: String, remedy: LocalizedText?) -> Verdict {
        Verdict(status: .fail, summary: .init(en: en, ja: ja), remedy: remedy, restsOnAbsence: true)
    }
    static func unknown(_ en: String, _ ja: String, remedy: LocalizedText? = nil) -> Verdict {
        Verdict(status: .unknown, summary: .init(en: en, ja: ja), remedy: remedy)
    }
    static func notCollected(_ probe: ProbeName, _ evidence: Evidence) -> Verdict {
        let reason = evidence.reasonUnavailable(probe)
        return .unknown("Not collected: \(reason)", "収集できませんでした: \(reason)")
    }

    /// This verdict, or `unknown` when it rests on evidence the probe could not see in full.
    ///
    /// A probe that saw only part of its input (a damaged package database, an unreadable
    /// directory, a walk cut short) records why in `evidence.unavailable` beside what it did see.
    /// What it found still counts (a file-sharing client that is there is there), but a pass, and
    /// a fail concluded from absence, would be a guess about the part it could not read.
    func withheld(for check: Check, _ evidence: Evidence) -> Verdict {
        guard let probe = check.probe, let reason = evidence.unavailable[probe.rawValue] else { return self }
        if status == .unknown, !summary.en.contains(reason) {
            var annotated = self
            annotated.summary = .init(
                en: "\(summary.en) (the \(probe.rawValue) evidence is incomplete: \(reason))",
                ja: "\(summary.ja)(\(probe.rawValue) の証拠が不完全です: \(reason))")
            return annotated
        }
        guard status == .pass || (status == .fail && restsOnAbsence) else { return self }
        return Verdict(
            status: .unknown,
            summary: .init(
                en: "Cannot be judged: the \(probe.rawValue) evidence is incomplete (\(reason)); what was seen: \(summary.en)",
                ja: "判定できません: \(probe.rawValue) の証拠が不完全です(\(reason))。確認できた内容: \(summary.ja)"),
            remedy: .init(
                en: "Make the unreadable input readable (or repair it), then scan again.",
                ja: "読めない入力を読めるように(または修復)して、再度スキャンしてください。"))
    }
}

/// Short lists for summaries: the first few names and how many more.
func abbreviated(_ items: [String], limit: Int = 5, ja: Bool = false) -> String {
    let shown = items.prefix(limit).joined(separator: ja ? "、" : ", ")
    guard items.count > limit else { return shown }
    return ja ? "\(shown)(他 \(items.count - limit) 件)" : "\(shown) (+\(items.count - limit) more)"
}

/// The checks' judges (one file per family under `Checks/`); `CheckRegistry` says which judges which.
enum Verdicts {
    static func judge(
        _ requirement: Requirement, profile: Profile, evidence: Evidence,
        context: EvaluationContext
    ) -> Verdict {
        CheckRegistry.definition(requirement.check).judge(
            CheckInput(
                requirement: requirement, profile: profile, evidence: evidence, context: context,
                today: Day(context.collectedAt, in: profile.claim.zone)))
    }
}
