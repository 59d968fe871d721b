package import Foundation
package import PostureEvidence
package import PostureModel
package import PosturePolicy
package import PostureProbes
package import PostureReference
import PostureTransport

/// One line per event on stderr, in a form journald keeps: `level=info event=scan msg="…" key=value…`.
package struct EventLog: Sendable {
    package var level: String

    package init(level: String = "info") { self.level = level }

    static let order = ["debug": 0, "info": 1, "warning": 2, "error": 3]

    package func log(_ severity: String, _ event: String, _ message: String, _ fields: [(String, String)] = []) {
        guard (Self.order[severity] ?? 1) >= (Self.order[level] ?? 1) else { return }
        var line = "level=\(severity) event=\(event) msg=\(Self.quote(message))"
        for (key, value) in fields { line += " \(key)=\(Self.quote(value))" }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Says, once per run, that reports stay local because no upload target is configured.
    /// Says at start when reports will not leave the PC: no upload target, or no usable libcurl.
    package func uploadNotice(_ config: AgentConfig) {
        guard config.upload != nil else {
            log("info", "upload.disabled", "no upload target configured: reports are signed and kept in the journal only")
            return
        }
        if let problem = CurlTransport.checkLibrary() {
            log("warning", "upload.unavailable", "\(problem); reports are signed and stay queued until it is")
        }
    }

    static func quote(_ text: String) -> String {
        text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) || text.isEmpty
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : text
    }
}

/// One agent cycle: scan, sign, journal (and queue), deliver.
package struct AgentCycle: Sendable {
    package var config: AgentConfig
    package var root: ScanRoot
    package var paths: ReferencePaths
    package var stateDirectory: String
    package var log: EventLog

    package init(config: AgentConfig, root: ScanRoot, paths: ReferencePaths, stateDirectory: String, log: EventLog) {
        self.config = config
        self.root = root
        self.paths = paths
        self.stateDirectory = stateDirectory
        self.log = log
    }

    /// What a cycle did.
    package struct Outcome: Sendable {
        package var report: Report?
        package var delivery: Deliverer.Summary?
    }

    package func profiles() throws -> [Profile] {
        try ProfileRepository(paths: paths).chosen(config.profiles)
    }

    /// Scans and journals one report, then tries delivery. A probe that fails only makes its part
    /// of the report unknown; an error here (key, journal, profiles) is thrown.
    package func run(now: Date = Date()) async throws -> Outcome {
        let chosen = try profiles()
        let scan = SignedScan(
            scanner: Scanner(root: root, paths: paths, stateDirectory: stateDirectory), profiles: chosen,
            enqueue: config.upload != nil)
        let signed = try await scan.run(stateDirectory: stateDirectory, now: now)
        if let key = signed.createdKey {
            log.log("info", "key.created", "created the device key", [("path", "\(stateDirectory)/\(DeviceKey.privateName)"), ("key_id", key.keyID)])
        }
        let journal = signed.journal
        let report = signed.report
        var counts: [String: Int] = [:]
        for finding in report.findings { counts[finding.status.rawValue, default: 0] += 1 }
        let verdicts = chosen.map { profile -> String in
            let findings = report.findings.filter { $0.profile == profile.id }
            let worst = findings.contains { $0.status == .fail } ? "fail" : findings.contains { $0.status == .unknown } ? "unknown" : "pass"
            return "\(profile.id)=\(worst)"
        }.joined(separator: ",")
        try journal.setMeta(["last_scan_at": "\(report.collectedAt.timeIntervalSince1970)", "last_verdicts": verdicts])
        try? journal.prune()
        log.log(
            "info", "scan", "report signed and journaled",
            [
                ("report", report.id), ("sequence", "\(report.chain?.sequence ?? 0)"),
                ("fail", "\(counts["fail"] ?? 0)"), ("unknown", "\(counts["unknown"] ?? 0)"), ("pass", "\(counts["pass"] ?? 0)"),
                ("unavailable", report.evidence.unavailable.keys.sorted().joined(separator: ","))
            ])
        guard let upload = config.upload else { return Outcome(report: report, delivery: nil) }
        let summary = try await Deliverer(journal: journal, upload: upload).run()
        logDelivery(summary)
        await monitorLog(journal: journal, upload: upload)
        return Outcome(report: report, delivery: summary)
    }

    /// Checks the collector's audit log (`LogMonitor`) and logs what it found: an alarm is an error.
    /// A journal that cannot be read here is a warning, not the end of the cycle.
    @discardableResult
    package func monitorLog(journal: Journal, upload: AgentConfig.Upload) async -> LogMonitor.Summary? {
        do {
            let summary = try await LogMonitor(journal: journal, upload: upload).run()
            var fields = [("proven", "\(summary.proven)"), ("waiting", "\(summary.waiting)")]
            if let size = summary.checkpointSize { fields.append(("checkpoint_size", "\(size)")) }
            if let alarm = summary.alarm {
                log.log("error", "log.alarm", alarm, fields)
            } else if let error = summary.error {
                log.log("warning", "log.check", "could not check the collector's log", fields + [("error", error)])
            } else if summary.checkpointSize != nil {
                log.log("info", "log.check", "the collector's log extends the last checkpoint", fields)
            }
            return summary
        } catch {
            log.log("warning", "log.check", "could not check the collector's log", [("error", "\(error)")])
            return nil
        }
    }

    package func logDelivery(_ summary: Deliverer.Summary) {
        var fields = [("delivered", "\(summary.delivered)"), ("dead_letters", "\(summary.deadLettered)"), ("queued", "\(summary.remaining)")]
        if summary.tooLarge > 0 {
            log.log(
                "error", "delivery.too_large", "the collector refused reports as too large; they are dead letters (see posture status)",
                [("reports", "\(summary.tooLarge)")])
        }
        if let error = summary.lastError { fields.append(("error", error)) }
        if let next = summary.nextAttempt { fields.append(("next_attempt", RFC3339.string(from: next))) }
        let message =
            summary.lastError != nil
            ? "delivery incomplete"
            : summary.remaining > 0
                ? "reports queued until their next attempt"
                : summary.delivered + summary.deadLettered == 0
                    ? "nothing to deliver"
                    : "queue drained"
        log.log(summary.lastError == nil ? "info" : "warning", "delivery", message, fields)
    }
}
