package import Foundation
package import PostureModel
package import PostureReference

/// Antivirus and EDR products from the catalog: installed (package or files), running (its scanning
/// engine, not an updater; live root only), and the date of their signatures where it is readable offline.
package struct SecuritySoftwareProbe: Sendable {
    package let catalog: SecuritySoftwareCatalog

    package init(catalog: SecuritySoftwareCatalog) { self.catalog = catalog }

    /// Installed products only; an empty list means none of the catalog's products was found.
    package func collect(root: ScanRoot, database: DpkgDatabase?, processes: Set<String>?) -> [SecuritySoftwareEvidence] {
        let installedPackages = Set(database?.installed.map(\.name) ?? [])
        return catalog.products.compactMap { product in
            let installed =
                product.packages.contains { installedPackages.contains($0) }
                || product.paths.contains { root.exists($0) }
            guard installed else { return nil }
            let running = processes.map { RunningProcesses.anyRunning(product.processes, in: $0) }
            return SecuritySoftwareEvidence(
                product: product.id, installed: true, running: running,
                signaturesUpdatedAt: product.signatures.flatMap { signatureDate($0, root: root) },
                commercial: product.commercial)
        }
    }

    func signatureDate(_ signatures: SecuritySoftwareCatalog.Signatures, root: ScanRoot) -> Date? {
        switch signatures.kind {
        case .clamavCVD:
            var newest: Date?
            for directory in signatures.paths {
                for name in (try? root.list(directory)) ?? [] where ClamAVDatabase.isDatabase(name) {
                    guard let header = try? ClamAVDatabase.header(root: root, path: "\(directory)/\(name)") else { continue }
                    if let built = header.buildTime, newest.map({ built > $0 }) ?? true { newest = built }
                }
            }
            return newest
        case .newestMtime:
            var newest: Date?
            for path in signatures.paths {
                FileWalk.visit(root: root, path, maxDepth: 4, maxEntries: 20_000) { _, status in
                    if status.isRegular, newest.map({ status.modified > $0 }) ?? true { newest = status.modified }
                }
            }
            return newest
        }
    }
}

/// The 512-byte header of a ClamAV signature database (`.cvd`, `.cld`, `.cud`), as sigtool's `build()`
/// writes it: `ClamAV-VDB:build time:version:signatures:functionality level:md5:digital signature:builder:stime`,
/// padded with spaces. freshclam's incremental `.cld` carries the first line of the database's `.info`
/// file instead (md5 and signature `X`), with the same build time. libclamav's `cl_cvdparse` splits the
/// header on every colon, so the build time never contains one: `%d %b %Y %H-%M %z`.
package struct ClamAVDatabase: Sendable, Hashable {
    package var buildTime: Date?
    package var version: Int?
    package var signatures: Int?

    /// The file names libclamav loads as signature containers (its `cli_load` compares them without case).
    package static func isDatabase(_ name: String) -> Bool {
        [".cvd", ".cld", ".cud"].contains { name.lowercased().hasSuffix($0) }
    }

    package static func header(root: ScanRoot, path: String) throws(ProbeError) -> ClamAVDatabase {
        let bytes = try root.readBytes(path)
        return try parse(header: Array(bytes.prefix(512)), path: root.display(path))
    }

    package static func parse(header: [UInt8], path: String) throws(ProbeError) -> ClamAVDatabase {
        guard header.count == 512 else { throw ProbeError.malformed(path: path, reason: "shorter than the 512-byte header") }
        let text = String(decoding: header, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        let fields = text.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 4, fields[0] == "ClamAV-VDB" else {
            throw ProbeError.malformed(path: path, reason: "no ClamAV-VDB header")
        }
        guard let built = parseTime(String(fields[1])) else {
            throw ProbeError.malformed(path: path, reason: "the build time '\(fields[1])' is not a date like '14 Nov 2023 07-37 -0500'")
        }
        return ClamAVDatabase(buildTime: built, version: Int(fields[2]), signatures: Int(fields[3]))
    }

    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// The build time as sigtool writes it, `strftime("%d %b %Y %H-%M %z")` in the C locale
    /// (`14 Nov 2023 07-37 -0500`). Read by hand: Foundation's DateFormatter traps on some non-ASCII
    /// text, and these bytes are anyone's.
    static func parseTime(_ text: String) -> Date? {
        let words = text.split(separator: " ")
        guard words.count == 5 else { return nil }
        let clock = words[3].split(separator: "-", omittingEmptySubsequences: false)
        let zone = words[4]
        guard let dayOfMonth = number(words[0], digits: 1...2), let month = months.firstIndex(of: words[1].lowercased()),
            let year = number(words[2], digits: 4...4), let day = Day(year: year, month: month + 1, day: dayOfMonth),
            clock.count == 2, let hour = number(clock[0], digits: 1...2), let minute = number(clock[1], digits: 2...2),
            hour < 24, minute < 60, let sign = zone.first, sign == "+" || sign == "-",
            let offset = number(zone.dropFirst(), digits: 4...4), offset / 100 < 24, offset % 100 < 60
        else { return nil }
        let zoneSeconds = (offset / 100 * 3600 + offset % 100 * 60) * (sign == "-" ? -1 : 1)
        return Date(timeIntervalSince1970: TimeInterval(day.daysSinceEpoch * 86400 + hour * 3600 + minute * 60 - zoneSeconds))
    }

    /// The value of `text` when it is only ASCII digits, as many as `digits` allows.
    private static func number(_ text: Substring, digits: ClosedRange<Int>) -> Int? {
        guard digits.contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(text)
    }
}

extension SecuritySoftwareProbe: BlockingProbe {
    package var name: ProbeName { .securitySoftware }
    package var reads: String { "packages, install paths, running processes and signature files of the catalog's products" }
    package func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput {
        let products = collect(root: context.root, database: context.installed, processes: context.processes)
        return ProbeOutput(problems: context.packageDatabaseProblem.map { [$0] } ?? []) { $0.securitySoftware = products }
    }
}
