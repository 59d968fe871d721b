import Foundation
import PostureTestSupport
import Testing

/// The integrity engine against dpkg itself, on generated roots and on this machine.
@Suite struct IntegrityTests {
    /// A root with installed packages and every kind of tampering planted.
    static func tamperedRoot() throws -> TemporaryRoot {
        let root = try TemporaryRoot("integrity")
        try root.makeDirectory("usr/bin")
        try root.symlink("bin", to: "usr/bin")
        try Fixtures.install(
            [
                FakePackage(
                    "coreutils",
                    files: [
                        ("/bin/ls", "ls binary\n", 0o755), ("/usr/bin/cat", "cat binary\n", 0o755),
                        ("/usr/bin/head", "head binary\n", 0o755), ("/usr/share/doc/coreutils/README", "docs\n", 0o644)
                    ],
                    directories: ["/usr", "/usr/bin", "/usr/share", "/usr/share/doc", "/usr/share/doc/coreutils"]),
                FakePackage(
                    "openssh-server", files: [("/usr/sbin/sshd", "sshd binary\n", 0o755)],
                    conffiles: [("/etc/ssh/sshd_config", "PermitRootLogin no\n"), ("/etc/ssh/moduli", "moduli\n")]),
                FakePackage("dash", files: [("/usr/share/man/man1/sh.1.gz", "dash man\n", 0o644)]),
                FakePackage(
                    "man-db",
                    files: [
                        ("/usr/share/man/man1/sh.distrib.1.gz", "original man\n", 0o644),
                        ("/usr/lib/x86_64-linux-gnu/libman.so.1", "libman\n", 0o644)
                    ],
                    directories: ["/usr/lib/emptydir"])
            ], into: root, diversions: [("/usr/share/man/man1/sh.1.gz", "/usr/share/man/man1/sh.distrib.1.gz", "dash")])
        // Tampering the package database can see.
        try root.write("usr/bin/ls", "trojaned ls\n")  // modified (listed as /bin/ls, merged /usr)
        try root.write("usr/bin/head", "head")  // truncated
        try FileManager.default.removeItem(at: root.url("usr/bin/cat"))  // deleted
        try root.write("etc/ssh/sshd_config", "PermitRootLogin yes\n")  // changed conffile
        try FileManager.default.removeItem(at: root.url("etc/ssh/moduli"))  // deleted conffile
        try root.write("usr/share/man/man1/sh.distrib.1.gz", "tampered diverted file\n")
        try FileManager.default.removeItem(at: root.url("usr/lib/emptydir"))
        // Tampering beyond it.
        let backdoor = try root.write("usr/bin/backdoor", "#!/bin/sh\nnc -l 4444\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o4755], ofItemAtPath: backdoor.path)
        try root.write("usr/lib/x86_64-linux-gnu/libhook.so", "ELF hook")
        try root.write("usr/lib/modules/6.1.0-test/extra/rootkit.ko", "module")
        try root.write("etc/ld.so.preload", "/usr/lib/x86_64-linux-gnu/libhook.so\n")
        try root.write("etc/hostname", "banking-pc\n")
        try root.write(
            "etc/hosts",
            """
            127.0.0.1\tlocalhost
            127.0.1.1\tbanking-pc
            ::1     localhost ip6-localhost ip6-loopback
            ff02::1 ip6-allnodes
            203.0.113.66 www.ib.bank.example.jp login.bank.example.jp
            """)
        return root
    }

    static func dpkgVerify(_ root: TemporaryRoot) throws -> Set<String>? {
        guard let dpkg = Fixtures.tool("/usr/bin/dpkg") else { return nil }
        let result = try Fixtures.run(dpkg, ["--root=\(root.path)", "--verify"], environment: ["PATH": "/usr/bin:/bin", "LANG": "C"])
        return Set(result.stdout.split(separator: "\n").map(String.init))
    }

    @Test func findingsEqualDpkgVerifyOnATamperedRoot() throws {
        let root = try Self.tamperedRoot()
        let result = try CLITests.posture(["integrity", "--root", root.path])
        #expect(result.status == 1, "\(result.stderr)")
        let ours = Set(result.stdout.split(separator: "\n").map(String.init))
        let expected: Set<String> = [
            "??5??????   /bin/ls", "??5??????   /usr/bin/head", "missing     /usr/bin/cat",
            "??5?????? c /etc/ssh/sshd_config", "missing   c /etc/ssh/moduli", "missing     /usr/lib/emptydir",
            "??5??????   /usr/share/man/man1/sh.distrib.1.gz"
        ]
        #expect(ours == expected, "\(ours.symmetricDifference(expected))")
        if let dpkg = try Self.dpkgVerify(root) {
            #expect(ours == dpkg, "differs from dpkg --verify: \(ours.symmetricDifference(dpkg))")
        }
    }

    @Test func scanReportsTamperingBeyondThePackageDatabase() throws {
        let root = try Self.tamperedRoot()
        // Found by a walk that reads the status of regular files only: a set-id program under
        // /opt counts, its plain neighbour does not; links, FIFOs and data files never count, and
        // nothing opens the FIFO (a writer waiting on it would be released).
        let helper = try root.write("opt/vendor/bin/helper", "#!/bin/sh\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o4755], ofItemAtPath: helper.path)
        let tool = try root.write("opt/vendor/bin/tool", "#!/bin/sh\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool.path)
        try root.symlink("usr/bin/backdoor-link", to: "backdoor")
        try root.write("usr/bin/notes.txt", "data\n")
        #expect(mkfifo(root.url("usr/bin/fifo").path, 0o755) == 0)
        let watch = try OpenWatch([root.url("usr/bin/fifo").path])
        let ca = try Self.makeCertificate(root, subject: "/CN=Evil Interception CA/O=Attacker")
        try root.write("usr/local/share/ca-certificates/evil.crt", ca)
        try root.write(
            "profiles/p.yaml",
            """
            id: p
            name: {ja: "p", en: "p"}
            source: {document: "x.txt", as_of: "2026-11-24"}
            requirements:
              - {id: files, clause: "1", consequence: exclusion, title: {ja: "a", en: "a"}, check: integrity.no_modified_system_files}
              - {id: unowned, clause: "2", consequence: exclusion, title: {ja: "b", en: "b"}, check: integrity.no_unowned_executables}
              - {id: hooks, clause: "3", consequence: exclusion, title: {ja: "c", en: "c"}, check: integrity.no_interception, with: {domains: [bank.example.jp]}}
            """)
        let result = try CLITests.posture(["scan", "--root", root.path, "--profile", root.url("profiles/p.yaml").path, "--format", "json"])
        #expect(result.status == 1, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let integrity = try #require((report["evidence"] as? [String: Any])?["integrity"] as? [String: Any])
        let unowned = (integrity["unowned_executables"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        #expect(
            Set(unowned) == [
                "/usr/bin/backdoor", "/usr/lib/x86_64-linux-gnu/libhook.so", "/usr/lib/modules/6.1.0-test/extra/rootkit.ko", "/opt/vendor/bin/helper"
            ])
        for path in ["/usr/bin/backdoor", "/opt/vendor/bin/helper"] {
            #expect((integrity["unowned_executables"] as? [[String: Any]])?.first { $0["path"] as? String == path }?["setid"] as? Bool == true)
        }
        #expect(watch.opened().isEmpty, "opened: \(watch.opened())")
        #expect(integrity["ld_so_preload"] as? [String] == ["/usr/lib/x86_64-linux-gnu/libhook.so"])
        let hosts = (integrity["hosts_overrides"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(hosts == ["www.ib.bank.example.jp", "login.bank.example.jp"])
        let cas = integrity["extra_ca_certificates"] as? [[String: Any]] ?? []
        #expect(cas.count == 1)
        #expect((cas.first?["subject"] as? String)?.contains("Evil Interception CA") == true)
        #expect((cas.first?["sha256"] as? String)?.count == 64)
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.allSatisfy { $0["status"] as? String == "fail" })
    }

    @Test func scanReportsCertificatesAddedToBrowserNSSDatabases() throws {
        let root = try Self.tamperedRoot()
        let evil = try Self.makeCertificate(root, subject: "/CN=Evil Interception CA/O=Attacker")
        let peer = try Self.makeCertificate(root, subject: "/CN=www.ib.bank.example.jp")
        let clientCA = try Self.makeCertificate(root, subject: "/CN=Client Auth CA")
        let plain = try Self.makeCertificate(root, subject: "/CN=Cached Intermediate")
        let firefox = "home/alice/.mozilla/firefox/abcd1234.default-release"
        try Fixtures.nssDatabase(
            at: root.url(firefox),
            [
                ("evil", evil, "C,,"), ("peer", peer, "P,,"),
                ("client", clientCA, "T,,"), ("plain", plain, ",,")
            ])
        try Fixtures.nssDatabase(at: root.url("home/alice/.pki/nssdb"), [])
        // Trust kept as PKCS #11 3.2 trust objects (CKO_TRUST, CKA_TRUST_SERVER_AUTH), as newer NSS can.
        let snap = "home/bob/snap/firefox/common/.mozilla/firefox/x1.default"
        try Fixtures.nssDatabase(at: root.url(snap), [("evil", evil, "C,,")])
        let sqlite = try #require(Fixtures.tool("/usr/bin/sqlite3"))
        let converted = try Fixtures.run(
            sqlite, [root.url(snap + "/cert9.db").path],
            input: Data(
                """
                ALTER TABLE nssPublic ADD COLUMN a62c;
                UPDATE nssPublic SET a0 = X'0000000B', a62c = X'00000002', ace536358 = NULL WHERE hex(a0) = 'CE534353';
                """.utf8))
        #expect(converted.status == 0, "\(converted.stderr)")
        try root.write("home/carol/.mozilla/firefox/zz.default/cert9.db", "not a database")

        let result = try CLITests.posture(["scan", "--root", root.path, "--format", "json", "--state-dir", root.url("state").path])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
        let integrity = try #require((report["evidence"] as? [String: Any])?["integrity"] as? [String: Any])
        let found = Set((integrity["extra_ca_certificates"] as? [[String: String]] ?? []).map { [$0["path"] ?? "", $0["subject"] ?? "", $0["sha256"] ?? ""] })
        let evilSubject = try #require(found.first { $0[0] == "/\(firefox)/cert9.db" && $0[1].contains("Evil") }?[1])
        let peerSubject = try #require(found.first { $0[1].contains("www.ib.bank.example.jp") }?[1])
        let expected: Set<[String]> = [
            ["/\(firefox)/cert9.db", evilSubject, try Self.fingerprint(root, evil)],
            ["/\(firefox)/cert9.db", peerSubject, try Self.fingerprint(root, peer)],
            ["/\(snap)/cert9.db", evilSubject, try Self.fingerprint(root, evil)]
        ]
        #expect(found == expected, "\(found.symmetricDifference(expected))")
        let unreadable = integrity["unreadable_certificate_stores"] as? [[String: String]] ?? []
        #expect(unreadable.count == 1, "\(unreadable)")
        #expect(unreadable.first?["path"] == "/home/carol/.mozilla/firefox/zz.default/cert9.db")
        #expect(unreadable.first?["reason"]?.isEmpty == false)
    }

    /// SHA-256 of a PEM certificate's DER, as `openssl x509 -fingerprint` prints it (lower-case, no colons).
    static func fingerprint(_ root: TemporaryRoot, _ pem: String) throws -> String {
        let file = try root.write("fingerprint.pem", pem)
        let result = try Fixtures.run("/usr/bin/openssl", ["x509", "-noout", "-fingerprint", "-sha256", "-in", file.path])
        return String(result.stdout.split(separator: "=").last ?? "").replacingOccurrences(of: ":", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    static func makeCertificate(_ root: TemporaryRoot, subject: String) throws -> String {
        guard let openssl = Fixtures.tool("/usr/bin/openssl") else { throw CocoaError(.fileNoSuchFile) }
        let key = root.url("ca.key").path, cert = root.url("ca.pem").path
        let result = try Fixtures.run(
            openssl,
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", cert, "-days", "30", "-subj", subject
            ])
        #expect(result.status == 0, "\(result.stderr)")
        return try String(contentsOfFile: cert, encoding: .utf8)
    }

    @Test func incrementalRescanTrustsOnlyUnchangedFilesAndASealedCache() throws {
        let root = try Self.tamperedRoot()
        let state = root.url("state").path
        Fixtures.letFilesSettle()
        let written = Date()
        try Data("sshd binary\n".utf8).write(to: root.url("usr/sbin/sshd"))
        let first = try CLITests.posture(["integrity", "--root", root.path, "--state-dir", state])
        #expect(first.stderr.contains("full"))
        // A file written this instant is hashed, its digest not kept: within one clock tick it could
        // change again and keep its identity (checked while the run is quick enough to tell).
        if Date().timeIntervalSince(written) < 1.5 {
            let racy = try Self.integrityRun(root, state: state)
            #expect(racy.fromCache == racy.checked - 1 && racy.lines == Set(first.stdout.split(separator: "\n").map(String.init)), "\(racy.stderr)")
        }
        Fixtures.letFilesSettle()
        _ = try CLITests.posture(["integrity", "--root", root.path, "--state-dir", state])
        let second = try CLITests.posture(["integrity", "--root", root.path, "--state-dir", state])
        #expect(second.stderr.contains("incremental"), "\(second.stderr)")
        #expect(second.stderr.contains("8 unchanged per cache"), "\(second.stderr)")
        #expect(second.stdout == first.stdout)
        let keyMode = try FileManager.default.attributesOfItem(atPath: state + "/integrity-cache.key")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)

        // A package's list rewritten this instant (same bytes, a new ctime): the package is read
        // again, and its records are not kept until the list has settled.
        let listWritten = Date()
        let dashList = root.url("var/lib/dpkg/info/dash.list")
        try Data(contentsOf: dashList).write(to: dashList)
        let reread = try Self.integrityRun(root, state: state)
        #expect(reread.fromCache == reread.checked - 1, "\(reread.stderr)")
        if Date().timeIntervalSince(listWritten) < 1.5 {
            let next = try Self.integrityRun(root, state: state)
            #expect(next.fromCache == next.checked - 1, "\(next.stderr)")
        }

        // Same size, and mtime put back: the inode's ctime still gives the change away.
        let sshd = root.url("usr/sbin/sshd")
        let mtime = try FileManager.default.attributesOfItem(atPath: sshd.path)[.modificationDate] as! Date
        try Data("SSHD binary\n".utf8).write(to: sshd)
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: sshd.path)
        Fixtures.letFilesSettle()
        let third = try CLITests.posture(["integrity", "--root", root.path, "--state-dir", state])
        #expect(third.stdout.contains("??5??????   /usr/sbin/sshd"), "\(third.stdout)")
        // The re-hashed file's new digest is kept: the next run takes everything from the cache.
        let settled = try Self.integrityRun(root, state: state)
        #expect(settled.lines == Set(third.stdout.split(separator: "\n").map(String.init)))
        #expect(settled.fromCache == settled.checked && settled.checked == 8, "\(settled.stderr)")

        // A tampered cache is thrown away, never believed.
        var cache = try Data(contentsOf: URL(fileURLWithPath: state + "/integrity-cache.bin"))
        cache[cache.count / 2] ^= 0xFF
        try cache.write(to: URL(fileURLWithPath: state + "/integrity-cache.bin"))
        let fourth = try CLITests.posture(["integrity", "--root", root.path, "--state-dir", state])
        #expect(fourth.stderr.contains("discarded"), "\(fourth.stderr)")
        #expect(fourth.stderr.contains("full"))
        #expect(fourth.stdout == third.stdout)
        // So is a truncated one, and an empty one.
        for size in [100, 0] {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: state + "/integrity-cache.bin"))
            try handle.truncate(atOffset: UInt64(size))
            try handle.close()
            let truncated = try CLITests.posture(["integrity", "--root", root.path, "--state-dir", state])
            #expect(truncated.stderr.contains("discarded") && truncated.stderr.contains("full"), "\(truncated.stderr)")
            #expect(truncated.stdout == third.stdout)
        }

        let forced = try CLITests.posture(["integrity", "--root", root.path, "--state-dir", state, "--full"])
        #expect(forced.stderr.contains("(0 unchanged per cache, full)"), "\(forced.stderr)")
    }

    /// One `posture integrity` run with a state directory: its lines, and the counts it printed.
    static func integrityRun(_ root: TemporaryRoot, state: String, extra: [String] = []) throws
        -> (lines: Set<String>, checked: Int, fromCache: Int, stderr: String)
    {
        let result = try CLITests.posture(["integrity", "--root", root.path, "--state-dir", state] + extra)
        let numbers = result.stderr.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return (
            Set(result.stdout.split(separator: "\n").map(String.init)), numbers.first ?? -1,
            numbers.dropFirst().first ?? -1, result.stderr
        )
    }

    @Test func incrementalRescanNeverTrustsAChangedPackageEntry() throws {
        let root = try Self.tamperedRoot()
        let state = root.url("state").path
        Fixtures.letFilesSettle()
        _ = try Self.integrityRun(root, state: state)
        let warm = try Self.integrityRun(root, state: state)
        #expect(warm.stderr.contains("incremental") && warm.fromCache == warm.checked, "\(warm.stderr)")

        // The md5sums file now records another hash for an unchanged file (same size, mtime put back:
        // the new ctime gives it away), the status file another conffile hash, and a list one more path.
        let md5sums = root.url("var/lib/dpkg/info/coreutils.md5sums")
        let mtime = try FileManager.default.attributesOfItem(atPath: md5sums.path)[.modificationDate] as! Date
        let readme = try Fixtures.md5("docs\n"), other = try Fixtures.md5("DOCS\n")
        let text = try String(contentsOf: md5sums, encoding: .utf8)
        try Data(text.replacingOccurrences(of: readme, with: other).utf8).write(to: md5sums)
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: md5sums.path)
        let status = try String(contentsOfFile: root.url("var/lib/dpkg/status").path, encoding: .utf8)
        try root.write(
            "var/lib/dpkg/status",
            status.replacingOccurrences(
                of: try Fixtures.md5("PermitRootLogin no\n"), with: try Fixtures.md5("PermitRootLogin yes\n")))
        let list = try String(contentsOfFile: root.url("var/lib/dpkg/info/dash.list").path, encoding: .utf8)
        try root.write("var/lib/dpkg/info/dash.list", list + "/usr/share/man/man1/dash.1.gz\n")

        Fixtures.letFilesSettle()
        let changed = try Self.integrityRun(root, state: state)
        #expect(changed.stderr.contains("incremental"), "\(changed.stderr)")
        #expect(changed.lines.contains("??5??????   /usr/share/doc/coreutils/README"))
        #expect(!changed.lines.contains { $0.hasSuffix("/etc/ssh/sshd_config") })
        #expect(changed.lines.contains("missing     /usr/share/man/man1/dash.1.gz"))
        // Only the unchanged package (man-db) came from the cache.
        #expect(changed.fromCache == 2, "\(changed.stderr)")
        if let dpkg = try Self.dpkgVerify(root) {
            #expect(changed.lines == dpkg, "differs from dpkg --verify: \(changed.lines.symmetricDifference(dpkg))")
        }
        // What was re-hashed is cached again.
        let again = try Self.integrityRun(root, state: state)
        #expect(again.lines == changed.lines)
        #expect(again.fromCache == again.checked, "\(again.stderr)")

        // A new diversion changes what every package's paths mean: everything is re-hashed.
        try root.write("usr/share/doc/coreutils/README.real", "docs\n")
        let diversions = try String(contentsOfFile: root.url("var/lib/dpkg/diversions").path, encoding: .utf8)
        try root.write(
            "var/lib/dpkg/diversions",
            diversions
                + "/usr/share/doc/coreutils/README\n/usr/share/doc/coreutils/README.real\n:\n")
        let diverted = try Self.integrityRun(root, state: state)
        #expect(diverted.stderr.contains("full"), "\(diverted.stderr)")
        if let dpkg = try Self.dpkgVerify(root) {
            #expect(diverted.lines == dpkg, "differs from dpkg --verify: \(diverted.lines.symmetricDifference(dpkg))")
        }
    }

    @Test func aKilledRunsTemporaryCacheIsRemoved() throws {
        let root = try Self.tamperedRoot()
        let state = root.url("state").path
        let finished = try Fixtures.run("/bin/sh", ["-c", "echo $$"])
        let dead = try #require(Int32(finished.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let alive = ProcessInfo.processInfo.processIdentifier
        try root.write("state/integrity-cache.bin.tmp-\(dead)", "half a cache")
        try root.write("state/integrity-cache.bin.tmp-\(alive)", "another run's cache in progress")
        _ = try Self.integrityRun(root, state: state)
        #expect(!FileManager.default.fileExists(atPath: state + "/integrity-cache.bin.tmp-\(dead)"))
        #expect(FileManager.default.fileExists(atPath: state + "/integrity-cache.bin.tmp-\(alive)"))
    }

    @Test func aCacheMadeForAnotherRootIsNotUsed() throws {
        let root = try Self.tamperedRoot(), other = try Self.tamperedRoot()
        let state = root.url("state").path
        _ = try Self.integrityRun(root, state: state)
        let elsewhere = try Self.integrityRun(other, state: state)
        #expect(elsewhere.stderr.contains("another root") && elsewhere.fromCache == 0, "\(elsewhere.stderr)")
    }

    /// On this machine, the findings equal `dpkg --verify`'s, line for line, in a full run and in
    /// the incremental run after it.
    @Test func equalsDpkgVerifyOnThisMachine() throws {
        guard let dpkg = Fixtures.tool("/usr/bin/dpkg"), getuid() == 0 else { return }
        let state = try TemporaryRoot("integrity-state")
        let reference = try Fixtures.run(dpkg, ["--verify"], environment: ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C"])
        let expected = Set(reference.stdout.split(separator: "\n"))
        for mode in ["full", "incremental"] {
            let ours = try CLITests.posture(["integrity", "--state-dir", state.path])
            #expect(ours.stderr.contains(mode), "\(ours.stderr)")
            let lines = Set(ours.stdout.split(separator: "\n"))
            #expect(lines == expected, "\(mode): \(lines.symmetricDifference(expected))")
        }
    }
}
