import Foundation
import PostureTestSupport
import Testing

/// Scans of generated endpoints through the built binary: verdicts name their evidence, and no secret leaks.
@Suite struct EndpointScanTests {
    static let profile = """
        id: endpoint-bank
        name: {ja: "端末銀行", en: "Endpoint Bank"}
        source: {document: "001_x.txt", as_of: "2026-11-24"}
        requirements:
          - {id: antivirus-installed, clause: "1", consequence: exclusion, title: {ja: "導入", en: "AV installed"}, check: security_software.installed}
          - {id: antivirus-current, clause: "2", consequence: exclusion, title: {ja: "最新", en: "AV current"}, check: security_software.signatures_fresh, with: {max_age_days: 7}}
          - {id: password-age, clause: "3", consequence: reduction, title: {ja: "変更", en: "Passwords changed"}, check: accounts.password_age, with: {max_days: 90}}
          - {id: no-saved-passwords, clause: "4", consequence: exclusion, title: {ja: "保存なし", en: "No saved passwords"}, check: credentials.no_saved_bank_logins, with: {domains: [bank.example.jp]}}
          - {id: no-file-sharing, clause: "5", consequence: exclusion, title: {ja: "共有ソフトなし", en: "No file sharing"}, check: file_sharing.none_installed}
          - {id: browser-supported, clause: "6", consequence: exclusion, title: {ja: "ブラウザ", en: "Browser supported"}, check: browser.supported}
          - {id: no-autologin, clause: "7", consequence: exclusion, title: {ja: "自動ログインなし", en: "No autologin"}, check: access.no_autologin}
        """

    static let secrets = ["FFSECRETVALUE", "CRSECRETVALUE", "$6$SALTSECRET$HASHSECRET", "hunter2-secret-note"]

    /// An endpoint with every problem the profile looks for, and secrets planted where probes read.
    static func endpoint() throws -> TemporaryRoot {
        let root = try TemporaryRoot("endpoint")
        try root.write("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")
        try root.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n")
        try root.write(
            "etc/shadow",
            Fixtures.shadowLine(user: "root", hash: "!", daysAgo: 10) + "\n"
                + Fixtures.shadowLine(user: "alice", hash: secrets[2], daysAgo: 200) + "\n")
        try root.write(
            "var/lib/dpkg/status",
            Fixtures.dpkgStatus([
                .init("dpkg", "1.21.22"), .init("clamav", "1.0.9+dfsg-1~deb12u1"), .init("transmission-gtk", "3.00-2.1+deb12u1"),
                .init("firefox-esr", "102.15.0esr-1~deb12u1")
            ]))
        try root.write("var/lib/clamav/daily.cvd", Fixtures.clamavDatabase(built: "01 Oct 2026 04-26 -0500", version: 27800))
        try root.write(
            "home/alice/.mozilla/firefox/x1.default/logins.json",
            Fixtures.firefoxLogins([("https://www.ib.bank.example.jp", secrets[0])]))
        try Fixtures.chromiumLoginData(
            at: root.url("home/alice/.config/chromium/Default/Login Data"),
            [("https://login.bank.example.jp/", secrets[1], false)])
        try root.write("home/alice/Desktop/password.txt", secrets[3])
        try root.write("etc/lightdm/lightdm.conf", "[Seat:*]\nautologin-user=alice\n")
        try root.write("profiles/endpoint-bank.yaml", profile)
        try root.write(
            "profiles/catalog/security-software.yaml",
            """
            as_of: "2026-11-24"
            products:
              - {id: clamav, name: ClamAV, commercial: false, packages: [clamav], paths: [], processes: [clamd], signatures: {kind: clamav-cvd, paths: [var/lib/clamav]}}
            """)
        try root.write(
            "profiles/catalog/file-sharing.yaml",
            """
            as_of: "2026-11-24"
            clients:
              - {id: transmission, name: Transmission, packages: [transmission-gtk], binaries: [], flatpak: [], snap: [], windows_executables: []}
            """)
        try root.write(
            "profiles/catalog/browsers.yaml",
            """
            as_of: "2026-11-20"
            browsers:
              - {name: firefox-esr, packages: [firefox-esr], snap: [], flatpak: [], install_dirs: [], support: {source: "test calendar", lines: [{line: "102", eol: "2023-09-26"}, {line: "140", eol: "2026-09-15"}]}}
            """)
        return root
    }

    @Test func failingRequirementsNameTheExactEvidence() throws {
        let root = try Self.endpoint()
        let arguments = ["scan", "--root", root.path, "--profiles", root.url("profiles").path, "--profile", "endpoint-bank"]
        let text = try CLITests.posture(arguments)
        #expect(text.status == 1, "\(text.stderr)")
        for expected in [
            "clamav signatures are", "Password older than 90 days: alice (20", "chromium: https://login.bank.example.jp/",
            "firefox: https://www.ib.bank.example.jp", "/home/alice/Desktop/password.txt",
            "transmission (package transmission-gtk) 3.00-2.1+deb12u1", "firefox-esr 102.15.0esr-1~deb12u1",
            "support ended 2023-09-26", "release data: test calendar, as of 2026-11-20", "lightdm: alice"
        ] {
            #expect(text.stdout.contains(expected), "missing '\(expected)' in:\n\(text.stdout)")
        }
        let json = try CLITests.posture(arguments + ["--format", "json"])
        let japanese = try CLITests.posture(arguments, environment: ["LANG": "ja_JP.UTF-8"])
        for output in [text.stdout, json.stdout, japanese.stdout, text.stderr, json.stderr] {
            for secret in Self.secrets + ["MDoEEPgAAAA", "v10"] {
                #expect(!output.contains(secret), "secret '\(secret)' leaked")
            }
        }
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let findings = try #require(report["findings"] as? [[String: Any]])
        let failed = Set(findings.filter { $0["status"] as? String == "fail" }.compactMap { $0["requirement"] as? String })
        #expect(failed == ["antivirus-current", "password-age", "no-saved-passwords", "no-file-sharing", "browser-supported", "no-autologin"])
    }

    /// A package database cut off half-way (a bad sector, a copy interrupted) proves neither that no
    /// antivirus is installed nor that no file-sharing client is: both are unknown, with the reason.
    @Test func aDamagedPackageDatabaseGuessesNothing() throws {
        let root = try Self.endpoint()
        let status = try Data(contentsOf: root.url("var/lib/dpkg/status"))
        try root.write("var/lib/dpkg/status", status.prefix(status.count / 2))
        let json = try CLITests.posture([
            "scan", "--root", root.path, "--profiles", root.url("profiles").path,
            "--profile", "endpoint-bank", "--format", "json"
        ])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let findings = try #require(report["findings"] as? [[String: Any]])
        for requirement in ["antivirus-installed", "antivirus-current", "no-file-sharing", "browser-supported"] {
            let finding = try #require(findings.first { $0["requirement"] as? String == requirement })
            #expect(finding["status"] as? String == "unknown", "\(requirement): \(finding)")
            #expect((finding["summary"] as? String ?? "").contains("/var/lib/dpkg/status"), "\(requirement): \(finding)")
        }
    }

    /// As an unprivileged user /etc/shadow is unreadable: the verdict is unknown with the reason, exit 3, never a pass.
    @Test func unprivilegedScanSaysUnknownNotPass() throws {
        guard getuid() == 0, let runuser = Fixtures.tool("/usr/sbin/runuser", "/sbin/runuser") else { return }
        let root = try TemporaryRoot("unprivileged")
        try root.write(
            "password-age.yaml",
            """
            id: password-age
            name: {ja: "パスワード", en: "Password age"}
            source: {document: "x.txt", as_of: "2026-11-24"}
            requirements:
              - {id: password-age, clause: "1", consequence: reduction, title: {ja: "変更", en: "Changed"}, check: accounts.password_age, with: {include_root: true}}
            """)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.path)
        let arguments = ["scan", "--format", "json", "--profile", root.url("password-age.yaml").path]
        let asRoot = try CLITests.posture(arguments)
        #expect([0, 1].contains(asRoot.status), "root reads /etc/shadow: \(asRoot.stdout)")
        let asNobody = try Fixtures.run(
            runuser, ["-u", "nobody", "--", CLITests.executable] + arguments,
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"])
        #expect(asNobody.status == 3, "\(asNobody.stderr)")
        #expect(asNobody.stdout.contains("Permission denied"))
        #expect(asNobody.stdout.contains("run as root"))
    }

    /// The report contract (`posture.report/v1`) as fields: every key path a signed report of a
    /// richly populated PC carries (arrays as `[]`) equals `Tests/Support/contracts/report-v1.paths`.
    /// A field added on purpose is added to that file; a field lost fails here.
    @Test func theReportContractKeepsItsFields() throws {
        let root = try Self.endpoint()
        let many = (0..<250).map { (hostname: "https://site\($0).example.com", secret: "S\($0)") }
        try root.write("home/alice/.mozilla/firefox/x2.default/logins.json", Fixtures.firefoxLogins(many))
        let state = root.url("state")
        let result = try CLITests.posture([
            "scan", "--root", root.path, "--profiles", root.url("profiles").path, "--profile", "endpoint-bank",
            "--sign", "--state-dir", state.path
        ])
        #expect(result.status == 1, "\(result.stderr)")
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let payload = try #require(Data(base64Encoded: envelope["payload"] as? String ?? ""))
        let report = try JSONSerialization.jsonObject(with: payload)
        let (added, lost) = try ContractPaths.compare(
            report, with: "report-v1.paths",
            keyedByData: [
                "evidence.unavailable", "evidence.truncation.left_out", "evidence.os.support", "reference.catalogs"
            ])
        #expect(added == [], "fields not in the contract sample: add them on purpose")
        #expect(lost == [], "fields of the contract the report lost")
    }
}
