package import Foundation

/// One scan of one endpoint: what was seen (evidence) and how each bank profile judged it (findings).
///
/// The JSON form is the report contract of DESIGN.md (`posture.report/v1`, snake_case keys).
package struct Report: Codable, Sendable {
    package static let schemaIdentifier = "posture.report/v1"

    package var schema: String
    /// Lower-case UUID.
    package var id: String
    package var collectedAt: Date
    package var agent: AgentInfo
    package var host: HostInfo
    package var evidence: Evidence
    package var findings: [Finding]
    package var attestations: [Attestation]
    /// The reference data that evaluated this report.
    package var reference: ReferenceInfo?
    /// Position in the device's hash chain; present on signed reports only.
    package var chain: ChainLink?

    package init(
        id: String = UUID().uuidString.lowercased(), collectedAt: Date, agent: AgentInfo,
        host: HostInfo, evidence: Evidence, findings: [Finding] = [],
        attestations: [Attestation] = [], reference: ReferenceInfo? = nil
    ) {
        self.schema = Report.schemaIdentifier
        self.id = id
        self.collectedAt = collectedAt
        self.agent = agent
        self.host = host
        self.evidence = evidence
        self.findings = findings
        self.attestations = attestations
        self.reference = reference
    }

    /// Reads reports of every agent version: `attestations` came later within v1, so a report
    /// without it (an older agent's, still in a claim window) carries none.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schema = try c.decode(String.self, forKey: .schema)
        id = try c.decode(String.self, forKey: .id)
        collectedAt = try c.decode(Date.self, forKey: .collectedAt)
        agent = try c.decode(AgentInfo.self, forKey: .agent)
        host = try c.decode(HostInfo.self, forKey: .host)
        evidence = try c.decode(Evidence.self, forKey: .evidence)
        findings = try c.decode([Finding].self, forKey: .findings)
        attestations = try c.decodeIfPresent([Attestation].self, forKey: .attestations) ?? []
        reference = try c.decodeIfPresent(ReferenceInfo.self, forKey: .reference)
        chain = try c.decodeIfPresent(ChainLink.self, forKey: .chain)
    }
}

/// What places a report (schema, id, time of collection, chain position), decoded with the shape of
/// the rest checked (`agent`, `host` and `evidence` objects, `findings` an array) but not its
/// content: what a collector needs to store, chain and acknowledge a report, at a tenth of the cost
/// of decoding the evidence. An assessment decodes the whole report and names any that does not.
package struct ReportHeader: Decodable, Sendable {
    package var schema: String
    package var id: String
    package var collectedAt: Date
    package var chain: ChainLink?

    enum CodingKeys: String, CodingKey {
        case schema, id, collectedAt, chain, agent, host, evidence, findings
    }

    /// Any JSON object, unread.
    struct Object: Decodable {
        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        init(from decoder: any Decoder) throws { _ = try decoder.container(keyedBy: AnyKey.self) }
    }

    /// Any JSON array, unread.
    struct List: Decodable {
        init(from decoder: any Decoder) throws { _ = try decoder.unkeyedContainer() }
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schema = try c.decode(String.self, forKey: .schema)
        id = try c.decode(String.self, forKey: .id)
        collectedAt = try c.decode(Date.self, forKey: .collectedAt)
        chain = try c.decodeIfPresent(ChainLink.self, forKey: .chain)
        for key in [CodingKeys.agent, .host, .evidence] { _ = try c.decode(Object.self, forKey: key) }
        _ = try c.decode(List.self, forKey: .findings)
    }
}

/// A signed report's place in its device's chain: a deleted, reordered or replaced report shows.
package struct ChainLink: Codable, Sendable, Hashable {
    /// 1, 2, 3 … per device key.
    package var sequence: Int
    /// Hex SHA-256 of the previous envelope's exact bytes; nil for sequence 1.
    package var previous: String?
    /// `/proc/sys/kernel/random/boot_id` when the report was made.
    package var bootId: String?

    package init(sequence: Int, previous: String?, bootId: String?) {
        self.sequence = sequence
        self.previous = previous
        self.bootId = bootId
    }
}

/// The agent that produced a report.
package struct AgentInfo: Codable, Sendable, Hashable {
    package var version: String
    package init(version: String) { self.version = version }
}

/// The scanned machine.
package struct HostInfo: Codable, Sendable, Hashable {
    package var hostname: String?
    /// Hex SHA-256 of `etc/machine-id`, so the raw id never leaves the machine.
    package var machineIdSha256: String?
    /// Canonical absolute path of the scanned root.
    package var root: String

    package init(hostname: String?, machineIdSha256: String?, root: String) {
        self.hostname = hostname
        self.machineIdSha256 = machineIdSha256
        self.root = root
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hostname, forKey: .hostname)
        try c.encode(machineIdSha256, forKey: .machineIdSha256)
        try c.encode(root, forKey: .root)
    }
}

/// Which profiles and catalogs judged a report, so a verifier can tell reference data apart.
package struct ReferenceInfo: Codable, Sendable, Hashable {
    package struct ProfileRef: Codable, Sendable, Hashable {
        package var id: String
        package var sha256: String
        package init(id: String, sha256: String) {
            self.id = id
            self.sha256 = sha256
        }
    }
    package var profiles: [ProfileRef]
    /// Catalog file name → its `as_of` date, for every reference catalog that was loaded.
    package var catalogs: [String: String]

    package init(profiles: [ProfileRef], catalogs: [String: String]) {
        self.profiles = profiles
        self.catalogs = catalogs
    }
}

/// A staff declaration for a requirement no probe can see (`posture attest`), signed and journaled
/// on the PC and carried in every later report until it expires.
package struct Attestation: Codable, Sendable, Hashable {
    /// Lower-case UUID; the same declaration keeps its id in every report that carries it.
    package var id: String?
    package var requirement: String
    package var profile: String
    package var note: String?
    /// Who declared it (a name or role), as given with `--by`.
    package var by: String?
    package var recordedAt: Date
    /// The end of its validity (`valid_days` of the requirement when it was recorded); nil: no limit.
    package var expiresAt: Date?

    package init(
        id: String? = UUID().uuidString.lowercased(), requirement: String, profile: String, note: String?,
        by: String? = nil, recordedAt: Date, expiresAt: Date? = nil
    ) {
        self.id = id
        self.requirement = requirement
        self.profile = profile
        self.note = note
        self.by = by
        self.recordedAt = recordedAt
        self.expiresAt = expiresAt
    }

    /// Whether it was recorded by `date` and has not expired then.
    package func isActive(at date: Date) -> Bool {
        recordedAt <= date && (expiresAt.map { date <= $0 } ?? true)
    }
}
