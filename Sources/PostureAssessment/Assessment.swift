package import Foundation
package import PostureEvidence
package import PostureModel
package import PosturePolicy

/// The bank's answer to a claim: per requirement of one profile, the posture at the incident and
/// across the claim window, judged from verified, signed reports (`posture assess`,
/// `posture-collector assess`). The JSON form is `posture.assessment/v1`.
package struct Assessment: Codable, Sendable {
    package static let schemaIdentifier = "posture.assessment/v1"

    /// The overall outcome, worst first in `exitStatus` order.
    package enum Verdict: String, Codable, Sendable {
        case noExclusionFound = "no_exclusion_or_reduction_found"
        case reductionPossible = "reduction_possible"
        /// A requirement whose consequence is `condition` (of the service or of a claim) is not met.
        case conditionNotMet = "condition_not_met"
        case exclusion
        case notAssessable = "not_assessable"
        case evidenceInvalid = "evidence_invalid"
    }

    /// The outcome and why: the clauses behind it, or the evidence that is missing.
    package struct Outcome: Codable, Sendable {
        package var verdict: Verdict
        /// Clauses of failing requirements, at any transfer.
        package var clauses: [String]
        /// Why, in English: per transfer what excludes, conditions or reduces it, then `notes`.
        package var reasons: [String]
        /// Requirements that could not be assessed at a transfer (unknown, not attested).
        package var unassessed: [String]
        /// Reasons that concern the whole claim (an unpinned key, evidence that does not verify).
        package var notes: [String]
    }

    /// The rule's counting as the profile states it (`claim.counting`), for the reader to check.
    package struct Counting: Codable, Sendable {
        package var counts: String
        package var from: String
        package var days: Int
        /// `counts: notification`: "counted" or "not_counted" (the transfer's day as day 1).
        package var firstDay: String?
        /// `counts: transfer`: whether the day N days before the notification is covered.
        package var inclusive: Bool?
        package var until: Until?
        package var text: String

        package struct Until: Codable, Sendable {
            package var businessDaysAfter: Int
            package var time: String
            package var calendar: String
            /// The calendar's last day: beyond it the cut-off is unknown.
            package var calendarLastDay: Day?
            package var reading: LocalizedText?
        }

        /// The rule in words, with every figure the profile states, for every output.
        package func describe(in language: Language) -> String {
            let ja = language == .ja
            var out: String
            if counts == "notification" {
                out =
                    ja
                    ? "各取引から\(days)日以内に通知(\(firstDay == "counted" ? "取引日を1日目として数える" : "取引日は数えず翌日から数える"))"
                    : "the bank notified within \(days) days of each transfer (\(firstDay == "counted" ? "the transfer's day is day 1" : "counting from the day after the transfer"))"
            } else {
                out =
                    ja
                    ? "通知日の\(days)日前の日\(inclusive == false ? "より後" : "以降")の取引を補償"
                    : "transfers made \(inclusive == false ? "after" : "on or after") the day \(days) days before the notification are covered"
                if let until {
                    let last = until.calendarLastDay.map { ja ? "、カレンダーは \($0) まで" : "; calendar known to \($0)" } ?? (ja ? "、カレンダーなし" : "; calendar not found")
                    out +=
                        ja
                        ? "、通知日の\(until.businessDaysAfter)営業日後の \(until.time) まで(\(until.calendar)\(last))"
                        : ", until \(until.time) of business day \(until.businessDaysAfter) after the notification (\(until.calendar)\(last))"
                    if let reading = until.reading { out += ja ? "。解釈: \(reading.ja)" : ". Reading: \(reading.en)" }
                }
            }
            return out + (ja ? "。規定: 「\(text)」" : ". Rule: “\(text)”")
        }
    }

    package struct ProfileInfo: Codable, Sendable {
        package var id: String
        package var name: LocalizedText
        package var sha256: String
        package var document: String
        /// The rule's own title, with where it was read (`source.title`, `source.url` of the profile).
        package var documentTitle: String?
        /// Days of evidence before the first transfer; nil when the rule states no period.
        package var windowDays: Int?
        /// The rule's claim period; nil when the rule states none.
        package var counting: Counting?
        package var coverStarts: Date?
        package var coverStartsText: String?
        package var evidenceMaxAgeHours: Int
        package var timezone: String
    }

    /// The claim as given.
    package struct Claim: Codable, Sendable {
        /// The first transfer as given: a date (the whole day in the profile's time zone) or an RFC 3339 time.
        package var incident: String
        /// The instant "before the incident" is measured from, for the first transfer.
        package var incidentStart: Date
        /// Every transfer as given, earliest first.
        package var incidents: [String]
        /// 00:00 of the day the bank was notified of (accepted) the claim, in the profile's time zone.
        package var notified: Date?
        package var notifiedDay: Day?
        package var windowFrom: Date
        package var windowTo: Date
    }

    /// One fraudulent transfer: the posture before it and whether the rule's period covers it.
    package struct Transfer: Codable, Sendable {
        /// As given.
        package var incident: String
        package var start: Date
        package var day: Day
        package var lastReportBefore: ReportRef?
        /// Why the posture before this transfer cannot be judged (missing or old reports, a chain gap).
        package var notAssessable: [String]
        /// Failing requirements (the claim deadline among them), as judged for this transfer.
        package var failing: [Finding]
        package var unassessed: [String]
        /// The rule's period for this transfer; nil when the profile states none.
        package var cover: ClaimPeriodVerdict?
        package var verdict: Verdict
    }

    /// One signed report used, and where it sits in the chain.
    package struct ReportRef: Codable, Sendable, Hashable {
        package var id: String
        package var sequence: Int
        package var collectedAt: Date
        package var sha256: String
    }

    /// Missing evidence between two reports: sequences absent from the chain, or a long silence.
    package struct Gap: Codable, Sendable, Hashable {
        package enum Kind: String, Codable, Sendable { case chain, time }
        package var kind: Kind
        package var afterSequence: Int
        package var beforeSequence: Int
        package var from: Date
        package var to: Date
        /// Reports missing from the chain (chain gaps only).
        package var missing: Int?
        package var spansIncident: Bool
    }

    /// What verification found: every envelope checked before anything is judged.
    package struct Verification: Codable, Sendable {
        package var ok: Bool
        package var keyId: String
        /// The key was pinned (`--key`, the state directory's `device.pub`, the collector's
        /// enrollment), not taken from the evidence itself.
        package var keyPinned: Bool
        package var envelopes: Int
        package var attestations: Int
        package var problems: [String]
        /// Whether the collector's audit log includes every report, from the proofs a claim bundle
        /// carries (checked offline); nil when the evidence carries none.
        package var log: LogInclusion?
    }

    /// A stretch of time over which a requirement kept one status.
    package struct Segment: Codable, Sendable, Hashable {
        package var status: FindingStatus
        package var from: Date
        package var to: Date
        package var reports: Int
    }

    /// One requirement: its verdict at the incident and its history over the window.
    package struct RequirementAssessment: Codable, Sendable {
        package var requirement: String
        package var clause: String
        /// The clause in English where the rule cites by Japanese words (`Finding.clauseEn`).
        package var clauseEn: String?
        package var consequence: Consequence
        package var check: String
        package var title: LocalizedText
        /// The finding from the last report before the incident (for `claim.deadline`, from the claim).
        package var atIncident: Finding?
        package var timeline: [Segment]

        package func clause(in language: Language) -> String { language == .ja ? clause : clauseEn ?? clause }
    }

    package var schema: String
    package var assessedAt: Date
    package var profile: ProfileInfo
    package var claim: Claim
    /// Where the signing key came from (a file, the enrollment, or the bundle itself).
    package var keySource: String
    package var verification: Verification
    package var transfers: [Transfer]
    package var reports: [ReportRef]
    package var lastReportBeforeIncident: ReportRef?
    package var gaps: [Gap]
    package var attestations: [Attestation]
    package var requirements: [RequirementAssessment]
    /// Findings where the PC's own verdict (in the signed report) differs from this assessment's,
    /// for example because the PC used another version of the profile. Empty when both agree.
    package var disagreements: [String]
    /// Where the rule lets the customer explain stronger measures (002): what this PC shows beyond
    /// the required ones, at the last report before the first transfer. It decides nothing.
    package var strongerMeasures: StrongerMeasuresShown?
    package var outcome: Outcome

    /// Measures beyond the rule's, judged at the last report before the first transfer.
    package struct StrongerMeasuresShown: Codable, Sendable {
        package var clause: String
        package var clauseEn: String?
        package var shown: [Finding]
        package var notShown: [Finding]
    }

    /// The outcome's clauses as a reader in `language` reads them (`outcome.clauses` are the rule's own).
    package func clauses(in language: Language) -> [String] {
        guard language == .en else { return outcome.clauses }
        return outcome.clauses.map { clause in requirements.first { $0.clause == clause }?.clauseEn ?? clause }
    }

    /// The outcome's reasons for a reader in `language` (`outcome.reasons` is the English).
    package func reasons(in language: Language) -> [String] {
        Self.reasons(transfers, notes: outcome.notes, language: language)
    }

    /// Per transfer, what excludes, conditions or reduces it or keeps it from being judged (with
    /// several transfers, each line names it and its verdict), then `notes`.
    static func reasons(_ transfers: [Transfer], notes: [String], language: Language) -> [String] {
        var lines: [String] = []
        let several = transfers.count > 1
        for transfer in transfers {
            let why =
                transfer.failing.map { finding in
                    "\(finding.title(in: language)) (\(finding.clause(in: language)), \(Labels.consequence(finding.consequence, language: language))): \(finding.summary(in: language))"
                } + transfer.notAssessable
            guard several else {
                lines += why
                continue
            }
            let head = "\(transfer.incident): \(Labels.outcome(transfer.verdict, language: language))"
            lines += why.isEmpty ? [head] : why.map { "\(head) — \($0)" }
        }
        return lines + notes
    }

    /// DESIGN.md's exit status: 65 evidence invalid, 1 a failing requirement or a transfer outside
    /// the rule's period, 3 not assessable or something unassessed, else 0.
    package var exitStatus: Int32 {
        switch outcome.verdict {
        case .evidenceInvalid: return ExitStatus.dataError
        case .exclusion, .conditionNotMet, .reductionPossible: return ExitStatus.failed
        case .notAssessable: return ExitStatus.unknown
        case .noExclusionFound: return outcome.unassessed.isEmpty ? 0 : ExitStatus.unknown
        }
    }
}

/// The outputs of an assessment, the same from `posture assess` and `posture-collector assess`.
package enum AssessmentFormat: String, CaseIterable, Sendable {
    case text, json, html

    package func render(_ assessment: Assessment, language: Language) throws -> Data {
        switch self {
        case .text: return Data(AssessmentText(assessment: assessment, language: language).render().utf8)
        case .json: return try PostureJSON.encoder(pretty: true).encode(assessment) + Data("\n".utf8)
        case .html: return Data(HTMLReport.assessment(assessment, language: language).utf8)
        }
    }
}
