package import Foundation
import PostureIntegrity
package import PostureModel
package import PosturePolicy
package import PostureProbes
package import PostureReference

/// The agent's version, reported in every report.
package enum PostureVersion {
    package static let current = "0.1.0"
}

/// Runs every probe against a root and judges the evidence with the chosen profiles.
///
/// Probes run concurrently; one that fails leaves its section `nil` with the reason in
/// `evidence.unavailable`, so a bad file never stops a scan.
package struct Scanner: Sendable {
    package var root: ScanRoot
    package var paths: ReferencePaths
    /// Agent state (the integrity and scan caches); nil scans without a cache.
    package var stateDirectory: String?
    /// Re-hash every system file and re-read every package list instead of trusting the caches.
    package var fullIntegrity: Bool
    /// The expensive probes to run (today: integrity); nil runs all. The cheap probes always run.
    /// A skipped probe is `unavailable` with the reason.
    package var probes: Set<ProbeName>?

    package init(
        root: ScanRoot, paths: ReferencePaths, stateDirectory: String? = nil, fullIntegrity: Bool = false,
        probes: Set<ProbeName>? = nil
    ) {
        self.root = root
        self.paths = paths
        self.stateDirectory = stateDirectory
        self.fullIntegrity = fullIntegrity
        self.probes = probes
    }

    /// The reference catalogs on the search path; a missing or malformed one is a reason, not an error.
    struct Catalogs: Sendable {
        var os: Result<OSLifecycleCatalog, CatalogError>
        var browsers: Result<BrowserCatalog, CatalogError>
        var securitySoftware: Result<SecuritySoftwareCatalog, CatalogError>
        var fileSharing: Result<FileSharingCatalog, CatalogError>
        var osPath: String?
    }

    struct CatalogError: Error, CustomStringConvertible {
        var description: String
    }

    func loadCatalogs() -> Catalogs {
        func load<T>(_ name: String, _ loader: (String) throws -> T) -> Result<T, CatalogError> {
            guard let path = paths.catalogFile(name) else {
                return .failure(CatalogError(description: "reference catalog \(name) not found in \(paths.directories.joined(separator: ", "))"))
            }
            do { return .success(try loader(path)) } catch { return .failure(CatalogError(description: "\(error)")) }
        }
        return Catalogs(
            os: load(OSLifecycleCatalog.fileName, OSLifecycleCatalog.load),
            browsers: load(BrowserCatalog.fileName, BrowserCatalog.load),
            securitySoftware: load(SecuritySoftwareCatalog.fileName, SecuritySoftwareCatalog.load),
            fileSharing: load(FileSharingCatalog.fileName, FileSharingCatalog.load),
            osPath: paths.catalogFile(OSLifecycleCatalog.fileName))
    }

    /// Collects evidence at `now`: every registered probe under its deadline.
    package func collectEvidence(now: Date) async -> (Evidence, catalogs: [String: String]) {
        var evidence = Evidence()
        var integrity = probes?.contains(.integrity) ?? true ? IntegrityProbe(stateDirectory: stateDirectory, forceFull: fullIntegrity) : nil
        // The integrity cache is read and its seal checked while the catalogs and the scan cache load.
        integrity?.preloadCache(root: root)
        SQLiteSnapshot.removeLeftovers()
        let catalogs = loadCatalogs()
        var context = ProbeContext(root: root, now: now)
        context.cache = stateDirectory.map { ScanCache(directory: $0, root: root, reuse: !fullIntegrity) }
        await ProbeRunner.run(registry(catalogs, integrity: integrity), context: context, into: &evidence)
        // A cache that cannot be written costs the next scan time, never evidence.
        try? context.cache?.save()
        var loaded: [String: String] = [:]
        loaded[OSLifecycleCatalog.fileName] = (try? catalogs.os.get())?.asOf.description
        loaded[BrowserCatalog.fileName] = (try? catalogs.browsers.get())?.asOf.description
        loaded[SecuritySoftwareCatalog.fileName] = (try? catalogs.securitySoftware.get())?.asOf.description
        loaded[FileSharingCatalog.fileName] = (try? catalogs.fileSharing.get())?.asOf.description
        return (evidence, loaded)
    }

    /// Every probe, in stages run one after another (the probes of a stage run concurrently): the
    /// browsers probe needs the candidate versions the packages probe publishes. A probe whose
    /// catalog is missing, or that no chosen profile needs (`integrity` nil), is unavailable with
    /// the reason.
    func registry(_ catalogs: Catalogs, integrity: IntegrityProbe?) -> [[any Probe]] {
        func needing<C>(_ catalog: Result<C, CatalogError>, _ name: ProbeName, _ make: (C) -> any Probe) -> any Probe {
            switch catalog {
            case .success(let value): return make(value)
            case .failure(let error): return UnavailableProbe(name, reason: error.description)
            }
        }
        let integrity: any Probe =
            integrity ?? UnavailableProbe(.integrity, reason: "not requested: no chosen profile checks system files")
        return [
            [
                OSProbe(catalog: try? catalogs.os.get(), catalogPath: catalogs.osPath), PackagesProbe(), AccountsProbe(),
                CredentialsProbe(), ClockProbe(), LocalAccessProbe(),
                needing(catalogs.securitySoftware, .securitySoftware, SecuritySoftwareProbe.init),
                needing(catalogs.fileSharing, .fileSharing, FileSharingProbe.init), integrity
            ],
            [needing(catalogs.browsers, .browsers, BrowsersProbe.init)]
        ]
    }
}

extension Scanner {
    /// A full report: evidence judged by `profiles`, bounded so that the report stays under
    /// `EvidenceBudget.reportLimit` whatever a user put in their home.
    package func scan(profiles: [Profile], attestations: [Attestation] = [], now: Date = Date()) async -> Report {
        let now = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let (evidence, catalogs) = await collectEvidence(now: now)
        let host = HostProbe().collect(root: root)
        let context = EvaluationContext(collectedAt: now, attestations: attestations)
        let domains = profiles.flatMap(\.bankDomains)
        func judged(within budget: EvidenceBudget) -> Report {
            let bounded = budget.bound(evidence, keeping: domains)
            return Report(
                collectedAt: now, agent: AgentInfo(version: PostureVersion.current), host: host, evidence: bounded,
                findings: profiles.flatMap { PolicyEngine.evaluate($0, evidence: bounded, context: context) },
                attestations: attestations,
                reference: ReferenceInfo(profiles: profiles.map { .init(id: $0.id, sha256: $0.sha256) }, catalogs: catalogs))
        }
        for budget in EvidenceBudget.ladder.dropLast() {
            let report = judged(within: budget)
            if let size = try? PostureJSON.encoder().encode(report).count, size <= EvidenceBudget.reportLimit { return report }
        }
        return judged(within: EvidenceBudget.ladder.last ?? EvidenceBudget(items: 10, characters: 256))
    }
}
