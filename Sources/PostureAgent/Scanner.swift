import Foundation
import PostureModel
import PosturePolicy
import PostureProbes
import PostureReference

/// The agent's version, reported in every report.
public enum PostureVersion {
    public static let current = "0.1.0"
}

/// Runs every probe against a root and judges the evidence with the chosen profiles.
///
/// Probes run concurrently; one that fails leaves its section `nil` with the reason in
/// `evidence.unavailable`, so a bad file never stops a scan.
public struct Scanner: Sendable {
    public var root: ScanRoot
    public var paths: ReferencePaths

    public init(root: ScanRoot, paths: ReferencePaths) {
        self.root = root
        self.paths = paths
    }

    /// Collects evidence at `now`.
    public func collectEvidence(now: Date) async -> (Evidence, catalogAsOf: String?) {
        var evidence = Evidence()
        let catalogPath = paths.catalogFile(OSLifecycleCatalog.fileName)
        var catalog: OSLifecycleCatalog?
        if let catalogPath {
            do {
                catalog = try OSLifecycleCatalog.load(path: catalogPath)
            } catch {
                evidence.unavailable["catalog"] = "\(error)"
            }
        }
        let root = self.root
        let osProbe = OSProbe(catalog: catalog, catalogPath: catalogPath)
        async let os = Self.run { () throws(ProbeError) in try osProbe.collect(root: root, now: now) }
        async let packages = Self.run { () async throws(ProbeError) in try await PackagesProbe().collect(root: root) }
        switch await os {
        case .success(let value): evidence.os = value
        case .failure(let error): evidence.unavailable[ProbeName.os.rawValue] = error.description
        }
        switch await packages {
        case .success(let value): evidence.packages = value
        case .failure(let error): evidence.unavailable[ProbeName.packages.rawValue] = error.description
        }
        return (evidence, catalog.map { $0.asOf.description })
    }

    private static func run<T: Sendable>(_ body: @Sendable () async throws(ProbeError) -> T) async -> Result<T, ProbeError> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    /// A full report: evidence judged by `profiles`.
    public func scan(profiles: [Profile], attestations: [Attestation] = [], now: Date = Date()) async -> Report {
        let now = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let (evidence, catalogAsOf) = await collectEvidence(now: now)
        let host = HostProbe().collect(root: root)
        let context = EvaluationContext(collectedAt: now, attestations: attestations)
        let findings = profiles.flatMap { PolicyEngine.evaluate($0, evidence: evidence, context: context) }
        return Report(collectedAt: now, agent: AgentInfo(version: PostureVersion.current), host: host,
                      evidence: evidence, findings: findings, attestations: attestations,
                      reference: ReferenceInfo(profiles: profiles.map { .init(id: $0.id, sha256: $0.sha256) },
                                               catalogAsOf: catalogAsOf))
    }
}
