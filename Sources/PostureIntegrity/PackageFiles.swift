import Crypto
import Foundation
import PostureModel
import PostureProbes

/// One file the package database says should be on disk, with the MD5 it should have.
struct FileCheck: Sendable {
    /// Path as dpkg reports it (after diversion), absolute inside the root.
    var path: String
    var package: String
    /// Expected MD5 (16 bytes); nil when the database records none (directories, symlinks): only existence is checked.
    var expected: MD5Digest?
    var conffile: Bool
    /// The package's path is diverted: `expected` comes from whoever lists the diverted-to path.
    var diverted = false
    /// What the last verification recorded for this path, if it may still hold.
    var previous: CachedDigest?
}

/// A 16-byte MD5 digest, stored inline.
struct MD5Digest: Hashable, Sendable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init?(hex: some StringProtocol) {
        self.init(hex: Array(hex.utf8)[...])
    }

    init?(hex utf8: ArraySlice<UInt8>) {
        guard utf8.count == 32 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (index, c) in utf8.enumerated() {
            let value: UInt64
            switch c {
            case 0x30...0x39: value = UInt64(c - 0x30)
            case 0x61...0x66: value = UInt64(c - 0x61 + 10)
            case 0x41...0x46: value = UInt64(c - 0x41 + 10)
            default: return nil
            }
            if index < 16 { high = high << 4 | value } else { low = low << 4 | value }
        }
        self.high = high
        self.low = low
    }

    init(bytes: some Sequence<UInt8>) {
        var high: UInt64 = 0, low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.high = high
        self.low = low
    }
}

/// The package database's view of installed files: `info/*.list`, `info/*.md5sums`,
/// conffile hashes from the status file, and `diversions`.
struct PackageFiles {
    static let info = "var/lib/dpkg/info"

    /// path → (diverted-to path, diverting package; ":" for a local diversion).
    let diversions: [String: (to: String, by: String)]
    /// Keys (`IntegrityCache.key`) of diverted-to paths, and of diverted paths, for cheap tests per line.
    let divertedTargetKeys: Set<UInt64>
    let divertedSourceKeys: Set<UInt64>
    /// SHA-256 of the diversions file (zeros without one): the checks of every package depend on it.
    let diversionsDigest: [UInt8]
    let root: ScanRoot

    init(root: ScanRoot) throws(ProbeError) {
        self.root = root
        var diversions: [String: (String, String)] = [:]
        var digest = [UInt8](repeating: 0, count: 32)
        if root.exists("var/lib/dpkg/diversions") {
            let bytes = try root.readBytes("var/lib/dpkg/diversions")
            digest = Array(SHA256.hash(data: bytes))
            let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            var index = 0
            while index + 2 < lines.count {
                diversions[String(lines[index])] = (String(lines[index + 1]), String(lines[index + 2]))
                index += 3
            }
        }
        self.diversions = diversions
        self.diversionsDigest = digest
        self.divertedTargetKeys = Set(diversions.values.map { IntegrityCache.key(path: $0.0) })
        self.divertedSourceKeys = Set(diversions.keys.map { IntegrityCache.key(path: $0) })
    }

    /// An info file of a package and the identity of the file it is now.
    struct InfoFile {
        var path: String
        var identity: FileIdentity
    }

    /// `info/<name>:<arch>.<suffix>` for multi-arch packages, else `info/<name>.<suffix>`.
    func infoFile(_ package: DpkgDatabase.Package, _ suffix: String) -> InfoFile? {
        for path in ["\(Self.info)/\(package.name):\(package.architecture).\(suffix)", "\(Self.info)/\(package.name).\(suffix)"] {
            if case .success(let status) = root.status(path) { return InfoFile(path: path, identity: status.identity) }
        }
        return nil
    }

    /// The path dpkg checks for `path` of `package`: the diverted-to path unless the package diverts it itself.
    func pathToUse(_ path: String, package: String) -> String {
        guard !diversions.isEmpty, let diversion = diversions[path], diversion.by != package else { return path }
        return diversion.to
    }

    /// The checks for one package, produced a batch at a time in `.list` order, as `dpkg --verify`
    /// makes them. Files are streamed, so even a package with 100,000 files costs little memory.
    func checks(for package: DpkgDatabase.Package, list listFile: String?, md5sums md5sumsFile: String?) throws(ProbeError) -> PackageChecks {
        guard let listFile else {
            return PackageChecks(
                package: package.name, list: nil, hashes: [:], conffiles: [:], files: self,
                hasMD5sums: false, divertedHashes: [:])
        }
        var hashes: [UInt64: MD5Digest] = [:]
        var divertedHashes: [String: MD5Digest] = [:]
        if let md5sumsFile {
            var reader = try LineReader(root: root, path: md5sumsFile)
            while let line = try reader.next() {
                guard line.count > 34, let digest = MD5Digest(hex: line.prefix(32)) else { continue }
                var start = line.startIndex + 32
                while start < line.endIndex, line[start] == 0x20 || line[start] == 0x2A { start += 1 }
                if start < line.endIndex, line[start] == 0x2F { start += 1 }
                let path = line[start...]
                let key = IntegrityCache.key(bytes: path)
                hashes[key] = digest
                if divertedTargetKeys.contains(key) { divertedHashes["/" + String(decoding: path, as: UTF8.self)] = digest }
            }
        }
        var conffiles: [String: MD5Digest?] = [:]
        for conffile in package.conffiles { conffiles[conffile.path] = MD5Digest(hex: conffile.md5) }
        return PackageChecks(
            package: package.name, list: try LineReader(root: root, path: listFile), hashes: hashes,
            conffiles: conffiles, files: self, hasMD5sums: md5sumsFile != nil,
            divertedHashes: divertedHashes)
    }
}

/// The checks of one package, read from its `.list` file a batch at a time.
struct PackageChecks {
    let package: String
    var list: LineReader?
    /// MD5 by the 64-bit key of the path (without its leading slash).
    let hashes: [UInt64: MD5Digest]
    let conffiles: [String: MD5Digest?]
    let files: PackageFiles
    let hasMD5sums: Bool
    /// Hashes this package records for diverted-to paths.
    let divertedHashes: [String: MD5Digest]

    /// Up to `limit` more checks; empty at the end of the list.
    mutating func next(_ limit: Int) throws(ProbeError) -> [FileCheck] {
        var batch: [FileCheck] = []
        while batch.count < limit, let line = try list?.next() {
            guard !line.isEmpty, !line.elementsEqual([0x2F, 0x2E]) else { continue }
            let path = String(decoding: line, as: UTF8.self)
            let key = IntegrityCache.key(bytes: line.drop { $0 == 0x2F })
            let used = files.divertedSourceKeys.contains(key) ? files.pathToUse(path, package: package) : path
            let conffileHash = conffiles.isEmpty ? nil : conffiles[path]
            var expected = hashes[key] ?? conffileHash ?? nil
            if used != path { expected = nil }  // resolved later against whoever lists the diverted-to path
            batch.append(
                FileCheck(
                    path: used, package: package, expected: expected, conffile: conffileHash != nil,
                    diverted: used != path))
        }
        return batch
    }
}

/// Reads a file inside the root line by line through a 64 KiB buffer.
struct LineReader {
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var finished = false

    init(root: ScanRoot, path: String) throws(ProbeError) {
        self.path = root.display(path)
        switch root.openFile(path) {
        case .success(let file): self.fd = file.fd
        case .failure(let error):
            throw error.isNotFound ? ProbeError.missing(path: self.path) : ProbeError.unreadable(path: self.path, reason: "\(error)")
        }
    }

    /// The next line without its newline, or nil at the end (the file is closed then).
    mutating func next() throws(ProbeError) -> ArraySlice<UInt8>? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                defer { start = newline + 1 }
                return buffer[start..<newline]
            }
            if finished {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return buffer[start...]
            }
            buffer.removeSubrange(..<start)
            start = 0
            let previous = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: 1 << 16))
            let result = buffer.withUnsafeMutableBytes { Platform.readSome(fd, into: $0.baseAddress! + previous, count: 1 << 16) }
            switch result {
            case .success(let n):
                buffer.removeSubrange((previous + n)...)
                if n == 0 {
                    finished = true
                    Platform.closeFile(fd)
                }
            case .failure(let error):
                finished = true
                Platform.closeFile(fd)
                throw ProbeError.unreadable(path: path, reason: "\(error)")
            }
        }
    }
}
