import Foundation
import PostureTestSupport
import Testing

/// Files a user (or malware running as that user) plants in a home to stop the root agent or make
/// it lie: the scan still finishes, and what it could not read safely is `unknown` with the reason.
@Suite struct HostileHomeTests {
    /// SQLite databases the probes read, each made by `sqlite3` with something other than plain tables.
    static let hostileLoginData: [(name: String, sql: String, reason: String)] = [
        (
            "a view that recurses forever",
            """
            CREATE TABLE meta(key, value);
            CREATE VIEW logins AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r)
              SELECT 'https://x.example' AS origin_url, 0 AS blacklisted_by_user FROM r WHERE n < 0;
            """, "view"
        ),
        (
            "a view with endless matching rows",
            """
            CREATE VIEW logins AS WITH RECURSIVE r(origin_url, blacklisted_by_user) AS
              (SELECT 'https://login.bank.example.jp/', 0 UNION ALL SELECT origin_url, blacklisted_by_user FROM r) SELECT * FROM r;
            """, "view"
        ),
        (
            "a trigger",
            """
            CREATE TABLE logins(origin_url, blacklisted_by_user);
            CREATE TRIGGER grow AFTER INSERT ON logins BEGIN INSERT INTO logins VALUES (new.origin_url, 0); END;
            """, "trigger"
        ),
        ("a virtual table", "CREATE VIRTUAL TABLE logins USING fts5(origin_url, blacklisted_by_user);", "virtual table"),
        ("no logins table", "CREATE TABLE meta(key, value);", "no table logins")
    ]

    static func sqlite(_ database: URL, _ sql: String) throws {
        let sqlite = try #require(Fixtures.tool("/usr/bin/sqlite3"))
        try FileManager.default.createDirectory(at: database.deletingLastPathComponent(), withIntermediateDirectories: true)
        let made = try Fixtures.run(sqlite, [database.path], input: Data(sql.utf8))
        #expect(made.status == 0, "\(made.stderr)")
    }

    /// `posture scan --format json` bounded by `timeout`, with its own TMPDIR (for the SQLite copies).
    static func scan(_ arguments: [String], tmp: URL) throws -> (status: Int32, report: [String: Any], seconds: Double) {
        let started = Date()
        let result = try Fixtures.run(
            "/usr/bin/timeout", ["120", CLITests.executable] + arguments + ["--format", "json"],
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": tmp.path])
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status != 124, "the scan was still running after 120 s")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
        return (result.status, report, seconds)
    }

    static func finding(_ report: [String: Any], _ requirement: String) -> [String: Any]? {
        (report["findings"] as? [[String: Any]])?.first { $0["requirement"] as? String == requirement }
    }

    @Test(arguments: hostileLoginData.indices)
    func aCraftedLoginDataIsUnknownAndStopsNothing(_ index: Int) throws {
        let hostile = Self.hostileLoginData[index]
        let root = try EndpointScanTests.endpoint()
        try FileManager.default.removeItem(at: root.url("home/alice/.mozilla/firefox/x1.default/logins.json"))
        try FileManager.default.removeItem(at: root.url("home/alice/Desktop/password.txt"))
        let loginData = root.url("home/alice/.config/chromium/Default/Login Data")
        try FileManager.default.removeItem(at: loginData)
        try Self.sqlite(loginData, hostile.sql)
        let tmp = root.url("tmp")
        try FileManager.default.createDirectory(
            at: tmp.appendingPathComponent("posture-sqlite-2147483646-left-by-a-killed-scan"),
            withIntermediateDirectories: true)

        let scan = try Self.scan(["scan", "--root", root.path, "--profiles", root.url("profiles").path, "--profile", "endpoint-bank"], tmp: tmp)
        #expect(scan.seconds < 60, "\(hostile.name): the scan took \(scan.seconds) s")
        let credentials = try #require(Self.finding(scan.report, "no-saved-passwords"))
        #expect(credentials["status"] as? String == "unknown", "\(hostile.name): \(credentials)")
        let unavailable = (scan.report["evidence"] as? [String: Any])?["unavailable"] as? [String: String] ?? [:]
        let reason = unavailable["credentials"] ?? ""
        #expect(reason.contains("Login Data") && reason.contains(hostile.reason), "\(hostile.name): \(reason)")
        #expect(Self.finding(scan.report, "password-age")?["status"] as? String == "fail", "the other checks still ran")
        let left = try FileManager.default.contentsOfDirectory(atPath: tmp.path)
        #expect(left.isEmpty, "private copies are removed, and copies a killed scan left: \(left)")
    }

    /// An NSS `cert9.db` (made by certutil) whose `nssPublic` is a recursive view: the interception
    /// check is `unknown`, naming the store, instead of a scan that never ends.
    @Test func aCraftedCertificateDatabaseIsUnknownAndStopsNothing() throws {
        let root = try IntegrityTests.tamperedRoot()
        let store = root.url("home/alice/.pki/nssdb")
        try Fixtures.nssDatabase(at: store, [])
        try Self.sqlite(
            store.appendingPathComponent("cert9.db"),
            """
            ALTER TABLE nssPublic RENAME TO nssPublicReal;
            CREATE VIEW nssPublic AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r)
              SELECT nssPublicReal.* FROM r, nssPublicReal WHERE n < 0;
            """)
        let tmp = root.url("tmp-scan")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let scan = try Self.scan(["scan", "--root", root.path, "--state-dir", root.url("state").path], tmp: tmp)
        #expect(scan.seconds < 60, "the scan took \(scan.seconds) s")
        let integrity = try #require((scan.report["evidence"] as? [String: Any])?["integrity"] as? [String: Any])
        let stores = integrity["unreadable_certificate_stores"] as? [[String: String]] ?? []
        #expect(stores.contains { $0["path"] == "/home/alice/.pki/nssdb/cert9.db" && ($0["reason"] ?? "").contains("view") }, "\(stores)")
    }

    /// Symlinks and `..` in a home, pointing where only root may read: nothing of the targets
    /// reaches the report, and what could not be read safely makes the check unknown.
    @Test func linksInAHomeDoNotReadForTheUser() throws {
        let root = try EndpointScanTests.endpoint()
        for file in [
            "home/alice/.mozilla/firefox/x1.default/logins.json", "home/alice/.config/chromium/Default/Login Data",
            "home/alice/Desktop/password.txt"
        ] {
            try FileManager.default.removeItem(at: root.url(file))
        }
        // Root-only targets, with content that must never appear in the report.
        try root.write("etc/secret/logins.json", Fixtures.firefoxLogins([("https://rootonly-origin.bank.example.jp", "ROOTSECRET")]))
        try Fixtures.chromiumLoginData(at: root.url("etc/secret/Login Data"), [("https://rootonly-chromium.bank.example.jp/", "ROOTSECRET2", false)])
        try root.write("etc/rootonly-password-list.txt", "x")
        try root.write("root/passwords-of-root.txt", "x")
        for file in ["etc/secret/logins.json", "etc/secret/Login Data", "etc/rootonly-password-list.txt", "root/passwords-of-root.txt"] {
            chmod(root.url(file).path, 0o600)
        }
        try root.symlink("home/alice/.mozilla/firefox/x1.default/logins.json", to: "/etc/secret/logins.json")
        try root.symlink("home/alice/.config/chromium/Default/Login Data", to: "../../../../../etc/secret/Login Data")
        try FileManager.default.removeItem(at: root.url("home/alice/Desktop"))
        try root.symlink("home/alice/Desktop", to: "/etc")
        try root.write("home/alice/.config/user-dirs.dirs", "XDG_DESKTOP_DIR=\"$HOME/../../root\"\n")
        // A root-only file planted inside the home (by root; the user could not have made it).
        try root.write(
            "home/alice/.mozilla/firefox/x2.default/logins.json",
            Fixtures.firefoxLogins([("https://planted.bank.example.jp", "PLANTED")]))
        chmod(root.url("home/alice/.mozilla/firefox/x2.default/logins.json").path, 0o600)
        let chowned = try Fixtures.run("/bin/chown", ["-R", "-h", "1000:1000", root.url("home/alice").path])
        #expect(chowned.status == 0, "\(chowned.stderr)")
        chown(root.url("home/alice/.mozilla/firefox/x2.default/logins.json").path, 0, 0)

        let tmp = root.url("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let scan = try Self.scan(["scan", "--root", root.path, "--profiles", root.url("profiles").path, "--profile", "endpoint-bank"], tmp: tmp)
        let text = String(decoding: try JSONSerialization.data(withJSONObject: scan.report), as: UTF8.self)
        for leaked in ["rootonly-origin", "rootonly-chromium", "rootonly-password-list", "passwords-of-root", "planted.bank"] {
            #expect(!text.contains(leaked), "\(leaked) reached the report")
        }
        let credentials = try #require(Self.finding(scan.report, "no-saved-passwords"))
        #expect(credentials["status"] as? String == "unknown", "\(credentials)")
        let reason = ((scan.report["evidence"] as? [String: Any])?["unavailable"] as? [String: String])?["credentials"] ?? ""
        #expect(reason.contains("symlink in a user's home"), "\(reason)")
        #expect(reason.contains("not by the home's owner"), "\(reason)")
    }

    /// A symlinked browser folder or desktop is not followed, and not taken for an empty one:
    /// the check is unknown, not passed.
    @Test(arguments: [".mozilla/firefox", ".config/chromium", "Desktop"])
    func aLinkedFolderInAHomeIsUnknownNotEmpty(_ folder: String) throws {
        let root = try EndpointScanTests.endpoint()
        for file in [
            "home/alice/.mozilla/firefox/x1.default/logins.json", "home/alice/.config/chromium/Default/Login Data",
            "home/alice/Desktop/password.txt"
        ] {
            try FileManager.default.removeItem(at: root.url(file))
        }
        try root.write("srv/elsewhere/x1.default/logins.json", Fixtures.firefoxLogins([("https://elsewhere.bank.example.jp", "ELSEWHERE")]))
        try FileManager.default.removeItem(at: root.url("home/alice/\(folder)"))
        try root.symlink("home/alice/\(folder)", to: "/srv/elsewhere")
        let chowned = try Fixtures.run("/bin/chown", ["-R", "-h", "1000:1000", root.url("home/alice").path])
        #expect(chowned.status == 0, "\(chowned.stderr)")
        let tmp = root.url("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let scan = try Self.scan(["scan", "--root", root.path, "--profiles", root.url("profiles").path, "--profile", "endpoint-bank"], tmp: tmp)
        let credentials = try #require(Self.finding(scan.report, "no-saved-passwords"))
        #expect(credentials["status"] as? String == "unknown", "\(folder): \(credentials)")
        let text = String(decoding: try JSONSerialization.data(withJSONObject: scan.report), as: UTF8.self)
        #expect(!text.contains("elsewhere.bank"))
    }

    /// 20,000 saved logins with one for the bank among them, a thousand password notes and a bank
    /// login whose origin is 10,000 characters: the signed report stays under 512 KiB, counts what it
    /// left out, and the bank's logins still fail the check.
    @Test func aGrownHomeKeepsTheReportBoundedAndTheVerdict() throws {
        let root = try EndpointScanTests.endpoint()
        var entries = (0..<20_000).map { (hostname: "https://site\($0).example.com", secret: "S\($0)") }
        entries.insert(("https://login.bank.example.jp", "BANK"), at: 13_579)
        try root.write("home/alice/.mozilla/firefox/x1.default/logins.json", Fixtures.firefoxLogins(entries))
        try root.write(
            "home/alice/.mozilla/firefox/x2.default/logins.json",
            Fixtures.firefoxLogins([("https://" + String(repeating: "a", count: 10_000) + ".bank.example.jp", "LONG")]))
        for index in 0..<1000 { try root.write("home/alice/Desktop/password-\(index).txt", "x") }
        let tmp = root.url("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let state = root.url("state")
        let signed = try Fixtures.run(
            CLITests.executable,
            [
                "scan", "--root", root.path, "--profiles", root.url("profiles").path,
                "--profile", "endpoint-bank", "--sign", "--state-dir", state.path,
                "--output", root.url("report.dsse.json").path
            ],
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": tmp.path])
        #expect(signed.status == 1, "\(signed.stderr)")
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: root.url("report.dsse.json"))) as? [String: Any])
        let payload = try #require(Data(base64Encoded: envelope["payload"] as? String ?? ""))
        #expect(payload.count < 512 * 1024, "the signed report is \(payload.count) bytes")
        let report = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])

        let credentials = try #require(Self.finding(report, "no-saved-passwords"))
        #expect(credentials["status"] as? String == "fail", "\(credentials)")
        let evidence = try #require(report["evidence"] as? [String: Any])
        let truncation = try #require(evidence["truncation"] as? [String: Any])
        let leftOut = truncation["left_out"] as? [String: Int] ?? [:]
        let saved = (evidence["credentials"] as? [String: Any])?["saved_logins"] as? [[String: String]] ?? []
        // The fixture's Chromium profile adds its own saved logins to the 20,002.
        #expect((leftOut["credentials.saved_logins"] ?? 0) + saved.count >= 20_002, "\(leftOut)")
        #expect(saved.count <= 200)
        #expect(leftOut["credentials.password_notes"] ?? 0 >= 800, "\(leftOut)")
        let origins = saved.compactMap { $0["origin"] }
        #expect(origins.contains("https://login.bank.example.jp"), "the bank's login is kept")
        #expect(origins.contains { $0.hasSuffix(".bank.example.jp/…") && $0.count < 2000 }, "the long bank origin is kept, shortened")
        #expect(truncation["kept_domains"] as? [String] == ["bank.example.jp"])
    }
}
