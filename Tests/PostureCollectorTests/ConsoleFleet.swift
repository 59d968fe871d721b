import Crypto
import Foundation
import PostureCollector
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureReference

/// A fleet planted for the console's tests, with facts known in advance: in contract C-A one PC
/// with no security software (it fails every profile that requires some), one whose report says
/// nothing (unknown), one that last reported 30 days ago (silent), one whose chain forked; in
/// contract C-B one PC. Reports are signed by the devices' own keys, as the agent signs them.
struct ConsoleFleet {
    /// One planted PC.
    struct PC {
        var hostname: String
        var contract: String
        var device = TestDevice()
        /// (sequence, index of the report it links to, hours before now, evidence).
        var reports: [(sequence: Int, previous: Int?, hoursAgo: Double, evidence: Evidence)]
    }

    /// The profile the tests count against: it requires security software and nothing Linux
    /// cannot meet, so a PC with a silent report is unknown there and not failing.
    static let profile = "iyogin-internet-eb"

    let now = Date()
    var pcs: [PC]

    init() {
        var bare = Evidence()
        bare.securitySoftware = []
        pcs = [
            PC(hostname: "pc-fail", contract: "C-A", reports: [(1, nil, 2, bare)]),
            PC(hostname: "pc-unknown", contract: "C-A", reports: [(1, nil, 3, Evidence())]),
            PC(hostname: "pc-silent", contract: "C-A", reports: [(1, nil, 30 * 24, Evidence())]),
            PC(hostname: "pc-fork", contract: "C-A", reports: [(1, nil, 6, Evidence()), (2, 0, 5, Evidence()), (2, 0, 4, Evidence())]),
            PC(hostname: "pc-b", contract: "C-B", reports: [(1, nil, 1, Evidence())])
        ]
    }

    func pc(_ hostname: String) -> PC { pcs.first { $0.hostname == hostname }! }

    /// The PC's reports as signed envelopes, in upload order.
    func envelopes(_ pc: PC) throws -> [(id: String, bytes: Data)] {
        var out: [(id: String, bytes: Data)] = []
        for planted in pc.reports {
            let id = UUID().uuidString.lowercased()
            var report = Report(
                id: id, collectedAt: now.addingTimeInterval(-planted.hoursAgo * 3600), agent: AgentInfo(version: "test"),
                host: HostInfo(hostname: pc.hostname, machineIdSha256: nil, root: "/"), evidence: planted.evidence)
            report.chain = ChainLink(sequence: planted.sequence, previous: planted.previous.map { sha256Hex(out[$0].bytes) }, bootId: nil)
            out.append((id, try Envelope.signedReport(report, key: pc.device.key)))
        }
        return out
    }

    /// Enrolls every PC and delivers its reports through `collector`, in process.
    func plant(into collector: Collector) async throws {
        for pc in pcs {
            let token = try await collector.issueToken(contract: pc.contract, lifetime: 3600)
            let nonce = collector.enrollmentChallenge()
            _ = try await collector.enroll(
                body: try JSONSerialization.data(withJSONObject: [
                    "token": token, "public_key": pc.device.key.publicLine, "nonce": nonce, "hostname": pc.hostname,
                    "signature": try EnrollmentProof.sign(token: token, nonce: nonce, key: pc.device.key)
                ]))
            for (id, bytes) in try envelopes(pc) { _ = try await collector.ingest(body: bytes, idempotencyKey: id) }
        }
    }

    static func profiles() throws -> [Profile] { try ProfileRepository(paths: .standard()).loadAll() }
}
