import Foundation
import PostureModel
import PostureTestSupport
import Testing

@testable import PostureProbes
@testable import PostureReference

@Suite struct EndpointProbesTests {
    static let now = Date()

    static func securityCatalog() -> SecuritySoftwareCatalog {
        SecuritySoftwareCatalog(
            asOf: Day("2026-11-24")!,
            products: [
                .init(
                    id: "clamav", name: "ClamAV", commercial: false, packages: ["clamav", "clamav-daemon"], paths: ["usr/bin/clamscan"],
                    processes: ["clamd", "clamonacc"], updaters: ["freshclam"], signatures: .init(kind: .clamavCVD, paths: ["var/lib/clamav"])),
                .init(
                    id: "mdatp", name: "Defender", commercial: true, packages: ["mdatp"], paths: ["opt/microsoft/mdatp/sbin/wdavdaemon"],
                    processes: ["wdavdaemon"], signatures: .init(kind: .newestMtime, paths: ["var/opt/microsoft/mdatp/definitions"]))
            ])
    }

    /// Signed CVDs built by ClamAV's own sigtool (Tests/Support/clamav) and their build times.
    static let realDatabases: [(file: String, built: String)] = [
        ("test-1.cvd", "2021-06-22T18:58:00Z"), ("test-6.cvd", "2021-06-23T01:34:00Z")
    ]

    @Test func clamavFreshnessComesFromTheNewestDatabaseHeader() throws {
        let root = try TemporaryRoot()
        try root.write("var/lib/dpkg/status", Fixtures.dpkgStatus([.init("dpkg", "1.21.22"), .init("clamav", "1.4.6+dfsg-0+deb12u1")]))
        try root.write("var/lib/clamav/main.cvd", Fixtures.clamavSample("test-1.cvd"))
        try root.write("var/lib/clamav/DAILY.CVD", Fixtures.clamavSample("test-6.cvd"))
        try root.write("var/lib/clamav/bytecode.cvd", Data("ClamAV-VDB:short".utf8))  // damaged: ignored
        let scanRoot = try ScanRoot(root.path)
        let products = SecuritySoftwareProbe(catalog: Self.securityCatalog())
            .collect(root: scanRoot, database: try DpkgDatabase.read(root: scanRoot), processes: ["bash", "clamd"])
        #expect(products.count == 1)
        let clamav = try #require(products.first)
        #expect(clamav.running == true)
        #expect(clamav.commercial == false)
        #expect(clamav.signaturesUpdatedAt == ISO8601DateFormatter().date(from: "2021-06-23T01:34:00Z"))
    }

    /// The build time of a real header is the `stime` field (seconds, the header's last) to the minute.
    @Test(arguments: realDatabases)
    func realClamavHeadersGiveTheirBuildTime(_ row: (file: String, built: String)) throws {
        let header = Array(try Fixtures.clamavSample(row.file).prefix(512))
        let database = try ClamAVDatabase.parse(header: header, path: row.file)
        let text = String(decoding: header, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        let stime = try #require(text.split(separator: ":").last.flatMap { TimeInterval(String($0)) })
        #expect(database.buildTime == Date(timeIntervalSince1970: (stime / 60).rounded(.down) * 60))
        #expect(database.buildTime == ISO8601DateFormatter().date(from: row.built))
    }

    // Found by fuzzing (scripts/fuzz clamav): Foundation's DateFormatter traps on some non-ASCII
    // text ("4" and U+07F1 here), and the header's build time was handed to it as read.
    @Test func clamavHeaderWithAnUnreadableBuildTimeIsAnError() {
        let header = Array("ClamAV-VDB:4\u{7F1}::".utf8) + [UInt8](repeating: 0x20, count: 512 - 16)
        #expect(
            throws: ProbeError.malformed(
                path: "/var/lib/clamav/daily.cvd",
                reason: "the build time '4\u{7F1}' is not a date like '14 Nov 2023 07-37 -0500'")
        ) {
            try ClamAVDatabase.parse(header: header, path: "/var/lib/clamav/daily.cvd")
        }
    }

    // sigtool writes the time with strftime("%d %b %Y %H-%M %z"): libclamav splits the header on
    // every colon, so no ClamAV ever wrote "04:26" there.
    @Test func clamavBuildTimesAreReadExactly() {
        let iso = ISO8601DateFormatter()
        #expect(ClamAVDatabase.parseTime("20 Nov 2026 04-26 -0500") == iso.date(from: "2026-11-20T09:26:00Z"))
        #expect(ClamAVDatabase.parseTime("1 jan 2024 0-05 +0930") == iso.date(from: "2023-12-31T14:35:00Z"))
        for bad in [
            "", "20 Nov 2026", "31 Feb 2026 04-26 -0500", "20 Nov 2026 24-00 -0500", "20 Nov 2026 04-26 0500",
            "20 Nov 2026 04:26 -0500", "20 Nov 2026 04-26-00 -0500", "\u{FF12}0 Nov 2026 04-26 -0500",
            "20 Nov 2026 04-26 -05\u{7F1}"
        ] {
            #expect(ClamAVDatabase.parseTime(bad) == nil, "\(bad)")
        }
    }

    @Test(
        arguments: [
            (["freshclam"], false), (["clamd"], true), (["clamonacc", "freshclam"], true), ([], false), (nil, nil)
        ] as [([String]?, Bool?)])
    func runningMeansTheScanningEngineNotTheUpdater(_ row: ([String]?, Bool?)) throws {
        let root = try TemporaryRoot()
        try root.write("usr/bin/clamscan", "ELF")
        let products = SecuritySoftwareProbe(catalog: Self.securityCatalog())
            .collect(root: try ScanRoot(root.path), database: nil, processes: row.0.map(Set.init))
        #expect(products.map(\.product) == ["clamav"])
        #expect(products.first?.running == row.1)
    }

    @Test func offlineRootCannotSayWhetherItRuns() throws {
        let root = try TemporaryRoot()
        try root.write("opt/microsoft/mdatp/sbin/wdavdaemon", "ELF")
        let old = Date().addingTimeInterval(-20 * 86400)
        try root.write("var/opt/microsoft/mdatp/definitions/updates/mpavbase.vdm", "x", modified: old)
        let products = SecuritySoftwareProbe(catalog: Self.securityCatalog()).collect(root: try ScanRoot(root.path), database: nil, processes: nil)
        #expect(products.map(\.product) == ["mdatp"])
        #expect(products[0].running == nil)
        #expect(products[0].commercial == true)
        #expect(abs((products[0].signaturesUpdatedAt ?? .distantPast).timeIntervalSince(old)) < 2)
    }

    @Test func commercialIsReportedAndOldReportsWithoutItStillDecode() throws {
        let evidence = SecuritySoftwareEvidence(product: "clamav", installed: true, running: nil, signaturesUpdatedAt: nil, commercial: false)
        let json = String(decoding: try PostureJSON.encoder().encode(evidence), as: UTF8.self)
        #expect(json.contains(#""commercial":false"#), "\(json)")
        let old = #"{"product":"mdatp","installed":true,"running":true,"signatures_updated_at":"2026-11-20T09:26:00Z"}"#
        let decoded = try PostureJSON.decoder().decode(SecuritySoftwareEvidence.self, from: Data(old.utf8))
        #expect(decoded.product == "mdatp" && decoded.commercial == nil)
    }

    @Test(arguments: ["", "ClamAV-VDB", String(repeating: "x", count: 512)])
    func damagedClamavHeaderIsAnError(_ text: String) {
        #expect(throws: ProbeError.self) { try ClamAVDatabase.parse(header: Array(text.utf8), path: "daily.cvd") }
    }

    @Test func passwordAgeFromShadowNeverKeepsTheHash() throws {
        let root = try TemporaryRoot()
        try root.write(
            "etc/passwd",
            """
            root:x:0:0:root:/root:/bin/bash
            daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
            alice:x:1000:1000:Alice:/home/alice:/bin/bash
            bob:x:1001:1001:Bob:/home/bob:/bin/bash
            svc:x:1002:1002::/var/lib/svc:/usr/sbin/nologin
            """)
        try root.write("etc/login.defs", "UID_MIN 1000\nUID_MAX 60000\nPASS_MAX_DAYS 99999\n")
        try root.write(
            "etc/shadow",
            [
                Fixtures.shadowLine(user: "root", hash: "!", daysAgo: 400),
                Fixtures.shadowLine(user: "daemon", hash: "*", daysAgo: 3000),
                Fixtures.shadowLine(user: "alice", hash: "$y$j9T$SECRETSALTalice$HASHVALUEalice", daysAgo: 10, maxDays: "90"),
                Fixtures.shadowLine(user: "bob", hash: "$6$SECRETSALTbob$HASHVALUEbob", daysAgo: 200)
            ].joined(separator: "\n") + "\n")
        let (accounts, problem) = try AccountsProbe().collect(root: ScanRoot(root.path))
        #expect(problem == nil)
        #expect(accounts.map(\.user) == ["root", "alice", "bob"])
        let alice = try #require(accounts.first { $0.user == "alice" })
        #expect(alice.passwordMaxDays == 90)
        #expect(alice.passwordLastChanged == Day(Self.now).adding(days: -10))
        #expect(accounts.first { $0.user == "root" }?.locked == true)
        #expect(accounts.first { $0.user == "bob" }?.passwordMaxDays == nil)
        let json = String(decoding: try PostureJSON.encoder().encode(accounts), as: UTF8.self)
        #expect(!json.contains("SECRET") && !json.contains("HASHVALUE") && !json.contains("$6$"))
    }

    // Found by fuzzing (scripts/fuzz system): a login.defs with UID_MIN above UID_MAX made an
    // invalid range, which traps.
    @Test func invertedUIDRangeSelectsOnlyRoot() throws {
        let root = try TemporaryRoot()
        try root.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n")
        try root.write("etc/login.defs", "UID_MIN 60000\nUID_MAX 1000\n")
        try root.write("etc/shadow", "root:!:19700:0:99999:7:::\nalice:!:19700:0:99999:7:::\n")
        let (accounts, problem) = try AccountsProbe().collect(root: ScanRoot(root.path))
        #expect(accounts.map(\.user) == ["root"])
        #expect(problem == nil)
    }

    // A last-change day count past the year 9999 overflowed the calendar arithmetic.
    @Test func shadowDayCountOutOfRangeIsAReason() throws {
        let root = try TemporaryRoot()
        try root.write("etc/passwd", "alice:x:1000:1000::/home/alice:/bin/bash\n")
        try root.write("etc/shadow", "alice:!:9223372036854775807:0:99999:7:::\n")
        let (accounts, problem) = try AccountsProbe().collect(root: ScanRoot(root.path))
        #expect(accounts.first?.passwordLastChanged == nil)
        #expect(problem == "/etc/shadow is damaged: the last password change of alice is not a day")
        #expect(AccountsProbe.parseShadow("bob:!:2932896:0:99999:7:::\n").first?.lastChanged == Day("9999-12-31"))
        #expect(AccountsProbe.parseShadow("bob:!:-1:0:99999:7:::\n").first?.lastChangedUnreadable == true)
    }

    @Test func unreadableShadowIsAReasonNotAGuess() throws {
        let root = try TemporaryRoot()
        try root.write("etc/passwd", "alice:x:1000:1000::/home/alice:/bin/bash\n")
        let (accounts, problem) = try AccountsProbe().collect(root: ScanRoot(root.path))
        #expect(accounts.first?.passwordLastChanged == nil)
        #expect(problem?.contains("/etc/shadow") == true)
    }

    @Test func savedLoginsFromFirefoxAndChromiumCarryNoSecrets() throws {
        let root = try TemporaryRoot()
        try root.write("etc/passwd", "alice:x:1000:1000::/home/alice:/bin/bash\n")
        try root.write(
            "home/alice/.mozilla/firefox/abcd1234.default-esr/logins.json",
            Fixtures.firefoxLogins([
                ("https://www.ib.bank.example.jp", "FFSECRET1"), ("https://shop.example.com", "FFSECRET2")
            ]))
        try Fixtures.chromiumLoginData(
            at: root.url("home/alice/.config/google-chrome/Default/Login Data"),
            [
                ("https://bizweb.bank.example.jp/login", "CRSECRET1", false), ("https://never.example.org", "CRSECRET2", true)
            ])
        try Fixtures.chromiumLoginData(
            at: root.url("home/alice/snap/chromium/common/chromium/Profile 1/Login Data"),
            [
                ("https://mail.example.net", "CRSECRET3", false)
            ])
        try root.write("home/alice/Desktop/パスワード一覧.txt", "bank: hunter2")
        try root.write("home/alice/Desktop/report.odt", "x")
        try root.write("home/alice/Desktop/compass.txt", "x")
        try root.write("home/alice/.config/google-chrome/Profile 2/Login Data", "not sqlite at all")
        let (evidence, problems) = CredentialsProbe().collect(root: try ScanRoot(root.path), homes: HomeDirectories.all(root: try ScanRoot(root.path)))
        let origins = Set(evidence.savedLogins.map { "\($0.browser) \($0.origin)" })
        #expect(
            origins == [
                "firefox https://www.ib.bank.example.jp", "firefox https://shop.example.com",
                "google-chrome https://bizweb.bank.example.jp/login", "chromium https://mail.example.net"
            ])
        #expect(evidence.passwordNotes == ["/home/alice/Desktop/パスワード一覧.txt"])
        #expect(problems.count == 1 && problems[0].contains("Profile 2"))
        let json = String(decoding: try PostureJSON.encoder().encode(evidence), as: UTF8.self)
        #expect(!json.contains("SECRET") && !json.contains("hunter2") && !json.contains("MDoEE"))
    }

    // Found by review while fuzzing the profile readers: files in a home are anyone's. A FIFO in
    // place of logins.json blocked the daemon's read for ever, and a huge sparse file (or a link to
    // /dev/zero or /proc/kcore on the live system) was read whole into memory until allocation failed.
    @Test func profileFilesThatAreNotSmallRegularFilesAreProblems() throws {
        let root = try TemporaryRoot()
        try root.makeDirectory("home/alice/.mozilla/firefox/a.default")
        #expect(mkfifo(root.url("home/alice/.mozilla/firefox/a.default/logins.json").path, 0o600) == 0)
        let huge = try root.write("home/alice/.config/chromium/Default/Login Data", "")
        #expect(truncate(huge.path, 1 << 33) == 0)
        let (evidence, problems) = CredentialsProbe().collect(root: try ScanRoot(root.path), homes: ["home/alice"])
        #expect(evidence.savedLogins.isEmpty)
        #expect(
            problems.sorted() == [
                "cannot read /home/alice/.config/chromium/Default/Login Data: larger than 32 MiB",
                "cannot read /home/alice/.mozilla/firefox/a.default/logins.json: not a regular file"
            ])
    }

    static func browserCatalog() -> BrowserCatalog {
        BrowserCatalog(
            asOf: Day("2026-11-01")!,
            browsers: [
                .init(
                    name: "firefox", packages: ["firefox"], snap: ["firefox"], flatpak: ["org.mozilla.firefox"],
                    installDirs: ["opt/firefox"], support: .init(latest: "145.0.1", lineComponents: 1, linesSupported: 1, lines: [])),
                .init(
                    name: "firefox-esr", packages: ["firefox-esr"], snap: [], flatpak: [], installDirs: ["usr/lib/firefox-esr"],
                    support: .init(
                        latest: nil, lineComponents: 1, linesSupported: 0,
                        lines: [
                            .init(line: "115", eol: Day("2025-09-16")!), .init(line: "140", eol: Day("2026-09-15")!),
                            .init(line: "153", eol: Day("2027-09-14")!)
                        ])),
                .init(
                    name: "chromium", packages: ["chromium"], snap: ["chromium"], flatpak: ["org.chromium.Chromium"], installDirs: [],
                    support: .init(latest: "142.0.7444.175", lineComponents: 1, linesSupported: 2, lines: [])),
                .init(
                    name: "brave", packages: ["brave-browser"], snap: [], flatpak: ["com.brave.Browser"], installDirs: [],
                    support: .init(latest: "1.85.100", lineComponents: 2, linesSupported: 2, lines: []))
            ])
    }

    @Test func browsersFromPackagesSnapsFlatpaksAndTarballs() throws {
        let root = try TemporaryRoot()
        try root.write(
            "var/lib/dpkg/status",
            Fixtures.dpkgStatus([
                .init("dpkg", "1.21.22"), .init("firefox-esr", "140.5.0esr-1~deb12u1"), .init("chromium", "140.0.7339.185-1~deb12u1")
            ]))
        try root.write("usr/lib/firefox-esr/application.ini", "[App]\nVersion=140.5.0\n")
        try root.write("opt/firefox/application.ini", "[App]\nVendor=Mozilla\nName=Firefox\nVersion=145.0.1\nBuildID=20261101\n")
        try root.write("snap/firefox/current/meta/snap.yaml", "name: firefox\nversion: 144.0.2-1\nsummary: Mozilla Firefox\n")
        try root.write(
            "var/lib/flatpak/app/com.brave.Browser/current/active/files/share/metainfo/com.brave.Browser.metainfo.xml",
            "<component><releases><release version=\"1.82.70\" date=\"2026-08-01\"/></releases></component>")
        // Older flatpaks keep their metainfo under share/appdata.
        try root.write(
            "var/lib/flatpak/app/org.chromium.Chromium/current/active/files/share/appdata/org.chromium.Chromium.appdata.xml",
            "<component><releases><release version=\"145.0.7632.45\" date=\"2026-10-01\"/></releases></component>")
        let scanRoot = try ScanRoot(root.path)
        let browsers = BrowsersProbe(catalog: Self.browserCatalog()).collect(
            root: scanRoot, database: try DpkgDatabase.read(root: scanRoot),
            candidates: ["firefox-esr": "140.5.0esr-1~deb12u1", "chromium": "142.0.7444.175-1~deb12u1"],
            homes: [], now: Day("2026-11-24")!.start(in: TimeZone(identifier: "UTC")!))
        let bySource = Dictionary(uniqueKeysWithValues: browsers.map { ($0.source, $0) })
        #expect(
            Set(bySource.keys) == [
                "dpkg:firefox-esr", "dpkg:chromium", "tarball:/opt/firefox", "snap:firefox", "flatpak:com.brave.Browser",
                "flatpak:org.chromium.Chromium"
            ])
        #expect(bySource["flatpak:org.chromium.Chromium"]?.version == "145.0.7632.45")
        #expect(bySource["dpkg:firefox-esr"]?.supported == false, "ESR 140 ended on 2026-09-15 in this catalog")
        #expect(bySource["dpkg:firefox-esr"]?.eol == Day("2026-09-15"))
        #expect(bySource["dpkg:chromium"]?.supported == false, "two majors behind the newest stable")
        #expect(bySource["dpkg:chromium"]?.linesPastSupport == 1, "140 is one line past 141-142")
        #expect(bySource["dpkg:firefox-esr"]?.linesPastSupport == nil, "judged by its line's end date")
        #expect(bySource["tarball:/opt/firefox"]?.linesPastSupport == nil, "supported")
        #expect(bySource["dpkg:chromium"]?.candidate == "142.0.7444.175-1~deb12u1")
        #expect(bySource["tarball:/opt/firefox"]?.supported == true)
        #expect(bySource["snap:firefox"]?.supported == false, "rapid-release Firefox: only the newest major")
        #expect(bySource["flatpak:com.brave.Browser"]?.supported == false)
        #expect(browsers.allSatisfy { $0.catalogAsOf == Day("2026-11-01") })
    }

    @Test(
        arguments: [
            ("140.5.0esr", "2026-09-15", "2026-09-15", true), ("140.5.0esr", "2026-09-15", "2026-09-16", false),
            ("102.15.0esr", nil, "2026-01-01", false), ("160.0esr", nil, "2026-01-01", nil)
        ] as [(String, String?, String, Bool?)])
    func esrLinesEndOnTheirDate(_ row: (String, String?, String, Bool?)) {
        let esr = Self.browserCatalog().browsers[1].support
        let (eol, supported) = BrowsersProbe.support(of: row.0, esr, today: Day(row.2)!)
        #expect(eol == row.1.flatMap { Day($0) })
        #expect(supported == row.3)
    }

    /// Lines past support against chromium's `latest` 142 with two lines supported (141, 142).
    @Test(arguments: [("140.0.1", 1), ("139.0", 2), ("141.0", nil), ("142.1", nil), ("99.0", 42)] as [(String, Int?)])
    func linesPastSupport(_ version: String, _ expected: Int?) {
        #expect(BrowsersProbe.linesPastSupport(of: version, Self.browserCatalog().browsers[2].support) == expected)
    }

    @Test func fileSharingByPackageFlatpakAndWine() throws {
        let root = try TemporaryRoot()
        try root.write("var/lib/dpkg/status", Fixtures.dpkgStatus([.init("dpkg", "1.21.22"), .init("qbittorrent", "4.5.2-3+deb12u1")]))
        try root.write("etc/passwd", "alice:x:1000:1000::/home/alice:/bin/bash\n")
        try root.write("home/alice/.local/share/flatpak/app/com.transmissionbt.Transmission/current/active/metadata", "[Application]\n")
        try root.write("home/alice/.wine/drive_c/Program Files/Winny/Winny.exe", "MZ")
        let catalog = FileSharingCatalog(
            asOf: Day("2026-11-24")!,
            clients: [
                .init(
                    id: "qbittorrent", name: "qBittorrent", packages: ["qbittorrent", "qbittorrent-nox"], binaries: ["usr/bin/qbittorrent"],
                    flatpak: [], snap: [], windowsExecutables: []),
                .init(
                    id: "transmission", name: "Transmission", packages: ["transmission-gtk"], binaries: [],
                    flatpak: ["com.transmissionbt.Transmission"], snap: [], windowsExecutables: []),
                .init(id: "winny", name: "Winny", packages: [], binaries: [], flatpak: [], snap: [], windowsExecutables: ["winny.exe"]),
                .init(id: "amule", name: "aMule", packages: ["amule"], binaries: ["usr/bin/amule"], flatpak: [], snap: [], windowsExecutables: [])
            ])
        let scanRoot = try ScanRoot(root.path)
        let found = FileSharingProbe(catalog: catalog).collect(
            root: scanRoot, database: try DpkgDatabase.read(root: scanRoot),
            homes: HomeDirectories.all(root: scanRoot)
        ).clients
        #expect(
            found.map(\.name) == [
                "qbittorrent (package qbittorrent)", "transmission (flatpak com.transmissionbt.Transmission)",
                "winny (Wine: /home/alice/.wine/drive_c/Program Files/Winny/Winny.exe)"
            ])
        #expect(found[0].version == "4.5.2-3+deb12u1")
    }

    @Test func localAccessFromDisplayManagerAndSystemConfig() throws {
        let root = try TemporaryRoot()
        try root.write("etc/gdm3/daemon.conf", "[daemon]\nAutomaticLoginEnable = true\nAutomaticLogin = alice\n")
        try root.write("etc/lightdm/lightdm.conf.d/50-guest.conf", "[Seat:*]\nallow-guest=true\n")
        try root.write("etc/dconf/db/local.d/00-screensaver", "[org/gnome/desktop/screensaver]\nlock-enabled=true\n")
        try root.write("etc/crypttab", "# <target> <source> <key> <options>\nsda3_crypt UUID=1234 none luks,discard\n")
        try root.write("etc/ufw/ufw.conf", "# /etc/ufw/ufw.conf\nENABLED=yes\nLOGLEVEL=low\n")
        let access = LocalAccessProbe().collect(root: try ScanRoot(root.path))
        #expect(access.autologin == ["gdm: alice"])
        #expect(access.guestSession == true)
        #expect(access.screenLock == true)
        #expect(access.diskEncrypted == true)
        #expect(access.firewallActive == true)

        let bare = try TemporaryRoot()
        try bare.write("etc/ufw/ufw.conf", "ENABLED=no\n")
        let none = LocalAccessProbe().collect(root: try ScanRoot(bare.path))
        #expect(none.autologin == [])
        #expect(none.screenLock == nil)
        #expect(none.diskEncrypted == false)
        #expect(none.firewallActive == false)
    }

    @Test func clockOfAnOfflineImageIsUnknown() throws {
        let root = try TemporaryRoot()
        try root.symlink("etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service", to: "/lib/systemd/system/systemd-timesyncd.service")
        try root.write("lib/systemd/system/systemd-timesyncd.service", "[Unit]\n")
        let clock = ClockProbe().collect(root: try ScanRoot(root.path), processes: nil)
        #expect(clock.synchronized == nil)
        #expect(clock.source?.contains("systemd-timesyncd enabled") == true)
    }

    @Test func liveClockAgreesWithTimedatectl() throws {
        let live = ClockProbe().collect(root: try ScanRoot("/"), processes: RunningProcesses.names(root: try ScanRoot("/")))
        guard let timedatectl = Fixtures.tool("/usr/bin/timedatectl"),
            let result = try? Fixtures.run(timedatectl, ["show", "-p", "NTPSynchronized", "--value"]), result.status == 0
        else {
            #expect(live.synchronized != nil || live.source != nil)
            return
        }
        #expect(live.synchronized == (result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "yes"))
    }
}
