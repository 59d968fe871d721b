import Crypto
import Foundation
import GRDB
import PostureModel
@testable import PostureProbes
import PostureReference
import PostureTestSupport

/// Targets for the parsers of files on the scanned machine: package database and lists, signature
/// databases, the integrity cache, browser profiles and system files.
enum ProbeTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget(name: "lz4", run: lz4, seeds: lz4Seeds),
        FuzzTarget(name: "control", run: control, seeds: controlSeeds),
        FuzzTarget(name: "clamav", run: clamav, seeds: clamavSeeds),
        FuzzTarget(name: "integrity-cache", run: integrityCache, seeds: integrityCacheSeeds),
        FuzzTarget(name: "package-files", run: packageFiles, seeds: packageFilesSeeds),
        FuzzTarget(name: "nss", run: nss, seeds: nssSeeds),
        FuzzTarget(name: "browsers", run: browsers, seeds: browsersSeeds),
        FuzzTarget(name: "system", run: system, seeds: systemSeeds),
    ]

    static let catalogDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Profiles/catalog").standardized.path
    static let browserCatalog = try! BrowserCatalog.load(path: "\(catalogDirectory)/\(BrowserCatalog.fileName)")
    static let fileSharingCatalog = try! FileSharingCatalog.load(path: "\(catalogDirectory)/\(FileSharingCatalog.fileName)")
    static let osCatalog = try! OSLifecycleCatalog.load(path: "\(catalogDirectory)/\(OSLifecycleCatalog.fileName)")

    // MARK: apt lists compressed with LZ4

    /// An LZ4 frame as apt keeps `Packages` lists, decoded and scanned as `AptIndex.readList` does.
    static func lz4(_ bytes: [UInt8]) {
        _ = LZ4.isFrame(bytes)
        guard let decoded = try? LZ4.decompress(bytes) else { return }
        decoded.withUnsafeBufferPointer { PackagesListScanner.scan($0, interesting: { _ in true }) { _ in } }
    }

    /// Frames made by the real `lz4` tool come from scripts/fuzz; this one is stored uncompressed.
    static func lz4Seeds() throws -> [(name: String, bytes: [UInt8])] {
        let list = Array(Fixtures.packagesList([("bash", "5.2.15-2+b2", "amd64")]).utf8)
        var frame: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82]
        frame.appendLE(UInt32(list.count) | 0x8000_0000)
        frame += list
        frame.appendLE(UInt32(0))
        return [("stored-block", frame)]
    }

    // MARK: control files: dpkg status, apt Packages and Release

    static func control(_ bytes: [UInt8]) {
        ControlFile.forEachStanza(in: bytes) { _ in }
        bytes.withUnsafeBufferPointer { PackagesListScanner.scan($0, interesting: { _ in true }) { _ in } }
        let text = String(decoding: bytes, as: UTF8.self)
        let release = AptIndex.Release.parse(text)
        _ = (release.priority, release.isSecurity)
        guard let database = try? DpkgDatabase.parse(bytes, path: "/var/lib/dpkg/status") else { return }
        _ = database.nativeArchitecture
        let installed = database.installed
        for package in installed.prefix(64) {
            _ = IntegrityCache.stanzaDigest(package)
            _ = IntegrityCache.key(package: package)
            for conffile in package.conffiles { _ = MD5Digest(hex: conffile.md5) }
        }
        let offers = installed.prefix(64).map {
            AptIndex.Offer(name: $0.name, architecture: $0.architecture, version: $0.version, priority: 500, security: false, suite: nil)
        }
        for package in installed.prefix(8) { _ = PackagesProbe.candidate(installed: package.version, offers: offers) }
    }

    static func controlSeeds() throws -> [(name: String, bytes: [UInt8])] {
        [
            ("status", Array(Fixtures.dpkgStatus([
                .init("dpkg", "1.21.22", conffiles: [("/etc/dpkg/dpkg.cfg", "f4c3a2b1d0e9f8a7b6c5d4e3f2a1b0c9")]),
                .init("libc6", "2.36-9+deb12u4", architecture: "amd64"),
                .init("old", "1:0.9~rc1-1", state: "config-files"),
            ]).utf8)),
            ("packages", Array(Fixtures.packagesList([("bash", "5.2.15-2+b2", "amd64"), ("tzdata", "2024a-0+deb12u1", "all")]).utf8)),
            ("inrelease", Array(Fixtures.inRelease(suite: "stable-security", codename: "bookworm-security",
                                                   notAutomatic: true, butAutomaticUpgrades: true).utf8)),
        ]
    }

    // MARK: ClamAV signature database header

    static func clamav(_ bytes: [UInt8]) {
        _ = try? ClamAVDatabase.parse(header: Array(bytes.prefix(512)), path: "/var/lib/clamav/daily.cvd")
        let padded = Array(bytes.prefix(512)) + [UInt8](repeating: 0x20, count: max(0, 512 - bytes.count))
        _ = try? ClamAVDatabase.parse(header: padded, path: "/var/lib/clamav/daily.cvd")
    }

    static func clamavSeeds() throws -> [(name: String, bytes: [UInt8])] {
        [
            ("daily", Array(Fixtures.clamavDatabase(built: "14 Nov 2023 07-37 -0500", version: 27093).prefix(512))),
            ("short", Array("ClamAV-VDB:14 Nov 2023 07-37 -0500:62:6647427:90".utf8)),
        ]
    }

    // MARK: the sealed integrity cache

    /// The cache's key, and a root with a few files the stored entries may name.
    static let cacheKey = SymmetricKey(data: [UInt8](repeating: 0x5A, count: 32))

    /// Input: a mode byte, then the cache's sections (mode even: a valid header is put in front) or
    /// the whole file (mode odd). The harness seals it with the key, so the parser behind the seal is
    /// what gets fuzzed; then every stored package is checked as a rescan checks it.
    static func integrityCache(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        let scratch = Scratch.shared
        let state = scratch.directory("state")
        let rootPath = "\(scratch.path)/cache-root"
        if !FileManager.default.fileExists(atPath: "\(rootPath)/usr/bin/a") {
            scratch.write(Array("a\n".utf8), to: "usr/bin/a", in: rootPath)
            scratch.write(Array("b\n".utf8), to: "etc/b.conf", in: rootPath)
        }
        let root = try! ScanRoot(rootPath)
        var file: [UInt8]
        if mode & 1 == 0 {
            file = IntegrityCache.magic
            file.appendLE(UInt64(1_700_000_000))
            file += [UInt8](repeating: 0, count: 32)
            file.appendLE(IntegrityCache.key(bytes: root.path.utf8))
            file += bytes.dropFirst()
        } else {
            file = Array(bytes.dropFirst())
        }
        file += HMAC<SHA256>.authenticationCode(for: file, using: cacheKey)
        scratch.write(cacheKey.withUnsafeBytes { Array($0) }, to: IntegrityCache.keyName, in: state)
        scratch.write(file, to: IntegrityCache.fileName, in: state)
        guard case .loaded(let cache) = IntegrityCache.load(directory: state, root: root) else { return }
        let buffers = BufferPool(size: ChunkWorker.bufferSize)
        defer { buffers.release() }
        let worker = ChunkWorker(root: root, evict: false, buffers: buffers, sink: CacheSink(writer: nil))
        for (_, package) in cache.packages.sorted(by: { $0.key < $1.key }).prefix(16) {
            _ = try? cache.bytes(package.section)
            _ = worker.verifyStored(package.chunks[...], package: "fuzzed", cache: cache, collectOwned: true)
        }
        _ = try? cache.bytes(cache.divertedSection)
    }

    /// A cache written by a real verification of a small root (sections only, behind mode byte 0).
    static func integrityCacheSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let root = try TemporaryRoot("fuzz-seed")
        try Fixtures.install([
            FakePackage("small", files: [("/usr/bin/a", "a\n", 0o755), ("/usr/bin/small", "small\n", 0o755)],
                        conffiles: [("/etc/b.conf", "b\n")], directories: ["/usr", "/usr/bin"]),
            FakePackage("dash", files: [("/usr/share/man/man1/sh.1.gz", "dash man\n", 0o644)]),
            FakePackage("bash", files: [("/usr/share/man/man1/sh.1.gz", "bash man\n", 0o644)]),
        ], into: root, diversions: [("/usr/share/man/man1/sh.1.gz", "/usr/share/man/man1/sh.distrib.1.gz", "dash")])
        try root.write("usr/bin/small", "modified\n")
        let state = root.url("state").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let scanRoot = try ScanRoot(root.path)
        let database = try DpkgDatabase.read(root: scanRoot)
        _ = blocking { try? await PackageVerifier(root: scanRoot, stateDirectory: state).verify(database: database) }
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(state)/\(IntegrityCache.fileName)")))
        let sections = Array(file.dropFirst(IntegrityCache.headerSize).dropLast(IntegrityCache.sealSize))
        return [("sections", [0] + sections), ("whole-file", [1] + file.dropLast(IntegrityCache.sealSize))]
    }

    // MARK: dpkg's lists of package files: .list, .md5sums, diversions

    /// Input: status, diversions, `.list`, `.md5sums` (parts). Read as `dpkg --verify` does, and
    /// each batch checked against an (empty) root.
    static func packageFiles(_ bytes: [UInt8]) {
        let files = parts(bytes, 4)
        let scratch = Scratch.shared
        let rootPath = scratch.directory("package-root")
        scratch.write(files[0], to: DpkgDatabase.statusPath, in: rootPath)
        scratch.write(files[1], to: "var/lib/dpkg/diversions", in: rootPath)
        scratch.write(files[2], to: "var/lib/dpkg/info/p.list", in: rootPath)
        scratch.write(files[3], to: "var/lib/dpkg/info/p.md5sums", in: rootPath)
        let root = try! ScanRoot(rootPath)
        guard let packageFiles = try? PackageFiles(root: root) else { return }
        let fallback = DpkgDatabase.Package(name: "p", architecture: "amd64", version: "1", state: "installed", conffiles: [])
        let packages = (try? DpkgDatabase.parse(files[0], path: "status"))?.installed.prefix(4).map { $0 } ?? [fallback]
        let buffers = BufferPool(size: ChunkWorker.bufferSize)
        defer { buffers.release() }
        let worker = ChunkWorker(root: root, evict: false, buffers: buffers, sink: nil)
        for package in packages {
            _ = packageFiles.infoFile(package, "list")
            guard var checks = try? packageFiles.checks(for: package, list: "var/lib/dpkg/info/p.list",
                                                        md5sums: "var/lib/dpkg/info/p.md5sums") else { continue }
            while let batch = try? checks.next(PackageVerifier.chunkSize), !batch.isEmpty {
                _ = worker.run(batch)
                for check in batch { _ = packageFiles.pathToUse(check.path, package: package.name) }
            }
        }
    }

    static func packageFilesSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let status = Fixtures.dpkgStatus([.init("p", "1.0-1", conffiles: [("/etc/p.conf", "0123456789abcdef0123456789abcdef")])])
        let list = "/.\n/usr\n/usr/bin\n/usr/bin/p\n/usr/share/man/man1/sh.1.gz\n/etc/p.conf\n"
        let md5sums = "0123456789abcdef0123456789abcdef  usr/bin/p\nfedcba9876543210fedcba9876543210 *usr/share/man/man1/sh.1.gz\n"
        let diversions = "/usr/share/man/man1/sh.1.gz\n/usr/share/man/man1/sh.distrib.1.gz\ndash\n/usr/bin/p\n/usr/bin/p.real\n:\n"
        return [("package", joined([status, diversions, list, md5sums]))]
    }

    // MARK: NSS certificate databases (cert9.db)

    /// Input: mode byte, then (mode even) rows of the `nssPublic` table: fields
    /// `CKA_CLASS, CKA_VALUE, CKA_ISSUER, CKA_SERIAL_NUMBER, trust` separated like files; or
    /// (mode odd) the bytes of a cert9.db. The certificates' DER is parsed as well.
    static func nss(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        let scratch = Scratch.shared
        let home = scratch.directory("nss-root/home/u")
        let folder = "\(home)/.pki/nssdb"
        if mode & 1 == 1 {
            scratch.write(Array(bytes.dropFirst()), to: ".pki/nssdb/cert9.db", in: home)
        } else {
            let fields = parts(Array(bytes.dropFirst()), 20)
            try! FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let queue = try! DatabaseQueue(path: "\(folder)/cert9.db")
            try! queue.write { db in
                try db.execute(sql: "CREATE TABLE nssPublic (id PRIMARY KEY UNIQUE ON CONFLICT ABORT, a0, a11, a81, a82, ace536358, a62c)")
                for row in 0..<4 {
                    let values = (0..<5).map { Data(fields[row * 5 + $0]) }
                    try db.execute(sql: "INSERT INTO nssPublic (id, a0, a11, a81, a82, ace536358, a62c) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   arguments: [row, values[0], values[1], values[2], values[3], values[4], values[4]])
                }
            }
            try! queue.close()
        }
        let root = try! ScanRoot("\(scratch.path)/nss-root")
        _ = BrowserTrustStores(root: root).addedCertificates(homes: ["home/u"]).clients
    }

    static func nssSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let pki = try TestPKI()
        let pem = try String(contentsOfFile: pki.caCertificate, encoding: .utf8)
        let directory = pki.directory.url("nssdb")
        try Fixtures.nssDatabase(at: directory, [("bank-proxy", pem, "C,,")])
        let file = try [UInt8](Data(contentsOf: directory.appendingPathComponent("cert9.db")))
        // The certificate and trust rows as certutil wrote them.
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("cert9.db").path)
        let rows = try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT a0, a11, a81, a82, ace536358 FROM nssPublic WHERE a0 IN (x'00000001', x'ce534353')")
        }
        var fields: [Data] = []
        for row in rows {
            for column in ["a0", "a11", "a81", "a82", "ace536358"] { fields.append(row[column] as Data? ?? Data()) }
        }
        var structured: [UInt8] = [0]
        structured += Array(fields.map { [UInt8]($0) }.joined(separator: Array("\n###\n".utf8)))
        return [("rows", structured), ("cert9.db", [1] + file)]
    }

    // MARK: browser profiles and installed browsers

    /// Input: Firefox `logins.json`, Chromium `Login Data`, a tarball's `application.ini`, a
    /// flatpak's metainfo, a snap's `snap.yaml`, `user-dirs.dirs` (parts), read by the probes.
    static func browsers(_ bytes: [UInt8]) {
        let files = parts(bytes, 6)
        let scratch = Scratch.shared
        let rootPath = scratch.directory("browser-root")
        scratch.write(files[0], to: "home/u/.mozilla/firefox/p.default/logins.json", in: rootPath)
        scratch.write(files[1], to: "home/u/.config/chromium/Default/Login Data", in: rootPath)
        scratch.write(files[2], to: "opt/firefox/application.ini", in: rootPath)
        scratch.write(files[3], to: "home/u/.local/share/flatpak/app/org.mozilla.firefox/current/active/files/share/metainfo/f.xml",
                      in: rootPath)
        scratch.write(files[4], to: "snap/firefox/current/meta/snap.yaml", in: rootPath)
        scratch.write(files[5], to: "home/u/.config/user-dirs.dirs", in: rootPath)
        let root = try! ScanRoot(rootPath)
        _ = CredentialsProbe().collect(root: root, homes: ["home/u"])
        _ = BrowsersProbe(catalog: browserCatalog).collect(root: root, database: nil, candidates: nil, homes: ["home/u"],
                                                          now: Date(timeIntervalSince1970: 1_780_000_000))
        _ = FileSharingProbe(catalog: fileSharingCatalog).collect(root: root, database: nil, homes: ["home/u"])
    }

    static func browsersSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let root = try TemporaryRoot("fuzz-seed")
        try Fixtures.chromiumLoginData(at: root.url("Login Data"), [("https://bank.example.jp", "s3cr3t", false)])
        let logins = Fixtures.firefoxLogins([("https://bank.example.jp", "s3cr3t"), ("https://mail.example.com", "x")])
        let ini = "[App]\nVendor=Mozilla\nName=Firefox\nVersion=128.5.0esr\nBuildID=20241120000000\n"
        let metainfo = "<component><releases><release version=\"133.0.3\" date=\"2024-12-10\"/></releases></component>\n"
        let snap = "name: firefox\nversion: '133.0.3-1'\nsummary: Mozilla Firefox\n"
        let dirs = "XDG_DESKTOP_DIR=\"$HOME/デスクトップ\"\nXDG_DOWNLOAD_DIR=\"$HOME/Downloads\"\n"
        return [
            ("text-files", joined([logins, "", ini, metainfo, snap, dirs])),
            // Login Data is binary: its own seed, with the other files empty.
            ("login-data", joined(["", ""]) + Array(try Data(contentsOf: root.url("Login Data")))),
        ]
    }

    // MARK: system files: os-release, passwd, shadow, login.defs, hosts, preload, display managers

    static let systemFiles = ["etc/os-release", "etc/debian_version", "usr/share/distro-info/debian.csv", "etc/passwd",
                              "etc/shadow", "etc/login.defs", "etc/hosts", "etc/hostname", "etc/ld.so.preload",
                              "etc/lightdm/lightdm.conf", "etc/dconf/db/local.d/00-screensaver"]

    /// Input: the files of `systemFiles` (parts), read by the OS, accounts, tampering and local-access probes.
    static func system(_ bytes: [UInt8]) {
        let files = parts(bytes, systemFiles.count)
        let scratch = Scratch.shared
        let rootPath = scratch.directory("system-root")
        for (path, contents) in zip(systemFiles, files) { scratch.write(contents, to: path, in: rootPath) }
        let root = try! ScanRoot(rootPath)
        _ = try? OSProbe(catalog: osCatalog).collect(root: root, now: Date(timeIntervalSince1970: 1_780_000_000))
        _ = try? AccountsProbe().collect(root: root)
        _ = HomeDirectories.all(root: root)
        let tampering = SystemTampering(root: root)
        _ = tampering.hostsOverrides()
        _ = tampering.preloadedLibraries()
        _ = LocalAccessProbe().collect(root: root)
        _ = SystemTampering.certificates(in: String(decoding: files[6], as: UTF8.self))
    }

    static func systemSeeds() throws -> [(name: String, bytes: [UInt8])] {
        let osRelease = """
            PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
            NAME="Debian GNU/Linux"
            VERSION_ID="12"
            VERSION="12 (bookworm)"
            VERSION_CODENAME=bookworm
            ID=debian
            HOME_URL='https://www.debian.org/'
            # comment
            """
        let csv = "version,codename,series,created,release,eol,eol-lts,eol-elts\n12,Bookworm,bookworm,2021-08-14,2023-06-10,2026-06-10,2028-06-30,2033-06-30\n"
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        let shadow = "root:!:19700:0:99999:7:::\nalice:$y$j9T$abc$def:19650:0:90:7:::\n"
        let defs = "# login.defs\nUID_MIN\t\t\t 1000\nUID_MAX\t\t\t60000\nPASS_MAX_DAYS\t99999\n"
        let hosts = "127.0.0.1\tlocalhost\n127.0.1.1\tpc\n::1 localhost ip6-localhost ip6-loopback\n203.0.113.9 www.bank.example.jp # phish\n"
        let lightdm = "[Seat:*]\nautologin-user=alice\nallow-guest=true\n"
        let dconf = "[org/gnome/desktop/screensaver]\nlock-enabled=true\n[org/gnome/desktop/session]\nidle-delay=uint32 300\n"
        return [("debian", joined([osRelease, "12.5\n", csv, passwd, shadow, defs, hosts, "pc\n", "/usr/lib/libhook.so # x\n", lightdm, dconf]))]
    }
}
