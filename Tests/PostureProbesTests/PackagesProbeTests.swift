import Foundation
import PostureModel
import PostureTestSupport
import Testing

@testable import PostureProbes

@Suite struct PackagesProbeTests {
    static let lists = "var/lib/apt/lists"
    static let main = "deb.debian.org_debian_dists_bookworm"
    static let security = "deb.debian.org_debian-security_dists_bookworm-security"
    static let backports = "deb.debian.org_debian_dists_bookworm-backports"

    /// A root with dpkg status and apt lists for main, security and backports.
    static let fetched = Date(timeIntervalSince1970: 1_795_000_000)

    static func makeRoot(lz4: Bool = false) throws -> TemporaryRoot {
        let root = try TemporaryRoot("packages")
        try root.write(
            "var/lib/dpkg/status",
            Fixtures.dpkgStatus([
                .init("dpkg", "1.21.22"),
                .init("openssl", "3.0.15-1~deb12u1", conffiles: [("/etc/ssl/openssl.cnf", "5f3b1bd1e4a3c7a4e2a4f0a1b2c3d4e5")]),
                .init("bash", "5.2.15-2+b7"),
                .init("tzdata", "2024a-0+deb12u1", architecture: "all"),
                .init("curl", "7.88.1-10+deb12u8"),
                .init("vim", "2:9.0.1378-2"),
                .init("removed-pkg", "1.0", state: "config-files"),
                .init("libc6", "2.36-9+deb12u9", architecture: "i386")
            ]))
        let fetched = Self.fetched
        try root.write("\(lists)/\(main)_InRelease", Fixtures.inRelease(suite: "stable", codename: "bookworm"), modified: fetched)
        try root.write(
            "\(lists)/\(security)_InRelease", Fixtures.inRelease(suite: "stable-security", codename: "bookworm-security"),
            modified: fetched.addingTimeInterval(-60))
        try root.write(
            "\(lists)/\(backports)_InRelease",
            Fixtures.inRelease(
                suite: "stable-backports", codename: "bookworm-backports",
                notAutomatic: true, butAutomaticUpgrades: true), modified: fetched)
        let mainList = Fixtures.packagesList([
            ("dpkg", "1.21.22", "amd64"), ("openssl", "3.0.15-1~deb12u1", "amd64"), ("bash", "5.2.15-2+b8", "amd64"),
            ("tzdata", "2025b-0+deb12u1", "all"), ("curl", "7.88.1-10+deb12u8", "amd64"), ("vim", "2:9.0.1378-2", "amd64"),
            ("libc6", "2.36-9+deb12u10", "amd64"), ("unrelated", "9.9", "amd64")
        ])
        let securityList = Fixtures.packagesList([("openssl", "3.0.17-1~deb12u2", "amd64"), ("curl", "7.88.1-10+deb12u8", "amd64")])
        let backportsList = Fixtures.packagesList([("curl", "8.14.1-2~bpo12+1", "amd64"), ("vim", "2:9.1.0-1~bpo12+1", "amd64")])
        let i386List = Fixtures.packagesList([("libc6", "2.36-9+deb12u10", "i386")])
        for (name, text) in [
            ("\(main)_main_binary-amd64_Packages", mainList), ("\(security)_main_binary-amd64_Packages", securityList),
            ("\(backports)_main_binary-amd64_Packages", backportsList), ("\(main)_main_binary-i386_Packages", i386List)
        ] {
            if lz4, let tool = Fixtures.tool("/usr/bin/lz4") {
                let plain = try root.write("tmp/\(name)", text)
                try Fixtures.run(tool, ["-q", "-f", plain.path, root.url("\(lists)/\(name).lz4").path])
            } else {
                try root.write("\(lists)/\(name)", text)
            }
        }
        return root
    }

    @Test(arguments: [false, true])
    func pendingUpdatesFollowAptsCandidateRules(lz4: Bool) async throws {
        let root = try Self.makeRoot(lz4: lz4)
        let evidence = try await PackagesProbe().collect(root: ScanRoot(root.path))
        #expect(evidence.installed == 7)
        #expect(evidence.indexLists == 4)
        #expect(evidence.indexError == nil)
        let pending = try #require(evidence.pendingUpdates)
        let byName = Dictionary(uniqueKeysWithValues: pending.map { ($0.name, $0) })
        // Backports (priority 100) never beat the 500 of the installed version's own suite.
        #expect(Set(byName.keys) == ["bash", "libc6", "openssl", "tzdata"])
        #expect(byName["openssl"]?.candidate == "3.0.17-1~deb12u2")
        #expect(byName["openssl"]?.security == true)
        #expect(byName["openssl"]?.suite == "stable-security")
        #expect(byName["bash"]?.security == false)
        #expect(byName["tzdata"]?.architecture == "all")
        #expect(byName["libc6"]?.architecture == "i386")
        let fetched = try #require(evidence.indexUpdatedAt)
        #expect(abs(fetched.timeIntervalSince(Self.fetched)) < 1, "newest Release mtime, not the older security one")
    }

    @Test func installedFromBackportsFollowsBackports() {
        // Index 0: backports (NotAutomatic + ButAutomaticUpgrades, 100); index 1: stable (500).
        let files = [
            AptPreferences.FileAttributes(hasRelease: true, archive: "stable-backports", component: "main"),
            AptPreferences.FileAttributes(hasRelease: true, archive: "stable", component: "main")
        ]
        let policy = AptPolicy(
            files: files, preferences: AptPreferences(), native: "amd64",
            phasing: .init(machineID: ""), defaultPriorities: [100, 500])
        func offer(_ version: String, _ file: Int) -> AptIndex.Offer {
            AptIndex.Offer(name: "curl", architecture: "amd64", version: version, source: "curl", sourceVersion: version, file: file)
        }
        let offers = [offer("8.14.1-2~bpo12+1", 0), offer("8.14.1-3~bpo12+1", 0), offer("7.88.1-10+deb12u8", 1)]
        func installed(_ version: String) -> DpkgDatabase.Package {
            DpkgDatabase.Package(name: "curl", architecture: "amd64", version: version, state: "installed", conffiles: [])
        }
        // Lower versions at 500 are no downgrade target; the newer backport wins among the rest.
        #expect(policy.decide(package: installed("8.14.1-2~bpo12+1"), offers: offers)?.candidate.version == "8.14.1-3~bpo12+1")
        #expect(policy.decide(package: installed("7.88.1-10+deb12u8"), offers: offers)?.candidate.version == "7.88.1-10+deb12u8")
    }

    /// dpkg itself reads a status without stanzas as no packages (`dpkg --admindir=DIR -l` exits 0).
    @Test(arguments: ["", "\n\n"])
    func emptyStatusIsNoPackages(_ text: String) async throws {
        if let dpkg = Fixtures.tool("/usr/bin/dpkg") {
            let admin = try TemporaryRoot("dpkg-admin")
            try admin.write("status", text)
            try admin.makeDirectory("updates")
            try admin.makeDirectory("info")
            let listed = try Fixtures.run(dpkg, ["--admindir=\(admin.path)", "-l"])
            #expect(listed.status == 0, "\(listed.stderr)")
        }
        let root = try TemporaryRoot()
        try root.write("var/lib/dpkg/status", text)
        let evidence = try await PackagesProbe().collect(root: ScanRoot(root.path))
        #expect(evidence.installed == 0)
        #expect(evidence.pendingUpdates == nil, "no lists: unknown, not none")
    }

    @Test func noListsMeansUnknownNotNone() async throws {
        let root = try TemporaryRoot()
        try root.write("var/lib/dpkg/status", Fixtures.dpkgStatus([.init("dpkg", "1.21.22")]))
        let evidence = try await PackagesProbe().collect(root: ScanRoot(root.path))
        #expect(evidence.pendingUpdates == nil)
        #expect(evidence.indexUpdatedAt == nil)
        #expect(evidence.indexError?.contains("apt-get update") == true)
    }

    @Test func unreadableListIsReportedAndRestStillCounts() async throws {
        let root = try Self.makeRoot()
        try root.write("\(Self.lists)/example.org_dists_x_main_binary-amd64_Packages.xz", "xz data")
        try root.write("\(Self.lists)/broken.org_dists_y_main_binary-amd64_Packages.lz4", Data([0x04, 0x22, 0x4D, 0x18, 0x64, 0x40]))
        let evidence = try await PackagesProbe().collect(root: ScanRoot(root.path))
        #expect(evidence.pendingUpdates?.isEmpty == false)
        #expect(evidence.indexError?.contains(".xz") == true)
        #expect(evidence.indexError?.contains("broken.org") == true)
    }

    @Test(arguments: [
        "Package: a\nVersion: 1\n",
        "Package: a\nStatus: install ok\nVersion: 1\n",
        "Package: a\nStatus: install ok installed\n",
        "\u{FFFD}\u{0}binary junk"
    ])
    func damagedStatusIsAnError(_ text: String) throws {
        #expect(throws: ProbeError.self) { try DpkgDatabase.parse(Array(text.utf8), path: "/var/lib/dpkg/status") }
    }

    @Test func truncatedStatusIsAnErrorWithTheFile() async throws {
        let root = try Self.makeRoot()
        let full = try String(contentsOf: root.url("var/lib/dpkg/status"), encoding: .utf8)
        try root.write("var/lib/dpkg/status", String(full.prefix(full.count / 3 + 7)))
        await #expect(throws: ProbeError.self) { try await PackagesProbe().collect(root: ScanRoot(root.path)) }
    }

    @Test func conffilesAreParsed() throws {
        let root = try Self.makeRoot()
        let database = try DpkgDatabase.read(root: ScanRoot(root.path))
        let openssl = try #require(database.packages.first { $0.name == "openssl" })
        #expect(openssl.conffiles == [.init(path: "/etc/ssl/openssl.cnf", md5: "5f3b1bd1e4a3c7a4e2a4f0a1b2c3d4e5", obsolete: false)])
        #expect(database.nativeArchitecture == "amd64")
    }

    @Test func inReleaseSignatureWrapperIsStripped() {
        let release = AptIndex.Release.parse(Fixtures.inRelease(suite: "jammy-security", codename: "jammy-security"))
        #expect(release.isSecurity)
        #expect(release.priority == 500)
        let backports = AptIndex.Release.parse(Fixtures.inRelease(suite: "b", codename: "b", notAutomatic: true))
        #expect(backports.priority == 1)
    }
}
