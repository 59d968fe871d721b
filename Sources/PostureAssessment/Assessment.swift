import Foundation
import PostureModel

/// The bank's answer to a claim: per requirement of one profile, the posture at the incident and
/// across the claim window, judged from verified, signed reports (`posture assess`,
/// `posture-collector assess`). The JSON form is `posture.assessment/v1`.
public struct Assessment: Codable, Sendable {
    public static let schemaIdentifier = "posture.assessment/v1"

    /// The overall outcome, worst first in `exitStatus` order.
    public enum Verdict: String, Codable, Sendable {
        case noExclusionFound = "no_exclusion_or_reduction_found"
        case reductionPossible = "reduction_possible"
        case exclusion
        case notAssessable = "not_assessable"
        case evidenceInvalid = "evidence_invalid"
    }

    /// The outcome and why: the clauses behind it, or the evidence that is missing.
    public struct Outcome: Codable, Sendable {
        public var verdict: Verdict
        /// Clauses of failing requirements (exclusion, condition or reduction, as the verdict says).
        public var clauses: [String]
        public var reasons: [String]
        /// Requirements that could not be assessed at the incident (unknown, not attested).
        public var unassessed: [String]
    }

    public struct ProfileInfo: Codable, Sendable {
        public var id: String
        public var name: LocalizedText
        public var sha256: String
        public var document: String
        public var windowDays: Int
        public var countedFrom: String
        public var evidenceMaxAgeHours: Int
        public var timezone: String
    }

    /// The claim as given.
    public struct Claim: Codable, Sendable {
        /// As given: a date (the whole day in the profile's time zone) or an RFC 3339 time.
        public var incident: String
        /// The instant "before the incident" is measured from.
        public var incidentStart: Date
        public var notified: Date?
        /// When the claim was filed: `--filed`, else the bundle's creation, else the assessment time.
        public var filed: Date
        public var windowFrom: Date
        public var windowTo: Date
    }

    /// One signed report used, and where it sits in the chain.
    public struct ReportRef: Codable, Sendable, Hashable {
        public var id: String
        public var sequence: Int
        public var collectedAt: Date
        public var sha256: String
    }

    /// Missing evidence between two reports: sequences absent from the chain, or a long silence.
    public struct Gap: Codable, Sendable, Hashable {
        public enum Kind: String, Codable, Sendable { case chain, time }
        public var kind: Kind
        public var afterSequence: Int
        public var beforeSequence: Int
        public var from: Date
        public var to: Date
        /// Reports missing from the chain (chain gaps only).
        public var missing: Int?
        public var spansIncident: Bool
    }

    /// What verification found: every envelope checked before anything is judged.
    public struct Verification: Codable, Sendable {
        public var ok: Bool
        public var keyId: String
        public var envelopes: Int
        public var attestations: Int
        public var problems: [String]
    }

    /// A stretch of time over which a requirement kept one status.
    public struct Segment: Codable, Sendable, Hashable {
        public var status: FindingStatus
        public var from: Date
        public var to: Date
        public var reports: Int
    }

    /// One requirement: its verdict at the incident and its history over the window.
    public struct RequirementAssessment: Codable, Sendable {
        public var requirement: String
        public var clause: String
        public var consequence: Consequence
        public var check: String
        public var title: LocalizedText
        /// The finding from the last report before the incident (for `claim.deadline`, from the claim).
        public var atIncident: Finding?
        public var timeline: [Segment]
    }

    public var schema: String
    public var assessedAt: Date
    public var profile: ProfileInfo
    public var claim: Claim
    public var verification: Verification
    public var reports: [ReportRef]
    public var lastReportBeforeIncident: ReportRef?
    public var gaps: [Gap]
    public var attestations: [Attestation]
    public var requirements: [RequirementAssessment]
    /// Findings where the PC's own verdict (in the signed report) differs from this assessment's,
    /// for example because the PC used another version of the profile. Empty when both agree.
    public var disagreements: [String]
    public var outcome: Outcome

    /// The outcome's reasons for a reader: failing requirements in `language`, else the stated reasons.
    public func reasons(in language: Language) -> [String] {
        guard outcome.verdict == .exclusion || outcome.verdict == .reductionPossible else { return outcome.reasons }
        let counted: Set<Consequence> = outcome.verdict == .exclusion ? [.exclusion, .condition] : [.reduction]
        return requirements.filter { $0.atIncident?.status == .fail && counted.contains($0.consequence) }.map { requirement in
            "\(requirement.title.text(for: language)) (\(requirement.clause)): \(requirement.atIncident?.summary(in: language) ?? "")"
        }
    }

    /// DESIGN.md's exit status: 65 evidence invalid, 1 exclusion or reduction (a failing
    /// requirement or missed deadline), 3 not assessable or something unassessed, else 0.
    public var exitStatus: Int32 {
        switch outcome.verdict {
        case .evidenceInvalid: return 65
        case .exclusion, .reductionPossible: return 1
        case .notAssessable: return 3
        case .noExclusionFound: return outcome.unassessed.isEmpty ? 0 : 3
        }
    }
}

/// The outputs of an assessment, the same from `posture assess` and `posture-collector assess`.
public enum AssessmentFormat: String, CaseIterable, Sendable {
    case text, json, html

    public func render(_ assessment: Assessment, language: Language) throws -> Data {
        switch self {
        case .text: return Data(AssessmentText(assessment: assessment, language: language).render().utf8)
        case .json: return try PostureJSON.encoder(pretty: true).encode(assessment) + Data("\n".utf8)
        case .html: return Data(HTMLReport.assessment(assessment, language: language).utf8)
        }
    }
}
