import Foundation
import PostureEvidence
import PostureProbes

/// `posture agent`: scans on a wall-clock schedule (so a PC that slept or was off scans as soon
/// as it is back), delivers between scans, reloads its config on SIGHUP, stops cleanly on
/// SIGTERM/SIGINT, and talks to systemd through `NOTIFY_SOCKET` (READY, WATCHDOG, STOPPING).
///
/// Each cycle runs in a child process (`posture agent --once`, retries as `posture upload`), so
/// the memory a scan needs is returned to the system when it ends and the resident daemon stays
/// small; a crash in a probe takes down one cycle, never the daemon.
public final class Daemon: @unchecked Sendable {
    /// How to run one cycle or one delivery in a child process.
    public struct Worker: Sendable {
        public var executable: String
        public var cycleArguments: [String]
        public var uploadArguments: [String]

        public init(executable: String, cycleArguments: [String], uploadArguments: [String]) {
            self.executable = executable
            self.cycleArguments = cycleArguments
            self.uploadArguments = uploadArguments
        }
    }

    private let configPath: String?
    private let stateOverride: String?
    private let worker: Worker
    private var log = EventLog()
    private let signals = SignalWaiter()
    private var sources: [any DispatchSourceSignal] = []

    public init(configPath: String?, stateOverride: String?, worker: Worker) {
        self.configPath = configPath
        self.stateOverride = stateOverride
        self.worker = worker
    }

    private func loadConfig() throws -> (AgentConfig, String) {
        let config = try AgentConfig.load(explicit: configPath)
        log = EventLog(level: config.logLevel)
        let state = stateOverride ?? config.stateDirectory ?? "/var/lib/posture"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return (config, state)
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

    /// Runs a child to completion while keeping the watchdog fed; a stop signal is passed on to it.
    /// Returns the child's exit status, or nil when the daemon must stop.
    private func runChild(_ arguments: [String], watchdog: TimeInterval?, lastWatchdog: inout Date) async -> (status: Int32?, stop: Bool) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: worker.executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            log.log("error", "cycle", "cannot start the scan process", [("error", "\(error)")])
            return (nil, false)
        }
        var stop = false
        var deferred: [Int32] = []
        while process.isRunning {
            if let watchdog, Date().timeIntervalSince(lastWatchdog) >= watchdog {
                SystemdNotify.send("WATCHDOG=1")
                lastWatchdog = Date()
            }
            guard let signal = await signals.next(timeout: 0.5) else { continue }
            if signal == SIGHUP {
                deferred.append(signal)
            } else {
                stop = true
                kill(process.processIdentifier, SIGTERM)
            }
        }
        process.waitUntilExit()
        for signal in deferred { signals.deliver(signal) }
        return (process.terminationStatus, stop)
    }

    /// Runs until SIGTERM or SIGINT.
    public func run() async throws {
        installSignalHandlers()
        var (config, state) = try loadConfig()
        log.log("info", "start", "posture agent started", [("config", config.path ?? "(defaults)"), ("state_dir", state),
                                                          ("interval", "\(Int(config.interval))s")])
        if config.upload == nil {
            log.log("info", "upload.disabled", "no upload target configured: reports are signed and kept in the journal only")
        }
        SystemdNotify.send("READY=1\nSTATUS=scanning")
        let watchdog = SystemdNotify.watchdogInterval().map { $0 / 2 }
        var nextScan = Date()
        var nextDelivery: Date?
        var lastWatchdog = Date.distantPast

        while true {
            let now = Date()
            if let watchdog, now.timeIntervalSince(lastWatchdog) >= watchdog {
                SystemdNotify.send("WATCHDOG=1")
                lastWatchdog = now
            }
            if now >= nextScan || (nextDelivery.map { now >= $0 } ?? false) {
                let scanning = now >= nextScan
                let (status, stop) = await runChild(scanning ? worker.cycleArguments : worker.uploadArguments,
                                                    watchdog: watchdog, lastWatchdog: &lastWatchdog)
                if stop { break }
                // 75: reports stay queued; try again at the backoff the child recorded (at least a minute on).
                nextDelivery = status == 75 ? Date().addingTimeInterval(60) : nil
                if let status, status != 0 && status != 75 {
                    log.log("error", scanning ? "cycle" : "delivery", "child process failed; trying again later", [("status", "\(status)")])
                }
                if scanning {
                    let jitter = config.jitter > 0 ? Double.random(in: 0...config.jitter) : 0
                    nextScan = now.addingTimeInterval(config.interval + jitter)
                    SystemdNotify.send("STATUS=last scan \(ISO8601DateFormatter().string(from: now))")
                    log.log("info", "schedule", "next scan", [("at", ISO8601DateFormatter().string(from: nextScan))])
                }
            }
            // Sleep against the wall clock in short steps, so suspend, resume and clock changes are noticed.
            var wake = min(nextScan, Date().addingTimeInterval(60))
            if let nextDelivery { wake = min(wake, nextDelivery) }
            if let watchdog { wake = min(wake, lastWatchdog.addingTimeInterval(watchdog)) }
            guard let signal = await signals.next(timeout: max(0.05, wake.timeIntervalSinceNow)) else { continue }
            if signal == SIGHUP {
                do {
                    (config, state) = try loadConfig()
                    log.log("info", "reload", "configuration reloaded", [("config", config.path ?? "(defaults)")])
                } catch {
                    log.log("error", "reload", "configuration not reloaded; keeping the previous one", [("error", "\(error)")])
                }
                continue
            }
            break
        }
        SystemdNotify.send("STOPPING=1")
        log.log("info", "stop", "posture agent stopping")
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
