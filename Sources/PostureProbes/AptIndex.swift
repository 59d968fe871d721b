import Crypto
import Foundation
import PostureModel

/// The package lists apt last fetched (`var/lib/apt/lists`), read offline.
struct AptIndex {
    static let listsDirectory = "var/lib/apt/lists"
    /// Extensions apt may give compressed lists (`Acquire::GzipIndexes`); only lz4 is decoded.
    static let compressions = ["lz4", "gz", "xz", "zst", "bz2", "lzma"]
    /// Bytes read from a list at a time: lists are decoded and scanned as they are read.
    static let chunkSize = 1 << 18

    /// One suite's `Release`/`InRelease` file.
    struct Release: Sendable {
        var suite: String?
        var codename: String?
        var origin: String?
        var label: String?
        var version: String?
        var notAutomatic: Bool
        var butAutomaticUpgrades: Bool

        /// apt's default pin priority for versions from this release (policy.cc `InitDefaults`).
        var priority: Int {
            if butAutomaticUpgrades { return 100 }
            return notAutomatic ? 1 : 500
        }

        var isSecurity: Bool {
            [suite, codename].contains { $0?.hasSuffix("-security") == true }
        }

        static func parse(_ text: String) -> Release {
            var release = Release(notAutomatic: false, butAutomaticUpgrades: false)
            var seen = false
            ControlFile.forEachStanza(
                in: ControlFile.clearSignedBody(text),
                wanted: [
                    "Suite", "Codename", "Origin", "Label", "Version",
                    "NotAutomatic", "ButAutomaticUpgrades"
                ]
            ) { fields in
                guard !seen else { return }
                seen = true
                release.suite = fields["Suite"].map(String.init)
                release.codename = fields["Codename"].map(String.init)
                release.origin = fields["Origin"].map(String.init)
                release.label = fields["Label"].map(String.init)
                release.version = fields["Version"].map(String.init)
                release.notAutomatic = fields["NotAutomatic"].map(Self.flag) ?? false
                release.butAutomaticUpgrades = fields["ButAutomaticUpgrades"].map(Self.flag) ?? false
            }
            return release
        }

        /// apt's `FindFlag`: yes/true/with/on/enable or 1.
        private static func flag(_ value: Substring) -> Bool {
            ["yes", "true", "with", "on", "enable", "1"].contains(value.lowercased())
        }
    }

    /// One `Packages` list and what pins match it by.
    struct ListFile: Sendable {
        var name: String
        var release: Release?
        var attributes: AptPreferences.FileAttributes
    }

    /// A version a list offers.
    struct Offer: Sendable {
        var name: String
        var architecture: String
        var version: String
        var source: String
        var sourceVersion: String
        var phasedUpdatePercentage: Int?
        /// Index into `Contents.files`.
        var file: Int
    }

    /// What reading the lists produced.
    struct Contents {
        var offers: [Offer]
        var files: [ListFile]
        var listsRead: Int
        var problems: [String]
        var newestRelease: Date?
    }

    /// Reads every `*_Packages` list (plain or LZ4, streamed) and keeps the offers for `interesting`
    /// names; a list unchanged since the last scan (same identity, same names asked) is taken
    /// from `cache`.
    static func read(root: ScanRoot, interesting: Set<String>, cache: ScanCache? = nil) async throws(ProbeError) -> Contents {
        let names = try root.list(listsDirectory)
        var releases: [(prefix: String, release: Release)] = []
        var newest: Date?
        for name in names where name.hasSuffix("_InRelease") || name.hasSuffix("_Release") {
            let path = "\(listsDirectory)/\(name)"
            if let modified = root.modified(path), newest.map({ modified > $0 }) ?? true { newest = modified }
            guard let text = try? root.readText(path, limit: 64 << 20) else { continue }
            releases.append((String(name[..<name.lastIndex(of: "_")!]), Release.parse(text)))
        }
        releases.sort { $0.prefix.count > $1.prefix.count }

        let files: [ListFile] = names.filter { name in
            name.hasSuffix("_Packages") || compressions.contains { name.hasSuffix("_Packages." + $0) }
        }.map { name in
            let matched = releases.first { name.hasPrefix($0.prefix + "_") }
            return ListFile(
                name: name, release: matched?.release,
                attributes: attributes(list: name, releasePrefix: matched?.prefix, release: matched?.release))
        }
        let asked = cache == nil ? "" : SHA256.hash(data: Array(interesting.sorted().joined(separator: "\n").utf8)).hexString
        // Two lists at a time: each holds at most one LZ4 block and one chunk, whatever its size.
        var results: [(offers: [Offer], problem: String?)] = []
        await withTaskGroup(of: (offers: [Offer], problem: String?).self) { group in
            var next = 0
            func add() {
                guard next < files.count else { return }
                let index = next
                next += 1
                group.addTask {
                    do throws(ProbeError) {
                        return (try readList(root: root, file: files[index], index: index, interesting: interesting, cache: cache, asked: asked), nil)
                    } catch {
                        return ([], error.description)
                    }
                }
            }
            add()
            add()
            for await result in group {
                results.append(result)
                add()
            }
        }
        return Contents(
            offers: results.flatMap(\.offers), files: files,
            listsRead: results.filter { $0.problem == nil }.count,
            problems: results.compactMap(\.problem).sorted(),
            newestRelease: newest)
    }

    /// Component, architecture and site from apt's list file name (`URItoFileName` of the
    /// index's URI: `HOST_PATH_dists_SUITE_COMPONENT_binary-ARCH_Packages`).
    static func attributes(list name: String, releasePrefix: String?, release: Release?) -> AptPreferences.FileAttributes {
        let firstUnderscore = name.firstIndex(of: "_") ?? name.startIndex
        var site = String(name[..<firstUnderscore])
        if let at = site.lastIndex(of: "@") { site = String(site[site.index(after: at)...]) }
        var component = ""
        var architecture: String?
        if let releasePrefix, name.count > releasePrefix.count + 1 {
            let rest = name.dropFirst(releasePrefix.count + 1)
            if let binary = rest.range(of: "_binary-") {
                component = rest[..<binary.lowerBound].replacingOccurrences(of: "_", with: "/")
                let afterArch = rest[binary.upperBound...]
                architecture = afterArch.range(of: "_Packages").map { String(afterArch[..<$0.lowerBound]) }
            }
        }
        return AptPreferences.FileAttributes(
            hasRelease: release != nil, origin: release?.origin, label: release?.label, archive: release?.suite,
            codename: release?.codename, version: release?.version, component: component,
            architecture: architecture, site: site)
    }

    /// The offers of one list for `interesting` names; `asked` names that set in `cache`'s keys.
    static func readList(
        root: ScanRoot, file: ListFile, index: Int,
        interesting: Set<String>, cache: ScanCache? = nil, asked: String = ""
    ) throws(ProbeError) -> [Offer] {
        let path = "\(listsDirectory)/\(file.name)"
        let lz4 = file.name.hasSuffix(".lz4")
        if !lz4 && !file.name.hasSuffix("_Packages") {
            let ext = file.name.split(separator: ".").last.map(String.init) ?? "?"
            throw ProbeError.unsupported("\(root.display(path)): lists compressed with .\(ext) are not read")
        }
        let stream = try ChunkedFile(root: root, path: path)
        defer { stream.close() }
        let key = "apt-list\u{0}\(file.name)\u{0}\(stream.identity.key)\u{0}\(asked)"
        if let cache, let stored = cache.value(key), let offers = OfferCoding.decode(stored, file: index) { return offers }
        let offers = try readList(stream, root: root, path: path, lz4: lz4, index: index, interesting: interesting)
        if stream.identity.isSettled() { cache?.store(key, OfferCoding.encode(offers)) }
        return offers
    }

    private static func readList(
        _ stream: ChunkedFile, root: ScanRoot, path: String, lz4: Bool, index: Int, interesting: Set<String>
    ) throws(ProbeError) -> [Offer] {
        var offers: [Offer] = []
        var scanner = PackagesListScanner { interesting.contains($0) }
        let body: (PackagesListScanner.Entry) -> Void = { entry in
            offers.append(
                Offer(
                    name: entry.name, architecture: entry.architecture, version: entry.version,
                    source: entry.source, sourceVersion: entry.sourceVersion,
                    phasedUpdatePercentage: entry.phasedUpdatePercentage, file: index))
        }
        if lz4 {
            do {
                try LZ4.decode(read: { count throws(ProbeError) in try stream.read(count) }, emit: { scanner.feed($0, body) })
            } catch {
                if case .malformed(let where_, let reason) = error, where_ == "LZ4 data" {
                    throw ProbeError.malformed(path: root.display(path), reason: "LZ4 data: \(reason)")
                }
                throw error
            }
        } else {
            while true {
                let chunk = try stream.read(chunkSize)
                if chunk.isEmpty { break }
                chunk.withUnsafeBufferPointer { scanner.feed($0, body) }
            }
        }
        scanner.finish(body)
        return offers
    }
}

/// A regular file inside the scan root read a piece at a time (ScanRoot reads files whole).
final class ChunkedFile {
    private let fd: Int32
    private let display: String
    /// The file as it was opened.
    let identity: FileIdentity
    private var buffer = [UInt8](repeating: 0, count: AptIndex.chunkSize)
    private var filled = 0
    private var position = 0
    private var atEnd = false

    init(root: ScanRoot, path: String) throws(ProbeError) {
        display = root.display(path)
        switch root.openFile(path) {
        case .success(let opened):
            fd = opened.fd
            identity = opened.status.identity
        case .failure(let error):
            throw error.isNotFound ? ProbeError.missing(path: display) : ProbeError.unreadable(path: display, reason: error.description)
        }
        Platform.adviseSequential(fd)
    }

    func close() { Platform.closeFile(fd) }

    /// The next `count` bytes, fewer only at the end of the file.
    func read(_ count: Int) throws(ProbeError) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(min(count, AptIndex.chunkSize))
        while result.count < count {
            if position == filled {
                guard !atEnd else { break }
                try fill()
                continue
            }
            let take = min(count - result.count, filled - position)
            result.append(contentsOf: buffer[position..<(position + take)])
            position += take
        }
        return result
    }

    private func fill() throws(ProbeError) {
        let descriptor = fd
        let result = buffer.withUnsafeMutableBytes { Platform.readSome(descriptor, into: $0.baseAddress!, count: $0.count) }
        switch result {
        case .success(let n):
            atEnd = n == 0
            filled = n
            position = 0
        case .failure(let error):
            throw ProbeError.unreadable(path: display, reason: error.description)
        }
    }
}

/// A list's offers as the scan cache keeps them: one line each, fields separated by NUL (neither
/// can occur in a field of a control file).
enum OfferCoding {
    static func encode(_ offers: [AptIndex.Offer]) -> [UInt8] {
        var bytes: [UInt8] = []
        for offer in offers {
            let fields = [
                offer.name, offer.architecture, offer.version, offer.source, offer.sourceVersion,
                offer.phasedUpdatePercentage.map(String.init) ?? ""
            ]
            bytes += fields.joined(separator: "\u{0}").utf8
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    /// The offers, as of list `file`; nil when the bytes are not what `encode` writes.
    static func decode(_ bytes: [UInt8], file: Int) -> [AptIndex.Offer]? {
        var offers: [AptIndex.Offer] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard fields.count == 6 else { return nil }
            let phased: Int?
            if fields[5].isEmpty {
                phased = nil
            } else if let value = Int(fields[5]) {
                phased = value
            } else {
                return nil
            }
            offers.append(
                AptIndex.Offer(
                    name: fields[0], architecture: fields[1], version: fields[2], source: fields[3], sourceVersion: fields[4],
                    phasedUpdatePercentage: phased, file: file))
        }
        return offers
    }
}

extension FileIdentity {
    /// The identity as text, for cache keys.
    package var key: String { "\(device):\(inode):\(size):\(modifiedNanoseconds):\(changedNanoseconds)" }
}
