// posture-agentd: the resident part of `posture agent`. It only keeps time, runs each cycle
// (`posture agent --once`) and each delivery retry (`posture upload`) as a child process,
// handles signals and speaks sd_notify. It links no Foundation, so the daemon that stays in
// memory between cycles is a few MiB; `posture agent` parses the config and execs it.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

struct Options {
    var interval: Int64 = 21600
    var jitter: Int64 = 1800
    var retry: Int64 = 60
    var cycleTimeout: Int64 = 2700
    var executable = "/usr/bin/posture"
    var shared: [String] = []
    var cycle: [String] = []
}

/// Writes to standard error (fd 2) directly: journald keeps one line per event.
func printError(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func log(_ level: String, _ event: String, _ message: String, _ fields: [(String, String)] = []) {
    var line = "level=\(level) event=\(event) msg=\"\(message)\""
    for (key, value) in fields { line += " \(key)=\(value)" }
    printError(line + "\n")
}

func now() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec)
}

func parse(_ arguments: [String]) -> Options {
    var options = Options()
    var index = 1
    func value() -> String {
        index += 1
        guard index < arguments.count else {
            printError("posture-agentd: missing value for \(arguments[index - 1])\n")
            exit(64)
        }
        return arguments[index]
    }
    while index < arguments.count {
        switch arguments[index] {
        case "--interval": options.interval = Int64(value()) ?? options.interval
        case "--jitter": options.jitter = Int64(value()) ?? options.jitter
        case "--retry": options.retry = Int64(value()) ?? options.retry
        case "--cycle-timeout": options.cycleTimeout = max(1, Int64(value()) ?? options.cycleTimeout)
        case "--posture": options.executable = value()
        case "--shared": options.shared.append(value())
        case "--cycle": options.cycle.append(value())
        default:
            printError("posture-agentd: unknown argument \(arguments[index]) (it is started by `posture agent`)\n")
            exit(64)
        }
        index += 1
    }
    return options
}

/// sd_notify over NOTIFY_SOCKET, without libsystemd.
func notify(_ message: String) {
    guard let raw = getenv("NOTIFY_SOCKET") else { return }
    var path = Array(String(cString: raw).utf8)
    guard !path.isEmpty else { return }
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    if path[0] == UInt8(ascii: "@") { path[0] = 0 }
    guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
    _ = message.withCString { text in
        withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, text, strlen(text), 0, $0, length) }
        }
    }
}

func spawn(_ executable: String, _ arguments: [String]) -> pid_t? {
    var pid: pid_t = 0
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    defer { posix_spawnattr_destroy(&attributes) }
    let status = posix_spawn(&pid, executable, nil, &attributes, argv, environ)
    return status == 0 ? pid : nil
}

let options = parse(CommandLine.arguments)
var signals = sigset_t()
sigemptyset(&signals)
for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&signals, signal) }
sigprocmask(SIG_BLOCK, &signals, nil)
_ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)

let watchdog: Int64? = getenv("WATCHDOG_USEC").flatMap { Int64(String(cString: $0)) }.map { max(1, $0 / 2_000_000) }
log("info", "start", "posture agent scheduler started", [("interval", "\(options.interval)s"), ("jitter", "\(options.jitter)s")])
notify("READY=1\nSTATUS=scanning")

// After a reload (SIGHUP re-executes `posture agent`), the schedule carries on where it was.
var nextScan = getenv("POSTURE_NEXT_SCAN").flatMap { Int64(String(cString: $0)) } ?? now()
unsetenv("POSTURE_NEXT_SCAN")
var nextDelivery: Int64? = nil
var lastWatchdog: Int64 = 0
var child: (pid: pid_t, scanning: Bool, started: Int64)? = nil
var stopping = false
// Cycles that finish keep the watchdog fed; when none has finished for a whole schedule period
// plus a cycle's deadline, the agent has stopped producing evidence and systemd should restart it.
var lastCycleFinished = now()
let overdue = options.interval + options.jitter + options.cycleTimeout

while true {
    let current = now()
    if let watchdog, current - lastWatchdog >= watchdog {
        if current - lastCycleFinished <= overdue { notify("WATCHDOG=1") }
        lastWatchdog = current
    }
    if let running = child, running.scanning, current - running.started >= options.cycleTimeout {
        log(
            "error", "cycle.timeout", "the scan cycle ran past its deadline and was killed; the next runs on schedule",
            [("pid", "\(running.pid)"), ("timeout", "\(options.cycleTimeout)s")])
        kill(running.pid, SIGKILL)
        child = (running.pid, false, current)  // reaped below as a finished child, not as a finished cycle
    }
    if child == nil && !stopping {
        if current >= nextScan {
            if let pid = spawn(options.executable, options.cycle + options.shared) { child = (pid, true, current) }
            let jitter = options.jitter > 0 ? Int64.random(in: 0...options.jitter) : 0
            nextScan = current + options.interval + jitter
        } else if let due = nextDelivery, current >= due {
            if let pid = spawn(options.executable, ["upload"] + options.shared) { child = (pid, false, current) }
            nextDelivery = nil
        }
    }
    if stopping && child == nil { break }
    // Wake at least every minute to compare with the wall clock (suspend, resume, clock changes).
    var wake = min(nextScan, current + 60)
    if let due = nextDelivery { wake = min(wake, due) }
    if let watchdog { wake = min(wake, lastWatchdog + watchdog) }
    if let running = child, running.scanning { wake = min(wake, running.started + options.cycleTimeout) }
    var timeout = timespec(tv_sec: Int(max(0, wake - current)), tv_nsec: child == nil ? 0 : 0)
    if timeout.tv_sec == 0 { timeout.tv_nsec = 200_000_000 }
    let signal = sigtimedwait(&signals, nil, &timeout)
    switch signal {
    case SIGCHLD:
        var status: Int32 = 0
        while case let pid = waitpid(-1, &status, WNOHANG), pid > 0 {
            guard let running = child, running.pid == pid else { continue }
            let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            if code == 75 { nextDelivery = now() + options.retry }
            if code != 0 && code != 75 && code != 128 + SIGKILL {
                log("error", running.scanning ? "cycle" : "delivery", "child process failed; trying again later", [("status", "\(code)")])
            }
            if running.scanning && (code == 0 || code == 75) { lastCycleFinished = now() }
            if running.scanning {
                notify("STATUS=last scan at \(now())")
                log("info", "schedule", "cycle finished", [("next_scan_in", "\(nextScan - now())s")])
            }
            child = nil
        }
    case SIGHUP:
        // Reload: the full binary re-reads the config and execs a new scheduler.
        log("info", "reload", "reloading the configuration")
        if let running = child {
            kill(running.pid, SIGTERM)
            var status: Int32 = 0
            waitpid(running.pid, &status, 0)
        }
        notify("RELOADING=1")
        setenv("POSTURE_NEXT_SCAN", "\(nextScan)", 1)
        let argv = ([options.executable, "agent"] + options.shared).map { strdup($0) } + [nil]
        sigprocmask(SIG_UNBLOCK, &signals, nil)
        execv(options.executable, argv)
        log("error", "reload", "cannot re-execute posture; keeping the running schedule")
        sigprocmask(SIG_BLOCK, &signals, nil)
    case SIGTERM, SIGINT:
        stopping = true
        notify("STOPPING=1")
        log("info", "stop", "posture agent stopping", [("signal", signal == SIGTERM ? "TERM" : "INT")])
        if let running = child { kill(running.pid, SIGTERM) }
    default:
        break
    }
}
exit(0)
