import Crypto
import Foundation
import PostureAgent
import PostureAssessment
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureReference
import PostureTestSupport
import Testing

/// A PC's history as the agent would have recorded it: a report every 12 hours, signed and
/// chained in a real journal, with what changed on the PC planted into the evidence.
struct PlantedHistory {
    /// How the PC looked at one moment; the closure plants a change into otherwise clean evidence.
    var plant: (Date, inout Evidence) -> Void = { _, _ in }
    /// Reports collected in this span (relative to the incident, in days) are missing from the journal.
    var missingDays: ClosedRange<Double>?
    /// Attestations recorded, as days relative to the incident.
    var attestedDaysBefore: Double = 20

    /// Antivirus signatures last updated `daysBefore` the incident (00:00 in Tokyo) and never after.
    static func staleSignatures(daysBefore: Double) -> PlantedHistory {
        let lastUpdate = incidentStart.addingTimeInterval(-daysBefore * 86400)
        return PlantedHistory(plant: { now, evidence in
            if now > lastUpdate { evidence.securitySoftware?[0].signaturesUpdatedAt = lastUpdate }
        })
    }

    static let incident = "2026-10-20"
    /// 00:00 of the incident day in Tokyo.
    static let incidentStart = Day(incident)!.start(in: TimeZone(identifier: "Asia/Tokyo")!)

    /// Evidence of a well-kept PC at `now`: supported OS and browser, no pending updates,
    /// running antivirus with fresh signatures, nothing tampered with.
    static func clean(at now: Date) -> Evidence {
        var evidence = Evidence()
        evidence.os = OSEvidence(
            id: "debian", versionId: "12", prettyName: "Debian GNU/Linux 12 (bookworm)", codename: "bookworm",
            eol: Day("2028-06-30"), eolSource: "/usr/share/distro-info/debian.csv", support: [:], supported: true)
        evidence.packages = PackagesEvidence(
            manager: "dpkg", installed: 812, indexUpdatedAt: now.addingTimeInterval(-3 * 3600),
            pendingUpdates: [], indexError: nil, indexLists: 4)
        evidence.browsers = [
            BrowserEvidence(
                name: "firefox-esr", version: "140.4.0esr-1~deb12u1", source: "dpkg",
                candidate: "140.4.0esr-1~deb12u1", eol: Day("2027-09-14"), supported: true,
                catalogAsOf: Day(now).adding(days: -20))
        ]
        // A commercially sold product: 002 (2) counts no other.
        evidence.securitySoftware = [
            SecuritySoftwareEvidence(
                product: "eset", installed: true, running: true,
                signaturesUpdatedAt: now.addingTimeInterval(-6 * 3600), commercial: true)
        ]
        evidence.accounts = [
            AccountEvidence(
                user: "staff", uid: 1000, passwordLastChanged: Day(now).adding(days: -10),
                passwordMaxDays: 90, locked: false)
        ]
        evidence.integrity = IntegrityEvidence(
            checked: 91_610, modified: [], missing: [], unownedExecutables: [], hostsOverrides: [],
            extraCaCertificates: [], ldSoPreload: [])
        evidence.credentials = CredentialsEvidence(savedLogins: [], passwordNotes: [])
        evidence.fileSharing = []
        evidence.clock = ClockEvidence(synchronized: true, source: "kernel (adjtimex)")
        evidence.localAccess = LocalAccessEvidence(
            autologin: [], guestSession: false, screenLock: true, diskEncrypted: true,
            firewallActive: true)
        return evidence
    }

    /// Writes the history into a journal under `state` and returns the claim bundle `posture claim`
    /// would make at `filed`.
    func bundle(profile: Profile, state: TemporaryRoot, filed: Date) throws -> (bundle: ClaimBundle, key: DeviceKey, reports: [Report]) {
        let key = try DeviceKey.generate(stateDirectory: state.path)
        let journal = try Journal(stateDirectory: state.path)
        let incident = Self.incidentStart
        let attestedAt = incident.addingTimeInterval(-attestedDaysBefore * 86400)
        for requirement in profile.requirements where requirement.check == .attestation {
            let expires = requirement.parameters.int("valid_days").map { attestedAt.addingTimeInterval(Double($0) * 86400) }
            _ = try journal.record(
                Attestation(
                    requirement: requirement.id, profile: profile.id, note: "checked", by: "Sato",
                    recordedAt: attestedAt, expiresAt: expires), key: key)
        }
        let host = HostInfo(hostname: "banking-pc-01", machineIdSha256: String(repeating: "a", count: 64), root: "/")
        var reports: [Report] = []
        var entries: [(String, Int, Data)] = []
        var hours = -35.0 * 24
        while hours <= 3 * 24 {
            let now = incident.addingTimeInterval(hours * 3600 + 9 * 3600)
            hours += 12
            var evidence = Self.clean(at: now)
            plant(now, &evidence)
            let attestations = try journal.attestationsInForce(at: now)
            let findings = PolicyEngine.evaluate(
                profile, evidence: evidence,
                context: EvaluationContext(collectedAt: now, attestations: attestations))
            let report = Report(
                collectedAt: now, agent: AgentInfo(version: PostureVersion.current), host: host, evidence: evidence,
                findings: findings, attestations: attestations,
                reference: ReferenceInfo(profiles: [.init(id: profile.id, sha256: profile.sha256)], catalogs: [:]))
            let signed = try journal.append(report, key: key)
            let day = now.timeIntervalSince(incident) / 86400
            if let missingDays, missingDays.contains(day) { continue }
            reports.append(signed.report)
            entries.append((signed.report.id, signed.report.chain!.sequence, signed.envelope))
        }
        let attestations = try journal.attestations().map { ($0.attestation.id!, $0.envelope) }
        let bundle = ClaimBundle(
            createdAt: filed, agent: AgentInfo(version: PostureVersion.current), profile: profile.id,
            incident: Self.incident, notified: nil, window: .init(from: incident.addingTimeInterval(-30 * 86400), to: filed),
            key: key.publicKey, reports: entries, attestations: attestations)
        return (bundle, key, reports)
    }

    /// Assesses the history the way the bank does: bundle bytes in, through the manifest check,
    /// the device's key pinned; the bank was notified `notifiedDaysAfter` the incident's day and
    /// assesses `assessedDaysAfter` it.
    func assess(
        _ profile: Profile, notifiedDaysAfter: Int? = 2, assessedDaysAfter: Double = 5,
        incidents: [String] = [incident]
    ) throws -> Assessment {
        let state = try TemporaryRoot("claim-state")
        let now = Self.incidentStart.addingTimeInterval(assessedDaysAfter * 86400 + 10 * 3600)
        let made = try bundle(profile: profile, state: state, filed: now)
        let read = try ClaimBundle.read(try made.bundle.encoded(), source: "claim.json")
        let notified = notifiedDaysAfter.map { Day(Self.incident)!.adding(days: $0).description }
        return try ClaimAssessment.assess(
            profile: profile, incidents: incidents, notified: notified,
            key: .init(made.key.publicKey, pinned: true, source: "device.pub"),
            reports: read.reportItems(source: "claim.json"), attestations: read.attestationEnvelopes,
            reference: .standard(), now: now)
    }
}

/// The bundled profiles, as the bank loads them.
enum BundledProfiles {
    static let ids = [
        "akishin-corporate-ib", "higashi-nippon-business-ib", "iwagin-business-web", "iwaicosmo-net-trading",
        "iyogin-internet-eb"
    ]
    static func load(_ id: String) throws -> Profile { try ProfileRepository(paths: .standard()).load(id) }

    /// Requirements a clean Linux PC cannot pass: tools that do not exist for Linux (a fail) and a
    /// recommended environment the profile does not list (unknown). Never attested away.
    static func unmetOnLinux(_ profile: Profile) -> (failing: [Requirement], unknown: [String]) {
        (
            profile.requirements.filter { $0.check == .toolUnavailableOnLinux },
            profile.requirements.filter { $0.check == .environmentRecommended && $0.parameters.strings("os").isEmpty }.map(\.id)
        )
    }

    /// The verdict a clean history gets under `profile`: only what a Linux PC cannot meet fails.
    static func cleanVerdict(_ profile: Profile) -> Assessment.Verdict {
        let failing = unmetOnLinux(profile).failing
        if failing.contains(where: { $0.consequence == .exclusion }) { return .exclusion }
        return failing.isEmpty ? .noExclusionFound : .reductionPossible
    }
}

@Suite struct ClaimScenarioTests {
    @Test(arguments: BundledProfiles.ids)
    func fineUntilTwoDaysAfterTheIncidentFindsNoExclusion(_ id: String) throws {
        let profile = try BundledProfiles.load(id)
        let brokenFrom = PlantedHistory.incidentStart.addingTimeInterval(2 * 86400)
        let history = PlantedHistory(plant: { now, evidence in
            if now >= brokenFrom { evidence.securitySoftware = [.init(product: "eset", installed: false, running: false, signaturesUpdatedAt: nil)] }
        })
        let assessment = try history.assess(profile)
        #expect(assessment.verification.ok)
        let unmet = BundledProfiles.unmetOnLinux(profile)
        #expect(assessment.outcome.verdict == BundledProfiles.cleanVerdict(profile), "\(assessment.outcome)")
        #expect(assessment.outcome.unassessed == unmet.unknown, "\(assessment.outcome.unassessed)")
        #expect(assessment.exitStatus == (!unmet.failing.isEmpty ? 1 : unmet.unknown.isEmpty ? 0 : 3))
        for requirement in unmet.failing {
            let judged = assessment.requirements.first { $0.requirement == requirement.id }?.atIncident
            #expect(judged?.status == .fail && judged?.summary.contains("not available for Linux") == true, "never an invitation to attest")
        }
        let last = try #require(assessment.lastReportBeforeIncident)
        #expect(PlantedHistory.incidentStart.timeIntervalSince(last.collectedAt) == 3 * 3600, "21:00 in Tokyo the evening before")
        // The change after the incident shows in the timeline, not in the verdict.
        if let installed = assessment.requirements.first(where: { $0.check == "security_software.installed" }) {
            #expect(installed.atIncident?.status == .pass)
            #expect(installed.timeline.map(\.status) == [.pass, .fail])
        }
    }

    @Test(arguments: BundledProfiles.ids)
    func staleSignaturesTenDaysBeforeTheIncidentCiteTheClause(_ id: String) throws {
        let profile = try BundledProfiles.load(id)
        let history = PlantedHistory.staleSignatures(daysBefore: 10)
        let assessment = try history.assess(profile)
        guard let requirement = profile.requirements.first(where: { $0.check == .securitySoftwareSignaturesFresh }) else {
            #expect(assessment.outcome.verdict == .noExclusionFound, "\(id) has no signature requirement: nothing to fail")
            return
        }
        let judged = try #require(assessment.requirements.first { $0.requirement == requirement.id })
        #expect(judged.atIncident?.status == .fail)
        // Updated at 00:00 ten days before; the last report, at 21:00 the evening before, finds them 9 full days old.
        #expect(judged.atIncident?.summary.contains("signatures are 9 days old") == true, "\(judged.atIncident?.summary ?? "")")
        #expect(judged.timeline.map(\.status) == [.pass, .fail])
        #expect(assessment.outcome.verdict == (requirement.consequence == .reduction ? .reductionPossible : .exclusion))
        #expect(assessment.outcome.clauses.contains(requirement.clause))
        #expect(assessment.exitStatus == 1)
        // `POSTURE_SAMPLE_DIR=DIR swift test --filter staleSignatures` keeps the HTML for a look (scripts/render-report renders it).
        if let directory = ProcessInfo.processInfo.environment["POSTURE_SAMPLE_DIR"] {
            for language in Language.allCases {
                try Data(HTMLReport.assessment(assessment, language: language).utf8)
                    .write(to: URL(fileURLWithPath: "\(directory)/scenario-\(id)-\(language.rawValue).html"))
            }
        }
    }

    @Test(arguments: BundledProfiles.ids)
    func endOfLifeBrowserDuringTheWindow(_ id: String) throws {
        let profile = try BundledProfiles.load(id)
        let eol = Day(PlantedHistory.incidentStart.addingTimeInterval(-5 * 86400))
        let history = PlantedHistory(plant: { now, evidence in
            evidence.browsers?[0].eol = eol
            evidence.browsers?[0].supported = Day(now) <= eol
        })
        let assessment = try history.assess(profile)
        guard let requirement = profile.requirements.first(where: { $0.check == .browserSupported }) else {
            #expect(id == "iwaicosmo-net-trading", "every bank's profile checks the browser; the broker's policy sets nothing on the PC")
            #expect(assessment.outcome.verdict == .noExclusionFound, "the PC's state excludes nothing under the broker's policy")
            return
        }
        let judged = try #require(assessment.requirements.first { $0.requirement == requirement.id })
        #expect(judged.atIncident?.status == .fail)
        #expect(judged.atIncident?.summary.contains("support ended \(eol)") == true)
        #expect(judged.timeline.first?.status == .pass && judged.timeline.last?.status == .fail)
        #expect(assessment.outcome.clauses.contains(requirement.clause))
        #expect(assessment.exitStatus == 1)
    }

    @Test(arguments: BundledProfiles.ids)
    func aChainGapAcrossTheIncidentIsNotAssessable(_ id: String) throws {
        let profile = try BundledProfiles.load(id)
        let history = PlantedHistory(missingDays: -1.5...1.5)
        let assessment = try history.assess(profile)
        #expect(assessment.verification.ok, "missing reports are a gap, not a forgery")
        #expect(assessment.outcome.verdict == .notAssessable)
        let gap = try #require(assessment.gaps.first { $0.kind == .chain })
        #expect(gap.spansIncident)
        #expect(gap.missing == 6)
        #expect(assessment.outcome.reasons.contains { $0.contains("missing from the chain across the incident") })
        #expect(assessment.exitStatus == 3)
    }

    @Test func aGapAwayFromTheIncidentIsOnlyReported() throws {
        let profile = try BundledProfiles.load("iyogin-internet-eb")
        let assessment = try PlantedHistory(missingDays: -20 ... -18).assess(profile)
        #expect(assessment.outcome.verdict == .noExclusionFound)
        #expect(assessment.gaps.count == 1 && assessment.gaps[0].spansIncident == false)
    }

    /// Every bank's rule at its boundary: notified on day 30 after the transfer's day is in time,
    /// day 31 is not, whenever the bank looks at it (the old reading judged the day of assessment).
    @Test(arguments: BundledProfiles.ids)
    func notifiedOnDay30IsInTimeAndDay31IsNot(_ id: String) throws {
        let profile = try BundledProfiles.load(id)
        let late = try PlantedHistory().assess(profile, notifiedDaysAfter: 31, assessedDaysAfter: 40)
        guard let deadline = late.requirements.first(where: { $0.check == "claim.deadline" }) else {
            #expect(id == "iwaicosmo-net-trading", "only the broker's policy states no claim period")
            #expect(late.transfers.allSatisfy { $0.cover == nil })
            #expect(late.profile.windowDays == nil, "no window the policy does not state")
            return
        }
        #expect(deadline.atIncident?.status == .fail, "\(deadline.atIncident?.summary ?? "")")
        #expect(late.outcome.verdict == .exclusion)
        #expect(late.outcome.clauses.contains(deadline.clause))
        #expect(late.exitStatus == 1)
        let cover = try #require(late.transfers.first?.cover)
        #expect((cover.notifyBy ?? cover.coveredFrom) != nil, "the computed date is shown")
        #expect(cover.notifyBy.map { $0 == Day("2026-11-19") } ?? (cover.coveredFrom == Day("2026-10-21")))

        // Notified on day 29 and assessed on day 31 (or 45): in time. A test once asserted the opposite.
        for assessed in [31.0, 45.0] {
            let onTime = try PlantedHistory().assess(profile, notifiedDaysAfter: 29, assessedDaysAfter: assessed)
            #expect(onTime.requirements.first { $0.check == "claim.deadline" }?.atIncident?.status == .pass)
            #expect(onTime.transfers.first?.cover?.status == .pass)
            #expect(onTime.outcome.verdict == BundledProfiles.cleanVerdict(profile), "\(onTime.outcome)")
        }
        let lastDay = try PlantedHistory().assess(profile, notifiedDaysAfter: 30, assessedDaysAfter: 60)
        #expect(lastDay.requirements.first { $0.check == "claim.deadline" }?.atIncident?.status == .pass)

        // Without the notification day the deadline is unknown, never judged on today.
        let unnotified = try PlantedHistory().assess(profile, notifiedDaysAfter: nil)
        #expect(unnotified.requirements.first { $0.check == "claim.deadline" }?.atIncident?.status == .unknown)
        #expect(unnotified.outcome.unassessed.contains(deadline.requirement))
        #expect(unnotified.exitStatus == (BundledProfiles.unmetOnLinux(profile).failing.isEmpty ? 3 : 1))
    }

    /// The same claim assessed on day 5 and day 45 gives the same JSON but for the assessment time.
    @Test(arguments: BundledProfiles.ids)
    func theVerdictDoesNotDependOnTheDayOfAssessment(_ id: String) throws {
        let profile = try BundledProfiles.load(id)
        let made = try PlantedHistory.staleSignatures(daysBefore: 10)
            .bundle(profile: profile, state: try TemporaryRoot("same-claim"), filed: PlantedHistory.incidentStart.addingTimeInterval(5 * 86400))
        func json(_ day: Double) throws -> [String: Any] {
            let assessment = try ClaimAssessment.assess(
                profile: profile, incidents: [PlantedHistory.incident], notified: "2026-10-23",
                key: .init(made.key.publicKey, pinned: true, source: "device.pub"), reports: made.bundle.reportItems(source: "claim.json"),
                attestations: made.bundle.attestationEnvelopes, reference: .standard(),
                now: PlantedHistory.incidentStart.addingTimeInterval(day * 86400))
            #expect(assessment.exitStatus == (profile.requirements.contains { $0.check == .securitySoftwareSignaturesFresh } ? 1 : 0))
            var object = try #require(try JSONSerialization.jsonObject(with: try PostureJSON.encoder().encode(assessment)) as? [String: Any])
            #expect(object.removeValue(forKey: "assessed_at") != nil)
            return object
        }
        let early = try JSONSerialization.data(withJSONObject: try json(5), options: [.sortedKeys])
        let late = try JSONSerialization.data(withJSONObject: try json(45), options: [.sortedKeys])
        #expect(early == late)
    }

    /// Transfers spread over more than 30 days: under 001 the early one drops out, the later stays covered.
    @Test func severalTransfersStraddlingThe30DayLine() throws {
        let profile = try BundledProfiles.load("iwagin-business-web")
        let early = Day(PlantedHistory.incident)!.adding(days: -10).description
        let assessment = try PlantedHistory().assess(profile, notifiedDaysAfter: 25, incidents: [PlantedHistory.incident, early])
        #expect(assessment.transfers.map(\.incident) == [early, PlantedHistory.incident], "earliest first")
        #expect(assessment.transfers.map(\.verdict) == [.exclusion, .noExclusionFound])
        #expect(assessment.outcome.unassessed == ["recommended-environment"], "001 4(3): the bank's list is not in the profile")
        #expect(assessment.transfers[0].cover?.coveredFrom == Day("2026-10-15"))
        #expect(assessment.transfers[0].failing.map(\.requirement) == ["claim-deadline"])
        #expect(assessment.transfers[1].lastReportBefore != assessment.transfers[0].lastReportBefore, "each judged at its own last report")
        #expect(assessment.outcome.verdict == .exclusion)
        #expect(assessment.outcome.reasons.contains { $0.hasPrefix("\(early): Exclusion") })
        #expect(assessment.outcome.reasons.contains { $0 == "\(PlantedHistory.incident): No exclusion or reduction found" })
        #expect(assessment.exitStatus == 1)
    }

    /// 002 lets a customer who cannot take its measures explain stronger ones: the assessment lists
    /// what this PC shows beyond the required measures, in a section of its own that decides nothing.
    @Test func higashiNipponListsTheMeasuresShownBeyondTheRule() throws {
        let profile = try BundledProfiles.load("higashi-nippon-business-ib")
        let history = PlantedHistory(plant: { _, evidence in evidence.localAccess?.firewallActive = false })
        let assessment = try history.assess(profile)
        let stronger = try #require(assessment.strongerMeasures)
        #expect(stronger.clause == "当行が求めるセキュリティ対策を講じられない場合")
        #expect(stronger.shown.map(\.check).contains("access.disk_encrypted"))
        #expect(stronger.shown.map(\.check).contains("integrity.no_modified_system_files"))
        #expect(stronger.notShown.map(\.check) == ["access.firewall_active"])
        #expect(assessment.outcome.verdict == BundledProfiles.cleanVerdict(profile), "the section decides nothing")
        #expect(AssessmentText(assessment: assessment, language: .en).render().contains("measures this PC shows beyond the rule's"))
        #expect(try BundledProfiles.load("iyogin-internet-eb").strongerMeasures == nil)
    }

    @Test(arguments: BundledProfiles.ids)
    func attestationsPresentVersusExpired(_ id: String) throws {
        let profile = try BundledProfiles.load(id)
        let present = try PlantedHistory(attestedDaysBefore: 20).assess(profile)
        let attested = present.requirements.filter { $0.check == "attestation" }
        #expect(!attested.isEmpty)
        #expect(attested.allSatisfy { $0.atIncident?.status == .attested })
        #expect(present.attestations.count == attested.count)

        let old = try PlantedHistory(attestedDaysBefore: 120).assess(profile)
        let expiring = profile.requirements.filter { $0.check == .attestation && $0.parameters.int("valid_days") != nil }.map(\.id)
        for requirement in old.requirements where requirement.check == "attestation" {
            let expected: FindingStatus = expiring.contains(requirement.requirement) ? .unknown : .attested
            #expect(requirement.atIncident?.status == expected, "\(requirement.requirement)")
        }
        if !expiring.isEmpty {
            #expect(Set(old.outcome.unassessed) == Set(expiring + BundledProfiles.unmetOnLinux(profile).unknown))
            #expect(old.exitStatus == (BundledProfiles.unmetOnLinux(profile).failing.isEmpty ? 3 : 1))
        }
    }

    @Test(arguments: BundledProfiles.ids)
    func theBankJudgesExactlyAsThePCDid(_ id: String) throws {
        let profile = try BundledProfiles.load(id)
        let history = PlantedHistory.staleSignatures(daysBefore: 10)
        let state = try TemporaryRoot("same")
        let made = try history.bundle(profile: profile, state: state, filed: PlantedHistory.incidentStart.addingTimeInterval(86400 * 4))
        let assessment = try Assessor(key: made.key.publicKey).assess(
            reports: made.bundle.reportItems(source: "b"), attestations: made.bundle.attestationEnvelopes,
            request: .init(profile: profile, incident: PlantedHistory.incident, notified: "2026-10-22", now: made.bundle.createdAt))
        #expect(assessment.disagreements.isEmpty, "\(assessment.disagreements)")
        let last = try #require(made.reports.last { $0.collectedAt < PlantedHistory.incidentStart })
        for requirement in assessment.requirements where requirement.check != "claim.deadline" {
            let onThePC = last.findings.first { $0.requirement == requirement.requirement }
            #expect(requirement.atIncident == onThePC, "\(requirement.requirement)")
        }
    }
}

@Suite struct EvidenceRejectionTests {
    static func made() throws -> (ClaimBundle, DeviceKey, Profile) {
        let profile = try BundledProfiles.load("iyogin-internet-eb")
        let made = try PlantedHistory().bundle(
            profile: profile, state: try TemporaryRoot("reject"),
            filed: PlantedHistory.incidentStart.addingTimeInterval(86400))
        return (made.bundle, made.key, profile)
    }

    @Test func anAlteredReportFailsVerificationAndNothingIsJudged() throws {
        let (bundle, key, profile) = try Self.made()
        var items = bundle.reportItems(source: "b")
        var envelope = try Envelope.decode(items[40].bytes)
        var report = try PostureJSON.decoder().decode(Report.self, from: try #require(envelope.body))
        report.evidence.securitySoftware = []
        envelope.payload = try PostureJSON.encoder().encode(report).base64EncodedString()
        items[40].bytes = try envelope.encoded()
        let assessment = try Assessor(key: key.publicKey).assess(
            reports: items, attestations: [], request: .init(profile: profile, incident: PlantedHistory.incident))
        #expect(assessment.outcome.verdict == .evidenceInvalid)
        #expect(assessment.exitStatus == 65)
        #expect(assessment.requirements.isEmpty)
        #expect(assessment.verification.problems.contains { $0.contains("bad signature") })
    }

    @Test func anotherKeyFailsVerification() throws {
        let (bundle, _, profile) = try Self.made()
        let stranger = Curve25519.Signing.PrivateKey().publicKey
        let assessment = try Assessor(key: stranger).assess(
            reports: bundle.reportItems(source: "b"), attestations: bundle.attestationEnvelopes,
            request: .init(profile: profile, incident: PlantedHistory.incident))
        #expect(assessment.exitStatus == 65)
    }

    @Test func aBundleEditedAfterItWasMadeIsRefused() throws {
        let (bundle, _, _) = try Self.made()
        var edited = bundle
        edited.reports.removeLast()
        #expect(throws: BundleError.self) { try ClaimBundle.read(try edited.encoded(), source: "claim.json") }
        var swapped = bundle
        swapped.reports.swapAt(3, 4)
        #expect(throws: BundleError.self) { try ClaimBundle.read(try swapped.encoded(), source: "claim.json") }
        #expect(throws: BundleError.self) { try ClaimBundle.read(Data("{\"schema\": \"posture.claim/v1\"}".utf8), source: "claim.json") }
    }

    @Test func noReportWithinTheMaximumAgeIsNotAssessable() throws {
        let profile = try BundledProfiles.load("akishin-corporate-ib")
        let assessment = try PlantedHistory(missingDays: -4...5).assess(profile)
        #expect(assessment.outcome.verdict == .notAssessable)
        #expect(assessment.outcome.reasons.contains { $0.contains("h old") })
    }
}
