import Foundation

/// Where profiles and catalogs are looked up: `--profiles DIR`, `/etc/posture/profiles`,
/// `/usr/share/posture/profiles`, then the copy bundled with this build.
package struct ReferencePaths: Sendable, Hashable {
    package var directories: [String]

    package init(directories: [String]) { self.directories = directories }

    /// The standard search path, with `extra` directories in front.
    package static func standard(extra: [String] = []) -> ReferencePaths {
        var directories = extra
        directories.append("/etc/posture/profiles")
        directories.append("/usr/share/posture/profiles")
        if let bundled = bundledDirectory() { directories.append(bundled) }
        var seen = Set<String>()
        return ReferencePaths(directories: directories.filter { seen.insert($0).inserted })
    }

    /// The profiles shipped with this build: next to the executable (`../share/posture/profiles`),
    /// else the source tree's `Profiles/` for development builds.
    package static func bundledDirectory() -> String? {
        let fm = FileManager.default
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let candidates = [
            executable.deletingLastPathComponent().appendingPathComponent("../share/posture/profiles").standardized.path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../Profiles").standardized.path
        ]
        return candidates.first { fm.fileExists(atPath: $0 + "/catalog") }
    }

    /// The first `catalog/NAME` on the search path.
    package func catalogFile(_ name: String) -> String? {
        let fm = FileManager.default
        return directories.lazy.map { "\($0)/catalog/\(name)" }.first { fm.fileExists(atPath: $0) }
    }

    /// Profile files by id, first directory wins.
    package func profileFiles() -> [(id: String, path: String)] {
        let fm = FileManager.default
        var found: [(String, String)] = []
        var seen = Set<String>()
        for directory in directories {
            guard let names = try? fm.contentsOfDirectory(atPath: directory) else { continue }
            for name in names.sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                let id = String(name.prefix(upTo: name.lastIndex(of: ".")!))
                if seen.insert(id).inserted { found.append((id, "\(directory)/\(name)")) }
            }
        }
        return found.sorted { $0.0 < $1.0 }
    }
}
