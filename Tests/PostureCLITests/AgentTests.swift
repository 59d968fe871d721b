import Foundation
import PostureModel
import PostureProbes
import PostureTestSupport
import Testing

@testable import PostureAgent

/// The agent, `upload` and `status` against a real HTTPS collector on loopback.
@Suite(.serialized) struct AgentTests {
    static let pki = Result { try TestPKI() }

    struct Setup {
        let root: TemporaryRoot
        let server: LoopbackProcess
        let config: String
        var state: String { root.url("state").path }

        func agent(_ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
            try CLITests.posture(["agent", "--once", "--config", config, "--root", root.path, "--profiles", root.url("profiles").path] + extra)
        }

        func status() throws -> [String: Any] {
            let result = try CLITests.posture(["status", "--config", config, "--format", "json"])
            return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        }

        /// Report ids in the journal, in chain order.
        func journalIDs() throws -> [String] {
            try CLITests.posture(["journal", "list", "--config", config]).stdout.split(separator: "\n").map { String($0.split(separator: "\t")[2]) }
        }

        /// Report ids the server stored, in arrival order.
        func serverIDs() -> [String] {
            server.entries().compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["key"] as? String }
        }
    }

    static func setup(_ serverArguments: [String] = []) throws -> Setup {
        let pki = try pki.get()
        let root = try CLITests.debianRoot(pending: false)
        let server = try LoopbackProcess(script: "collector.py", arguments: ["--cert", pki.serverCertificate, "--key", pki.serverKey] + serverArguments)
        let config = try root.write(
            "agent.yaml",
            """
            # test agent
            state_dir: \(root.url("state").path)
            profiles: [test-bank]
            schedule: {interval: 1h, jitter: 0s}
            upload:
              url: https://127.0.0.1:\(server.port)/v1/reports
              ca_file: \(pki.caCertificate)
              timeout: 5s
            """
        ).path
        return Setup(root: root, server: server, config: config)
    }

    @Test func retriesUntilDeliveredAndKeepsOrder() throws {
        let setup = try Self.setup(["--fail-first", "2"])
        for _ in 0..<3 { #expect(try setup.agent().status == 75, "the server is failing: reports stay queued") }
        var status = try setup.status()
        #expect(status["queue_length"] as? Int == 3)
        #expect((status["last_delivery"] as? [String: Any])?["error"] as? String == "HTTP 503 from https://127.0.0.1:\(setup.server.port)/v1/reports")
        #expect(try CLITests.posture(["upload", "--config", setup.config]).status == 75, "second request fails too")
        let upload = try CLITests.posture(["upload", "--config", setup.config])
        #expect(upload.status == 0, "\(upload.stdout)")
        #expect(upload.stdout.contains("delivered 3"))
        status = try setup.status()
        #expect(status["queue_length"] as? Int == 0)
        #expect(setup.serverIDs() == (try setup.journalIDs()), "every report once, in chain order")
    }

    /// A home holding a `Login Data` whose `logins` is a view over an endless recursive query (made
    /// by sqlite3): every cycle still ends, signs and delivers its report, with the credentials
    /// evidence unavailable and the reason named.
    @Test func aCraftedLoginDataDoesNotStopTheCycles() throws {
        let setup = try Self.setup()
        try setup.root.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n")
        try HostileHomeTests.sqlite(setup.root.url("home/alice/.config/chromium/Default/Login Data"), HostileHomeTests.hostileLoginData[1].sql)
        for cycle in 1...2 {
            let started = Date()
            let result = try setup.agent()
            #expect(result.status == 0, "cycle \(cycle): \(result.stderr)")
            #expect(Date().timeIntervalSince(started) < 60, "cycle \(cycle) took \(Date().timeIntervalSince(started)) s")
        }
        #expect(setup.serverIDs().count == 2, "both cycles delivered")
        let export = try CLITests.posture(["journal", "export", "--config", setup.config])
        let envelopes = export.stdout.split(separator: "\n")
        #expect(envelopes.count == 2)
        for line in envelopes {
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let payload = try #require(Data(base64Encoded: envelope["payload"] as? String ?? ""))
            let report = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
            let reason = ((report["evidence"] as? [String: Any])?["unavailable"] as? [String: String])?["credentials"] ?? ""
            #expect(reason.contains("Login Data") && reason.contains("view"), "\(reason)")
        }
    }

    /// libcurl (and the TLS, Kerberos and LDAP libraries it brings) is mapped only by a verb that
    /// uploads: the dynamic loader's own trace (LD_DEBUG=files) lists every library it opens.
    @Test func onlyAnUploadLoadsLibcurl() throws {
        let setup = try Self.setup()
        let trace = ["LD_DEBUG": "files"]
        let scan = try CLITests.posture(
            [
                "scan", "--config", setup.config, "--root", setup.root.path,
                "--profiles", setup.root.url("profiles").path, "--state-dir", setup.state
            ], environment: trace)
        #expect(scan.stderr.contains("file=libc.so.6"), "the loader's trace is there: \(scan.stderr.prefix(400))")
        #expect(!scan.stderr.contains("libcurl"), "scan maps no libcurl")
        let cycle = try CLITests.posture(
            [
                "agent", "--once", "--config", setup.config, "--root", setup.root.path,
                "--profiles", setup.root.url("profiles").path
            ], environment: trace)
        #expect(cycle.status == 0)
        #expect(cycle.stderr.contains("file=libcurl.so.4"), "the cycle loads libcurl when it uploads its report")
        #expect(setup.serverIDs().count == 1)
    }

    @Test func permanentRejectionGoesToDeadLetters() throws {
        let setup = try Self.setup(["--status", "400"])
        #expect(try setup.agent().status == 0, "a dead letter is not queued")
        let status = try setup.status()
        #expect(status["dead_letters"] as? Int == 1)
        #expect(status["queue_length"] as? Int == 0)
        #expect(((status["last_delivery"] as? [String: Any])?["error"] as? String)?.contains("HTTP 400") == true)
        let text = try CLITests.posture(["status", "--config", setup.config])
        #expect(text.stdout.contains("dead letters:   1"))
    }

    /// 413 is its own loud state (exit 65, an error event, "refused as too large"); a redirect is retried.
    @Test func tooLargeIsLoudAndRedirectsAreRetried() throws {
        let large = try Self.setup(["--status", "413"])
        let refused = try large.agent()
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("event=delivery.too_large"), "\(refused.stderr)")
        let status = try large.status()
        #expect(status["dead_letters"] as? Int == 1)
        #expect(((status["last_delivery"] as? [String: Any])?["error"] as? String)?.hasPrefix("refused as too large (HTTP 413") == true, "\(status)")
        for code in ["302", "307"] {
            let moved = try Self.setup(["--status", code])
            #expect(try moved.agent().status == 75, "HTTP \(code) is retried, not a dead letter")
            let queued = try moved.status()
            #expect(queued["queue_length"] as? Int == 1)
            #expect(queued["dead_letters"] as? Int == 0)
        }
    }

    @Test func throttlingIsRetriedLater() throws {
        let setup = try Self.setup(["--throttle-first", "1"])
        #expect(try setup.agent().status == 75)
        #expect(((try setup.status())["last_delivery"] as? [String: Any])?["result"] as? String == "retry")
        #expect(try CLITests.posture(["upload", "--config", setup.config]).status == 0)
    }

    // Found by review after fuzzing found the same trap in the ClamAV reader: Foundation's
    // DateFormatter traps on some non-ASCII text, and a server's Retry-After header went to it
    // as received, so one header could stop the daemon.
    @Test func retryAfterDatesThatAreNotASCIIAreIgnored() {
        #expect(Deliverer.httpDate("Sun\u{7F1}") == nil)
        #expect(Deliverer.httpDate("Sun, 06 Nov 1994 08:49:37 GMT\u{7F1}") == nil)
        #expect(Deliverer.httpDate("Sun, 06 Nov 1994 08:49:37 GMT") == Date(timeIntervalSince1970: 784_111_777))
    }

    @Test func withoutUploadTargetReportsAreJournaledOnly() throws {
        let root = try CLITests.debianRoot(pending: false)
        let config = try root.write("agent.yaml", "state_dir: \(root.url("state").path)\nprofiles: [test-bank]\n").path
        let result = try CLITests.posture(["agent", "--once", "--config", config, "--root", root.path, "--profiles", root.url("profiles").path])
        #expect(result.status == 0)
        #expect(result.stderr.contains("no upload target configured"))
        #expect(try CLITests.posture(["upload", "--config", config]).stdout.contains("no upload target"))
        let status = try CLITests.posture(["status", "--config", config, "--format", "json"])
        #expect(status.stdout.contains("\"queue_length\" : 0"))
    }

    @Test func enrollmentSendsTheKeyOnceAndNeverStoresTheToken() throws {
        let setup = try Self.setup()
        let url = "https://127.0.0.1:\(setup.server.port)/v1/enroll"
        let tokenFile = try setup.root.write("token", "good-token\n").path
        let enrolled = try CLITests.posture(["enroll", "--url", url, "--token-file", tokenFile, "--config", setup.config])
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        #expect(enrolled.stdout.contains("contract C-1001"))
        #expect(enrolled.stdout.contains("receipts pinned to the collector key"))
        #expect(!enrolled.stderr.contains("warning"), "\(enrolled.stderr)")
        let sent = setup.server.entries().first ?? ""
        let publicKey = try String(contentsOfFile: setup.state + "/device.pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(sent.contains(publicKey))
        let again = try Fixtures.run(
            CLITests.executable, ["enroll", "--url", url, "--token-file", "-", "--config", setup.config],
            input: Data("good-token\n".utf8), environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"])
        #expect(again.status == 77, "a used token (read from standard input) is refused: \(again.stderr)")
        let stored = try FileManager.default.contentsOfDirectory(atPath: setup.state).compactMap {
            FileManager.default.contents(atPath: setup.state + "/" + $0)
        }
        #expect(!stored.contains { $0.range(of: Data("good-token".utf8)) != nil }, "the token is not kept")
        let unreachable = try CLITests.posture(["enroll", "--url", "https://127.0.0.1:1/v1/enroll", "--token", "t", "--config", setup.config])
        #expect(unreachable.status == 69)
        #expect(unreachable.stderr.contains("warning: --token shows the token to every user"), "argv works, with a warning")
        #expect(try CLITests.posture(["enroll", "--url", url, "--config", setup.config]).status == 64, "a token is required")
    }

    @Test func badConfigNamesFileAndLine() throws {
        let root = try TemporaryRoot()
        let config = try root.write("agent.yaml", "state_dir: /tmp/x\nupload:\n  url: https://example.invalid/\n  verify_tls: false\n").path
        let result = try CLITests.posture(["status", "--config", config])
        #expect(result.status == 65)
        #expect(result.stderr.contains("\(config):4: unknown key 'verify_tls'"), "\(result.stderr)")
        let plain = try root.write("plain.yaml", "upload: {url: http://collector.example/v1/reports}\n").path
        #expect(try CLITests.posture(["status", "--config", plain]).status == 65)
    }

    /// The agent is killed at random moments while the server fails a third of requests; in the
    /// end the server holds every journaled report exactly once, in order.
    @Test func noLossNoDuplicateUnderKillNine() async throws {
        let setup = try Self.setup(["--fail-every", "3"])
        for _ in 0..<10 {
            try await Fixtures.runAndKill(
                CLITests.executable,
                [
                    "agent", "--once", "--config", setup.config, "--root", setup.root.path,
                    "--profiles", setup.root.url("profiles").path
                ],
                window: 20_000_000...600_000_000)
        }
        var drained = false
        for _ in 0..<10 where !drained {
            drained = try CLITests.posture(["upload", "--config", setup.config]).status == 0
        }
        #expect(drained)
        let journal = try setup.journalIDs()
        let server = setup.serverIDs()
        #expect(!journal.isEmpty)
        #expect(server == journal, "server \(server.count) vs journal \(journal.count)")
        #expect(Set(server).count == server.count, "no duplicates")
    }

    /// The daemon tells systemd it is ready, reloads on SIGHUP and stops cleanly on SIGTERM.
    @Test func daemonSpeaksSdNotifyAndHandlesSignals() async throws {
        let setup = try Self.setup()
        let listener = try TemporaryRoot("notify")
        let socketPath = listener.url("notify.sock").path
        let notify = try NotifyListener.start(socket: socketPath, log: listener.url("messages").path)
        defer { kill(notify.processIdentifier, SIGKILL) }
        try await NotifyListener.waitForSocket(socketPath)

        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: CLITests.executable)
        daemon.arguments = ["agent", "--config", setup.config, "--root", setup.root.path, "--profiles", setup.root.url("profiles").path]
        daemon.environment = ["NOTIFY_SOCKET": socketPath, "WATCHDOG_USEC": "2000000", "PATH": "/usr/bin:/bin"]
        let errors = Pipe()
        daemon.standardError = errors
        daemon.standardOutput = FileHandle.nullDevice
        try daemon.run()
        func messages() -> String { (try? String(contentsOf: listener.url("messages"), encoding: .utf8)) ?? "" }
        for _ in 0..<200 where !messages().contains("STATUS=last scan") { try await Task.sleep(nanoseconds: 100_000_000) }
        #expect(messages().contains("READY=1"))
        kill(daemon.processIdentifier, SIGHUP)
        try await Task.sleep(nanoseconds: 1_500_000_000)
        #expect(messages().contains("WATCHDOG=1"))
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        for _ in 0..<100 where !messages().contains("STOPPING=1") { try await Task.sleep(nanoseconds: 100_000_000) }
        #expect(messages().contains("STOPPING=1"))
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("event=start"))
        #expect(log.contains("event=reload"))
        #expect(log.contains("event=stop"))
        #expect(setup.serverIDs().count == 1)
    }
}

/// A probe stalled past its deadline is abandoned and reported, and the scan goes on.
@Suite struct ProbeDeadlineTests {
    /// Blocks its thread for 10 minutes, as a read of a crafted file would.
    struct StalledBlocking: BlockingProbe {
        var name: ProbeName { .credentials }
        var reads: String { "a file that never ends" }
        var deadline: Int { 1 }
        func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput {
            Thread.sleep(forTimeInterval: 600)
            return ProbeOutput { $0.credentials = CredentialsEvidence(savedLogins: [], passwordNotes: []) }
        }
    }

    /// Awaits for 10 minutes.
    struct StalledAsync: Probe {
        var name: ProbeName { .packages }
        var reads: String { "a list that never ends" }
        var deadline: Int { 1 }
        func collect(_ context: ProbeContext) async throws(ProbeError) -> ProbeOutput {
            try? await Task.sleep(nanoseconds: 600_000_000_000)
            return ProbeOutput { $0.packages = nil }
        }
    }

    /// Answers at once, and publishes candidates for the next stage.
    struct Healthy: BlockingProbe {
        var name: ProbeName { .clock }
        var reads: String { "nothing" }
        func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput {
            ProbeOutput(problems: ["one thing unseen"], candidates: ["firefox-esr": "128.1"]) {
                $0.clock = ClockEvidence(synchronized: true, source: "test")
            }
        }
    }

    /// Sees what the earlier stage published.
    struct Later: BlockingProbe {
        var name: ProbeName { .browsers }
        var reads: String { "candidates" }
        func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput {
            let candidates = context.candidates ?? [:]
            return ProbeOutput {
                $0.browsers = candidates.map {
                    BrowserEvidence(
                        name: $0.key, version: $0.value, source: "test",
                        candidate: nil, eol: nil, supported: nil)
                }
            }
        }
    }

    @Test func aStalledProbeTimesOutAndTheOthersFinish() async throws {
        let root = try TemporaryRoot("deadline")
        var evidence = Evidence()
        let started = Date()
        await ProbeRunner.run(
            [[StalledBlocking(), StalledAsync(), Healthy(), UnavailableProbe(.integrity, reason: "not requested")], [Later()]],
            context: ProbeContext(root: try ScanRoot(root.path), now: Date()), into: &evidence)
        #expect(Date().timeIntervalSince(started) < 300, "the deadlines answered, not the stalled bodies")
        #expect(evidence.unavailable["credentials"]?.hasPrefix("timed out after 1 s") == true, "\(evidence.unavailable)")
        #expect(evidence.unavailable["packages"]?.hasPrefix("timed out after 1 s") == true, "\(evidence.unavailable)")
        #expect(evidence.credentials == nil)
        #expect(evidence.clock?.synchronized == true)
        #expect(evidence.unavailable["clock"] == "one thing unseen")
        #expect(evidence.unavailable["integrity"] == "not requested")
        #expect(evidence.browsers?.first?.version == "128.1", "the second stage saw the candidates the first published")
        #expect(ProbeError.timedOut(seconds: 60).description.hasPrefix("timed out after 60 s"))
    }
}

/// posture-agentd kills a cycle that runs past its deadline, runs the next on schedule, and stops
/// feeding systemd's watchdog once no cycle has finished for a schedule period plus that deadline.
@Suite struct CycleDeadlineTests {
    @Test func aStalledCycleIsKilledAndTheWatchdogStarves() async throws {
        let root = try TemporaryRoot("agentd")
        // Stands in for `posture agent --once` stalled on a crafted file: the scheduler's contract is a child process.
        let stalled = try root.write("posture", "#!/bin/sh\ncase \"$1\" in agent) echo $$ >> \(root.url("cycles").path); exec sleep 600;; esac\nexit 0\n").path
        chmod(stalled, 0o755)
        let socketPath = root.url("notify.sock").path
        let listener = try NotifyListener.start(socket: socketPath, log: root.url("messages").path)
        defer { kill(listener.processIdentifier, SIGKILL) }
        try await NotifyListener.waitForSocket(socketPath)

        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: Fixtures.product("posture-agentd"))
        daemon.arguments = ["--posture", stalled, "--interval", "2", "--jitter", "0", "--cycle-timeout", "1", "--cycle", "agent", "--cycle", "--once"]
        daemon.environment = ["NOTIFY_SOCKET": socketPath, "WATCHDOG_USEC": "1000000", "PATH": "/usr/bin:/bin"]
        let errors = Pipe()
        daemon.standardError = errors
        daemon.standardOutput = FileHandle.nullDevice
        let started = Date().timeIntervalSince1970
        try daemon.run()
        try await Task.sleep(nanoseconds: 12_000_000_000)
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.components(separatedBy: "event=cycle.timeout").count - 1 >= 2, "each stalled cycle is killed: \(log)")
        let cycles = ((try? String(contentsOf: root.url("cycles"), encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
        #expect(cycles.count >= 3, "the next cycles ran on schedule: \(cycles)")
        #expect(cycles.allSatisfy { kill($0, 0) == -1 }, "no stalled cycle is left running")
        let messages = (try? String(contentsOf: root.url("messages"), encoding: .utf8)) ?? ""
        let watchdogs = messages.split(separator: "\n").filter { $0.contains("WATCHDOG=1") }.compactMap { Double($0.split(separator: " ")[0]) }
        #expect(!watchdogs.isEmpty, "fed while a cycle could still finish; started \(started), messages:\n\(messages)\nlog:\n\(log)")
        // Cycles stall from the start, so feeding stops 3 s in (interval 2 + jitter 0 + deadline 1); 8 s leaves room for a loaded machine.
        #expect(watchdogs.allSatisfy { $0 - started < 8 }, "not fed once no cycle finished for interval + jitter + deadline: \(watchdogs.map { $0 - started })")
    }
}

/// A stand-in for systemd's notify socket: logs each sd_notify datagram as "UNIXTIME MESSAGE".
/// It waits up to 10 minutes for a datagram: a test's next step can come a minute later when the
/// full suite keeps the runner's threads busy.
enum NotifyListener {
    static func start(socket: String, log: String) throws -> Process {
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        listener.arguments = [
            "-c",
            """
            import socket, sys, time
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(600)
            with open(sys.argv[2], "a") as log:
                while True:
                    try: data = s.recv(4096)
                    except OSError: break
                    log.write("%.3f %s\\n" % (time.time(), data.decode().replace("\\n", " "))); log.flush()
            """, socket, log
        ]
        try listener.run()
        return listener
    }

    /// Waits until the listener has bound its socket (Python may start slowly on a loaded machine).
    static func waitForSocket(_ path: String) async throws {
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: path) { try await Task.sleep(nanoseconds: 50_000_000) }
        try #require(FileManager.default.fileExists(atPath: path), "the notify listener did not start")
    }
}
