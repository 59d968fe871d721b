import Foundation
import PostureModel

extension CheckRegistry {
    /// What no probe can see: attestations, and the claim deadline judged at assessment.
    static let declarations: [CheckDefinition] = [
        CheckDefinition(.attestation, probe: nil, parameters: AttestationParameters.self) {
            Verdicts.attestation($0.requirement, $0.profile, $1, $0.context)
        },
        CheckDefinition(.claimDeadline, probe: nil) { Verdicts.claimDeadline($0.profile, $0.context) }
    ]
}

/// `attestation`: how many days a signed statement stays in force (none: until revoked).
struct AttestationParameters: CheckParameterSet {
    var validDays: Int?
    static let fields: [ParameterField<Self>] = [.field("valid_days", \.validDays, minimum: 1)]
}

extension Verdicts {
    static func attestation(
        _ requirement: Requirement, _ profile: Profile, _ p: AttestationParameters,
        _ context: EvaluationContext
    ) -> Verdict {
        let command = "posture attest \(requirement.id) --profile \(profile.id) --note \"…\""
        let remedy = LocalizedText(en: "Confirm it, then record it: `\(command)`", ja: "確認のうえ記録してください: `\(command)`")
        let latest = context.attestations
            .filter { $0.profile == profile.id && $0.requirement == requirement.id && $0.recordedAt <= context.collectedAt }
            .max { $0.recordedAt < $1.recordedAt }
        guard let latest else {
            return .unknown(
                "No probe can see this; no attestation has been recorded",
                "機械的に確認できない項目で、申告が記録されていません", remedy: remedy)
        }
        // Days in the profile's time zone; a limit of N days is N×24 hours from the attestation.
        let recorded = Day(latest.recordedAt, in: profile.claim.zone)
        let elapsed = context.collectedAt.timeIntervalSince(latest.recordedAt)
        let age = Int(elapsed / 86400)
        var validity = (en: "", ja: "")
        if let valid = p.validDays {
            let until = AssessmentTime.local(latest.recordedAt.addingTimeInterval(Double(valid) * 86400), profile.claim.timezone)
            if elapsed > Double(valid) * 86400 {
                return .unknown(
                    "The attestation of \(recorded) expired after \(valid) days (at \(until))",
                    "\(recorded) の申告は有効期間 \(valid) 日(\(until) まで)を過ぎています", remedy: remedy)
            }
            validity = (", valid until \(until)", "、\(until) まで有効")
        }
        let by = latest.by.map { (" by \($0)", "(\($0))") } ?? ("", "")
        let note = latest.note.map { ": \($0)" } ?? ""
        return Verdict(
            status: .attested,
            summary: .init(
                en: "Attested on \(recorded)\(by.0), \(age) days ago\(validity.en)\(note)",
                ja: "\(recorded) に申告済み\(by.1)、\(age) 日前\(validity.ja)\(note)"))
    }

    static func claimDeadline(_ profile: Profile, _ context: EvaluationContext) -> Verdict {
        guard let claim = context.claim else {
            let rule = profile.claim.counting?.text ?? ""
            return Verdict(
                status: .notApplicable,
                summary: .init(
                    en: "Judged when a claim is assessed, by the rule: \(rule)",
                    ja: "請求の判定時に規定にしたがって判定します: \(rule)"))
        }
        let judged = ClaimPeriod.judge(
            profile.claim, transfer: claim.transfer, transferIsDay: claim.transferIsDay,
            notified: claim.notified, calendar: claim.calendar)
        let remedy =
            judged.status == .fail
            ? LocalizedText(
                en: "Contact the bank at once; transfers outside the rule's period are not compensated by it.",
                ja: "直ちに銀行へ連絡してください。規定の期間外の取引は規定による補償の対象外です。") : nil
        return Verdict(status: judged.status, summary: judged.summary, remedy: remedy)
    }
}
