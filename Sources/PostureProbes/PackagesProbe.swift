import Foundation
package import PostureModel

/// Inventory of dpkg packages and the updates the local package index offers for them,
/// computed offline the way apt picks them: pin priorities (Release defaults, `preferences`,
/// `preferences.d`, `APT::Default-Release`), candidate selection as apt-pkg/policy.cc does, and
/// phased updates held back as apt-pkg/upgrade.cc does for this machine's id.
package struct PackagesProbe: Sendable {
    package init() {}

    package func collect(root: ScanRoot) async throws(ProbeError) -> PackagesEvidence {
        let database = try DpkgDatabase.read(root: root)
        return try await collect(root: root, database: database)
    }

    package func collect(root: ScanRoot, database: DpkgDatabase) async throws(ProbeError) -> PackagesEvidence {
        try await collectWithCandidates(root: root, database: database).evidence
    }

    /// The evidence, plus package name → the version `apt-get upgrade` would leave installed (for
    /// packages the index offers): the candidate, or the installed version while a phased update
    /// is held back.
    package func collectWithCandidates(root: ScanRoot, database: DpkgDatabase, cache: ScanCache? = nil) async throws(ProbeError)
        -> (evidence: PackagesEvidence, candidates: [String: String])
    {
        let installed = database.installed
        let native = database.nativeArchitecture ?? "all"
        let index = try await AptIndex.read(root: root, interesting: Set(installed.map(\.name)), cache: cache)
        let configuration = AptConfiguration.read(root: root)
        let preferences = AptPreferences.read(root: root, configuration: configuration)
        let policy = AptPolicy(
            files: index.files, preferences: preferences, native: native,
            phasing: AptPhasing.Settings.read(root: root, configuration: configuration))

        func key(_ name: String, _ architecture: String) -> String {
            "\(name):\(architecture == "all" ? native : architecture)"
        }
        var offersByPackage: [String: [AptIndex.Offer]] = [:]
        for offer in index.offers { offersByPackage[key(offer.name, offer.architecture), default: []].append(offer) }

        var pending: [PendingUpdate] = []
        var candidates: [String: String] = [:]
        for package in installed {
            guard let offers = offersByPackage[key(package.name, package.architecture)],
                let decision = policy.decide(package: package, offers: offers)
            else { continue }
            candidates[package.name] = decision.heldBack ? package.version : decision.candidate.version
            guard decision.candidate.version != package.version else { continue }
            let files = decision.candidate.files.compactMap { $0 >= 0 ? index.files[$0] : nil }
            let release = files.first(where: { $0.release != nil })?.release
            pending.append(
                PendingUpdate(
                    name: package.name, architecture: package.architecture,
                    installed: package.version, candidate: decision.candidate.version,
                    security: files.contains { $0.release?.isSecurity ?? $0.name.contains("-security_") },
                    suite: release?.suite ?? release?.codename,
                    phased: decision.heldBack,
                    phasedUpdatePercentage: decision.candidate.phasedUpdatePercentage))
        }
        pending.sort { ($0.name, $0.architecture) < ($1.name, $1.architecture) }

        let problems = index.problems + configuration.problems + preferences.problems
        var error: String?
        if index.listsRead == 0 {
            error =
                index.problems.isEmpty
                ? "no package lists in \(root.display(AptIndex.listsDirectory)) (run apt-get update)"
                : index.problems.joined(separator: "; ")
        } else if !problems.isEmpty {
            error = problems.joined(separator: "; ")
        }
        let evidence = PackagesEvidence(
            manager: "dpkg", installed: installed.count, indexUpdatedAt: index.newestRelease,
            pendingUpdates: index.listsRead == 0 ? nil : pending, indexError: error,
            indexLists: index.listsRead)
        return (evidence, candidates)
    }
}

/// apt's candidate choice for installed packages (apt-pkg/policy.cc `GetCandidateVer`,
/// `GetPriority`, `CreatePin`, `InitDefaults`) and its phased-update hold-back (apt-pkg/upgrade.cc).
struct AptPolicy {
    /// One version of a package and the index files (or `-1`, the dpkg status) that carry it.
    struct Version {
        var version: String
        var files: [Int]
        var source: String
        var sourceVersion: String
        var phasedUpdatePercentage: Int?
        var priority = 0
    }

    /// What apt would do with an installed package.
    struct Decision {
        var candidate: Version
        /// A phased candidate this machine is not in the phase of: `apt-get upgrade` keeps it back.
        var heldBack: Bool
    }

    static let statusFile = -1

    let files: [AptPreferences.FileAttributes]
    let preferences: AptPreferences
    let native: String
    let phasing: AptPhasing.Settings
    /// Pin priority of each index file (and, last, of the dpkg status).
    let filePriorities: [Int]

    init(
        files: [AptPreferences.FileAttributes], preferences: AptPreferences, native: String, phasing: AptPhasing.Settings,
        defaultPriorities: [Int]? = nil
    ) {
        self.files = files
        self.preferences = preferences
        self.native = native
        self.phasing = phasing
        var priorities = defaultPriorities ?? files.map { _ in 500 }
        priorities.append(100)  // the dpkg status (NotSource)
        let all = files + [.status]
        var fixed = [Bool](repeating: false, count: all.count)
        for pin in preferences.pins where pin.package == nil {
            let matcher = AptPreferences.Matcher(pin.data, kind: pin.kind)
            for (i, file) in all.enumerated()
            where (!fixed[i] || pin.priority == AptPreferences.never) && priorities[i] != AptPreferences.never && matcher.matches(file) {
                priorities[i] = pin.priority
                fixed[i] = true
            }
        }
        filePriorities = priorities
    }

    init(files: [AptIndex.ListFile], preferences: AptPreferences, native: String, phasing: AptPhasing.Settings) {
        self.init(
            files: files.map(\.attributes), preferences: preferences, native: native, phasing: phasing,
            defaultPriorities: files.map { $0.release?.priority ?? 500 })
    }

    private func attributes(_ file: Int) -> AptPreferences.FileAttributes { file == Self.statusFile ? .status : files[file] }
    private func priority(ofFile file: Int) -> Int { filePriorities[file == Self.statusFile ? files.count : file] }

    /// The candidate apt would pick for `package`, or nil when no version qualifies.
    func decide(package: DpkgDatabase.Package, offers: [AptIndex.Offer]) -> Decision? {
        var byVersion: [String: Version] = [:]
        for offer in offers {
            var version =
                byVersion[offer.version]
                ?? Version(
                    version: offer.version, files: [], source: offer.source,
                    sourceVersion: offer.sourceVersion)
            version.files.append(offer.file)
            // apt keeps the percentage of the last index that gives one below 100.
            if let percentage = offer.phasedUpdatePercentage { version.phasedUpdatePercentage = percentage }
            byVersion[offer.version] = version
        }
        byVersion[
            package.version,
            default: Version(
                version: package.version, files: [], source: package.name,
                sourceVersion: package.version)
        ].files.append(Self.statusFile)
        var versions = byVersion.values.sorted { DebianVersion.compare($0.version, $1.version) > 0 }
        for i in versions.indices { versions[i].priority = priority(of: versions[i], package: package) }

        var candidate: Version?
        var candidatePriority = -1
        for version in versions {
            guard version.priority != 0, version.priority > candidatePriority else { continue }
            if version.priority < 1000 && DebianVersion.compare(version.version, package.version) < 0 { continue }
            candidatePriority = version.priority
            candidate = version
        }
        guard let candidate else { return nil }
        return Decision(candidate: candidate, heldBack: heldBack(candidate, installed: package.version, versions: versions))
    }

    /// `PhasedUpgrader::ShouldKeep`: a phased candidate is kept back unless a version between the
    /// installed one and it comes from a `-security` archive, or the machine is in the phase.
    private func heldBack(_ candidate: Version, installed: String, versions: [Version]) -> Bool {
        guard let percentage = candidate.phasedUpdatePercentage, candidate.version != installed,
            !phasing.phasePolicy
        else { return false }
        let security = versions.contains { version in
            DebianVersion.compare(version.version, candidate.version) < 0 && DebianVersion.compare(version.version, installed) > 0
                && version.files.contains { $0 != Self.statusFile && files[$0].archive?.hasSuffix("-security") == true }
        }
        return !security
            && AptPhasing.excludes(
                source: candidate.source, sourceVersion: candidate.sourceVersion,
                percentage: percentage, settings: phasing)
    }

    /// `pkgPolicy::GetPriority(Ver)`: the first specific pin that matches the version, else the
    /// highest priority of its files; capped at 1 for a phased-out version under `Phase-Policy`.
    private func priority(of version: Version, package: DpkgDatabase.Package) -> Int {
        var ceiling = Int.max
        if phasing.phasePolicy, let percentage = version.phasedUpdatePercentage,
            AptPhasing.excludes(source: version.source, sourceVersion: version.sourceVersion, percentage: percentage, settings: phasing)
        {
            ceiling = 1
        }
        if let pin = specificPin(for: version, package: package) {
            if pin.priority == AptPreferences.never { return AptPreferences.never }
            if version.files.contains(where: { priority(ofFile: $0) != AptPreferences.never }) { return min(pin.priority, ceiling) }
        }
        let best = version.files.map { priority(ofFile: $0) }.max() ?? 0
        return min(best, ceiling)
    }

    private func specificPin(for version: Version, package: DpkgDatabase.Package) -> AptPreferences.Pin? {
        let architecture = package.architecture == "all" ? native : package.architecture
        for pin in preferences.pins {
            guard var expression = pin.package else { continue }
            let sourcePin = expression.hasPrefix("src:")
            if sourcePin { expression.removeFirst(4) }
            var pinArchitecture = native
            if let colon = expression.lastIndex(of: ":") {
                pinArchitecture = String(expression[expression.index(after: colon)...])
                expression = String(expression[..<colon])
            }
            guard pinArchitecture == "any" || pinArchitecture == architecture else { continue }
            let name = sourcePin ? version.source : package.name
            let wildcard =
                (expression.count >= 2 && expression.hasPrefix("/") && expression.hasSuffix("/"))
                || expression.contains(where: { "*[?".contains($0) })
            let applies = wildcard ? expression != name && AptPreferences.expressionMatches(expression, name) : expression == name
            guard applies else { continue }
            let matcher = AptPreferences.Matcher(pin.data, kind: pin.kind)
            if matcher.matches(version: version.version, files: version.files.map(attributes)) { return pin }
        }
        return nil
    }
}

extension PackagesProbe: Probe {
    package var name: ProbeName { .packages }
    package var reads: String { "the dpkg status file and apt's package lists, pins and phasing" }
    package func collect(_ context: ProbeContext) async throws(ProbeError) -> ProbeOutput {
        let (packages, candidates) = try await collectWithCandidates(
            root: context.root, database: try context.database.get(), cache: context.cache)
        return ProbeOutput(candidates: candidates) { $0.packages = packages }
    }
}
