import Foundation
package import PostureModel
package import PostureReference

/// File-sharing (P2P) clients from the catalog, found by package, binary, flatpak or snap id,
/// or (for Winny-family programs run under Wine) by executable name in users' Wine drives.
package struct FileSharingProbe: Sendable {
    package let catalog: FileSharingCatalog

    package init(catalog: FileSharingCatalog) { self.catalog = catalog }

    /// The clients found, and why the search did not see everything (a Wine drive it could not
    /// walk in full), in which case finding none proves nothing.
    package func collect(root: ScanRoot, database: DpkgDatabase?, homes: [String]) -> (clients: [FileSharingEvidence], problems: [String]) {
        let packages = Dictionary((database?.installed ?? []).map { ($0.name, $0.version) }) { first, _ in first }
        let snaps = AppBundles.snaps(root: root)
        let flatpaks = AppBundles.flatpaks(root: root, homes: homes)
        let (wineExecutables, problems) = wineExecutableNames(root: root, homes: homes)
        var found: [FileSharingEvidence] = []
        for client in catalog.clients {
            if let package = client.packages.first(where: { packages[$0] != nil }) {
                found.append(.init(name: "\(client.id) (package \(package))", version: packages[package]!))
            } else if let snap = client.snap.first(where: { snaps[$0] != nil }) {
                found.append(.init(name: "\(client.id) (snap \(snap))", version: snaps[snap]!))
            } else if let flatpak = client.flatpak.first(where: { flatpaks[$0] != nil }) {
                found.append(.init(name: "\(client.id) (flatpak \(flatpak))", version: flatpaks[flatpak]!))
            } else if let binary = client.binaries.first(where: { root.exists($0) }) {
                found.append(.init(name: "\(client.id) (\(root.display(binary)))", version: nil))
            } else if let exe = client.windowsExecutables.first(where: { wineExecutables[$0.lowercased()] != nil }) {
                found.append(.init(name: "\(client.id) (Wine: \(wineExecutables[exe.lowercased()]!))", version: nil))
            }
        }
        return (found, problems)
    }

    /// Lower-cased `.exe` names in users' Wine `drive_c`, mapped to where one was found.
    func wineExecutableNames(root: ScanRoot, homes: [String]) -> (names: [String: String], problems: [String]) {
        let wanted = Set(catalog.clients.flatMap(\.windowsExecutables).map { $0.lowercased() })
        guard !wanted.isEmpty else { return ([:], []) }
        var found: [String: String] = [:]
        var problems: [String] = []
        for home in homes {
            problems += FileWalk.visit(root: root, "\(home)/.wine/drive_c", maxDepth: 8, maxEntries: 50_000) { path, status in
                let name = (path as NSString).lastPathComponent.lowercased()
                if status.isRegular, wanted.contains(name), found[name] == nil { found[name] = root.display(path) }
            }
        }
        return (found, problems)
    }
}

extension FileSharingProbe: BlockingProbe {
    package var name: ProbeName { .fileSharing }
    package var reads: String { "packages, snaps, flatpaks, binaries and users' Wine drives, for the catalog's clients" }
    package func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput {
        let (clients, problems) = collect(root: context.root, database: context.installed, homes: context.homes)
        return ProbeOutput(problems: (context.packageDatabaseProblem.map { [$0] } ?? []) + problems) { $0.fileSharing = clients }
    }
}
