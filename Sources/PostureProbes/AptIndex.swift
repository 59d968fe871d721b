import Foundation
import PostureModel

/// The package lists apt last fetched (`var/lib/apt/lists`), read offline.
struct AptIndex {
    static let listsDirectory = "var/lib/apt/lists"
    /// Extensions apt may give compressed lists (`Acquire::GzipIndexes`); only lz4 is decoded.
    static let compressions = ["lz4", "gz", "xz", "zst", "bz2", "lzma"]

    /// One suite's `Release`/`InRelease` file.
    struct Release: Sendable {
        var suite: String?
        var codename: String?
        var notAutomatic: Bool
        var butAutomaticUpgrades: Bool

        /// apt's default pin priority for versions from this release.
        var priority: Int {
            if notAutomatic { return butAutomaticUpgrades ? 100 : 1 }
            return 500
        }

        var isSecurity: Bool {
            [suite, codename].contains { $0?.hasSuffix("-security") == true }
        }

        static func parse(_ text: String) -> Release {
            var release = Release(suite: nil, codename: nil, notAutomatic: false, butAutomaticUpgrades: false)
            ControlFile.forEachStanza(in: ControlFile.clearSignedBody(text),
                                      wanted: ["Suite", "Codename", "NotAutomatic", "ButAutomaticUpgrades"]) { fields in
                guard release.suite == nil && release.codename == nil else { return }
                release.suite = fields["Suite"].map(String.init)
                release.codename = fields["Codename"].map(String.init)
                release.notAutomatic = fields["NotAutomatic"]?.lowercased() == "yes"
                release.butAutomaticUpgrades = fields["ButAutomaticUpgrades"]?.lowercased() == "yes"
            }
            return release
        }
    }

    /// A version a list offers.
    struct Offer {
        var name: String
        var architecture: String
        var version: String
        var priority: Int
        var security: Bool
        var suite: String?
    }

    /// What reading the lists produced.
    struct Contents {
        var offers: [Offer]
        var listsRead: Int
        var problems: [String]
        var newestRelease: Date?
    }

    /// Reads every `*_Packages` list (plain or LZ4) and keeps the offers for `interesting` names.
    static func read(root: ScanRoot, interesting: Set<String>) async throws(ProbeError) -> Contents {
        let names = try root.list(listsDirectory)
        let releaseNames = names.filter { $0.hasSuffix("_InRelease") || $0.hasSuffix("_Release") }
        var releases: [(prefix: String, release: Release)] = []
        var newest: Date?
        for name in releaseNames {
            let path = "\(listsDirectory)/\(name)"
            if let modified = root.modified(path), newest.map({ modified > $0 }) ?? true { newest = modified }
            guard let text = try? root.readText(path) else { continue }
            let prefix = String(name[..<name.lastIndex(of: "_")!])
            releases.append((prefix, Release.parse(text)))
        }
        releases.sort { $0.prefix.count > $1.prefix.count }

        let lists = names.filter { name in
            name.hasSuffix("_Packages") || compressions.contains { name.hasSuffix("_Packages." + $0) }
        }
        let results = await withTaskGroup(of: (offers: [Offer], problem: String?).self) { group in
            for list in lists {
                let release = releases.first { list.hasPrefix($0.prefix + "_") }?.release
                group.addTask {
                    do throws(ProbeError) {
                        return (try readList(root: root, name: list, release: release, interesting: interesting), nil)
                    } catch {
                        return ([], error.description)
                    }
                }
            }
            var collected: [(offers: [Offer], problem: String?)] = []
            for await result in group { collected.append(result) }
            return collected
        }
        return Contents(offers: results.flatMap(\.offers),
                        listsRead: results.filter { $0.problem == nil }.count,
                        problems: results.compactMap(\.problem).sorted(),
                        newestRelease: newest)
    }

    static func readList(root: ScanRoot, name: String, release: Release?,
                         interesting: Set<String>) throws(ProbeError) -> [Offer] {
        let path = "\(listsDirectory)/\(name)"
        var bytes = try root.readBytes(path)
        if name.hasSuffix(".lz4") {
            do {
                bytes = try LZ4.decompress(bytes)
            } catch {
                throw ProbeError.malformed(path: root.display(path), reason: "LZ4 data: \(error)")
            }
        } else if !name.hasSuffix("_Packages") {
            let ext = name.split(separator: ".").last.map(String.init) ?? "?"
            throw ProbeError.unsupported("\(root.display(path)): lists compressed with .\(ext) are not read")
        }
        let security = release?.isSecurity ?? name.contains("-security_")
        let priority = release?.priority ?? 500
        let suite = release?.suite ?? release?.codename
        var offers: [Offer] = []
        bytes.withUnsafeBufferPointer { buffer in
            PackagesListScanner.scan(buffer, interesting: { interesting.contains($0) }) { entry in
                offers.append(Offer(name: entry.name, architecture: entry.architecture, version: entry.version,
                                    priority: priority, security: security, suite: suite))
            }
        }
        return offers
    }
}
