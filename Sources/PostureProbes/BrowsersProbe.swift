package import Foundation
package import PostureModel
package import PostureReference

/// Installed web browsers (package, snap, flatpak or vendor tarball), their candidate version
/// from the package index, and whether their release line is still supported per the catalog.
package struct BrowsersProbe: Sendable {
    package let catalog: BrowserCatalog

    package init(catalog: BrowserCatalog) { self.catalog = catalog }

    /// - Parameter candidates: package name → the version apt would install, for packages the index offers.
    package func collect(
        root: ScanRoot, database: DpkgDatabase?, candidates: [String: String]?,
        homes: [String], now: Date
    ) -> [BrowserEvidence] {
        let installed = Dictionary((database?.installed ?? []).map { ($0.name, $0.version) }) { first, _ in first }
        let snaps = AppBundles.snaps(root: root)
        let flatpaks = AppBundles.flatpaks(root: root, homes: homes)
        let today = Day(now)
        var found: [BrowserEvidence] = []
        for browser in catalog.browsers {
            func add(_ version: String, source: String, candidate: String?) {
                let (eol, supported) = Self.support(of: version, browser.support, today: today)
                found.append(
                    BrowserEvidence(
                        name: browser.name, version: version, source: source, candidate: candidate,
                        eol: eol, supported: supported, catalogAsOf: catalog.asOf,
                        linesPastSupport: supported == false ? Self.linesPastSupport(of: version, browser.support) : nil,
                        supportSource: browser.support.source.isEmpty ? nil : browser.support.provenance))
            }
            var packaged = false
            for package in browser.packages {
                // Ubuntu's firefox/chromium-browser debs only install the snap ("1snap1"): the snap is the browser.
                guard let version = installed[package], !version.contains("snap") else { continue }
                packaged = true
                add(version, source: "dpkg:\(package)", candidate: candidates?[package])
            }
            for name in browser.snap {
                if let version = snaps[name] { add(version ?? "unknown", source: "snap:\(name)", candidate: nil) }
            }
            for id in browser.flatpak {
                if let version = flatpaks[id] { add(version ?? "unknown", source: "flatpak:\(id)", candidate: nil) }
            }
            // Directories under usr/lib belong to the package when one is installed.
            for directory in browser.installDirs where !(packaged && directory.hasPrefix("usr/lib")) {
                if let version = Self.applicationVersion(root: root, directory: directory) {
                    add(version, source: "tarball:\(root.display(directory))", candidate: nil)
                }
            }
        }
        return found
    }

    /// `[App] Version=` of a Mozilla `application.ini` (or `Milestone=` of `platform.ini`).
    static func applicationVersion(root: ScanRoot, directory: String) -> String? {
        if let text = try? root.readText("\(directory)/application.ini"),
            let version = LocalAccessProbe.ini([text])["App"]?["Version"]
        {
            return version
        }
        if let text = try? root.readText("\(directory)/platform.ini"),
            let milestone = LocalAccessProbe.ini([text])["Build"]?["Milestone"]
        {
            return milestone
        }
        return nil
    }

    /// The leading numbers of a version (`1:128.5.0esr-1` → [128, 5, 0]).
    static func numbers(_ version: String) -> [Int] {
        var text = Substring(version)
        if let colon = text.firstIndex(of: ":") { text = text[text.index(after: colon)...] }
        var numbers: [Int] = []
        for part in text.split(separator: ".") {
            let digits = part.prefix { $0.isNumber }
            guard let value = Int(digits) else { break }
            numbers.append(value)
            if digits.count != part.count { break }
        }
        return numbers
    }

    /// End of support (fixed-date lines) and whether the version's release line is still supported.
    /// How many release lines `version` is past the oldest line the catalog's `latest` keeps in
    /// support, when it is on the same major as `latest` (for one-number lines: always).
    static func linesPastSupport(of version: String, _ support: BrowserCatalog.Support) -> Int? {
        let width = max(1, support.lineComponents)
        let line = Array(numbers(version).prefix(width))
        guard let newest = support.latest, support.lines.allSatisfy({ numbers($0.line) != line }) else { return nil }
        let latest = Array(numbers(newest).prefix(width))
        guard line.count == width, latest.count == width, line.dropLast() == latest.dropLast() else { return nil }
        let past = latest.last! - line.last! - (max(1, support.linesSupported) - 1)
        return past > 0 ? past : nil
    }

    static func support(of version: String, _ support: BrowserCatalog.Support, today: Day) -> (Day?, Bool?) {
        let parts = numbers(version)
        let width = max(1, support.lineComponents)
        guard parts.count >= width else { return (nil, nil) }
        let line = Array(parts.prefix(width))
        if let fixed = support.lines.first(where: { numbers($0.line) == line }) {
            return (fixed.eol, today <= fixed.eol)
        }
        if support.latest == nil {
            // A line the catalog does not list: older than every listed line means long gone.
            let known = support.lines.map { numbers($0.line) }
            if !known.isEmpty, known.allSatisfy({ line.lexicographicallyPrecedes($0) }) { return (nil, false) }
            return (nil, nil)
        }
        let latest = Array(numbers(support.latest!).prefix(width))
        guard latest.count == width else { return (nil, nil) }
        if line.dropLast() == latest.dropLast() {
            return (nil, latest.last! - line.last! < max(1, support.linesSupported))
        }
        return (nil, !line.lexicographicallyPrecedes(latest))
    }
}

extension BrowsersProbe: BlockingProbe {
    package var name: ProbeName { .browsers }
    package var reads: String { "packages, snaps, flatpaks and vendor installs of the catalog's browsers, and apt's candidates" }
    package func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput {
        let browsers = collect(
            root: context.root, database: context.installed, candidates: context.candidates,
            homes: context.homes, now: context.now)
        return ProbeOutput(problems: context.packageDatabaseProblem.map { [$0] } ?? []) { $0.browsers = browsers }
    }
}
