package import PostureModel
import PosturePolicy

/// The words every output (terminal, JSON-reading tools aside, HTML) uses for verdicts, so a
/// status reads the same on the PC and at the bank.
package enum Labels {
    /// The label of a finding's status, and its ANSI colour code for terminals.
    package static func status(_ status: FindingStatus, check: String, language: Language) -> (text: String, colour: String) {
        let ja = language == .ja
        switch status {
        case .pass: return (ja ? "合格" : "pass", "32")
        case .fail: return (ja ? "不適合" : "FAIL", "1;31")
        case .unknown where check == Check.attestation.rawValue: return (ja ? "要申告" : "confirm", "36")
        case .unknown: return (ja ? "不明" : "unknown", "33")
        case .attested: return (ja ? "申告済" : "attested", "32")
        case .notApplicable: return (ja ? "対象外" : "n/a", "2")
        }
    }

    /// Where a status is listed: what needs action first (fail, unknown, needs the customer's
    /// confirmation), then what holds (pass, declared), then what does not apply.
    package static func rank(_ status: FindingStatus, check: String) -> Int {
        switch status {
        case .fail: return 0
        case .unknown where check == Check.attestation.rawValue: return 2
        case .unknown: return 1
        case .pass, .attested: return 3
        case .notApplicable: return 4
        }
    }

    package static func consequence(_ consequence: Consequence, language: Language) -> String {
        guard language == .ja else { return consequence.rawValue }
        switch consequence {
        case .exclusion: return "補償対象外"
        case .reduction: return "減額"
        case .condition: return "条件"
        }
    }

    package static func outcome(_ verdict: Assessment.Verdict, language: Language) -> String {
        let ja = language == .ja
        switch verdict {
        case .noExclusionFound: return ja ? "免責・減額事由は見つかりませんでした" : "No exclusion or reduction found"
        case .reductionPossible: return ja ? "減額の可能性があります" : "Reduction possible"
        case .conditionNotMet: return ja ? "条件を満たしていません" : "Condition not met"
        case .exclusion: return ja ? "補償対象外(免責)事由があります" : "Exclusion"
        case .notAssessable: return ja ? "判定できません(証跡不足)" : "Not assessable (missing evidence)"
        case .evidenceInvalid: return ja ? "証跡の検証に失敗しました" : "Evidence failed verification"
        }
    }
}
