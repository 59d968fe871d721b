package import Crypto
package import Foundation
package import PostureEvidence
import PostureModel
package import PosturePolicy

/// Why an assessment cannot start (bad arguments, not bad evidence: that is an `evidence_invalid` outcome).
package struct AssessmentError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// Judges a claim from signed evidence: verifies every envelope first, then evaluates each report
/// of the claim window with the same policy code as `posture scan`, and each transfer against the
/// posture before it and the rule's own period.
package struct Assessor: Sendable {
    /// What is being claimed, under which profile.
    package struct Request: Sendable {
        package var profile: Profile
        /// Each fraudulent transfer: a date (`YYYY-MM-DD`, the whole day in the profile's time zone)
        /// or an RFC 3339 time.
        package var incidents: [String]
        /// The day the bank was notified of (accepted) the claim: a date or an RFC 3339 time.
        package var notified: String?
        /// The bank calendar the profile's cut-off names, when found.
        package var calendar: BankCalendar?
        /// When the assessment runs: recorded, never judged on.
        package var now: Date

        package init(profile: Profile, incidents: [String], notified: String? = nil, calendar: BankCalendar? = nil, now: Date = Date()) {
            self.profile = profile
            self.incidents = incidents
            self.notified = notified
            self.calendar = calendar
            self.now = now
        }

        package init(profile: Profile, incident: String, notified: String? = nil, now: Date = Date()) {
            self.init(profile: profile, incidents: [incident], notified: notified, now: now)
        }
    }

    package let key: Curve25519.Signing.PublicKey
    /// Whether someone vouches for the key (a file the bank holds, the enrollment), rather than
    /// the evidence naming its own key.
    package let pinned: Bool
    package let keySource: String

    package init(key: Curve25519.Signing.PublicKey, pinned: Bool = true, keySource: String = "given") {
        self.key = key
        self.pinned = pinned
        self.keySource = keySource
    }

    /// The instant an incident starts: a date names 00:00 of that day in `timezone`.
    package static func time(_ text: String, timezone: String) throws -> Date {
        if let day = Day(text) {
            guard let zone = TimeZone.named(timezone) else { throw AssessmentError("unknown time zone \(timezone)") }
            return day.start(in: zone)
        }
        if let date = RFC3339.date(from: text) { return date }
        throw AssessmentError("'\(text)' is not a date (YYYY-MM-DD) or an RFC 3339 time")
    }

    package func assess(
        reports items: [ChainVerifier.Item], attestations attestationEnvelopes: [Data],
        request: Request
    ) throws -> Assessment {
        let profile = request.profile
        let rules = profile.claim
        let zone = rules.zone
        guard !request.incidents.isEmpty else { throw AssessmentError("name at least one transfer (--incident)") }
        let incidents = try request.incidents.map { (text: $0, start: try Self.time($0, timezone: rules.timezone), isDay: Day($0) != nil) }
            .sorted { $0.start < $1.start }
        let notifiedDay = try request.notified.map { Day(try Self.time($0, timezone: rules.timezone), in: zone) }
        if let notifiedDay, let first = incidents.first, notifiedDay < Day(first.start, in: zone) {
            throw AssessmentError("the notification (--notified \(notifiedDay)) is before the first transfer (\(Day(first.start, in: zone)))")
        }
        let firstStart = incidents[0].start
        let windowFrom = firstStart.addingTimeInterval(-Double(rules.windowSeconds))
        let windowTo = max(notifiedDay.map { $0.start(in: zone).addingTimeInterval(86400) } ?? request.now, incidents.last!.start)
        let claim = Assessment.Claim(
            incident: incidents[0].text, incidentStart: firstStart, incidents: incidents.map(\.text),
            notified: notifiedDay?.start(in: zone), notifiedDay: notifiedDay,
            windowFrom: windowFrom, windowTo: windowTo)
        let profileInfo = Self.profileInfo(profile, calendar: request.calendar)
        var notes: [String] = []
        if !pinned {
            notes.append(
                "the signing key is not pinned (\(keySource)): the reports agree with each other, but nothing shows who made them; "
                    + "give the device's key with --key, or assess on the PC itself")
        }

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
        let verification = Assessment.Verification(
            ok: problems.isEmpty, keyId: DeviceKey.keyID(of: key), keyPinned: pinned,
            envelopes: unique.count, attestations: attestationEnvelopes.count,
            problems: problems)
        let refs = zip(chain.reports, chain.envelopeHashes).map { report, sha in
            Assessment.ReportRef(id: report.id, sequence: report.chain?.sequence ?? 0, collectedAt: report.collectedAt, sha256: sha)
        }
        guard problems.isEmpty else {
            let notes = ["the evidence does not verify; nothing was judged"]
            return Assessment(
                schema: Assessment.schemaIdentifier, assessedAt: request.now, profile: profileInfo, claim: claim,
                keySource: keySource, verification: verification, transfers: [], reports: [],
                lastReportBeforeIncident: nil, gaps: [], attestations: attestations, requirements: [], disagreements: [],
                strongerMeasures: nil, outcome: .init(verdict: .evidenceInvalid, clauses: [], reasons: notes, unassessed: [], notes: notes))
        }

        // 2. Which reports speak for the window and for the moment of each transfer.
        let reports = chain.reports
        let inWindow = reports.indices.filter { reports[$0].collectedAt >= windowFrom && reports[$0].collectedAt <= windowTo }
        let lastBefore = incidents.map { incident in reports.indices.last { reports[$0].collectedAt < incident.start } }
        var gaps: [Assessment.Gap] = []
        for index in reports.indices.dropFirst() {
            let previous = reports[index - 1], current = reports[index]
            guard current.collectedAt >= windowFrom, previous.collectedAt <= windowTo,
                let before = previous.chain?.sequence, let after = current.chain?.sequence
            else { continue }
            let spans = incidents.contains { previous.collectedAt < $0.start && current.collectedAt >= $0.start }
            if after > before + 1 {
                gaps.append(
                    .init(
                        kind: .chain, afterSequence: before, beforeSequence: after, from: previous.collectedAt,
                        to: current.collectedAt, missing: after - before - 1, spansIncident: spans))
            } else if current.collectedAt.timeIntervalSince(previous.collectedAt) > Double(rules.evidenceMaxAge) {
                gaps.append(
                    .init(
                        kind: .time, afterSequence: before, beforeSequence: after, from: previous.collectedAt,
                        to: current.collectedAt, missing: nil, spansIncident: spans))
            }
        }

        // 3. Judge every report of the window, as `scan` did on the PC.
        var judged: [Int: [Finding]] = [:]
        for index in Set(inWindow + lastBefore.compactMap { $0 }) {
            let report = reports[index]
            judged[index] = PolicyEngine.evaluate(
                profile, evidence: report.evidence,
                context: EvaluationContext(collectedAt: report.collectedAt, attestations: report.attestations))
        }

        // 4. Each transfer: the posture at the last report before it, and the rule's period.
        var transfers: [Assessment.Transfer] = []
        var atTransfers: [[Finding?]] = []
        for (number, incident) in incidents.enumerated() {
            var notAssessable: [String] = []
            if let last = lastBefore[number] {
                let age = incident.start.timeIntervalSince(reports[last].collectedAt)
                if age > Double(rules.evidenceMaxAge) {
                    notAssessable.append(
                        "the last report before \(incident.text) is \(Int(age / 3600))h old; the profile asks for one within \(rules.evidenceMaxAge / 3600)h")
                }
            } else {
                notAssessable.append("no signed report from before the incident \(incident.text)")
            }
            for gap in gaps where gap.kind == .chain && gap.from < incident.start && gap.to >= incident.start {
                notAssessable.append(
                    "\(gap.missing ?? 0) report(s) missing from the chain across the incident \(incident.text) (between sequence \(gap.afterSequence) and \(gap.beforeSequence))"
                )
            }
            let context = EvaluationContext(
                collectedAt: incident.start,
                claim: .init(
                    transfer: incident.start, transferIsDay: incident.isDay,
                    notified: notifiedDay, calendar: request.calendar))
            let claimFindings = PolicyEngine.evaluate(profile, evidence: lastBefore[number].map { reports[$0].evidence } ?? Evidence(), context: context)
            let findings: [Finding?] = profile.requirements.indices.map { position in
                profile.requirements[position].check == .claimDeadline ? claimFindings[position] : lastBefore[number].flatMap { judged[$0]?[position] }
            }
            atTransfers.append(findings)
            let failing = findings.compactMap { $0 }.filter { $0.status == .fail }
            let unassessed = profile.requirements.indices.filter { findings[$0] == nil || findings[$0]?.status == .unknown }
                .map { profile.requirements[$0].id }
            let outOfPeriod = failing.filter { $0.check == Check.claimDeadline.rawValue }
            var verdict = Self.verdict(outOfPeriod)
            if verdict == .noExclusionFound {
                verdict = notAssessable.isEmpty ? Self.verdict(failing) : .notAssessable
            }
            if verdict == .noExclusionFound && !pinned { verdict = .notAssessable }
            transfers.append(
                .init(
                    incident: incident.text, start: incident.start, day: Day(incident.start, in: zone),
                    lastReportBefore: lastBefore[number].map { refs[$0] }, notAssessable: notAssessable,
                    failing: failing, unassessed: unassessed,
                    cover: rules.counting == nil && rules.coverStarts == nil
                        ? nil
                        : ClaimPeriod.judge(
                            rules, transfer: incident.start, transferIsDay: incident.isDay,
                            notified: notifiedDay, calendar: request.calendar),
                    verdict: verdict))
        }

        var requirements: [Assessment.RequirementAssessment] = []
        for (position, requirement) in profile.requirements.enumerated() {
            var item = Assessment.RequirementAssessment(
                requirement: requirement.id, clause: requirement.clause, clauseEn: requirement.clauseEn,
                consequence: requirement.consequence, check: requirement.check.rawValue,
                title: requirement.title, atIncident: nil, timeline: [])
            // At the first transfer; the claim deadline at the transfer it serves worst.
            item.atIncident =
                requirement.check == .claimDeadline
                ? atTransfers.compactMap { $0[position] }.max { Self.severity($0.status) < Self.severity($1.status) }
                : atTransfers[0][position]
            if requirement.check != .claimDeadline {
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

        // 5. Where the PC judged differently (another profile version), say so.
        var disagreements: [String] = []
        for index in inWindow {
            let report = reports[index]
            guard let used = report.reference?.profiles.first(where: { $0.id == profile.id }), let ours = judged[index] else { continue }
            let theirs = Dictionary(
                report.findings.filter { $0.profile == profile.id }.map { ($0.requirement, $0.status) },
                uniquingKeysWith: { first, _ in first })
            let differing = ours.filter { finding in theirs[finding.requirement] != finding.status }
            guard !differing.isEmpty else { continue }
            let version = used.sha256 == profile.sha256 ? "" : " (the PC used profile version \(used.sha256.prefix(12))…)"
            disagreements.append("report \(report.chain?.sequence ?? 0) (\(report.id)): \(differing.map(\.requirement).joined(separator: ", "))\(version)")
        }

        // 6. The outcome: the worst transfer's verdict, with every transfer's reasons.
        let verdict = transfers.map(\.verdict).max { Self.rank($0) < Self.rank($1) } ?? .notAssessable
        var clauses: [String] = []
        for finding in transfers.flatMap(\.failing) where !clauses.contains(finding.clause) { clauses.append(finding.clause) }
        var unassessed: [String] = []
        for id in transfers.flatMap(\.unassessed) where !unassessed.contains(id) { unassessed.append(id) }
        let outcome = Assessment.Outcome(
            verdict: verdict, clauses: clauses,
            reasons: Assessment.reasons(transfers, notes: notes, language: .en),
            unassessed: unassessed, notes: notes)
        var stronger: Assessment.StrongerMeasuresShown?
        if let measures = profile.strongerMeasures, let last = lastBefore[0] {
            var beyond = profile
            beyond.requirements = measures.requirements
            let findings = PolicyEngine.evaluate(
                beyond, evidence: reports[last].evidence,
                context: EvaluationContext(collectedAt: reports[last].collectedAt))
            stronger = .init(
                clause: measures.clause, clauseEn: measures.clauseEn, shown: findings.filter { $0.status == .pass },
                notShown: findings.filter { $0.status != .pass })
        }
        let used = inWindow.map { refs[$0] }
        return Assessment(
            schema: Assessment.schemaIdentifier, assessedAt: request.now, profile: profileInfo, claim: claim,
            keySource: keySource, verification: verification, transfers: transfers, reports: used,
            lastReportBeforeIncident: lastBefore[0].map { refs[$0] }, gaps: gaps, attestations: attestations,
            requirements: requirements, disagreements: disagreements, strongerMeasures: stronger, outcome: outcome)
    }

    /// The verdict failing findings lead to, by their consequence as the clause states it.
    static func verdict(_ failing: [Finding]) -> Assessment.Verdict {
        if failing.contains(where: { $0.consequence == .exclusion }) { return .exclusion }
        if failing.contains(where: { $0.consequence == .condition }) { return .conditionNotMet }
        if failing.contains(where: { $0.consequence == .reduction }) { return .reductionPossible }
        return .noExclusionFound
    }

    /// Worse verdicts rank higher: the claim's outcome is its worst transfer's.
    static func rank(_ verdict: Assessment.Verdict) -> Int {
        switch verdict {
        case .noExclusionFound: return 0
        case .notAssessable: return 1
        case .reductionPossible: return 2
        case .conditionNotMet: return 3
        case .exclusion: return 4
        case .evidenceInvalid: return 5
        }
    }

    static func severity(_ status: FindingStatus) -> Int {
        switch status {
        case .notApplicable: return 0
        case .pass, .attested: return 1
        case .unknown: return 2
        case .fail: return 3
        }
    }

    /// The profile as an assessment shows it: its claim rule with every figure.
    package static func profileInfo(_ profile: Profile, calendar: BankCalendar?) -> Assessment.ProfileInfo {
        let rules = profile.claim
        let counting = rules.counting.map { counting in
            Assessment.Counting(
                counts: counting.counts.rawValue, from: counting.counts == .notification ? "transfer" : "notification", days: counting.days,
                firstDay: counting.counts == .notification ? (counting.firstDayCounted ? "counted" : "not_counted") : nil,
                inclusive: counting.counts == .transfer ? counting.inclusive : nil,
                until: counting.until.map { until in
                    .init(
                        businessDaysAfter: until.businessDaysAfter,
                        time: String(format: "%02d:%02d", until.minutes / 60, until.minutes % 60),
                        calendar: until.calendar, calendarLastDay: calendar?.lastDay, reading: until.reading)
                },
                text: counting.text)
        }
        return Assessment.ProfileInfo(
            id: profile.id, name: profile.name, sha256: profile.sha256, document: profile.source.document,
            documentTitle: profile.source.title.map { _ in profile.source.described },
            windowDays: rules.windowDays, counting: counting, coverStarts: rules.coverStarts?.at,
            coverStartsText: rules.coverStarts?.text,
            evidenceMaxAgeHours: rules.evidenceMaxAge / 3600, timezone: rules.timezone)
    }
}

extension AssessmentError: ExitStatusError {
    /// Bad dates or arguments for the claim: a usage error.
    package var exitStatus: Int32 { ExitStatus.usage }
}
