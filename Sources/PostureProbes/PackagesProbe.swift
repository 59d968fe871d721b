import Foundation
import PostureModel

/// Inventory of dpkg packages and the updates the local package index offers for them,
/// computed offline the way apt picks candidates (pin priorities from the Release files,
/// no downgrades).
public struct PackagesProbe: Sendable {
    public init() {}

    public func collect(root: ScanRoot) async throws(ProbeError) -> PackagesEvidence {
        let database = try DpkgDatabase.read(root: root)
        return try await collect(root: root, database: database)
    }

    public func collect(root: ScanRoot, database: DpkgDatabase) async throws(ProbeError) -> PackagesEvidence {
        try await collectWithCandidates(root: root, database: database).evidence
    }

    /// The evidence, plus package name → the version apt would install (for packages the index offers).
    public func collectWithCandidates(root: ScanRoot, database: DpkgDatabase) async throws(ProbeError)
        -> (evidence: PackagesEvidence, candidates: [String: String]) {
        let installed = database.installed
        let native = database.nativeArchitecture ?? "all"
        let index = try await AptIndex.read(root: root, interesting: Set(installed.map(\.name)))

        func key(_ name: String, _ architecture: String) -> String {
            "\(name):\(architecture == "all" ? native : architecture)"
        }
        var offersByPackage: [String: [AptIndex.Offer]] = [:]
        for offer in index.offers { offersByPackage[key(offer.name, offer.architecture), default: []].append(offer) }

        var pending: [PendingUpdate] = []
        var candidates: [String: String] = [:]
        for package in installed {
            guard let offers = offersByPackage[key(package.name, package.architecture)],
                  let candidate = Self.candidate(installed: package.version, offers: offers) else { continue }
            candidates[package.name] = candidate.version
            guard candidate.version != package.version else { continue }
            let security = offers.contains { $0.version == candidate.version && $0.security }
            pending.append(PendingUpdate(name: package.name, architecture: package.architecture,
                                         installed: package.version, candidate: candidate.version,
                                         security: security, suite: candidate.suite))
        }
        pending.sort { ($0.name, $0.architecture) < ($1.name, $1.architecture) }

        var error: String?
        if index.listsRead == 0 {
            error = index.problems.isEmpty ? "no package lists in \(root.display(AptIndex.listsDirectory)) (run apt-get update)"
                                           : index.problems.joined(separator: "; ")
        } else if !index.problems.isEmpty {
            error = index.problems.joined(separator: "; ")
        }
        let evidence = PackagesEvidence(manager: "dpkg", installed: installed.count, indexUpdatedAt: index.newestRelease,
                                        pendingUpdates: index.listsRead == 0 ? nil : pending, indexError: error,
                                        indexLists: index.listsRead)
        return (evidence, candidates)
    }

    /// apt's candidate: among versions not lower than the installed one, the highest priority,
    /// ties going to the higher version. The installed version counts with at least priority 100.
    static func candidate(installed: String, offers: [AptIndex.Offer]) -> AptIndex.Offer? {
        var best: AptIndex.Offer?
        var bestPriority = 100
        var bestVersion = installed
        for offer in offers {
            let order = DebianVersion.compare(offer.version, installed)
            guard order >= 0 else { continue }
            let priority = order == 0 ? max(offer.priority, 100) : offer.priority
            if priority > bestPriority
                || (priority == bestPriority && (best == nil || DebianVersion.compare(offer.version, bestVersion) > 0)) {
                best = offer
                bestPriority = priority
                bestVersion = offer.version
            }
        }
        return best
    }
}
