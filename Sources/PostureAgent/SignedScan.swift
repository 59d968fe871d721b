package import Foundation
package import PostureEvidence
package import PostureModel
package import PosturePolicy

/// Scan, sign and journal: the one use case behind `posture scan --sign` and every agent cycle.
/// The device key is created on first use; the report carries the customer's declarations in
/// force at the scan, and is chained to the journal's head in the same transaction that stores it.
package struct SignedScan: Sendable {
    package var scanner: Scanner
    package var profiles: [Profile]
    /// Queue the signed report for delivery to the collector.
    package var enqueue: Bool

    package init(scanner: Scanner, profiles: [Profile], enqueue: Bool = false) {
        self.scanner = scanner
        self.profiles = profiles
        self.enqueue = enqueue
    }

    /// What a signed scan made.
    package struct Outcome: Sendable {
        /// The report as signed, with its chain position.
        package var report: Report
        /// The DSSE envelope exactly as signed and journaled.
        package var envelope: Data
        package var journal: Journal
        /// The device key, when this scan created it.
        package var createdKey: DeviceKey?
    }

    package func run(stateDirectory: String, now: Date = Date()) async throws -> Outcome {
        let (key, created) = try DeviceKey.loadOrCreate(stateDirectory: stateDirectory)
        let journal = try Journal(stateDirectory: stateDirectory)
        let report = await scanner.scan(profiles: profiles, attestations: try journal.attestationsInForce(at: now), now: now)
        let signed = try journal.append(report, key: key, enqueue: enqueue)
        return Outcome(report: signed.report, envelope: signed.envelope, journal: journal, createdKey: created ? key : nil)
    }
}
