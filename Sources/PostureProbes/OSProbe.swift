package import Foundation
package import PostureModel
package import PostureReference

/// Reads the OS release (`etc/os-release`, else `usr/lib/os-release`) and its vendor support
/// dates: from the root's own distro-info-data when it knows the release, else from the bundled
/// lifecycle catalog.
package struct OSProbe: Sendable {
    package let catalog: OSLifecycleCatalog?
    package let catalogPath: String?

    package init(catalog: OSLifecycleCatalog?, catalogPath: String? = nil) {
        self.catalog = catalog
        self.catalogPath = catalogPath
    }

    package func collect(root: ScanRoot, now: Date) throws(ProbeError) -> OSEvidence {
        let release = try OSRelease.read(root: root)
        guard let id = release.fields["ID"], !id.isEmpty else {
            let file = release.path
            throw ProbeError.malformed(path: file, reason: "no ID= line, so the OS cannot be identified")
        }
        var versionId = release.fields["VERSION_ID"]
        let codename = release.fields["VERSION_CODENAME"]
        if versionId == nil, id == "debian", let debianVersion = try? root.readText("etc/debian_version") {
            // Debian point releases: "12.5" -> major "12"; testing says "trixie/sid" and stays unknown.
            let major = debianVersion.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").first
            if let major, Int(major) != nil { versionId = String(major) }
        }

        var support: [String: Day] = [:]
        var eolPhase: String?
        var source: String?
        if let known = DistroInfo.lookup(root: root, id: id, versionId: versionId, codename: codename) {
            support = known.support
            eolPhase = known.eolPhase
            source = known.source
        } else if let catalog, let distribution = catalog.distribution(id),
            let entry = Self.catalogRelease(distribution, versionId: versionId, codename: codename)
        {
            support = DistroInfo.phaseNames(entry.support, id: id)
            eolPhase = DistroInfo.phaseName(distribution.eolPhase, id: id)
            source = "catalog \(catalogPath.map { URL(fileURLWithPath: $0).lastPathComponent } ?? OSLifecycleCatalog.fileName) (as of \(catalog.asOf))"
        }
        let eol = eolPhase.flatMap { support[$0] }
        let today = Day(now)
        return OSEvidence(
            id: id, versionId: versionId, prettyName: release.fields["PRETTY_NAME"],
            codename: codename, eol: eol, eolSource: source, support: support,
            supported: eol.map { today <= $0 })
    }

    /// Matches by version (RHEL family: the major number), else by codename.
    static func catalogRelease(
        _ distribution: OSLifecycleCatalog.Distribution, versionId: String?,
        codename: String?
    ) -> OSLifecycleCatalog.Release? {
        if let versionId {
            if let exact = distribution.releases.first(where: { $0.version == versionId }) { return exact }
            let major = versionId.split(separator: ".").first.map(String.init)
            if let major, let byMajor = distribution.releases.first(where: { $0.version == major }) { return byMajor }
        }
        if let codename {
            return distribution.releases.first { $0.codename?.lowercased() == codename.lowercased() }
        }
        return nil
    }
}

/// The key-value pairs of an os-release file (shell-style quoting).
package struct OSRelease: Sendable {
    package var path: String
    package var fields: [String: String]

    package static func read(root: ScanRoot) throws(ProbeError) -> OSRelease {
        let candidates = ["etc/os-release", "usr/lib/os-release"]
        for candidate in candidates where root.exists(candidate) {
            return OSRelease(path: root.display(candidate), fields: parse(try root.readText(candidate)))
        }
        throw ProbeError.missingEverywhere(paths: candidates.map(root.display))
    }

    /// Parses `KEY=value` lines; lines that are not assignments are ignored, as systemd does.
    package static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals])
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") }) else { continue }
            fields[key] = unquote(line[line.index(after: equals)...])
        }
        return fields
    }

    private static func unquote(_ raw: Substring) -> String {
        var result = ""
        var quote: Character?
        var escaped = false
        for c in raw {
            if escaped {
                result.append(c)
                escaped = false
            } else if c == "\\" && quote != "'" {
                escaped = true
            } else if let q = quote {
                if c == q { quote = nil } else { result.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
            } else {
                result.append(c)
            }
        }
        return result
    }
}

/// The distro-info-data CSV files (`usr/share/distro-info/{debian,ubuntu}.csv`).
package enum DistroInfo {
    package struct Entry: Sendable, Hashable {
        package var support: [String: Day]
        package var eolPhase: String
        package var source: String
    }

    /// The support dates of a release, or nil when the root has no distro-info row for it.
    package static func lookup(root: ScanRoot, id: String, versionId: String?, codename: String?) -> Entry? {
        let eolPhase: String
        switch id {
        case "debian": eolPhase = "lts"
        case "ubuntu": eolPhase = "standard"
        default: return nil
        }
        let file = "usr/share/distro-info/\(id).csv"
        guard let text = try? root.readText(file) else { return nil }
        let rows = parse(text)
        let row = rows.first { row in
            if let versionId, let version = row["version"], !version.isEmpty,
                version.split(separator: " ").first.map(String.init) == versionId
            {
                return true
            }
            if let codename, let series = row["series"], !series.isEmpty, series == codename.lowercased() { return true }
            return false
        }
        guard let row else { return nil }
        var support: [String: Day] = [:]
        for (column, value) in row where column.hasPrefix("eol") {
            if let day = Day(value) { support[column] = day }
        }
        return Entry(
            support: phaseNames(support, id: id), eolPhase: eolPhase,
            source: root.display(file))
    }

    /// The phase name of a distro-info column (`OSEvidence.phaseNamesByColumn`, for Debian and Ubuntu).
    package static func phaseName(_ column: String, id: String) -> String {
        guard id == "debian" || id == "ubuntu" else { return column }
        return OSEvidence.phaseNamesByColumn[column] ?? column
    }

    static func phaseNames(_ support: [String: Day], id: String) -> [String: Day] {
        Dictionary(support.map { (phaseName($0.key, id: id), $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// Rows keyed by header name; missing trailing fields are absent, not errors.
    package static func parse(_ text: String) -> [[String: String]] {
        var lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !lines.isEmpty else { return [] }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return lines.filter { !$0.isEmpty && !$0.hasPrefix("#") }.map { line in
            var row: [String: String] = [:]
            for (name, value) in zip(header, line.split(separator: ",", omittingEmptySubsequences: false)) {
                row[name] = String(value)
            }
            return row
        }
    }
}

extension OSProbe: BlockingProbe {
    package var name: ProbeName { .os }
    package var reads: String { "etc/os-release, the release's end of support from distro-info-data or the catalog" }
    package func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput {
        let os = try collect(root: context.root, now: context.now)
        return ProbeOutput { $0.os = os }
    }
}
