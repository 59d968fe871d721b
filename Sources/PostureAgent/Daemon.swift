import Foundation
import PostureEvidence
import PostureProbes
import PostureReference

/// `posture agent`: scans on a wall-clock schedule (so a PC that slept or was off scans as soon
/// as it is back), delivers between scans, reloads its config on SIGHUP, stops cleanly on
/// SIGTERM/SIGINT, and talks to systemd through `NOTIFY_SOCKET` (READY, WATCHDOG, STOPPING).
public final class Daemon: @unchecked Sendable {
    private let configPath: String?
    private let rootPath: String
    private let paths: ReferencePaths
    private let stateOverride: String?
    private var log = EventLog()
    private let signals = SignalWaiter()
    private var sources: [any DispatchSourceSignal] = []

    public init(configPath: String?, rootPath: String, paths: ReferencePaths, stateOverride: String?) {
        self.configPath = configPath
        self.rootPath = rootPath
        self.paths = paths
        self.stateOverride = stateOverride
    }

    private func loadCycle() throws -> AgentCycle {
        let config = try AgentConfig.load(explicit: configPath)
        log = EventLog(level: config.logLevel)
        let state = stateOverride ?? config.stateDirectory ?? "/var/lib/posture"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return AgentCycle(config: config, root: try ScanRoot(rootPath), paths: paths, stateDirectory: state, log: log)
    }

    private func installSignalHandlers() {
        for signal in [SIGTERM, SIGINT, SIGHUP] {
            Foundation.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal)
            let waiter = signals
            source.setEventHandler { waiter.deliver(signal) }
            source.resume()
            sources.append(source)
        }
    }

    /// Runs until SIGTERM or SIGINT.
    public func run() async throws {
        installSignalHandlers()
        var cycle = try loadCycle()
        Platform.lowerPriority()
        log.log("info", "start", "posture agent started", [("config", cycle.config.path ?? "(defaults)"), ("state_dir", cycle.stateDirectory),
                                                          ("interval", "\(Int(cycle.config.interval))s")])
        if cycle.config.upload == nil {
            log.log("info", "upload.disabled", "no upload target configured: reports are signed and kept in the journal only")
        }
        SystemdNotify.send("READY=1\nSTATUS=scanning")
        let watchdog = SystemdNotify.watchdogInterval().map { $0 / 2 }
        var nextScan = Date()
        var lastWatchdog = Date.distantPast

        while true {
            let now = Date()
            if let watchdog, now.timeIntervalSince(lastWatchdog) >= watchdog {
                SystemdNotify.send("WATCHDOG=1")
                lastWatchdog = now
            }
            if now >= nextScan {
                do {
                    let outcome = try await cycle.run(now: now)
                    SystemdNotify.send("STATUS=last scan \(ISO8601DateFormatter().string(from: now)); queued \(outcome.delivery?.remaining ?? 0)")
                } catch {
                    log.log("error", "cycle", "cycle failed; will try again at the next scan", [("error", "\(error)")])
                }
                let jitter = cycle.config.jitter > 0 ? Double.random(in: 0...cycle.config.jitter) : 0
                nextScan = now.addingTimeInterval(cycle.config.interval + jitter)
                log.log("info", "schedule", "next scan", [("at", ISO8601DateFormatter().string(from: nextScan))])
            } else if let upload = cycle.config.upload, let journal = try? Journal(stateDirectory: cycle.stateDirectory),
                      let pending = try? journal.nextQueued(), pending.nextAttemptAt <= now {
                if let summary = try? await Deliverer(journal: journal, upload: upload).run() { cycle.logDelivery(summary) }
            }
            // Sleep in short steps against the wall clock, so suspend, resume and clock changes are noticed.
            var wake = min(nextScan, Date().addingTimeInterval(60))
            if let watchdog { wake = min(wake, lastWatchdog.addingTimeInterval(watchdog)) }
            if cycle.config.upload != nil, let journal = try? Journal(stateDirectory: cycle.stateDirectory),
               let pending = try? journal.nextQueued() {
                wake = min(wake, max(pending.nextAttemptAt, Date().addingTimeInterval(1)))
            }
            let delay = max(0.05, wake.timeIntervalSinceNow)
            guard let signal = await signals.next(timeout: delay) else { continue }
            switch signal {
            case SIGHUP:
                do {
                    cycle = try loadCycle()
                    log.log("info", "reload", "configuration reloaded", [("config", cycle.config.path ?? "(defaults)")])
                    nextScan = min(nextScan, Date().addingTimeInterval(cycle.config.interval))
                } catch {
                    log.log("error", "reload", "configuration not reloaded; keeping the previous one", [("error", "\(error)")])
                }
            default:
                SystemdNotify.send("STOPPING=1")
                log.log("info", "stop", "posture agent stopping", [("signal", signal == SIGTERM ? "TERM" : "INT")])
                return
            }
        }
    }
}

/// Signals as they arrive, awaited with a timeout: the daemon sleeps until the next event or a signal.
final class SignalWaiter: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [Int32] = []
    private var waiting: CheckedContinuation<Int32?, Never>?
    private var generation = 0

    func deliver(_ signal: Int32) {
        lock.lock()
        if let continuation = waiting {
            waiting = nil
            lock.unlock()
            continuation.resume(returning: signal)
        } else {
            pending.append(signal)
            lock.unlock()
        }
    }

    /// The next signal, or nil after `timeout` seconds.
    func next(timeout: TimeInterval) async -> Int32? {
        await withCheckedContinuation { continuation in
            lock.lock()
            if !pending.isEmpty {
                let signal = pending.removeFirst()
                lock.unlock()
                continuation.resume(returning: signal)
                return
            }
            generation += 1
            let mine = generation
            waiting = continuation
            lock.unlock()
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [weak self] in
                guard let self else { return }
                self.lock.lock()
                if self.generation == mine, let continuation = self.waiting {
                    self.waiting = nil
                    self.lock.unlock()
                    continuation.resume(returning: nil)
                } else {
                    self.lock.unlock()
                }
            }
        }
    }
}

/// The sd_notify protocol over `NOTIFY_SOCKET` (a Unix datagram socket), without libsystemd.
public enum SystemdNotify {
    public static func send(_ message: String) {
        guard let path = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !path.isEmpty else { return }
        Platform.sendDatagram(message, toUnixSocket: path)
    }

    /// Half of WATCHDOG_USEC is how often systemd must hear from us; nil when no watchdog is set.
    public static func watchdogInterval() -> TimeInterval? {
        guard let text = ProcessInfo.processInfo.environment["WATCHDOG_USEC"], let usec = Double(text), usec > 0 else { return nil }
        return usec / 1e6
    }
}
