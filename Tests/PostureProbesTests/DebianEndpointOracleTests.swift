import Foundation
import PostureModel
import PostureReference
import PostureTestSupport
import Testing

@testable import PostureProbes

/// Security software, file-sharing clients and browsers installed from Debian's real packages in a
/// debootstrap root: what the probes see equals what dpkg and ClamAV's own tools say. firefox-esr is
/// the browser (123 MiB to download with its dependencies against chromium's 199 MiB).
@Suite struct DebianEndpointOracleTests {
    static let packages = [
        "clamav", "clamav-daemon", "clamav-freshclam", "transmission-cli", "transmission-daemon",
        "amule-daemon", "firefox-esr"
    ]
    static let made = DebianSystemRoot.make(with: packages)
    static let usable = (try? made.get()) != nil || DebianSystemRoot.required
    static let skipped = Comment(rawValue: (try? made.get()).map { _ in "" } ?? "no Debian root: \(made)")
    static let catalogs = ReferencePaths(directories: [ReferencePaths.bundledDirectory()!])

    /// Runs `arguments` with `chroot root` in a clean environment plus `environment`, from `directory`.
    static func inRoot(
        _ root: String, in directory: String = "/", _ arguments: [String],
        environment: [String: String] = [:]
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let variables = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"] + environment.map { "\($0.key)=\($0.value)" }
        let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
        return try Fixtures.run("/usr/sbin/chroot", [root, "/usr/bin/env", "-i"] + variables + ["/bin/sh", "-c", "cd \(directory) && exec \(quoted)"])
    }

    /// `sigtool --info` of a database inside the root: its version and build time as sigtool reads them.
    static func sigtoolInfo(_ root: String, _ path: String) throws -> (version: Int?, built: Date?) {
        let info = try inRoot(root, ["sigtool", "--info=\(path)"])
        let fields = Dictionary(
            info.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
        ) { first, _ in first }
        // sigtool prints the build time with a colon ("02 Dec 2026 21:57 +0900") though it stores "21-57".
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "dd MMM yyyy HH:mm Z"
        return (fields["Version"].flatMap { Int($0) }, fields["Build time"].flatMap { formatter.date(from: $0) })
    }

    static func clamav(in root: String) throws -> SecuritySoftwareEvidence? {
        let catalog = try SecuritySoftwareCatalog.load(path: try #require(catalogs.catalogFile(SecuritySoftwareCatalog.fileName)))
        let scanRoot = try ScanRoot(root)
        return SecuritySoftwareProbe(catalog: catalog)
            .collect(root: scanRoot, database: try DpkgDatabase.read(root: scanRoot), processes: RunningProcesses.names(root: scanRoot))
            .first { $0.product == "clamav" }
    }

    @Test(.enabled(if: usable, skipped))
    func databaseBuiltBySigtoolGivesItsBuildTime() throws {
        let root = try DebianSystemRoot.copy(try Self.made.get(), hardLinks: true)
        try root.write("tmp/sigtool/COPYING", "posture test database\n")
        try root.write("tmp/sigtool/daily.ndb", "Posture.Test.Marker:0:*:706f73747572652d74657374\n")
        let before = Date()
        // A zone east of UTC, so the offset sigtool writes matters.
        let build = try Self.inRoot(
            root.path, in: "/tmp/sigtool", ["sigtool", "--build=daily.cud", "--unsigned", "--cvd-version=27800"],
            environment: ["TZ": "JST-9", "SIGNDUSER": "posture"])
        let after = Date()
        #expect(build.status == 0, "\(build.stdout)\(build.stderr)")
        try FileManager.default.moveItem(at: root.url("tmp/sigtool/daily.cud"), to: root.url("var/lib/clamav/daily.cud"))

        let header = String(decoding: try Data(contentsOf: root.url("var/lib/clamav/daily.cud")).prefix(512), as: UTF8.self)
        #expect(header.contains(" +0900:27800:1:"), "\(header)")
        let stime = try #require(header.trimmingCharacters(in: .whitespaces).split(separator: ":").last.flatMap { TimeInterval(String($0)) })
        let minute = Date(timeIntervalSince1970: (stime / 60).rounded(.down) * 60)
        #expect(stime >= before.timeIntervalSince1970.rounded(.down) && stime <= after.timeIntervalSince1970)

        let clamav = try #require(try Self.clamav(in: root.path))
        #expect(clamav.signaturesUpdatedAt == minute)
        #expect(clamav.running == nil, "an offline root cannot say what runs")
        #expect(clamav.commercial == false)
        let info = try Self.sigtoolInfo(root.path, "/var/lib/clamav/daily.cud")
        #expect(info.built == clamav.signaturesUpdatedAt)
        let parsed = try ClamAVDatabase.header(root: try ScanRoot(root.path), path: "var/lib/clamav/daily.cud")
        #expect(parsed.version == info.version && parsed.version == 27800)
    }

    /// freshclam applies signed `.cdiff` updates to `test-1.cvd` and writes the incremental `test.cld`,
    /// as on a PC that updates daily; the mirror is on loopback in a network namespace of its own.
    @Test(.enabled(if: usable, skipped))
    func incrementalDatabaseBuiltByFreshclamGivesItsBuildTime() throws {
        let root = try DebianSystemRoot.copy(try Self.made.get(), hardLinks: true)
        try root.write("var/lib/clamav/test.cvd", Fixtures.clamavSample("test-1.cvd"))
        try root.write(
            "etc/posture-freshclam.conf",
            """
            DatabaseMirror http://127.0.0.1:@PORT@
            DNSDatabaseInfo no
            ScriptedUpdates yes
            DatabaseDirectory /var/lib/clamav
            DatabaseOwner root

            """)
        let mirror = try TemporaryRoot("clamav-mirror")
        for update in 2...6 { try mirror.write("test-\(update).cdiff", Fixtures.clamavSample("test-\(update).cdiff")) }
        try mirror.write("test.cvd.advertised", Fixtures.clamavSample("test-6.cvd"))
        let script = Fixtures.clamavSamples.deletingLastPathComponent().appendingPathComponent("clamav_mirror.py").path
        let update = try Fixtures.run(
            "/usr/bin/unshare",
            [
                "-n", "/usr/bin/python3", script, root.path, mirror.path, "/etc/posture-freshclam.conf",
                "--", "--config-file=/etc/posture-freshclam.conf", "--update-db=test", "--stdout"
            ])
        #expect(update.status == 0, "\(update.stdout)\(update.stderr)")
        #expect(update.stdout.contains("test.cld updated (version: 6"), "\(update.stdout)")
        #expect(!FileManager.default.fileExists(atPath: root.url("var/lib/clamav/test.cvd").path))

        let clamav = try #require(try Self.clamav(in: root.path))
        let info = try Self.sigtoolInfo(root.path, "/var/lib/clamav/test.cld")
        #expect(info.version == 6)
        #expect(clamav.signaturesUpdatedAt == info.built)
        #expect(clamav.signaturesUpdatedAt == ISO8601DateFormatter().date(from: "2021-06-23T01:34:00Z"))
    }

    /// Installed packages as `dpkg-query` reads the root's database: name → version.
    static func dpkgInstalled(_ root: String) throws -> [String: String] {
        let query = try Fixtures.run("/usr/bin/dpkg-query", ["--admindir=\(root)/var/lib/dpkg", "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\n"])
        #expect(query.status == 0, "\(query.stderr)")
        return Dictionary(
            query.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                return fields.count == 3 && fields[0].hasPrefix("ii") ? (String(fields[1]), String(fields[2])) : nil
            }
        ) { first, _ in first }
    }

    /// What `dpkg -L` inside the root lists for `packages`, without the leading slash.
    static func dpkgFiles(_ root: String, _ packages: [String]) throws -> Set<String> {
        let listing = try inRoot(root, ["dpkg", "-L"] + packages)
        #expect(listing.status == 0, "\(listing.stderr)")
        return Set(listing.stdout.split(separator: "\n").filter { $0.hasPrefix("/") }.map { String($0.dropFirst()) })
    }

    @Test(.enabled(if: usable, skipped))
    func scanOfTheRootFindsWhatDpkgHasInstalled() throws {
        let path = try Self.made.get()
        let installed = try Self.dpkgInstalled(path)
        let scanRoot = try ScanRoot(path)
        let database = try DpkgDatabase.read(root: scanRoot)
        let processes = RunningProcesses.names(root: scanRoot)
        #expect(processes == nil)

        let security = try SecuritySoftwareCatalog.load(path: try #require(Self.catalogs.catalogFile(SecuritySoftwareCatalog.fileName)))
        let products = SecuritySoftwareProbe(catalog: security).collect(root: scanRoot, database: database, processes: processes)
        let expectedProducts = security.products.filter { $0.packages.contains { installed[$0] != nil } }.map(\.id)
        #expect(products.map(\.product) == expectedProducts && expectedProducts == ["clamav"])
        #expect(products.allSatisfy { $0.installed && $0.running == nil })

        let fileSharing = try FileSharingCatalog.load(path: try #require(Self.catalogs.catalogFile(FileSharingCatalog.fileName)))
        let clients = FileSharingProbe(catalog: fileSharing).collect(root: scanRoot, database: database, homes: HomeDirectories.all(root: scanRoot)).clients
        let expectedClients = fileSharing.clients.compactMap { client in
            client.packages.first { installed[$0] != nil }.map { FileSharingEvidence(name: "\(client.id) (package \($0))", version: installed[$0]) }
        }
        #expect(clients == expectedClients)
        #expect(Set(clients.map { $0.name.prefix { $0 != " " } }) == ["transmission", "amule"])

        let browserCatalog = try BrowserCatalog.load(path: try #require(Self.catalogs.catalogFile(BrowserCatalog.fileName)))
        let browsers = BrowsersProbe(catalog: browserCatalog).collect(
            root: scanRoot, database: database, candidates: nil,
            homes: HomeDirectories.all(root: scanRoot), now: Date())
        #expect(
            browsers.map { "\($0.name) \($0.source) \($0.version ?? "-")" }
                == ["firefox-esr dpkg:firefox-esr \(try #require(installed["firefox-esr"]))"])
    }

    /// The catalogs' Debian package names, paths and process names exist in Debian's packages.
    @Test(.enabled(if: usable, skipped))
    func catalogNamesExistInDebiansPackages() throws {
        let path = try Self.made.get()
        let security = try SecuritySoftwareCatalog.load(path: try #require(Self.catalogs.catalogFile(SecuritySoftwareCatalog.fileName)))
        let clamav = try #require(security.products.first { $0.id == "clamav" })
        let clamavFiles = try Self.dpkgFiles(path, ["clamav", "clamav-daemon", "clamav-freshclam"])
        #expect(clamav.paths.filter { !$0.hasPrefix("usr/local/") }.allSatisfy(clamavFiles.contains), "\(clamav.paths)")
        // What /proc/PID/comm shows for each executable: its name, cut to 15 characters.
        let names = Set(clamavFiles.filter { $0.contains("bin/") }.compactMap { $0.split(separator: "/").last.map { String($0.prefix(15)) } })
        #expect(Set(clamav.processes + clamav.updaters).isSubset(of: names), "\(names.sorted())")
        // The maintainer scripts make the database directory (dpkg -L does not list it).
        var isDirectory: ObjCBool = false
        #expect(
            clamav.signatures?.paths.contains("var/lib/clamav") == true
                && FileManager.default.fileExists(atPath: "\(path)/var/lib/clamav", isDirectory: &isDirectory) && isDirectory.boolValue)

        let fileSharing = try FileSharingCatalog.load(path: try #require(Self.catalogs.catalogFile(FileSharingCatalog.fileName)))
        for (id, packages) in [("transmission", ["transmission-cli", "transmission-daemon"]), ("amule", ["amule-daemon"])] {
            let client = try #require(fileSharing.clients.first { $0.id == id })
            #expect(Set(packages).isSubset(of: client.packages), "\(id)")
            let files = try Self.dpkgFiles(path, packages)
            let binaries = files.filter { $0.hasPrefix("usr/bin/") }
            #expect(!binaries.isEmpty && binaries.contains { client.binaries.contains($0) }, "\(id): \(binaries.sorted())")
        }

        let browsers = try BrowserCatalog.load(path: try #require(Self.catalogs.catalogFile(BrowserCatalog.fileName)))
        let esr = try #require(browsers.browsers.first { $0.name == "firefox-esr" })
        let esrFiles = try Self.dpkgFiles(path, ["firefox-esr"])
        #expect(esr.packages.contains("firefox-esr"))
        #expect(esr.installDirs.contains { esrFiles.contains("\($0)/application.ini") })
    }
}
