import ArgumentParser
import Crypto
import Foundation
import PostureAgent
import PostureAssessment
import PostureCommandLine
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureReference

/// `posture attest`: a signed declaration for a requirement no probe can see.
struct AttestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "Record a signed declaration for a requirement no probe can see.",
        discussion: """
            Some countermeasures cannot be read from the PC: the hardware token is kept safe, the PC \
            is not lent out, the bank login password was changed. A staff member confirms them and \
            records it here. The declaration is signed with the device key, time-stamped and kept in \
            the journal; every later report carries it (attestations[]) until it expires after the \
            requirement's valid_days (for example 90 days for a password change), so the bank sees \
            when it was made and by whom. Record a password change each time the password is changed: \
            its age is what the bank checks.

            REQUIREMENT is a requirement id of the profile whose check is `attestation` \
            (`posture profiles show ID` lists them). The note must not contain the password itself.

            Examples:
              sudo posture attest password-rotated --profile akishin-corporate-ib --by "Sato (accounting)"
              sudo posture attest pc-not-lent --profile akishin-corporate-ib --note "kept in the locked office"
            """
    )

    @Argument(help: ArgumentHelp("The requirement id (an attestation requirement of the profile).", valueName: "REQUIREMENT"))
    var requirement: String

    @Option(help: ArgumentHelp("The profile id or a path to a profile YAML file.", valueName: "ID"), completion: .profileIDs)
    var profile: String

    @Option(help: ArgumentHelp("What was confirmed, in a few words (never a password).", valueName: "TEXT"))
    var note: String?

    @Option(help: ArgumentHelp("Who confirmed it (a name or role).", valueName: "NAME"))
    var by: String?

    @OptionGroup var reference: ReferenceOptions
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        try await ErrorReporter.posture.run {
            let profile = try ProfileRepository(paths: reference.paths).load(self.profile)
            let attestable = profile.requirements.filter { $0.check == .attestation }
            guard let requirement = attestable.first(where: { $0.id == self.requirement }) else {
                let known = profile.requirements.contains { $0.id == self.requirement }
                throw ValidationError(
                    "\(known ? "'\(self.requirement)' is checked by a probe, not attested" : "no requirement '\(self.requirement)'") "
                        + "in \(profile.id); attestable: \(attestable.map(\.id).joined(separator: ", "))")
            }
            let stateDirectory = try options.stateDirectory(try options.load())
            let (key, created) = try DeviceKey.loadOrCreate(stateDirectory: stateDirectory)
            if created { printError("created the device key \(stateDirectory)/\(DeviceKey.privateName) (key id \(key.keyID))") }
            let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            let expires = requirement.parameters.int("valid_days").map { now.addingTimeInterval(Double($0) * 86400) }
            let signed = try Journal(stateDirectory: stateDirectory).record(
                Attestation(requirement: requirement.id, profile: profile.id, note: note, by: by, recordedAt: now, expiresAt: expires),
                key: key)
            var line = "attested \(requirement.id) (\(profile.id), clause \(requirement.clause(in: .en))) at \(RFC3339.string(from: now))"
            line += expires.map { ", valid until \(RFC3339.string(from: $0))" } ?? ", no expiry"
            print(line)
            print("id \(signed.attestation.id ?? "?"), envelope sha256 \(sha256Hex(signed.envelope)); later reports carry it")
        }
    }
}

/// `posture claim`: the evidence of a claim window in one file, for when the collector is out of reach.
struct ClaimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claim",
        abstract: "Write a claim bundle: the signed reports and attestations of the claim window in one file.",
        discussion: """
            Collects from the journal every signed report from the profile's claim window before the \
            first incident (claim.window_days, else claim.evidence_max_age) through now, every \
            attestation valid in that time, the \
            device's public key and a manifest of SHA-256 hashes into one JSON file \
            (schema posture.claim/v1; envelopes are kept as their exact signed bytes). Carry it to \
            the bank by any means when the collector cannot be reached: `posture verify BUNDLE` and \
            `posture assess BUNDLE` read it there, and any change to it is detected.

            --incident takes a date (the whole day in the profile's time zone) or an RFC 3339 time; \
            repeat it for each fraudulent transfer.

            Example:
              sudo posture claim --profile iyogin-internet-eb --incident 2026-11-10 --output claim.json
            """
    )

    @OptionGroup var claim: ClaimOptions

    @Option(help: ArgumentHelp("The bundle file to write.", valueName: "FILE"))
    var output: String

    @OptionGroup var reference: ReferenceOptions
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        try await ErrorReporter.posture.run {
            let profile = try claim.loadProfile(reference)
            let incidentStart = try claim.incidents.map { try claimTime($0, profile: profile) }.min()!
            _ = try claim.notified.map { try claimTime($0, profile: profile) }
            let stateDirectory = try options.stateDirectory(try options.load())
            let key = try DeviceKey.publicKey(file: "\(stateDirectory)/\(DeviceKey.publicName)")
            guard let journal = try Journal.existing(stateDirectory: stateDirectory) else {
                throw CommandFailure("no journal in \(stateDirectory): this PC has no signed reports yet", status: ExitStatus.noInput)
            }
            let now = Date()
            let from = incidentStart.addingTimeInterval(-Double(profile.claim.windowSeconds))
            let keyID = DeviceKey.keyID(of: key)
            let entries = try journal.entries(from: from, to: now).filter { $0.keyID == keyID }
            let attestations = try journal.attestations(activeFrom: from, to: now).compactMap { signed -> (String, Data)? in
                signed.attestation.profile == profile.id ? (signed.attestation.id ?? sha256Hex(signed.envelope), signed.envelope) : nil
            }
            let bundle = ClaimBundle(
                createdAt: now, agent: AgentInfo(version: PostureVersion.current), profile: profile.id,
                incident: claim.incidents.joined(separator: ", "), notified: claim.notified, window: .init(from: from, to: now), key: key,
                reports: entries.map { ($0.reportID, $0.sequence, $0.envelope) }, attestations: attestations,
                log: try journal.meta()[Journal.receiptKeyMeta].flatMap(DeviceKey.publicKey(base64:)).map { receiptKey in
                    try journal.logSection(reportIDs: entries.map(\.reportID), receiptKey: receiptKey)
                })
            try emit(try bundle.encoded(), to: output)
            let before = entries.last { $0.collectedAt < incidentStart }
            var summary = "wrote \(output): \(entries.count) signed report(s)"
            if let first = entries.first, let last = entries.last { summary += " (sequence \(first.sequence)–\(last.sequence))" }
            summary += ", \(attestations.count) attestation(s), key id \(keyID)"
            if let log = bundle.log { summary += ", \(log.inclusions.count) with a proof of inclusion in the collector's log" }
            printError(summary)
            if let before {
                let hours = Int(incidentStart.timeIntervalSince(before.collectedAt) / 3600)
                if hours * 3600 > profile.claim.evidenceMaxAge {
                    printError(
                        "warning: the last report before the incident is \(hours)h old; \(profile.id) asks for one within \(profile.claim.evidenceMaxAge / 3600)h"
                    )
                }
            } else {
                printError("warning: the journal has no report from before the incident; the bank cannot assess the posture then")
            }
        }
    }
}

/// `posture assess`: the bank's verdict on a claim from signed evidence.
struct AssessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assess",
        abstract: "Assess a claim from signed evidence: was the PC compliant at the incident, clause by clause?",
        discussion: """
            Verifies every envelope first (signature, key, chain); evidence that does not verify is \
            reported and nothing is judged (exit 65). Then evaluates each report of the claim window \
            with the same policy code as `posture scan` and gives, per requirement, the status at the \
            last report before the incident, how it changed across the window, the clause and its \
            consequence, and an overall outcome: no exclusion or reduction found, reduction possible, \
            condition not met, exclusion, or not assessable (no report within the profile's \
            evidence_max_age before a transfer, reports missing from the chain across it, or a key that \
            is not pinned).

            Repeat --incident for each fraudulent transfer: each gets its own verdict from the last \
            report before it, and its own verdict under the rule's claim period (claim.counting in \
            the profile: notified within N days of the transfer, or transfers from N days before the \
            notification, with any cut-off and start of cover). The period is judged on --notified, the \
            day the bank was notified of (accepted) the claim, never on the day the assessment runs: \
            the same evidence and dates give the same verdict on any later day. Without --notified \
            the deadline is unknown. A date names the whole day in the profile's time zone (default \
            Asia/Tokyo): "before the incident" means before 00:00 of that day there.

            Inputs are claim bundles (`posture claim`), envelope files (`posture scan --sign`) and \
            journal exports, in any order. The signing key is pinned by --key, else by the state \
            directory's device.pub (the PC checking itself). Only when neither exists is a bundle's own \
            key used, and then the outcome is at best not assessable: nothing shows who made the \
            reports. A bundle's unsigned fields (created_at, incident, notified) are never judged on.

            Exit status: 0 no exclusion or reduction and everything assessed; 1 a requirement fails \
            or a transfer is outside the rule's period; 3 not assessable, or something could not be \
            assessed (the deadline without --notified, an unpinned key); 65 evidence fails \
            verification; 66 an input is missing.

            Examples:
              posture assess claim.json --key device.pub --profile iyogin-internet-eb --incident 2026-11-10 --notified 2026-11-12
              posture assess journal.ndjson --key device.pub --profile akishin-corporate-ib --incident 2026-10-02 --incident 2026-11-10T14:05:00+09:00 --notified 2026-11-11 --format html --output assessment.html
            """
    )

    @Argument(help: ArgumentHelp("Claim bundles, envelope files or journal exports.", valueName: "BUNDLE_OR_ENVELOPES"))
    var files: [String]

    @OptionGroup var claim: ClaimOptions

    @Option(help: ArgumentHelp("The device's public key file (device.pub); default: the state directory's device.pub.", valueName: "PUBKEY_FILE"))
    var key: String?

    @Option(help: "Output format: text (default), json (posture.assessment/v1) or html (printable, self-contained).")
    var format: AssessmentFormat = .text

    @Option(help: ArgumentHelp("Write to FILE instead of standard output.", valueName: "FILE"))
    var output: String?

    @OptionGroup var reference: ReferenceOptions
    @OptionGroup var state: StateOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one claim bundle, envelope file or journal export") }
    }

    func run() async throws {
        try await ErrorReporter.posture.run {
            let profile = try claim.loadProfile(reference)
            let evidence = try EvidenceFiles.load(files)
            let signingKey: ClaimAssessment.Key
            let stateKey = "\(state.named())/\(DeviceKey.publicName)"
            if let key {
                signingKey = .init(try DeviceKey.publicKey(file: key), pinned: true, source: "--key \(key)")
            } else if FileManager.default.fileExists(atPath: stateKey) {
                signingKey = .init(try DeviceKey.publicKey(file: stateKey), pinned: true, source: stateKey)
            } else if let bundled = evidence.bundleKey {
                signingKey = .init(bundled, pinned: false, source: "the bundle's own key")
            } else {
                throw CommandFailure(
                    "no key to verify the evidence: give the device's public key with --key PUBKEY_FILE",
                    status: ExitStatus.noInput)
            }
            try claim.assess(
                profile, key: signingKey, reports: evidence.reports, attestations: evidence.attestations,
                reference: reference, format: format, output: output, log: evidence.log)
        }
    }
}

/// Evidence files given on the command line: bundles, envelopes and journal exports.
struct EvidenceFiles {
    var reports: [ChainVerifier.Item] = []
    var attestations: [Data] = []
    /// The key a bundle names for itself: used only when no key is pinned.
    var bundleKey: Curve25519.Signing.PublicKey?
    /// The collector's log as the bundles prove it (nil: no bundle carries proofs).
    var log: LogInclusion?

    static func load(_ files: [String]) throws -> EvidenceFiles {
        var evidence = EvidenceFiles()
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                let exists = FileManager.default.fileExists(atPath: file)
                throw CommandFailure(
                    "\(file): \(exists ? "cannot read it" : "no such file")",
                    status: exists ? ExitStatus.permission : ExitStatus.noInput)
            }
            guard ClaimBundle.isBundle(data) else {
                evidence.reports += ChainVerifier.items(in: data, source: file)
                continue
            }
            let bundle = try ClaimBundle.read(data, source: file)
            if let known = evidence.bundleKey, known.rawRepresentation != bundle.key?.rawRepresentation {
                throw CommandFailure(
                    "\(file): the bundles name different device keys; assess one device at a time",
                    status: ExitStatus.dataError)
            }
            evidence.bundleKey = bundle.key
            evidence.reports += bundle.reportItems(source: file)
            evidence.attestations += bundle.attestationEnvelopes
            if let section = bundle.log {
                let checked = section.verify(reports: bundle.reportEnvelopes)
                evidence.log = evidence.log.map { $0.merged(with: checked) } ?? checked
            }
        }
        return evidence
    }
}
