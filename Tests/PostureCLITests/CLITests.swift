import Foundation
import PostureTestSupport
import Testing

/// End-to-end tests of the built `posture` binary: exit statuses, JSON contract, error messages.
@Suite struct CLITests {
    static let executable = Fixtures.product("posture")

    static func posture(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        var env = ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
        env.merge(environment) { $1 }
        return try Fixtures.run(executable, arguments, environment: env)
    }

    static let profile = Fixtures.testBankProfile

    /// A small Debian root; `pending` adds a newer openssl to the index, `indexAge` ages it.
    static func debianRoot(pending: Bool, indexAge: TimeInterval = 3600) throws -> TemporaryRoot {
        try Fixtures.debianRoot(pending: pending, indexAge: indexAge)
    }

    @Test(arguments: [(false, 3600.0, Int32(0)), (true, 3600.0, Int32(1)), (false, 30 * 86400.0, Int32(3))])
    func scanExitStatusFollowsFindings(_ row: (Bool, Double, Int32)) throws {
        let root = try Self.debianRoot(pending: row.0, indexAge: row.1)
        let result = try Self.posture([
            "scan", "--root", root.path, "--profile", root.url("profiles/test-bank.yaml").path,
            "--format", "json"
        ])
        #expect(result.status == row.2, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["schema"] as? String == "posture.report/v1")
        let host = try #require(report["host"] as? [String: Any])
        #expect(host["hostname"] as? String == "banking-pc-01")
        #expect((host["machine_id_sha256"] as? String)?.count == 64)
        #expect(host["root"] as? String == URL(fileURLWithPath: root.path).resolvingSymlinksInPath().path)
        let evidence = try #require(report["evidence"] as? [String: Any])
        let os = try #require(evidence["os"] as? [String: Any])
        #expect(os["eol"] as? String == "2099-06-30")
        #expect(os["eol_source"] as? String == "/usr/share/distro-info/debian.csv")
        #expect(evidence.keys.contains("browsers"), "sections not yet collected are present as null")
        let packages = try #require(evidence["packages"] as? [String: Any])
        #expect((packages["pending_updates"] as? [Any])?.count == (row.0 ? 1 : 0))
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.count == 2)
        #expect(Set(findings[0].keys).isSuperset(of: ["profile", "requirement", "clause", "status", "consequence", "summary", "remedy"]))
    }

    /// The text report opens with one line per bank saying whether the PC keeps its cover, and
    /// lists each bank's failures before what passes.
    @Test(arguments: [
        (false, 3600.0, "KEEPS COVER", "nothing fails"), (true, 3600.0, "AT RISK", "1 exclusion clause(s) failing"),
        (false, 30 * 86400.0, "CANNOT TELL", "1 requirement(s) could not be confirmed")
    ])
    func textOutputSummarisesEachBankFirst(_ row: (Bool, Double, String, String)) throws {
        let root = try Self.debianRoot(pending: row.0, indexAge: row.1)
        let result = try Self.posture(["scan", "--root", root.path, "--profile", root.url("profiles/test-bank.yaml").path])
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let summary = try #require(lines.firstIndex { $0.hasPrefix("  \(row.2)") }, "\(result.stdout)")
        #expect(lines[summary].hasSuffix("(test-bank): \(row.3)"), "\(lines[summary])")
        let heading = try #require(lines.firstIndex { $0.contains("(test-bank)  ") }, "\(result.stdout)")
        #expect(summary < heading, "the summary comes before the details")
        let statuses = lines[heading...].dropFirst().filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }.map { $0.split(separator: " ").first ?? "" }
        #expect(
            statuses == statuses.sorted { ($0 == "FAIL" ? 0 : $0 == "unknown" ? 1 : 2) < ($1 == "FAIL" ? 0 : $1 == "unknown" ? 1 : 2) },
            "failures first: \(statuses)")
    }

    /// Names the PC's user controls (hostname, os-release) cannot move the cursor, retitle the
    /// terminal or forge a line of the report.
    @Test func textOutputEscapesControlCharacters() throws {
        let root = try Self.debianRoot(pending: true)
        try root.write("etc/hostname", "pc\u{1B}]0;owned\u{07}\n  PASS     forged line\n")
        let osRelease = try String(contentsOf: root.url("etc/os-release"), encoding: .utf8)
            .replacingOccurrences(of: "PRETTY_NAME=\"", with: "PRETTY_NAME=\"\u{1B}[2J\u{9B}\u{202E}")
        try root.write("etc/os-release", osRelease)
        let result = try Self.posture(["scan", "--root", root.path, "--profiles", root.url("profiles").path, "--profile", "test-bank"])
        #expect(result.status == 1)
        #expect(!result.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B || $0.value == 0x202E })
        #expect(result.stdout.contains("pc\\u{1b}]0;owned\\u{7}\\n  PASS     forged line"), "\(result.stdout)")
        #expect(result.stdout.contains("\\u{1b}[2J\\u{9b}\\u{202e}"))
        #expect(!result.stdout.split(separator: "\n").contains { $0.hasPrefix("  PASS     forged") })
    }

    @Test func textOutputNamesClauseVerdictAndRemedy() throws {
        let root = try Self.debianRoot(pending: true)
        let result = try Self.posture(["scan", "--root", root.path, "--profiles", root.url("profiles").path, "--profile", "test-bank"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("FAIL"))
        #expect(result.stdout.contains("2(1)A"))
        #expect(result.stdout.contains("openssl 3.0.15-1~deb12u1 → 3.0.17-1~deb12u2"))
        #expect(result.stdout.contains("apt-get upgrade"))
        #expect(!result.stdout.contains("\u{1B}["), "no colour when not a terminal")
        let japanese = try Self.posture(
            ["scan", "--root", root.path, "--profile", root.url("profiles/test-bank.yaml").path],
            environment: ["LANG": "ja_JP.UTF-8"])
        #expect(japanese.stdout.contains("不適合"))
        #expect(japanese.stdout.contains("ソフトウェア更新"))
    }

    @Test func withoutProfileTheAgentConfigChooses() throws {
        let root = try Self.debianRoot(pending: false)
        let config = try root.write("agent.yaml", "profiles: [test-bank]\n").path
        let result = try Self.posture([
            "scan", "--root", root.path, "--profiles", root.url("profiles").path, "--config", config,
            "--format", "json"
        ])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let profiles = Set((report["findings"] as? [[String: Any]] ?? []).compactMap { $0["profile"] as? String })
        #expect(profiles == ["test-bank"])
    }

    @Test func outputFileIsWritten() throws {
        let root = try Self.debianRoot(pending: false)
        let out = root.url("out/report.json")
        try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        let result = try Self.posture([
            "scan", "--root", root.path, "--profile", root.url("profiles/test-bank.yaml").path,
            "--format", "json", "--output", out.path
        ])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("wrote the report to \(out.path): 2 pass across 1 profile(s)"), "\(result.stderr)")
        #expect(try Data(contentsOf: out).count > 100)
    }

    /// The HTML report shows commands as code, the time in the bank's zone beside UTC, and the
    /// bank's own title for its rule.
    @Test func htmlShowsCodeLocalTimeAndTheRulesTitle() throws {
        let root = try Self.debianRoot(pending: true)
        let result = try Self.posture([
            "scan", "--root", root.path, "--profile", root.url("profiles/test-bank.yaml").path,
            "--profile", "iyogin-internet-eb", "--format", "html"
        ])
        #expect(result.status == 1, "\(result.stderr)")
        let page = result.stdout
        #expect(page.contains("<code>sudo apt-get update &amp;&amp; sudo apt-get upgrade</code>"), "commands as code")
        #expect(!page.contains("`"), "no literal backticks")
        #expect(
            page.range(of: #"\d{4}-\d\d-\d\d \d\d:\d\d Asia/Tokyo \(\d{4}-\d\d-\d\dT"#, options: .regularExpression) != nil,
            "the collection time in the bank's zone, UTC beside it")
        #expect(page.contains("不正送金被害にかかる補償制度について"), "the rule's own title, not only its file name")
    }

    /// `--profile <TAB>` completes the bundled profile ids (the call the generated bash script makes).
    @Test func profileIdsComplete() throws {
        let all = try Self.posture(["---completion", "scan", "--", "--profile", "3", "0", "posture", "scan", "--profile", ""])
        #expect(all.stdout.split(separator: "\n").contains("iyogin-internet-eb"), "\(all.stdout) \(all.stderr)")
        let some = try Self.posture(["---completion", "assess", "--", "--profile", "3", "2", "posture", "assess", "--profile", "iy"])
        #expect(some.stdout == "iyogin-internet-eb\n", "\(some.stdout)")
    }

    /// A mistyped `--root` is named as the option, with the status of a missing input.
    @Test(arguments: [
        ("/nonexistent-root", Int32(66), "cannot read --root /nonexistent-root: No such file"),
        ("/etc/passwd", Int32(65), "--root /etc/passwd is not a directory")
    ])
    func aBadRootNamesTheOption(_ path: String, _ status: Int32, _ message: String) throws {
        let result = try Self.posture(["scan", "--root", path])
        #expect(result.status == status)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func damagedFilesInTheRootMakeThatProbeUnknownNotTheScanFail() throws {
        let root = try Self.debianRoot(pending: false)
        try root.write("var/lib/dpkg/status", "Package: dpkg\nStatus: install ok installed\nVersion: 1.2")
        try root.write("etc/os-release", "\u{0}\u{0}garbage")
        let result = try Self.posture([
            "scan", "--root", root.path, "--profile", root.url("profiles/test-bank.yaml").path,
            "--format", "json"
        ])
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stdout.contains("truncated"))
        #expect(result.stdout.contains("no ID= line"))
    }

    @Test func validateNamesFileAndLine() throws {
        let root = try TemporaryRoot()
        let good = try root.write("good.yaml", Self.profile)
        let unknownCheck = try root.write(
            "unknown-check.yaml",
            Self.profile.replacingOccurrences(of: "check: updates.none_pending", with: "check: updates.everything"))
        let syntax = try root.write("syntax.yaml", Self.profile.replacingOccurrences(of: "clause: \"2(1)A\"", with: "clause: \"2(1)A"))
        var result = try Self.posture(["profiles", "validate", good.path])
        #expect(result.status == 0)
        #expect(result.stdout.contains("ok"))
        result = try Self.posture(["profiles", "validate", unknownCheck.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("\(unknownCheck.path):14: unknown check 'updates.everything'"), "\(result.stderr)")
        result = try Self.posture(["profiles", "validate", syntax.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("\(syntax.path):"), "\(result.stderr)")
        #expect(result.stderr.contains("YAML syntax error"), "\(result.stderr)")
        result = try Self.posture(["profiles", "validate", root.url("missing.yaml").path])
        #expect(result.status == 66)
    }

    @Test func usageAndInputErrorsUseSysexits() throws {
        let root = try Self.debianRoot(pending: false)
        #expect(try Self.posture(["scan", "--root", root.path, "--profile", "no-such-bank"]).status == 66)
        #expect(try Self.posture(["scan", "--root", root.url("nope").path]).status == 66)
        #expect(try Self.posture(["scan", "--format", "yaml"]).status == 64)
        #expect(try Self.posture(["scan", "--no-such-flag"]).status == 64)
        let bad = try root.write("bad.yaml", "id: [")
        #expect(try Self.posture(["scan", "--root", root.path, "--profile", bad.path]).status == 65)
    }

    @Test func profilesListPrintsIdTabName() throws {
        let result = try Self.posture(["profiles", "list"])
        #expect(result.status == 0)
        let ids = result.stdout.split(separator: "\n").map { $0.split(separator: "\t").first.map(String.init) ?? "" }
        for id in ["akishin-corporate-ib", "higashi-nippon-business-ib", "iwagin-business-web", "iwaicosmo-net-trading", "iyogin-internet-eb"] {
            #expect(ids.contains(id))
        }
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.split(separator: "\t").count == 2 })
        let show = try Self.posture(["profiles", "show", "iyogin-internet-eb"])
        #expect(show.status == 0)
        #expect(show.stdout.contains("2(1)A"))
    }

    /// Scans this machine's own root with the bundled profiles.
    @Test func scansThisMachine() throws {
        let result = try Self.posture(["scan", "--format", "json"])
        #expect([0, 1, 3].contains(result.status), "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let evidence = try #require(report["evidence"] as? [String: Any])
        if let osRelease = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
            let idLine = osRelease.split(separator: "\n").first(where: { $0.hasPrefix("ID=") })
        {
            let os = try #require(evidence["os"] as? [String: Any])
            #expect(os["id"] as? String == String(idLine.dropFirst(3)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        }
        #expect((report["findings"] as? [Any])?.isEmpty == false)
    }

    /// The pending updates posture computes offline equal what `apt list --upgradable` prints.
    @Test func pendingUpdatesMatchApt() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/apt"),
            let lists = try? FileManager.default.contentsOfDirectory(atPath: "/var/lib/apt/lists"),
            lists.contains(where: { $0.contains("_Packages") })
        else { return }
        let apt = try Fixtures.run("/usr/bin/apt", ["list", "--upgradable"], environment: ["LANG": "C", "PATH": "/usr/bin:/bin"])
        var expected = Set<String>()
        for line in apt.stdout.split(separator: "\n") where line.contains("[upgradable from:") {
            let fields = line.split(separator: " ")
            expected.insert("\(fields[0].split(separator: "/")[0]) \(fields[1])")
        }
        let result = try Self.posture(["scan", "--format", "json", "--profile", "iyogin-internet-eb"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let packages = try #require((report["evidence"] as? [String: Any])?["packages"] as? [String: Any])
        let pending = try #require(packages["pending_updates"] as? [[String: Any]])
        let actual = Set(pending.map { "\($0["name"] as! String) \($0["candidate"] as! String)" })
        #expect(actual == expected)
    }
}
