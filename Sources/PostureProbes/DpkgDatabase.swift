import PostureModel

/// The installed packages recorded in `var/lib/dpkg/status`.
package struct DpkgDatabase: Sendable {
    /// A conffile and the MD5 dpkg recorded for it (`obsolete` ones are kept with the flag).
    package struct Conffile: Sendable, Hashable {
        package var path: String
        package var md5: String
        package var obsolete: Bool
    }

    /// One package as dpkg records it.
    package struct Package: Sendable, Hashable {
        package var name: String
        package var architecture: String
        package var version: String
        /// The third word of `Status:` (`installed`, `config-files`, `half-configured` …).
        package var state: String
        package var conffiles: [Conffile]

        /// dpkg has a current version of it (anything but `not-installed` and `config-files`).
        package var hasCurrentVersion: Bool { state != "not-installed" && state != "config-files" }
    }

    package static let statusPath = "var/lib/dpkg/status"

    package var packages: [Package]

    /// dpkg's native architecture: the architecture of the `dpkg` package itself.
    package var nativeArchitecture: String? {
        if let dpkg = packages.first(where: { $0.name == "dpkg" }), dpkg.architecture != "all" { return dpkg.architecture }
        var counts: [String: Int] = [:]
        for package in packages where package.architecture != "all" { counts[package.architecture, default: 0] += 1 }
        return counts.max { $0.value < $1.value }?.key
    }

    package var installed: [Package] { packages.filter(\.hasCurrentVersion) }

    package static func read(root: ScanRoot) throws(ProbeError) -> DpkgDatabase {
        let bytes = try root.readBytes(statusPath)
        return try parse(bytes, path: root.display(statusPath))
    }

    /// Parses a status file; one without stanzas (zero bytes, as dpkg leaves it on a fresh root)
    /// is a database of no packages, as `dpkg -l` reads it.
    package static func parse(_ bytes: [UInt8], path: String) throws(ProbeError) -> DpkgDatabase {
        if let last = bytes.last, last != UInt8(ascii: "\n") {
            throw ProbeError.malformed(path: path, reason: "truncated: it does not end with a newline")
        }
        var packages: [Package] = []
        var problem: String?
        var stanzas = 0
        ControlFile.forEachStanza(in: bytes, wanted: ["Package", "Status", "Version", "Architecture", "Conffiles"]) { fields in
            stanzas += 1
            guard let name = fields["Package"], let status = fields["Status"] else {
                if problem == nil { problem = "stanza \(stanzas) has no Package or Status field" }
                return
            }
            let words = status.split(separator: " ")
            guard words.count == 3 else {
                if problem == nil { problem = "package \(name) has a malformed Status '\(status)'" }
                return
            }
            let state = String(words[2])
            let version = fields["Version"].map(String.init) ?? ""
            if state != "not-installed" && state != "config-files" && version.isEmpty {
                if problem == nil { problem = "package \(name) is \(state) but has no Version" }
                return
            }
            let conffiles: [Conffile] = (fields["Conffiles"] ?? "").split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ")
                guard parts.count >= 2 else { return nil }
                return Conffile(path: String(parts[0]), md5: String(parts[1]), obsolete: parts.dropFirst(2).contains("obsolete"))
            }
            packages.append(
                Package(
                    name: String(name), architecture: fields["Architecture"].map(String.init) ?? "all",
                    version: version, state: state, conffiles: conffiles))
        }
        if let problem { throw ProbeError.malformed(path: path, reason: problem) }
        return DpkgDatabase(packages: packages)
    }
}
