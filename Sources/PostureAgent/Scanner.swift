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
    /// Agent state (integrity cache); nil scans without a cache.
    public var stateDirectory: String?
    /// Re-hash every system file instead of trusting the integrity cache.
    public var fullIntegrity: Bool
    /// The expensive probes to run (today: integrity); nil runs all. The cheap probes always run.
    /// A skipped probe is `unavailable` with the reason.
    public var probes: Set<ProbeName>?

    public init(root: ScanRoot, paths: ReferencePaths, stateDirectory: String? = nil, fullIntegrity: Bool = false,
                probes: Set<ProbeName>? = nil) {
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
        return Catalogs(os: load(OSLifecycleCatalog.fileName, OSLifecycleCatalog.load),
                        browsers: load(BrowserCatalog.fileName, BrowserCatalog.load),
                        securitySoftware: load(SecuritySoftwareCatalog.fileName, SecuritySoftwareCatalog.load),
                        fileSharing: load(FileSharingCatalog.fileName, FileSharingCatalog.load),
                        osPath: paths.catalogFile(OSLifecycleCatalog.fileName))
    }

    /// Collects evidence at `now`.
    public func collectEvidence(now: Date) async -> (Evidence, catalogs: [String: String]) {
        var evidence = Evidence()
        SQLiteSnapshot.removeLeftovers()
        let catalogs = loadCatalogs()
        let root = self.root
        let database: Result<DpkgDatabase, ProbeError> = Result { () throws(ProbeError) in try DpkgDatabase.read(root: root) }
        let installed = try? database.get()
        let homes = HomeDirectories.all(root: root)
        let processes = RunningProcesses.names(root: root)
        func record<T>(_ probe: ProbeName, _ result: Result<T, ProbeError>, into keyPath: WritableKeyPath<Evidence, T?>) {
            switch result {
            case .success(let value): evidence[keyPath: keyPath] = value
            case .failure(let error): evidence.unavailable[probe.rawValue] = error.description
            }
        }

        let osCatalog = try? catalogs.os.get()
        let osPath = catalogs.osPath
        async let os = Self.run(.os) { () throws(ProbeError) in try OSProbe(catalog: osCatalog, catalogPath: osPath).collect(root: root, now: now) }
        async let packages = Self.runAsync(.packages) { () async throws(ProbeError) in
            try await PackagesProbe().collectWithCandidates(root: root, database: try database.get())
        }
        async let accounts = Self.run(.accounts) { () throws(ProbeError) in try AccountsProbe().collect(root: root) }
        async let credentials = Self.run(.credentials) { () throws(ProbeError) in CredentialsProbe().collect(root: root, homes: homes) }
        async let clock = Self.run(.clock) { () throws(ProbeError) in ClockProbe().collect(root: root, processes: processes) }
        async let localAccess = Self.run(.localAccess) { () throws(ProbeError) in LocalAccessProbe().collect(root: root) }
        async let security = Self.run(.securitySoftware) { () throws(ProbeError) in
            SecuritySoftwareProbe(catalog: try Self.catalog(catalogs.securitySoftware))
                .collect(root: root, database: installed, processes: processes)
        }
        async let fileSharing = Self.run(.fileSharing) { () throws(ProbeError) in
            FileSharingProbe(catalog: try Self.catalog(catalogs.fileSharing)).collect(root: root, database: installed, homes: homes)
        }
        let wantsIntegrity = probes?.contains(.integrity) ?? true
        let integrityProbe = IntegrityProbe(stateDirectory: stateDirectory, forceFull: fullIntegrity)
        async let integrity = Self.runAsync(.integrity) { () async throws(ProbeError) -> IntegrityEvidence? in
            guard wantsIntegrity else { return nil }
            return try await integrityProbe.collect(root: root, database: try database.get(), now: now)
        }

        record(.os, await os, into: \.os)
        let packagesResult = await packages
        record(.packages, packagesResult.map(\.evidence), into: \.packages)
        switch await accounts {
        case .success(let value):
            evidence.accounts = value.accounts
            if let problem = value.problem { evidence.unavailable[ProbeName.accounts.rawValue] = problem }
        case .failure(let error): evidence.unavailable[ProbeName.accounts.rawValue] = error.description
        }
        switch await credentials {
        case .success(let value):
            evidence.credentials = value.0
            if !value.problems.isEmpty { evidence.unavailable[ProbeName.credentials.rawValue] = value.problems.joined(separator: "; ") }
        case .failure(let error): evidence.unavailable[ProbeName.credentials.rawValue] = error.description
        }
        record(.clock, await clock, into: \.clock)
        record(.localAccess, await localAccess, into: \.localAccess)
        record(.securitySoftware, await security, into: \.securitySoftware)
        switch await fileSharing {
        case .success(let value):
            evidence.fileSharing = value.clients
            if !value.problems.isEmpty { evidence.unavailable[ProbeName.fileSharing.rawValue] = value.problems.joined(separator: "; ") }
        case .failure(let error): evidence.unavailable[ProbeName.fileSharing.rawValue] = error.description
        }
        switch await integrity {
        case .success(let value?): evidence.integrity = value
        case .success(nil): evidence.unavailable[ProbeName.integrity.rawValue] = "not requested: no chosen profile checks system files"
        case .failure(let error): evidence.unavailable[ProbeName.integrity.rawValue] = error.description
        }

        let candidates = try? packagesResult.get().candidates
        record(.browsers, await Self.run(.browsers) { () throws(ProbeError) in
            BrowsersProbe(catalog: try Self.catalog(catalogs.browsers))
                .collect(root: root, database: installed, candidates: candidates, homes: homes, now: now)
        }, into: \.browsers)
        if installed == nil, case .failure(let error) = database {
            for probe in [ProbeName.securitySoftware, .fileSharing, .browsers] where evidence.unavailable[probe.rawValue] == nil {
                evidence.unavailable[probe.rawValue] = "package database unreadable, so packaged installs may be missed: \(error)"
            }
        }
        var loaded: [String: String] = [:]
        loaded[OSLifecycleCatalog.fileName] = osCatalog?.asOf.description
        loaded[BrowserCatalog.fileName] = (try? catalogs.browsers.get())?.asOf.description
        loaded[SecuritySoftwareCatalog.fileName] = (try? catalogs.securitySoftware.get())?.asOf.description
        loaded[FileSharingCatalog.fileName] = (try? catalogs.fileSharing.get())?.asOf.description
        return (evidence, loaded)
    }

    private static func catalog<T>(_ result: Result<T, CatalogError>) throws(ProbeError) -> T {
        switch result {
        case .success(let value): return value
        case .failure(let error): throw ProbeError.unsupported(error.description)
        }
    }

    /// How long each probe may run before it is abandoned and reported `unknown`: integrity hashes
    /// every package file (minutes on a first scan of a slow disk); the others read a few files.
    static func deadline(_ probe: ProbeName) -> Int {
        probe == .integrity ? 1800 : 60
    }

    /// Runs a probe that blocks (reads files) on a thread of its own under its deadline. One stalled
    /// by a crafted file is abandoned there (the thread ends with the process) and the scan goes on,
    /// without losing one of the few threads the async probes share.
    static func run<T: Sendable>(_ probe: ProbeName, deadline seconds: Int? = nil,
                                 _ body: @escaping @Sendable () throws(ProbeError) -> T) async -> Result<T, ProbeError> {
        await withDeadline(seconds ?? deadline(probe)) { resume in
            Thread.detachNewThread {
                do throws(ProbeError) { resume(.success(try body())) } catch { resume(.failure(error)) }
            }
        }
    }

    /// Runs an async probe under its deadline.
    static func runAsync<T: Sendable>(_ probe: ProbeName, deadline seconds: Int? = nil,
                                      _ body: @escaping @Sendable () async throws(ProbeError) -> T) async -> Result<T, ProbeError> {
        await withDeadline(seconds ?? deadline(probe)) { resume in
            Task.detached {
                do throws(ProbeError) { resume(.success(try await body())) } catch { resume(.failure(error)) }
            }
        }
    }

    private static func withDeadline<T: Sendable>(_ seconds: Int, start: (@escaping @Sendable (Result<T, ProbeError>) -> Void) -> Void) async -> Result<T, ProbeError> {
        await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(seconds)) { once.resume(.failure(.timedOut(seconds: seconds))) }
            start { once.resume($0) }
        }
    }
}

/// Resumes a continuation with whichever comes first, the probe's result or its deadline.
private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Result<T, ProbeError>, Never>?

    init(_ continuation: CheckedContinuation<Result<T, ProbeError>, Never>) { self.continuation = continuation }

    func resume(_ result: Result<T, ProbeError>) {
        let pending: CheckedContinuation<Result<T, ProbeError>, Never>? = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        pending?.resume(returning: result)
    }
}

extension Scanner {
    /// A full report: evidence judged by `profiles`, bounded so that the report stays under
    /// `EvidenceBudget.reportLimit` whatever a user put in their home.
    public func scan(profiles: [Profile], attestations: [Attestation] = [], now: Date = Date()) async -> Report {
        let now = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let (evidence, catalogs) = await collectEvidence(now: now)
        let host = HostProbe().collect(root: root)
        let context = EvaluationContext(collectedAt: now, attestations: attestations)
        let domains = Array(Set(profiles.flatMap(\.bankDomains).map { $0.lowercased() })).sorted()
        func judged(within budget: EvidenceBudget) -> Report {
            let bounded = budget.bound(evidence, keeping: domains)
            return Report(collectedAt: now, agent: AgentInfo(version: PostureVersion.current), host: host, evidence: bounded,
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
