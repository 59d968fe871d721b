import Crypto
import Foundation
import PostureEvidence
import PostureModel
import PosturePolicy

/// Why an assessment cannot start (bad arguments, not bad evidence: that is an `evidence_invalid` outcome).
public struct AssessmentError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Judges a claim from signed evidence: verifies every envelope first, then evaluates each report
/// of the claim window with the same policy code as `posture scan`.
public struct Assessor: Sendable {
    /// What is being claimed, under which profile.
    public struct Request: Sendable {
        public var profile: Profile
        /// A date (`YYYY-MM-DD`, the whole day in the profile's time zone) or an RFC 3339 time.
        public var incident: String
        public var notified: Date?
        /// When the claim was filed; nil: `now`.
        public var filed: Date?
        public var now: Date

        public init(profile: Profile, incident: String, notified: Date? = nil, filed: Date? = nil, now: Date = Date()) {
            self.profile = profile
            self.incident = incident
            self.notified = notified
            self.filed = filed
            self.now = now
        }
    }

    public let key: Curve25519.Signing.PublicKey

    public init(key: Curve25519.Signing.PublicKey) { self.key = key }

    /// The instant an incident starts: a date names 00:00 of that day in `timezone`.
    public static func time(_ text: String, timezone: String) throws -> Date {
        if let day = Day(text) {
            guard let zone = TimeZone(identifier: timezone) else { throw AssessmentError("unknown time zone \(timezone)") }
            return day.start(in: zone)
        }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        throw AssessmentError("'\(text)' is not a date (YYYY-MM-DD) or an RFC 3339 time")
    }

    public func assess(reports items: [ChainVerifier.Item], attestations attestationEnvelopes: [Data],
                       request: Request) throws -> Assessment {
        let profile = request.profile
        let rules = profile.claim
        let incidentStart = try Self.time(request.incident, timezone: rules.timezone)
        if let notified = request.notified, notified < incidentStart.addingTimeInterval(-86400) {
            throw AssessmentError("the notification (--notified) is before the incident")
        }
        let filed = request.filed ?? request.now
        let windowFrom = incidentStart.addingTimeInterval(-Double(rules.windowDays) * 86400)
        let windowTo = max(request.notified ?? request.now, incidentStart)
        let claim = Assessment.Claim(incident: request.incident, incidentStart: incidentStart, notified: request.notified,
                                     filed: filed, windowFrom: windowFrom, windowTo: windowTo)
        let profileInfo = Assessment.ProfileInfo(id: profile.id, name: profile.name, sha256: profile.sha256,
                                                 document: profile.source.document, windowDays: rules.windowDays,
                                                 countedFrom: rules.countedFrom.rawValue,
                                                 evidenceMaxAgeHours: rules.evidenceMaxAge / 3600, timezone: rules.timezone)

        // 1. Verify everything. The same envelope given twice (a bundle and an export) counts once.
        var seen = Set<String>()
        let unique = items.filter { seen.insert(sha256Hex($0.bytes)).inserted }
        let verifier = ChainVerifier(key: key)
        let chain = verifier.verify(unique)
        var problems = chain.verdicts.filter { !$0.ok }.map { "\($0.source): \($0.problems.joined(separator: "; "))" }
        var attestations: [Attestation] = []
        var attestationIDs = Set<String>()
        for (index, bytes) in attestationEnvelopes.enumerated() {
            switch verifier.attestation(bytes, source: "attestation \(index + 1)") {
            case .success(let attestation):
                if attestationIDs.insert(attestation.id ?? sha256Hex(bytes)).inserted { attestations.append(attestation) }
            case .failure(let failure): problems.append(failure.description)
            }
        }
        let verification = Assessment.Verification(ok: problems.isEmpty, keyId: DeviceKey.keyID(of: key),
                                                   envelopes: unique.count, attestations: attestationEnvelopes.count,
                                                   problems: problems)
        let refs = zip(chain.reports, chain.envelopeHashes).map { report, sha in
            Assessment.ReportRef(id: report.id, sequence: report.chain?.sequence ?? 0, collectedAt: report.collectedAt, sha256: sha)
        }
        guard problems.isEmpty else {
            return Assessment(schema: Assessment.schemaIdentifier, assessedAt: request.now, profile: profileInfo, claim: claim,
                              verification: verification, reports: [], lastReportBeforeIncident: nil, gaps: [],
                              attestations: attestations, requirements: [], disagreements: [],
                              outcome: .init(verdict: .evidenceInvalid, clauses: [],
                                             reasons: ["the evidence does not verify; nothing was judged"], unassessed: []))
        }

        // 2. Which reports speak for the window and for the moment of the incident.
        let reports = chain.reports
        let inWindow = reports.indices.filter { reports[$0].collectedAt >= windowFrom && reports[$0].collectedAt <= windowTo }
        let lastBefore = reports.indices.last { reports[$0].collectedAt < incidentStart }
        var gaps: [Assessment.Gap] = []
        for index in reports.indices.dropFirst() {
            let previous = reports[index - 1], current = reports[index]
            guard current.collectedAt >= windowFrom, previous.collectedAt <= windowTo,
                  let before = previous.chain?.sequence, let after = current.chain?.sequence else { continue }
            let spans = previous.collectedAt < incidentStart && current.collectedAt >= incidentStart
            if after > before + 1 {
                gaps.append(.init(kind: .chain, afterSequence: before, beforeSequence: after, from: previous.collectedAt,
                                  to: current.collectedAt, missing: after - before - 1, spansIncident: spans))
            } else if current.collectedAt.timeIntervalSince(previous.collectedAt) > Double(rules.evidenceMaxAge) {
                gaps.append(.init(kind: .time, afterSequence: before, beforeSequence: after, from: previous.collectedAt,
                                  to: current.collectedAt, missing: nil, spansIncident: spans))
            }
        }
        var notAssessable: [String] = []
        if let lastBefore {
            let age = incidentStart.timeIntervalSince(reports[lastBefore].collectedAt)
            if age > Double(rules.evidenceMaxAge) {
                notAssessable.append("the last report before the incident is \(Int(age / 3600))h old; the profile asks for one within \(rules.evidenceMaxAge / 3600)h")
            }
        } else {
            notAssessable.append("no signed report from before the incident")
        }
        for gap in gaps where gap.kind == .chain && gap.spansIncident {
            notAssessable.append("\(gap.missing ?? 0) report(s) missing from the chain across the incident (between sequence \(gap.afterSequence) and \(gap.beforeSequence))")
        }

        // 3. Judge every report of the window, as `scan` did on the PC, and the claim itself.
        var judged: [Int: [Finding]] = [:]
        for index in Set(inWindow + (lastBefore.map { [$0] } ?? [])) {
            let report = reports[index]
            judged[index] = PolicyEngine.evaluate(profile, evidence: report.evidence,
                                                  context: EvaluationContext(collectedAt: report.collectedAt, attestations: report.attestations))
        }
        let claimContext = EvaluationContext(collectedAt: filed, claim: .init(incident: incidentStart, notified: request.notified, filed: filed))
        let claimFindings = PolicyEngine.evaluate(profile, evidence: lastBefore.map { reports[$0].evidence } ?? Evidence(), context: claimContext)

        var requirements: [Assessment.RequirementAssessment] = []
        for (position, requirement) in profile.requirements.enumerated() {
            var item = Assessment.RequirementAssessment(requirement: requirement.id, clause: requirement.clause,
                                                         consequence: requirement.consequence, check: requirement.check.rawValue,
                                                         title: requirement.title, atIncident: nil, timeline: [])
            if requirement.check == .claimDeadline {
                item.atIncident = claimFindings[position]
            } else {
                item.atIncident = lastBefore.flatMap { judged[$0]?[position] }
                for index in inWindow {
                    guard let status = judged[index]?[position].status else { continue }
                    let at = reports[index].collectedAt
                    if var last = item.timeline.last, last.status == status {
                        last.to = at
                        last.reports += 1
                        item.timeline[item.timeline.count - 1] = last
                    } else {
                        if !item.timeline.isEmpty { item.timeline[item.timeline.count - 1].to = at }
                        item.timeline.append(.init(status: status, from: at, to: at, reports: 1))
                    }
                }
            }
            requirements.append(item)
        }

        // 4. Where the PC judged differently (another profile version), say so.
        var disagreements: [String] = []
        for index in inWindow {
            let report = reports[index]
            guard let used = report.reference?.profiles.first(where: { $0.id == profile.id }), let ours = judged[index] else { continue }
            let theirs = Dictionary(report.findings.filter { $0.profile == profile.id }.map { ($0.requirement, $0.status) },
                                    uniquingKeysWith: { first, _ in first })
            let differing = ours.filter { finding in theirs[finding.requirement] != finding.status }
            guard !differing.isEmpty else { continue }
            let version = used.sha256 == profile.sha256 ? "" : " (the PC used profile version \(used.sha256.prefix(12))…)"
            disagreements.append("report \(report.chain?.sequence ?? 0) (\(report.id)): \(differing.map(\.requirement).joined(separator: ", "))\(version)")
        }

        // 5. The outcome.
        let failing = requirements.filter { $0.atIncident?.status == .fail }
        let excluding = failing.filter { $0.consequence != .reduction }
        let reducing = failing.filter { $0.consequence == .reduction }
        let unassessed = requirements.filter { $0.atIncident == nil || $0.atIncident?.status == .unknown }.map(\.requirement)
        let outcome: Assessment.Outcome
        if !notAssessable.isEmpty {
            outcome = .init(verdict: .notAssessable, clauses: failing.map(\.clause), reasons: notAssessable, unassessed: unassessed)
        } else if !excluding.isEmpty {
            outcome = .init(verdict: .exclusion, clauses: excluding.map(\.clause),
                            reasons: excluding.map { "\($0.requirement) (\($0.clause)): \($0.atIncident?.summary ?? "")" }, unassessed: unassessed)
        } else if !reducing.isEmpty {
            outcome = .init(verdict: .reductionPossible, clauses: reducing.map(\.clause),
                            reasons: reducing.map { "\($0.requirement) (\($0.clause)): \($0.atIncident?.summary ?? "")" }, unassessed: unassessed)
        } else {
            outcome = .init(verdict: .noExclusionFound, clauses: [], reasons: [], unassessed: unassessed)
        }
        let used = inWindow.map { refs[$0] }
        return Assessment(schema: Assessment.schemaIdentifier, assessedAt: request.now, profile: profileInfo, claim: claim,
                          verification: verification, reports: used, lastReportBeforeIncident: lastBefore.map { refs[$0] },
                          gaps: gaps, attestations: attestations, requirements: requirements,
                          disagreements: disagreements, outcome: outcome)
    }
}
