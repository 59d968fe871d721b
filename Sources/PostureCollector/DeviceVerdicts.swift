package import Foundation
import Logging
package import PostureModel
package import PosturePolicy

/// The newest judgement of one device against one profile, kept at ingest so that the console's
/// overview is a query, not a re-evaluation. `findings` is the JSON of the report's findings for
/// that profile (empty in summaries).
package struct DeviceVerdict: Sendable, Hashable {
    package var keyID: String
    package var profile: String
    package var reportID: String
    package var collectedAt: Date
    /// When the collector received the report (set by the store).
    package var receivedAt: Date
    /// Requirements that fail.
    package var failing: Int
    /// Requirements that could not be judged (not counting the claim deadline, which only a claim decides).
    package var unknown: Int
    package var findings: Data
    /// Each requirement's status, one `requirement=status` line each in the profile's order: what
    /// the device page's timeline records when it changes.
    package var statuses: String

    package init(
        keyID: String, profile: String, reportID: String, collectedAt: Date, receivedAt: Date, failing: Int, unknown: Int,
        findings: Data, statuses: String = ""
    ) {
        self.keyID = keyID
        self.profile = profile
        self.reportID = reportID
        self.collectedAt = collectedAt
        self.receivedAt = receivedAt
        self.failing = failing
        self.unknown = unknown
        self.findings = findings
        self.statuses = statuses
    }

    /// The `requirement=status` lines of the requirements that fail or could not be judged, each
    /// between newlines, so a store finds one requirement's line as a substring (the overview's
    /// per-requirement filter) without decoding findings.
    package var problems: String {
        let lines = statuses.split(separator: "\n").filter {
            $0.hasSuffix("=\(FindingStatus.fail.rawValue)") || $0.hasSuffix("=\(FindingStatus.unknown.rawValue)")
        }
        return lines.isEmpty ? "" : "\n" + lines.joined(separator: "\n") + "\n"
    }

    /// How `problems` writes one requirement's status.
    package static func problemLine(_ requirement: String, status: FindingStatus) -> String {
        "\n\(requirement)=\(status.rawValue)\n"
    }

    /// The findings, decoded (empty for a summary).
    package func decodedFindings() -> [Finding] {
        guard !findings.isEmpty else { return [] }
        return (try? PostureJSON.decoder().decode([Finding].self, from: findings)) ?? []
    }
}

/// A point where a device's statuses against a profile changed: the report that first showed them.
package struct VerdictChange: Sendable, Hashable {
    package var collectedAt: Date
    package var statuses: String

    package init(collectedAt: Date, statuses: String) {
        self.collectedAt = collectedAt
        self.statuses = statuses
    }

    /// requirement id → status.
    package var byRequirement: [String: String] {
        var out: [String: String] = [:]
        for line in statuses.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { out[String(parts[0])] = String(parts[1]) }
        }
        return out
    }
}

/// A claim assessed from the console: who ran it, when, on what, and the result exactly as shown,
/// so the decision can be shown again later unchanged.
package struct KeptAssessment: Sendable, Hashable {
    package var id: Int64
    package var contract: String
    package var keyID: String
    package var profile: String
    /// The staff token's short id and name that ran it.
    package var staff: String
    package var at: Date
    /// The form's inputs as JSON (profile, transfers, notified).
    package var inputs: Data
    /// posture.assessment/v1 JSON.
    package var assessment: Data
    /// The HTML page as it was shown.
    package var html: Data

    package init(
        id: Int64 = 0, contract: String, keyID: String, profile: String, staff: String, at: Date, inputs: Data, assessment: Data, html: Data
    ) {
        self.id = id
        self.contract = contract
        self.keyID = keyID
        self.profile = profile
        self.staff = staff
        self.at = at
        self.inputs = inputs
        self.assessment = assessment
        self.html = html
    }
}

/// Judges every stored report against the profiles the bank watches (the same policy code as
/// `posture scan` and `posture assess`) and keeps the newest verdict per device and profile.
package struct VerdictKeeper: Sendable {
    package let profiles: [Profile]

    package init(profiles: [Profile]) { self.profiles = profiles }

    /// The verdicts of one report, one per profile.
    package func verdicts(of report: Report, keyID: String) throws -> [DeviceVerdict] {
        let context = EvaluationContext(collectedAt: report.collectedAt, attestations: report.attestations)
        return try profiles.map { profile in
            let findings = PolicyEngine.evaluate(profile, evidence: report.evidence, context: context)
            return DeviceVerdict(
                keyID: keyID, profile: profile.id, reportID: report.id, collectedAt: report.collectedAt, receivedAt: report.collectedAt,
                failing: findings.count { $0.status == .fail },
                unknown: findings.count { $0.status == .unknown && $0.check != Check.claimDeadline.rawValue },
                findings: try PostureJSON.encoder().encode(findings),
                statuses: findings.map { "\($0.requirement)=\($0.status.rawValue)" }.joined(separator: "\n"))
        }
    }
}
