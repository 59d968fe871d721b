package import Foundation
package import PostureModel
package import PostureProbes

/// System-file integrity: package files against the package database (as `dpkg --verify`),
/// plus the tampering the package database cannot see, browsers' certificate stores included.
package struct IntegrityProbe: Sendable {
    package var stateDirectory: String?
    package var forceFull: Bool
    /// A verifier whose cache is already being read (`preloadCache`), for the root it was made for.
    private var preloaded: PackageVerifier?

    package init(stateDirectory: String?, forceFull: Bool) {
        self.stateDirectory = stateDirectory
        self.forceFull = forceFull
    }

    /// Starts reading the integrity cache of `root` now, so that `collect` finds it read.
    package mutating func preloadCache(root: ScanRoot) {
        var verifier = PackageVerifier(root: root, stateDirectory: stateDirectory, forceFull: forceFull)
        verifier.preloadCache()
        preloaded = verifier
    }

    /// - Parameter homes: the users' homes (for their browsers' certificate stores); nil reads them from the root.
    /// - Parameter cache: the scan cache, for the digests of unowned files that did not change.
    package func collect(
        root: ScanRoot, database: DpkgDatabase, now: Date, homes: [String]? = nil, cache: ScanCache? = nil
    ) async throws(ProbeError) -> IntegrityEvidence {
        var verifier =
            preloaded.flatMap { $0.root == root ? $0 : nil }
            ?? PackageVerifier(root: root, stateDirectory: stateDirectory, forceFull: forceFull)
        verifier.collectOwned = true
        let tampering = SystemTampering(root: root, cache: cache)
        // The walk of system directories, the trust store's entries and the browsers' stores need no
        // ownership: they are read while package files are verified.
        async let candidates = tampering.executableCandidates()
        async let trustStore = tampering.trustStoreFiles()
        async let addedToBrowsers = BrowserTrustStores(root: root, cache: cache).addedCertificates(homes: homes ?? HomeDirectories.all(root: root))
        let result = try await verifier.verify(database: database, now: now)
        let browsers = await addedToBrowsers
        let unowned = tampering.unowned(among: await candidates, owned: result.owned)
        var evidence = IntegrityEvidence(
            checked: result.checked, modified: result.modified, missing: result.missing,
            unownedExecutables: unowned.found,
            hostsOverrides: tampering.hostsOverrides(),
            extraCaCertificates: tampering.extraCertificates(in: await trustStore, owned: result.owned) + browsers.certificates,
            ldSoPreload: tampering.preloadedLibraries())
        evidence.unreadable = result.unreadable
        evidence.unverifiablePackages = result.unverifiablePackages
        evidence.unreadableCertificateStores = browsers.unreadable
        evidence.unownedSearchIncomplete = unowned.incomplete
        evidence.mode = result.full ? "full" : "incremental"
        evidence.fromCache = result.fromCache
        evidence.cacheNote = result.cacheNote
        return evidence
    }
}

extension IntegrityProbe: Probe {
    package var name: ProbeName { .integrity }
    package var reads: String { "every file the package database lists, system directories, hosts, trust stores and browsers' NSS databases" }
    /// Hashing every package file takes minutes on a first scan of a slow disk.
    package var deadline: Int { 1800 }
    package func collect(_ context: ProbeContext) async throws(ProbeError) -> ProbeOutput {
        let integrity = try await collect(
            root: context.root, database: try context.database.get(), now: context.now, homes: context.homes, cache: context.cache)
        return ProbeOutput { $0.integrity = integrity }
    }
}
