import Crypto
import Foundation
import PostureAssessment
import PostureEvidence
import PostureModel
import PosturePolicy

/// Targets for what the bank reads: DSSE envelopes and journal exports, the reports they carry
/// (signed by the device key, which the customer holds), and claim bundles.
enum EvidenceTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget(name: "envelope", run: envelope, seeds: envelopeSeeds),
        FuzzTarget(name: "chain", run: chain, seeds: chainSeeds),
        FuzzTarget(name: "bundle", run: bundle, seeds: bundleSeeds),
        FuzzTarget(name: "assess", run: assess, seeds: chainSeeds),
    ]

    /// The fuzzing device's key: a fixed seed, so signatures (deterministic Ed25519) and chain hashes repeat.
    static let key = DeviceKey(privateKey: try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: 32)))
    nonisolated(unsafe) static let verifier = ChainVerifier(key: key.publicKey)

    /// An envelope file or a journal export (one envelope per line), verified as `posture verify` does.
    static func envelope(_ bytes: [UInt8]) {
        let data = Data(bytes)
        _ = verifier.verify(ChainVerifier.items(in: data, source: "fuzz"))
        _ = verifier.attestation(data, source: "fuzz")
        _ = ClaimBundle.isBundle(data)
        _ = try? PostureJSON.decoder().decode(Report.self, from: data)
    }

    static func envelopeSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let envelopes = try signedChain().map { try Envelope.sign(body: $0, key: key).encoded() }
        return [
            ("envelope", [UInt8](envelopes[0])),
            ("export", [UInt8](envelopes.joined(separator: Data("\n".utf8)) + Data("\n".utf8))),
            ("attestation", [UInt8](try Envelope.sign(body: attestationBody(), type: Envelope.attestationType, key: key).encoded())),
        ]
    }

    /// Report payloads (parts) signed with the device key, so the verifier gets past the signature
    /// to the reports and the chain across them: what a customer holding the key could send.
    static func chain(_ bytes: [UInt8]) {
        let payloads = parts(bytes, 4).filter { !$0.isEmpty }
        var items: [ChainVerifier.Item] = []
        for (index, payload) in payloads.enumerated() {
            guard let envelope = try? Envelope.sign(body: Data(payload), key: key).encoded() else { continue }
            items.append(.init(source: "fuzz#\(index)", bytes: envelope))
            if let attestation = try? Envelope.sign(body: Data(payload), type: Envelope.attestationType, key: key).encoded() {
                _ = verifier.attestation(attestation, source: "fuzz#\(index)")
            }
        }
        _ = verifier.verify(items)
    }

    static func chainSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let bodies = try signedChain()
        return [("chain", Array(bodies.map { [UInt8]($0) }.joined(separator: Array("\n###\n".utf8)))),
                ("attestation", [UInt8](try attestationBody()))]
    }

    static let profile = try! ProfileLoader.load(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Profiles/akishin-corporate-ib.yaml").standardized.path)

    /// Report payloads (parts) signed with the device key, assessed for a claim and rendered as the
    /// bank's `posture assess` does: the policy and the assessment judge what the customer sent.
    static func assess(_ bytes: [UInt8]) {
        let payloads = parts(bytes, 4).filter { !$0.isEmpty }
        var items: [ChainVerifier.Item] = []
        var attestations: [Data] = []
        for (index, payload) in payloads.enumerated() {
            guard let envelope = try? Envelope.sign(body: Data(payload), key: key).encoded() else { continue }
            items.append(.init(source: "fuzz#\(index)", bytes: envelope))
            if let attestation = try? Envelope.sign(body: Data(payload), type: Envelope.attestationType, key: key).encoded() {
                attestations.append(attestation)
            }
        }
        let request = Assessor.Request(profile: profile, incidents: ["2026-05-28", "2026-05-20T10:00:00+09:00"], notified: "2026-06-02",
                                       now: Date(timeIntervalSince1970: 1_780_000_000))
        guard let assessment = try? Assessor(key: key.publicKey).assess(reports: items, attestations: attestations, request: request) else {
            return
        }
        _ = try? PostureJSON.encoder().encode(assessment)
        for language in Language.allCases {
            _ = AssessmentText(assessment: assessment, language: language).render()
            _ = HTMLReport.assessment(assessment, language: language)
        }
    }

    /// A claim bundle, read and verified as `posture verify` and `posture assess` do.
    static func bundle(_ bytes: [UInt8]) {
        let data = Data(bytes)
        _ = ClaimBundle.isBundle(data)
        guard let bundle = try? ClaimBundle.read(data, source: "fuzz"), let key = bundle.key else { return }
        let verifier = ChainVerifier(key: key)
        _ = verifier.verify(bundle.reportItems(source: "fuzz"))
        for attestation in bundle.attestationEnvelopes { _ = verifier.attestation(attestation, source: "fuzz") }
    }

    static func bundleSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let bodies = try signedChain()
        let envelopes = try bodies.map { try Envelope.sign(body: $0, key: key).encoded() }
        let attestation = try Envelope.sign(body: attestationBody(), type: Envelope.attestationType, key: key).encoded()
        let bundle = ClaimBundle(createdAt: Date(timeIntervalSince1970: 1_780_000_000), agent: AgentInfo(version: "fuzz"),
                                 profile: "akishin-corporate-ib", incident: "2026-05-28", notified: nil,
                                 window: .init(from: Date(timeIntervalSince1970: 1_777_000_000), to: Date(timeIntervalSince1970: 1_780_000_000)),
                                 key: key.publicKey,
                                 reports: envelopes.enumerated().map { ("id-\($0.offset)", $0.offset + 1, $0.element) },
                                 attestations: [("att-1", attestation)])
        return [("bundle", [UInt8](try bundle.encoded()))]
    }

    /// Three report bodies linked as the journal links them (each `previous` the hash of the envelope before).
    static func signedChain() throws -> [Data] {
        var bodies: [Data] = []
        var previous: String?
        for sequence in 1...3 {
            var report = Report(id: "00000000-0000-4000-8000-00000000000\(sequence)",
                                collectedAt: Date(timeIntervalSince1970: 1_779_000_000 + Double(sequence) * 3600),
                                agent: AgentInfo(version: "fuzz"), host: HostInfo(hostname: "pc", machineIdSha256: nil, root: "/"),
                                evidence: Evidence(), attestations: [attestationValue()])
            report.evidence.os = OSEvidence(id: "debian", versionId: "12", prettyName: "Debian GNU/Linux 12 (bookworm)",
                                            codename: "bookworm", eol: Day("2028-06-30"), eolSource: "catalog",
                                            support: ["eol": Day("2026-06-10")!], supported: true)
            report.evidence.accounts = [AccountEvidence(user: "alice", uid: 1000, passwordLastChanged: Day("2026-04-01"),
                                                        passwordMaxDays: 90, locked: false)]
            report.evidence.unavailable = ["integrity": "not collected"]
            report.chain = ChainLink(sequence: sequence, previous: previous, bootId: "boot")
            let body = try PostureJSON.encoder().encode(report)
            previous = sha256Hex(try Envelope.sign(body: body, key: key).encoded())
            bodies.append(body)
        }
        return bodies
    }

    static func attestationValue() -> Attestation {
        Attestation(id: "00000000-0000-4000-8000-0000000000aa", requirement: "password-rotated", profile: "akishin-corporate-ib",
                    note: "changed", by: "staff", recordedAt: Date(timeIntervalSince1970: 1_778_000_000),
                    expiresAt: Date(timeIntervalSince1970: 1_785_000_000))
    }

    static func attestationBody() throws -> Data { try PostureJSON.encoder().encode(attestationValue()) }
}
