import ArgumentParser
import Crypto
import Foundation
import PostureAgent
import PostureCommandLine
import PostureEvidence
import PostureModel
import PostureProbes
import PostureReference
import PostureTransport

/// `--config FILE` and the state directory it implies.
struct ConfigOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Agent configuration (default: /etc/posture/agent.yaml when it exists).", valueName: "FILE"))
    var config: String?

    @OptionGroup var state: StateOptions

    func load() throws -> AgentConfig { try AgentConfig.load(explicit: config) }

    /// `--state-dir` beats `POSTURE_STATE_DIR`, which beats the config's `state_dir`, which beats /var/lib/posture.
    func stateDirectory(_ config: AgentConfig) throws -> String {
        var options = state
        if options.stateDirectory == nil, ProcessInfo.processInfo.environment["POSTURE_STATE_DIR"] == nil {
            options.stateDirectory = config.stateDirectory
        }
        return try options.required()
    }
}

/// `posture agent`: the daemon.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the posture daemon: scan on a schedule, sign, journal and upload reports.",
        discussion: """
            Scans at start and then every schedule.interval (plus random jitter) on wall-clock time, \
            signs each report, journals it, queues it for upload when upload.url is set, and delivers \
            the queue in order with retries. SIGHUP reloads the configuration; SIGTERM or SIGINT stops \
            cleanly. Under systemd (Type=notify) it sends READY, WATCHDOG and STOPPING.

            --once runs one cycle and exits: 0 when nothing is left queued (or no upload target is set), \
            75 when reports stay queued for a retry, 65 when the collector refused a report as too large \
            (HTTP 413; it is a dead letter), 74 when the state directory is full (nothing of the cycle is \
            stored; the next one continues the chain). Findings never change the agent's exit status. \
            A cycle still running after schedule.cycle_timeout is killed and the next runs on schedule; \
            WATCHDOG is sent only while cycles finish.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Run one scan, sign, journal and delivery attempt, then exit.")
    var once = false

    @Option(help: ArgumentHelp("Scan the system mounted at DIR.", valueName: "DIR"))
    var root: String = "/"

    @Option(name: .customLong("profiles"), help: ArgumentHelp("A profile directory in front of the search path (repeatable).", valueName: "DIR"))
    var profileDirectories: [String] = []

    func run() async throws {
        try await ErrorReporter.posture.run {
            let config = try options.load()
            let state = try options.stateDirectory(config)
            let paths = ReferencePaths.standard(extra: profileDirectories)
            if once {
                let cycle = AgentCycle(
                    config: config, root: try scanRoot(root), paths: paths, stateDirectory: state,
                    log: EventLog(level: config.logLevel))
                cycle.log.uploadNotice(config)
                let outcome = try await cycle.run()
                if let tooLarge = outcome.delivery?.tooLarge, tooLarge > 0 { throw ExitCode(ExitStatus.dataError) }
                if let remaining = outcome.delivery?.remaining, remaining > 0 { throw ExitCode(ExitStatus.tryAgain) }
                return
            }
            // The resident scheduler is posture-agentd (no Foundation, a few MiB), installed next to
            // this binary; it runs each cycle as `posture agent --once` in a child process.
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            var shared = ["--state-dir", state]
            if let config = options.config { shared += ["--config", config] }
            shared += profileDirectories.flatMap { ["--profiles", $0] }
            let cycle = ["agent", "--once", "--root", root]
            let scheduler = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("posture-agentd").path
            EventLog(level: config.logLevel).uploadNotice(config)
            var arguments = [
                scheduler, "--posture", executable, "--interval", "\(Int(config.interval))", "--jitter", "\(Int(config.jitter))",
                "--cycle-timeout", "\(Int(config.cycleTimeout))"
            ]
            arguments += cycle.flatMap { ["--cycle", $0] } + shared.flatMap { ["--shared", $0] }
            let argv = arguments.map { strdup($0) } + [nil]
            execv(scheduler, argv)
            throw CommandFailure(
                "cannot start the scheduler \(scheduler): \(String(cString: strerror(errno)))"
                    + " (it is installed next to posture)", status: ExitStatus.unavailable)
        }
    }
}

/// `posture upload`: deliver what is queued now.
struct UploadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Deliver the queued reports now and say what happened.",
        discussion:
            "Then checks the collector's audit log: its checkpoint must be signed by the receipt key pinned at enrollment and extend the last one verified, and each delivered report is proven included (the proofs go into claim bundles).\n\nExit status: 0 when the queue is empty afterwards (or no upload target is set), 75 when reports remain queued, 65 when the collector refused a report as too large (HTTP 413: it moves to the dead letters, which are not in the queue) or its log is not consistent with what it showed before (an alarm, kept in the journal and shown by posture status)."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        try await ErrorReporter.posture.run {
            let config = try options.load()
            guard let upload = config.upload else {
                print("no upload target configured (upload.url in \(config.path ?? AgentConfig.defaultPath)): reports stay in the journal")
                return
            }
            let journal = try Journal(stateDirectory: try options.stateDirectory(config))
            let summary = try await Deliverer(journal: journal, upload: upload).run(ignoreSchedule: true)
            print(
                "delivered \(summary.delivered), dead letters \(summary.deadLettered), still queued \(summary.remaining)"
                    + (summary.lastError.map { "; last error: \($0)" } ?? ""))
            let log = try await LogMonitor(journal: journal, upload: upload).run()
            if let alarm = log.alarm {
                printError("ALARM: \(ControlCharacters.escaped(alarm))")
                throw ExitCode(ExitStatus.dataError)
            } else if let size = log.checkpointSize {
                print("collector log: checkpoint of \(size) entries verified; \(log.proven) report(s) proven included, \(log.waiting) awaiting proof")
            }
            if summary.tooLarge > 0 {
                printError("\(summary.tooLarge) report(s) refused as too large by the collector: moved to the dead letters (posture status)")
                throw ExitCode(ExitStatus.dataError)
            }
            if summary.remaining > 0 { throw ExitCode(ExitStatus.tryAgain) }
        }
    }
}

/// `posture status`: what the agent last did.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the last scan, verdicts per profile, queue, last delivery, dead letters, key id and config."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "Output: text or json.")
    var format: Format = .text

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    func run() async throws {
        try await ErrorReporter.posture.run {
            let config = try options.load()
            let state = try options.stateDirectory(config)
            let journal = try Journal(stateDirectory: state)
            let counts = try journal.deliveryCounts()
            let meta = try journal.meta()
            let keyID = try? DeviceKey.load(stateDirectory: state).keyID
            let origin = meta[Journal.receiptKeyMeta].flatMap(DeviceKey.publicKey(base64:)).map { CollectorLog(receiptKey: $0).origin }
            let checkpoint = try origin.flatMap { try journal.newestCheckpoint(origin: $0) }
            let waiting = try origin.map { try journal.unprovenCount(origin: $0) } ?? 0
            let alarms = try journal.logAlarms()
            func time(_ key: String) -> String? {
                meta[key].flatMap(Double.init).map { RFC3339.string(from: Date(timeIntervalSince1970: $0)) }
            }
            let status: [String: Any?] = [
                "last_scan_at": time("last_scan_at"),
                "last_verdicts": meta["last_verdicts"],
                "queue_length": counts["queued"] ?? 0,
                "dead_letters": counts["dead"] ?? 0,
                "last_delivery": ["at": time("last_delivery_at"), "result": meta["last_delivery_result"], "error": meta["last_delivery_error"]],
                "key_id": keyID,
                "config": config.path,
                "upload_url": config.upload?.url,
                "collector_log": [
                    "checkpoint_size": checkpoint?.size, "awaiting_proof": waiting, "alarms": alarms.count,
                    "last_alarm": alarms.last.map { ["at": RFC3339.string(from: $0.at), "message": $0.message] as [String: Any?] }
                ] as [String: Any?]
            ]
            switch format {
            case .json:
                let data = try JSONSerialization.data(withJSONObject: Self.nullify(status), options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
                try emit(data + Data("\n".utf8), to: nil)
            case .text:
                print(
                    """
                    last scan:      \(time("last_scan_at") ?? "never")
                    verdicts:       \(meta["last_verdicts"] ?? "-")
                    queue:          \(counts["queued"] ?? 0) report(s)\(config.upload == nil ? " (no upload target: reports stay in the journal)" : "")
                    last delivery:  \(time("last_delivery_at").map { "\($0) \(meta["last_delivery_result"] ?? "")" } ?? "never")\(meta["last_delivery_error"].map { "\n  error:        \($0)" } ?? "")
                    dead letters:   \(counts["dead"] ?? 0)
                    collector log:  \(checkpoint.map { "checkpoint of \($0.size) entries verified" } ?? "no checkpoint verified yet"); \(waiting) report(s) awaiting proof of inclusion\(alarms.last.map { "\n  ALARM:        \(RFC3339.string(from: $0.at)) \(ControlCharacters.escaped($0.message))\(alarms.count > 1 ? " (\(alarms.count) alarms)" : "")" } ?? "")
                    key id:         \(keyID ?? "none (created at the first signed scan)")
                    config:         \(config.path ?? "none (built-in defaults)")
                    state dir:      \(state)
                    """)
            }
        }
    }

    static func nullify(_ value: Any?) -> Any {
        switch value {
        case let dictionary as [String: Any?]: return dictionary.mapValues { nullify($0) }
        case nil: return NSNull()
        case let value?: return value
        }
    }
}

/// `posture enroll`: bind this device's key to the customer's contract at the bank's collector.
struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Register this device's public key with the bank's collector using a one-time token.",
        discussion: """
            Sends the device public key (created if missing), host name and a SHA-256 of the machine id \
            to URL (the collector's /v1/enroll endpoint), with the TLS and proxy settings of the agent \
            config's upload section, signed with the device key over the token and a nonce fetched from \
            URL/challenge (proof that this device holds the key). The token is used once and never stored: \
            pass it with --token-file FILE or on standard input (--token-file -), since a command-line \
            argument is visible to every user in /proc while the command runs. Then the collector's \
            receipt key is fetched and pinned in the journal: from then on a delivery counts only when \
            its receipt is signed by that key and acknowledges the report sent.

            Exit status: 0 enrolled, 77 the token was refused, 69 the collector could not be reached.
            """
    )

    @Option(help: ArgumentHelp("The collector's enrollment URL (…/v1/enroll).", valueName: "URL"))
    var url: String

    @Option(
        help: ArgumentHelp(
            "The one-time enrollment token from the bank (visible to other users while it runs: prefer --token-file).",
            valueName: "TOKEN"))
    var token: String?

    @Option(help: ArgumentHelp("Read the enrollment token from FILE, or from standard input when FILE is -.", valueName: "FILE"))
    var tokenFile: String?

    @OptionGroup var options: ConfigOptions

    func validate() throws {
        guard (token == nil) != (tokenFile == nil) else {
            throw ValidationError("give the enrollment token with --token-file FILE (or --token-file - to read standard input), or --token TOKEN")
        }
    }

    /// The token from --token-file (a file or standard input), else --token with a warning.
    func readToken() throws -> String {
        if let token {
            printError("warning: --token shows the token to every user of this PC while enrollment runs; prefer --token-file FILE or --token-file -")
            return token
        }
        let file = tokenFile ?? "-"
        let data: Data?
        if file == "-" {
            data = try? FileHandle.standardInput.read(upToCount: 4096)
        } else {
            data = FileManager.default.contents(atPath: file).map { $0.prefix(4096) }
        }
        guard let data else {
            throw CommandFailure("cannot read the enrollment token from \(file)", status: ExitStatus.noInput)
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, !text.contains(where: { $0.isWhitespace }) else {
            throw CommandFailure("\(file == "-" ? "standard input" : file) does not hold one enrollment token", status: ExitStatus.dataError)
        }
        return text
    }

    func run() async throws {
        try await ErrorReporter.posture.run {
            let config = try options.load()
            let token = try readToken()
            let state = try options.stateDirectory(config)
            let (key, created) = try DeviceKey.loadOrCreate(stateDirectory: state)
            if created { printError("created the device key \(state)/\(DeviceKey.privateName) (key id \(key.keyID))") }
            let host = HostProbe().collect(root: try ScanRoot("/"))
            let transport = CurlTransport(options: config.upload?.transport ?? TransportOptions())
            let nonce = try challenge(transport)
            var body: [String: Any] = [
                "token": token, "public_key": key.publicLine, "nonce": nonce,
                "signature": try EnrollmentProof.sign(token: token, nonce: nonce, key: key)
            ]
            body["hostname"] = host.hostname
            body["machine_id_sha256"] = host.machineIdSha256
            let request = HTTPRequest(
                url: url, headers: [("Content-Type", "application/json")],
                body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
            let response: HTTPResponse
            do {
                response = try transport.send(request)
            } catch {
                throw CommandFailure("enrollment failed: \(error)", status: ExitStatus.unavailable)
            }
            guard (200..<300).contains(response.status) else {
                let detail = String(decoding: response.body.prefix(300), as: UTF8.self)
                throw CommandFailure(
                    "the collector refused the enrollment (HTTP \(response.status)): \(detail)",
                    status: response.status == 401 || response.status == 403 ? ExitStatus.permission : ExitStatus.unavailable)
            }
            let answer = (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]) ?? [:]
            if let keyID = answer["key_id"] as? String, keyID != key.keyID {
                throw CommandFailure("the collector answered for key \(keyID), not this device's \(key.keyID)", status: ExitStatus.dataError)
            }
            let contract = answer["contract"] as? String ?? "?"
            let receiptKey = try self.receiptKey(transport)
            try Journal(stateDirectory: state).setMeta([
                "enrolled_url": url, "enrolled_contract": contract,
                "enrolled_at": "\(Date().timeIntervalSince1970)",
                Journal.receiptKeyMeta: receiptKey.rawRepresentation.base64EncodedString()
            ])
            print("enrolled: key \(key.keyID) bound to contract \(ControlCharacters.escaped(contract)) at \(url)")
            print("receipts pinned to the collector key \(DeviceKey.keyID(of: receiptKey))")
        }
    }

    /// The collector's receipt-signing key from `…/v1/receipt-key`, next to the enrollment URL.
    func receiptKey(_ transport: CurlTransport) throws -> Curve25519.Signing.PublicKey {
        let base = url.hasSuffix("/enroll") ? String(url.dropLast("/enroll".count)) : url
        let response: HTTPResponse
        do {
            response = try transport.send(HTTPRequest(url: base + "/receipt-key", method: "GET", headers: [], body: Data()))
        } catch {
            throw CommandFailure("enrolled, but the collector's receipt key could not be fetched: \(error); run enroll again", status: ExitStatus.unavailable)
        }
        guard response.status == 200, let key = DeviceKey.publicKey(base64: String(decoding: response.body.prefix(200), as: UTF8.self)) else {
            throw CommandFailure(
                "enrolled, but \(base)/receipt-key gave no receipt key (HTTP \(response.status)); run enroll again",
                status: ExitStatus.unavailable)
        }
        return key
    }

    /// The collector's nonce from `URL/challenge` (`GET /v1/enroll/challenge`), to be signed with the token.
    func challenge(_ transport: CurlTransport) throws -> String {
        let response: HTTPResponse
        do {
            response = try transport.send(HTTPRequest(url: url + "/challenge", method: "GET", headers: [], body: Data()))
        } catch {
            throw CommandFailure("enrollment failed: \(error)", status: ExitStatus.unavailable)
        }
        guard response.status == 200, let answer = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
            let nonce = answer["nonce"] as? String
        else {
            throw CommandFailure(
                "the collector gave no enrollment challenge at \(url)/challenge (HTTP \(response.status)): "
                    + "is it older than this agent, or is the URL not …/v1/enroll?", status: ExitStatus.unavailable)
        }
        return nonce
    }
}
