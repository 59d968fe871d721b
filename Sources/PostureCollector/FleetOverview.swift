package import Foundation
import PostureModel
package import PosturePolicy

/// A device's standing against a profile. `silent` when its newest report is older than the
/// profile's `evidence_max_age` (or it never reported): its cover is at risk whatever that report
/// said. Otherwise `failing` when a requirement fails, `unknown` when one could not be judged,
/// else `ok`. The cases are in the order the overview lists them.
package enum DeviceStanding: String, Sendable, CaseIterable {
    case silent, failing, unknown, ok

    package init(collectedAt: Date?, failing: Int, unknown: Int, profile: Profile, now: Date) {
        guard let collectedAt, collectedAt >= FleetQuery.silentBefore(profile: profile, now: now) else {
            self = .silent
            return
        }
        self = failing > 0 ? .failing : unknown > 0 ? .unknown : .ok
    }

    /// The number the stores compute in SQL for this standing (the overview's sort order).
    var rank: Int { Self.allCases.firstIndex(of: self)! }
}

/// What the console's overview asks of the store: one profile's devices in a scope, filtered,
/// sorted and paged by the store, with the per-contract tallies.
package struct FleetQuery: Sendable, Hashable {
    /// Which devices the list shows.
    package enum Filter: String, Sendable, CaseIterable {
        case all, silent, failing, unknown, ok
        /// Devices with chain events (gaps, forks, replays, conflicts).
        case events
    }

    /// The list's order; each ends by hostname (or key id) and key id.
    package enum Sort: String, Sendable, CaseIterable {
        case standing, last, host, contract
    }

    package var profile: String
    /// nil: every contract.
    package var contract: String?
    /// Reports made before this are silent (the profile's `evidence_max_age` before now).
    package var silentBefore: Date
    package var filter = Filter.all
    /// Only devices whose kept verdict fails this requirement.
    package var failingRequirement: String?
    /// Hostnames containing it (case-insensitive), or key ids starting with it; empty: all.
    package var search = ""
    package var sort = Sort.standing
    package var offset = 0
    package var limit = 50
    /// How many contracts' tallies to return, those needing attention first.
    package var contractsShown = 50

    package init(profile: Profile, contract: String?, now: Date) {
        self.profile = profile.id
        self.contract = contract
        silentBefore = Self.silentBefore(profile: profile, now: now)
    }

    package static func silentBefore(profile: Profile, now: Date) -> Date {
        now.addingTimeInterval(-Double(profile.claim.evidenceMaxAge))
    }
}

/// One page of the console's overview for one profile: per contract how many devices fail, are
/// unknown or silent, and the page's devices with their standing, from the verdicts kept at ingest.
package struct FleetPage: Sendable {
    /// One device's row.
    package struct Row: Sendable, Hashable {
        package var keyID: String
        package var contract: String
        package var hostname: String?
        /// When the newest judged report was made; nil when none was.
        package var collectedAt: Date?
        package var failing: Int
        package var unknown: Int
        package var events: Int
        package var standing: DeviceStanding

        package init(
            keyID: String, contract: String, hostname: String?, collectedAt: Date?, failing: Int, unknown: Int, events: Int, standing: DeviceStanding
        ) {
            self.keyID = keyID
            self.contract = contract
            self.hostname = hostname
            self.collectedAt = collectedAt
            self.failing = failing
            self.unknown = unknown
            self.events = events
            self.standing = standing
        }
    }

    /// One contract's counts (or all contracts', in `totals`).
    package struct Tally: Sendable, Hashable {
        package var contract: String
        package var devices = 0
        package var failing = 0
        package var unknown = 0
        package var silent = 0
        /// Devices with chain events.
        package var withEvents = 0

        package init(contract: String, devices: Int = 0, failing: Int = 0, unknown: Int = 0, silent: Int = 0, withEvents: Int = 0) {
            self.contract = contract
            self.devices = devices
            self.failing = failing
            self.unknown = unknown
            self.silent = silent
            self.withEvents = withEvents
        }
    }

    package var rows: [Row] = []
    /// How many devices match the query's filters (all pages).
    package var matching = 0
    /// Every device in the query's scope, unfiltered.
    package var totals = Tally(contract: "")
    /// Contracts needing attention first (most failing, then silent, unknown, with chain events),
    /// at most the query's `contractsShown`.
    package var tallies: [Tally] = []
    /// How many contracts the scope holds.
    package var contracts = 0

    package init() {}

    /// Tallies the devices of a scope as the store streams them, in one pass.
    struct Counter {
        var byContract: [String: Tally] = [:]
        var totals = Tally(contract: "")
        var matching = 0

        mutating func add(contract: String, standing: Int, withEvents: Bool, matches: Bool) {
            let standing = DeviceStanding.allCases[standing]
            byContract[contract, default: Tally(contract: contract)].count(standing, withEvents: withEvents)
            totals.count(standing, withEvents: withEvents)
            if matches { matching += 1 }
        }

        /// The page's counts, with the `shown` contracts that need attention first.
        func finish(into page: inout FleetPage, shown: Int) {
            page.totals = totals
            page.matching = matching
            page.contracts = byContract.count
            page.tallies = Array(
                byContract.values.sorted { a, b in
                    let first = (-a.failing, -a.silent, -a.unknown, -a.withEvents), second = (-b.failing, -b.silent, -b.unknown, -b.withEvents)
                    return first != second ? first < second : a.contract.unicodeScalars.lexicographicallyPrecedes(b.contract.unicodeScalars)
                }.prefix(shown))
        }
    }
}

extension FleetPage.Tally {
    mutating func count(_ standing: DeviceStanding, withEvents: Bool) {
        devices += 1
        switch standing {
        case .failing: failing += 1
        case .unknown: unknown += 1
        case .silent: silent += 1
        case .ok: break
        }
        if withEvents { self.withEvents += 1 }
    }
}

/// The overview's SQL, one text for both stores: they differ only in how a parameter is written,
/// how a substring is found, and how text sorts (PostgreSQL's collation would ignore case and
/// punctuation; the console sorts by code point as SQLite does).
enum FleetSQL: Sendable {
    case sqlite, postgres

    enum Value: Sendable {
        case text(String)
        case real(Double)
        case integer(Int)
    }

    /// Parameter number (from 1) → its spelling.
    func placeholder(_ number: Int) -> String { self == .sqlite ? "?\(number)" : "$\(number)" }

    /// True when `haystack` contains `needle`.
    func contains(_ haystack: String, _ needle: String) -> String {
        self == .sqlite ? "instr(\(haystack), \(needle)) > 0" : "strpos(\(haystack), \(needle)) > 0"
    }

    /// Appended to text sort keys.
    var collation: String { self == .sqlite ? "" : " COLLATE \"C\"" }

    /// Between the verdicts' table and its join condition: SQLite is told the covering index.
    var verdictsHint: String { self == .sqlite ? "INDEXED BY device_verdicts_overview" : "" }

    /// One statement and its parameters.
    struct Statement {
        var sql: String
        var values: [Value]
    }

    /// The two statements of one page:
    /// - `standings`: every device in scope as (contract, standing rank, 1 when it has chain
    ///   events, 1 when it matches the filters), which `FleetPage.Counter` tallies: one lean pass,
    ///   cheaper than grouping thousands of contracts in SQL and counting again for the filters;
    /// - `rows`: the page itself, filtered, sorted and limited by the store.
    struct Statements {
        var standings: Statement
        var rows: Statement
    }

    func statements(_ query: FleetQuery) -> Statements {
        Statements(
            standings: statement(query) { bind in
                let filters = conditions(query, bind)
                return """
                    SELECT contract, standing, CASE WHEN events > 0 THEN 1 ELSE 0 END,
                        \(filters.isEmpty ? "1" : "CASE WHEN \(filters.joined(separator: " AND ")) THEN 1 ELSE 0 END") FROM fleet
                    """
            },
            rows: statement(query) { bind in
                let host = "COALESCE(hostname, key_id)\(collation), key_id\(collation)"
                let order =
                    switch query.sort {
                    case .standing: "standing, \(host)"
                    case .last: "COALESCE(collected_at, -1e18), \(host)"
                    case .host: host
                    case .contract: "contract\(collation), \(host)"
                    }
                let filters = conditions(query, bind)
                return """
                    SELECT key_id, contract, hostname, collected_at, failing, unknown, events, standing FROM fleet
                    \(filters.isEmpty ? "" : "WHERE " + filters.joined(separator: " AND "))
                    ORDER BY \(order) LIMIT \(bind(.integer(query.limit))) OFFSET \(bind(.integer(query.offset)))
                    """
            })
    }

    /// `WITH fleet AS (every device in scope with its standing)` then `body`, which binds its own
    /// parameters after the scope's.
    private func statement(_ query: FleetQuery, _ body: (_ bind: (Value) -> String) -> String) -> Statement {
        var values: [Value] = []
        func bind(_ value: Value) -> String {
            values.append(value)
            return placeholder(values.count)
        }
        let silent = DeviceStanding.silent.rank, failing = DeviceStanding.failing.rank, unknown = DeviceStanding.unknown.rank, ok = DeviceStanding.ok.rank
        let profile = bind(.text(query.profile)), silentBefore = bind(.real(query.silentBefore.timeIntervalSince1970))
        let scope = query.contract.map { "WHERE d.contract = \(bind(.text($0)))" } ?? ""
        let sql = """
            WITH fleet AS (
                SELECT d.key_id, d.contract, d.hostname, v.collected_at, COALESCE(v.failing, 0) AS failing,
                    COALESCE(v.unknown, 0) AS unknown, COALESCE(v.problems, '') AS problems, COALESCE(e.n, 0) AS events,
                    CASE WHEN v.collected_at IS NULL OR v.collected_at < \(silentBefore) THEN \(silent)
                         WHEN v.failing > 0 THEN \(failing) WHEN v.unknown > 0 THEN \(unknown) ELSE \(ok) END AS standing
                FROM devices d
                LEFT JOIN device_verdicts v \(verdictsHint) ON v.key_id = d.key_id AND v.profile = \(profile)
                LEFT JOIN (SELECT key_id, COUNT(*) AS n FROM chain_events GROUP BY key_id) e ON e.key_id = d.key_id
                \(scope))
            \(body(bind))
            """
        return Statement(sql: sql, values: values)
    }

    /// The list's filters, each a condition (none: every device).
    private func conditions(_ query: FleetQuery, _ bind: (Value) -> String) -> [String] {
        var conditions: [String] = []
        switch query.filter {
        case .all: break
        case .events: conditions.append("events > 0")
        case .silent, .failing, .unknown, .ok: conditions.append("standing = \(DeviceStanding(rawValue: query.filter.rawValue)!.rank)")
        }
        if let requirement = query.failingRequirement {
            conditions.append(contains("problems", bind(.text(DeviceVerdict.problemLine(requirement, status: .fail)))))
        }
        if !query.search.isEmpty {
            let search = bind(.text(query.search.lowercased()))
            conditions.append("(\(contains("lower(COALESCE(hostname, ''))", search)) OR substr(key_id, 1, length(\(search))) = \(search))")
        }
        return conditions
    }
}
