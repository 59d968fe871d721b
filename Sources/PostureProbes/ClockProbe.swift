import Foundation
package import PostureModel

/// Whether the clock is synchronised, which every report timestamp depends on.
///
/// On the live system the kernel's NTP state (`adjtimex`, what `timedatectl` reports as
/// "System clock synchronized") decides; the running daemon is named as the source. An offline
/// image cannot say whether its clock was synchronised: `synchronized` is nil there.
package struct ClockProbe: Sendable {
    static let daemons: [(process: String, name: String)] = [
        ("systemd-timesyn", "systemd-timesyncd"), ("chronyd", "chrony"), ("ntpd", "ntpd"), ("openntpd", "openntpd")
    ]
    static let units: [(unit: String, name: String)] = [
        ("systemd-timesyncd.service", "systemd-timesyncd"), ("chrony.service", "chrony"), ("chronyd.service", "chrony"),
        ("ntp.service", "ntpd"), ("ntpd.service", "ntpd"), ("ntpsec.service", "ntpsec"), ("openntpd.service", "openntpd")
    ]

    package init() {}

    package func collect(root: ScanRoot, processes: Set<String>?) -> ClockEvidence {
        let configured = configuredDaemon(root: root)
        guard root.isLive else {
            return ClockEvidence(
                synchronized: nil,
                source: "offline image" + (configured.map { "; \($0) enabled" } ?? "; no time daemon enabled"))
        }
        let running = processes.flatMap { names in Self.daemons.first { names.contains($0.process) }?.name }
        let synchronized =
            Platform.kernelClockSynchronized()
            ?? (root.exists("run/systemd/timesync/synchronized") ? true : nil)
        return ClockEvidence(synchronized: synchronized, source: running ?? configured.map { "\($0) (not running)" } ?? "no time daemon running")
    }

    /// The time daemon whose unit is enabled (a `*.wants` link under `etc/systemd/system`).
    func configuredDaemon(root: ScanRoot) -> String? {
        let wants = (try? root.list("etc/systemd/system"))?.filter { $0.hasSuffix(".wants") } ?? []
        for (unit, name) in Self.units {
            if wants.contains(where: { root.exists("etc/systemd/system/\($0)/\(unit)") }) { return name }
        }
        return nil
    }
}

extension ClockProbe: BlockingProbe {
    package var name: ProbeName { .clock }
    package var reads: String { "the kernel's NTP state and the running time daemon" }
    package func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput {
        let clock = collect(root: context.root, processes: context.processes)
        return ProbeOutput { $0.clock = clock }
    }
}
