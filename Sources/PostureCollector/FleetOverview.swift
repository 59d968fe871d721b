package import Foundation
package import PosturePolicy

/// One enrolled device with its kept verdict against one profile (no verdict: it never reported
/// since the console watched that profile), as the overview reads them in one query.
package struct FleetEntry: Sendable, Hashable {
    package var keyID: String
    package var contract: String
    package var hostname: String?
    /// When the newest judged report was made; nil when none was.
    package var collectedAt: Date?
    package var failing: Int
    package var unknown: Int

    package init(keyID: String, contract: String, hostname: String?, collectedAt: Date?, failing: Int, unknown: Int) {
        self.keyID = keyID
        self.contract = contract
        self.hostname = hostname
        self.collectedAt = collectedAt
        self.failing = failing
        self.unknown = unknown
    }
}

/// What the console's overview shows for one profile: per contract how many devices fail, are
/// unknown or silent, and each device's standing, from the verdicts kept at ingest.
package struct FleetOverview: Sendable {
    /// A device's standing against a profile. `silent` when its newest report is older than the
    /// profile's `evidence_max_age` (or it never reported): its cover is at risk whatever that
    /// report said. Otherwise `failing` when a requirement fails, `unknown` when one could not be
    /// judged, else `ok`.
    package enum Standing: String, Sendable, CaseIterable {
        case silent, failing, unknown, ok

        package init(collectedAt: Date?, failing: Int, unknown: Int, profile: Profile, now: Date) {
            guard let collectedAt, now.timeIntervalSince(collectedAt) <= Double(profile.claim.evidenceMaxAge) else {
                self = .silent
                return
            }
            self = failing > 0 ? .failing : unknown > 0 ? .unknown : .ok
        }
    }

    /// One device's row.
    package struct DeviceRow: Sendable {
        package var entry: FleetEntry
        package var events: Int
        package var standing: Standing
    }

    /// One contract's counts.
    package struct Tally: Sendable, Hashable {
        package var contract: String
        package var devices = 0
        package var failing = 0
        package var unknown = 0
        package var silent = 0
        /// Devices with chain events (gaps, forks, replays, conflicts).
        package var withEvents = 0
    }

    package var profile: String
    package var rows: [DeviceRow]
    /// Contracts that need attention first: most failing, then silent, unknown, with chain events.
    package var tallies: [Tally]

    package init(entries: [FleetEntry], events: [String: Int], profile: Profile, now: Date) {
        self.profile = profile.id
        var tallies: [String: Tally] = [:]
        rows = entries.map { entry in
            let standing = Standing(collectedAt: entry.collectedAt, failing: entry.failing, unknown: entry.unknown, profile: profile, now: now)
            let events = events[entry.keyID] ?? 0
            var tally = tallies[entry.contract] ?? Tally(contract: entry.contract)
            tally.devices += 1
            switch standing {
            case .failing: tally.failing += 1
            case .unknown: tally.unknown += 1
            case .silent: tally.silent += 1
            case .ok: break
            }
            if events > 0 { tally.withEvents += 1 }
            tallies[entry.contract] = tally
            return DeviceRow(entry: entry, events: events, standing: standing)
        }
        self.tallies = tallies.values.sorted { a, b in
            (-a.failing, -a.silent, -a.unknown, -a.withEvents, a.contract) < (-b.failing, -b.silent, -b.unknown, -b.withEvents, b.contract)
        }
    }
}
