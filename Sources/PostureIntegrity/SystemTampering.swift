import Crypto
import Foundation
import PostureModel
import PostureProbes
import SwiftASN1
import X509

/// Tampering beyond the package database that matters for online banking: executables and
/// libraries no package installed, set-id programs, preloaded libraries, `etc/hosts` overrides
/// and certificate authorities added to the system trust store.
struct SystemTampering {
    let root: ScanRoot
    /// Digests of unowned files from the last scan, by file identity; nil hashes every time.
    var cache: ScanCache?

    /// Directories whose executables must all come from packages (merged-/usr links are skipped, their targets are walked).
    static let systemDirectories = ["usr/bin", "usr/sbin", "usr/libexec", "bin", "sbin"]
    /// Extra places where a set-id program no package owns is reported.
    static let setidDirectories = ["usr/local/bin", "usr/local/sbin", "opt"]

    /// A regular file the search for unowned executables considers, before ownership is known.
    struct Candidate: Sendable {
        /// As reported (absolute inside the root), and compared with owned paths.
        var path: String
        var setid: Bool
    }

    /// What the walk for unowned executables found before ownership is known.
    struct CandidateSearch: Sendable {
        var found: [Candidate] = []
        var incomplete: [String] = []
        /// The directories walked, for the next scan's memory (with a cache only).
        var walked: ExecutableSearchMemory.Walked?
    }

    /// The regular files of `search` no package lists (compared by canonical path, so `/bin/ls`
    /// owns `/usr/bin/ls`), with their SHA-256. Leaves the walk's memory for the next scan in the
    /// cache; if the walk recalled directories from a memory made under other owned paths, it is
    /// done again without it first (a file owned then, and so left out, may be unowned now).
    /// - Returns: what was found, and why the search did not see everything (so finding nothing
    ///   proves nothing).
    func unowned(among search: CandidateSearch, owned: OwnedPaths) -> (found: [IntegrityEvidence.UnownedExecutable], incomplete: [String]) {
        var search = search
        if let cache {
            let fingerprint = owned.fingerprint
            if let memory = search.walked?.recalledFrom, memory.fingerprint != fingerprint { search = executableCandidates(recalling: false) }
            if let memory = search.walked?.memory(fingerprint: fingerprint, isOwned: { owned.contains(canonical: root.display($0)) }) {
                cache.store(ExecutableSearchMemory.key, memory)
            }
        }
        let found = search.found.filter { !owned.contains(canonical: $0.path) }.map {
            IntegrityEvidence.UnownedExecutable(path: $0.path, sha256: sha256($0.path) ?? "unreadable", setid: $0.setid)
        }
        return (found.sorted { $0.path < $1.path }, search.incomplete)
    }

    /// `path` (relative to the root) as a candidate: a regular file that is set-id, or, unless
    /// `setidOnly`, executable, a shared object or a kernel module.
    func candidate(_ path: String, name: String, _ status: Platform.FileStatus, setidOnly: Bool) -> Candidate? {
        guard status.isRegular else { return nil }
        let name = Substring(name).utf8
        let isLibrary = name.ends(with: ".so".utf8) || name.containsSharedObjectVersion
        let isModule = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"].contains { name.ends(with: $0.utf8) }
        guard status.isSetID || (!setidOnly && (status.isExecutable || isLibrary || isModule)) else { return nil }
        return Candidate(path: root.display(path), setid: status.isSetID)
    }

    /// Regular files in system directories that are executable, set-id, shared objects or kernel
    /// modules, found by a walk that needs no ownership (so it runs while package files are
    /// verified). With a cache, and `recalling`, a directory unchanged since the last scan is not
    /// listed again and of its files only those no package owned then are looked at
    /// (`ExecutableSearchMemory`; `unowned(among:owned:)` checks that ownership is unchanged).
    func executableCandidates(recalling: Bool = true) -> CandidateSearch {
        var directories = Self.systemDirectories
        var search = CandidateSearch()
        for top in ["", "usr/"] {
            let base = top.isEmpty ? "." : String(top.dropLast())
            do {
                for name in try root.list(base) where name.hasPrefix("lib") { directories.append(top + name) }
            } catch {
                search.incomplete.append("\(error)")
            }
        }
        let remembered = recalling ? cache?.value(ExecutableSearchMemory.key).flatMap(ExecutableSearchMemory.init) : nil
        search.walked = cache.map { _ in ExecutableSearchMemory.Walked(recalledFrom: remembered) }
        let memory = cache.map { _ in
            FileWalk.ListingMemory(
                recall: { directory, identity in remembered?.listing(of: directory, identity: identity) },
                walked: { directory, identity, listing in search.walked?.add(directory, identity: identity, listing: listing) })
        }
        var seen = Set<String>()
        // Only regular files can be candidates: the status of nothing else is read.
        func walk(_ start: String, setidOnly: Bool, maxDepth: Int, maxEntries: Int) {
            let problems = FileWalk.visitEntries(root: root, start, maxDepth: maxDepth, maxEntries: maxEntries, sorted: false, memory: memory) { entry in
                guard entry.type == .regular else { return }
                switch entry.status() {
                case .success(let status):
                    if let found = candidate(entry.path, name: entry.name, status, setidOnly: setidOnly), seen.insert(found.path).inserted {
                        search.found.append(found)
                    }
                case .failure(let error) where !error.isNotFound: search.incomplete.append("\(root.display(entry.path)): \(error)")
                case .failure: break
                }
            }
            search.incomplete += problems
        }
        var started = Set<String>()
        for directory in directories where started.insert(directory).inserted {  // `usr/libexec` is also a `usr/lib*`
            // A merged-/usr link (bin -> usr/bin) is skipped: its target is walked under its own name.
            guard case .success(let status) = root.status(directory, followLast: false), status.isDirectory else { continue }
            walk(directory, setidOnly: false, maxDepth: 40, maxEntries: 2_000_000)
        }
        for directory in Self.setidDirectories {
            walk(directory, setidOnly: true, maxDepth: 12, maxEntries: 200_000)
        }
        return search
    }

    /// The SHA-256 of the file at `path`, taken from the scan cache while the file it opened is
    /// the one hashed last (same identity).
    func sha256(_ path: String) -> String? {
        guard case .success(let (fd, status)) = root.openFile(path) else { return nil }
        defer { Platform.closeFile(fd) }
        let key = "sha256\u{0}\(path)\u{0}\(status.identity.key)"
        if let stored = cache?.value(key).map({ String(decoding: $0, as: UTF8.self) }), stored.isSHA256Hex {
            return stored
        }
        guard let digest = Self.sha256(fd) else { return nil }
        if status.identity.isSettled() { cache?.store(key, Array(digest.utf8)) }
        return digest
    }

    private static func sha256(_ fd: Int32) -> String? {
        var hasher = SHA256()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            switch Platform.readSome(fd, into: buffer, count: 1 << 16) {
            case .failure: return nil
            case .success(0): return hasher.finalize().hexString
            case .success(let n): hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: n))
            }
        }
    }

    /// Libraries named in `etc/ld.so.preload`, which every program loads.
    func preloadedLibraries() -> [String] {
        guard let text = try? root.readText("etc/ld.so.preload") else { return [] }
        return text.split(whereSeparator: { $0 == "\n" })
            .map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
            .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }) }
            .map(String.init)
    }

    /// Every `etc/hosts` mapping except the standard loopback, IPv6 and own-hostname lines.
    func hostsOverrides() -> [IntegrityEvidence.HostsOverride] {
        guard let text = try? root.readText("etc/hosts") else { return [] }
        let hostname = (try? root.readText("etc/hostname"))?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let standard: [String: Set<String>] = [
            "::1": ["localhost", "ip6-localhost", "ip6-loopback", "localhost6", "localhost6.localdomain6"],
            "fe00::0": ["ip6-localnet"], "ff00::0": ["ip6-mcastprefix"], "ff02::1": ["ip6-allnodes"],
            "ff02::2": ["ip6-allrouters"], "ff02::3": ["ip6-allhosts"]
        ]
        var overrides: [IntegrityEvidence.HostsOverride] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count >= 2 else { continue }
            let address = fields[0]
            for name in fields.dropFirst() {
                let lower = name.lowercased()
                let loopback = address.hasPrefix("127.")
                if loopback
                    && (lower == "localhost" || lower.hasPrefix("localhost.") || lower == hostname
                        || hostname.map({ lower.hasPrefix($0 + ".") }) == true)
                {
                    continue
                }
                if standard[address]?.contains(lower) == true { continue }
                if address == "::1", lower == hostname { continue }
                overrides.append(.init(name: name, address: address))
            }
        }
        return overrides
    }

    /// A file of the system trust store that may hold certificate authorities no package provided,
    /// found before ownership is known.
    struct TrustStoreFile: Sendable {
        /// Absolute inside the root, as read and reported.
        var path: String
        /// The canonical path under which a package would own the entry that led here; nil for a
        /// file under `usr/local/share/ca-certificates`, which is reported whoever owns it.
        var ownedAs: String?
    }

    /// The files `extraCertificates` reads unless a package owns them: everything under
    /// `usr/local/share/ca-certificates`, and entries of `etc/ssl/certs` that are not links into
    /// `usr/share/ca-certificates` (the generated bundle aside). Ownership is not needed, so this
    /// runs while package files are verified.
    func trustStoreFiles() -> [TrustStoreFile] {
        var files: [TrustStoreFile] = []
        FileWalk.visit(root: root, "usr/local/share/ca-certificates", maxDepth: 6, maxEntries: 10_000) { path, status in
            if status.isRegular { files.append(TrustStoreFile(path: path, ownedAs: nil)) }
        }
        let directory = OwnedPaths.canonicalDirectory("/etc/ssl/certs", in: root)
        for name in (try? root.list("etc/ssl/certs")) ?? [] where name != "ca-certificates.crt" && name != "java" {
            let path = "etc/ssl/certs/\(name)"
            guard let canonical = root.canonical(path) else { continue }
            if canonical.hasPrefix("/usr/share/ca-certificates/") { continue }
            if canonical.hasPrefix("/etc/ssl/certs/") && canonical != root.display(path) { continue }  // link to a sibling
            if canonical.hasPrefix("/usr/local/share/ca-certificates/") { continue }  // found above
            files.append(TrustStoreFile(path: String(canonical.dropFirst()), ownedAs: "\(directory)/\(name)"))
        }
        return files
    }

    /// Certificate authorities in the system trust store that the `ca-certificates` package did not
    /// provide: those in `files` (`trustStoreFiles()`) that no package owns.
    func extraCertificates(in files: [TrustStoreFile], owned: OwnedPaths) -> [IntegrityEvidence.ExtraCertificate] {
        var found: [IntegrityEvidence.ExtraCertificate] = []
        var seen = Set<String>()
        for file in files where !(file.ownedAs.map { owned.contains(canonical: $0) } ?? false) {
            guard let text = try? root.readText(file.path) else { continue }
            for certificate in certificates(in: text) where seen.insert(certificate.sha256).inserted {
                found.append(.init(path: root.display(file.path), subject: certificate.subject, sha256: certificate.sha256))
            }
        }
        return found.sorted { ($0.path, $0.subject) < ($1.path, $1.subject) }
    }

    /// `certificates(in:)`, kept in the scan cache under the SHA-256 of the text.
    func certificates(in text: String) -> [(subject: String, sha256: String)] {
        guard let cache else { return Self.certificates(in: text) }
        let key = "pem\u{0}\(SHA256.hash(data: Data(text.utf8)).hexString)"
        if let stored = cache.value(key).flatMap(TrustedCertificates.decode) { return stored }
        let found = Self.certificates(in: text)
        cache.store(key, TrustedCertificates.encode(found))
        return found
    }

    /// Subjects and SHA-256 fingerprints of the PEM certificates in `text`.
    static func certificates(in text: String) -> [(subject: String, sha256: String)] {
        var result: [(String, String)] = []
        var remaining = Substring(text)
        let begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----"
        while let start = remaining.range(of: begin), let stop = remaining[start.upperBound...].range(of: end) {
            let pem = String(remaining[start.lowerBound..<stop.upperBound])
            remaining = remaining[stop.upperBound...]
            guard let certificate = try? Certificate(pemEncoded: pem) else { continue }
            let body = pem.dropFirst(begin.count).dropLast(end.count).filter { !$0.isWhitespace }
            guard let der = Data(base64Encoded: String(body)) else { continue }
            result.append((certificate.subject.description, SHA256.hash(data: der).hexString))
        }
        return result
    }
}

extension Substring.UTF8View {
    /// Whether the bytes end with `suffix`.
    func ends(with suffix: String.UTF8View) -> Bool {
        count >= suffix.count && self.suffix(suffix.count).elementsEqual(suffix)
    }

    /// Whether the name holds `.so.` (a versioned shared object such as `libc.so.6`).
    var containsSharedObjectVersion: Bool {
        var matched = 0
        for byte in self {
            switch (matched, byte) {
            case (_, UInt8(ascii: ".")) where matched == 3: return true
            case (_, UInt8(ascii: ".")): matched = 1
            case (1, UInt8(ascii: "s")): matched = 2
            case (2, UInt8(ascii: "o")): matched = 3
            default: matched = 0
            }
        }
        return false
    }
}
