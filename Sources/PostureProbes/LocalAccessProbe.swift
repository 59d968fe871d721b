import Foundation
package import PostureModel

/// Who can sit down at the PC: display-manager autologin and guest sessions, screen lock,
/// full-disk encryption and a host firewall, from configuration files in the root.
package struct LocalAccessProbe: Sendable {
    package init() {}

    package func collect(root: ScanRoot) -> LocalAccessEvidence {
        let (autologin, guest) = loginManagers(root: root)
        return LocalAccessEvidence(
            autologin: autologin, guestSession: guest, screenLock: screenLock(root: root),
            diskEncrypted: diskEncrypted(root: root), firewallActive: firewall(root: root))
    }

    /// INI-style files: section → key → value (later files override earlier ones).
    static func ini(_ texts: [String]) -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        for text in texts {
            var section = ""
            for raw in text.split(whereSeparator: \.isNewline) {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
                if line.hasPrefix("["), line.hasSuffix("]") {
                    section = String(line.dropFirst().dropLast())
                } else if let equals = line.firstIndex(of: "=") {
                    let key = line[..<equals].trimmingCharacters(in: .whitespaces)
                    result[section, default: [:]][key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return result
    }

    private func texts(root: ScanRoot, files: [String], directories: [String]) -> [String] {
        var paths = files
        for directory in directories {
            paths += ((try? root.list(directory)) ?? []).filter { $0.hasSuffix(".conf") }.map { "\(directory)/\($0)" }
        }
        return paths.compactMap { try? root.readText($0) }
    }

    private func isTrue(_ value: String?) -> Bool { ["true", "1", "yes"].contains(value?.lowercased() ?? "") }

    /// Autologin users per display manager (and getty), and whether a guest session is allowed.
    func loginManagers(root: ScanRoot) -> (autologin: [String]?, guest: Bool?) {
        var autologin: [String] = []
        var guest = false
        for file in ["etc/gdm3/daemon.conf", "etc/gdm3/custom.conf", "etc/gdm/custom.conf"] {
            let daemon = Self.ini(texts(root: root, files: [file], directories: []))["daemon"] ?? [:]
            if isTrue(daemon["AutomaticLoginEnable"]) { autologin.append("gdm: \(daemon["AutomaticLogin"] ?? "?")") }
            if isTrue(daemon["TimedLoginEnable"]) { autologin.append("gdm timed: \(daemon["TimedLogin"] ?? "?")") }
        }
        let lightdm = Self.ini(
            texts(
                root: root, files: ["usr/share/lightdm/lightdm.conf.d/50-default.conf", "etc/lightdm/lightdm.conf"],
                directories: ["usr/share/lightdm/lightdm.conf.d", "etc/lightdm/lightdm.conf.d"]))
        for (section, values) in lightdm where section.hasPrefix("Seat") || section == "SeatDefaults" {
            if let user = values["autologin-user"], !user.isEmpty { autologin.append("lightdm: \(user)") }
            if isTrue(values["allow-guest"]) || isTrue(values["autologin-guest"]) { guest = true }
        }
        let sddm = Self.ini(texts(root: root, files: ["etc/sddm.conf"], directories: ["usr/lib/sddm/sddm.conf.d", "etc/sddm.conf.d"]))
        if let user = sddm["Autologin"]?["User"], !user.isEmpty { autologin.append("sddm: \(user)") }
        for directory in ((try? root.list("etc/systemd/system")) ?? []).filter({ $0.hasPrefix("getty@") && $0.hasSuffix(".d") }) {
            for text in texts(root: root, files: [], directories: ["etc/systemd/system/\(directory)"]) where text.contains("--autologin") {
                autologin.append("console (\(directory.dropLast(2)))")
            }
        }
        return (autologin, guest)
    }

    /// GNOME's screen lock from system dconf keyfiles; nil when nothing readable sets it.
    func screenLock(root: ScanRoot) -> Bool? {
        var lockEnabled: Bool?
        var idleDelay: Int?
        for database in ((try? root.list("etc/dconf/db")) ?? []).filter({ $0.hasSuffix(".d") }) {
            let settings = Self.ini(
                texts(root: root, files: [], directories: [])
                    + ((try? root.list("etc/dconf/db/\(database)")) ?? []).compactMap { try? root.readText("etc/dconf/db/\(database)/\($0)") })
            if let value = settings["org/gnome/desktop/screensaver"]?["lock-enabled"] { lockEnabled = value == "true" }
            if let value = settings["org/gnome/desktop/session"]?["idle-delay"] {
                idleDelay = Int(value.split(separator: " ").last ?? "")
            }
        }
        if lockEnabled == false || idleDelay == 0 { return false }
        if lockEnabled == true { return true }
        return nil
    }

    /// True when `etc/crypttab` names a device or, on the live system, the root file system sits on dm-crypt.
    func diskEncrypted(root: ScanRoot) -> Bool? {
        let crypttab =
            (try? root.readText("etc/crypttab"))?.split(separator: "\n")
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("#") } ?? []
        if !crypttab.isEmpty { return true }
        guard root.isLive else { return false }
        for block in (try? root.list("sys/block")) ?? [] where block.hasPrefix("dm-") {
            if let uuid = try? root.readText("sys/block/\(block)/dm/uuid"), uuid.hasPrefix("CRYPT-") { return true }
        }
        return false
    }

    /// A firewall is configured to start: ufw enabled, firewalld or nftables/netfilter-persistent with rules.
    func firewall(root: ScanRoot) -> Bool? {
        if let ufw = try? root.readText("etc/ufw/ufw.conf"),
            ufw.split(separator: "\n").contains(where: { $0.replacingOccurrences(of: " ", with: "").lowercased() == "enabled=yes" })
        {
            return true
        }
        let wants = ((try? root.list("etc/systemd/system")) ?? []).filter { $0.hasSuffix(".wants") }
        func enabled(_ unit: String) -> Bool { wants.contains { root.exists("etc/systemd/system/\($0)/\(unit)") } }
        if enabled("firewalld.service") { return true }
        if enabled("nftables.service"), let rules = try? root.readText("etc/nftables.conf"),
            rules.contains("policy drop") || rules.contains("reject") || rules.contains("drop")
        {
            return true
        }
        if enabled("netfilter-persistent.service"), let rules = try? root.readText("etc/iptables/rules.v4"),
            rules.contains("DROP") || rules.contains("REJECT")
        {
            return true
        }
        return false
    }
}

extension LocalAccessProbe: BlockingProbe {
    package var name: ProbeName { .localAccess }
    package var reads: String { "display-manager and getty autologin, dconf, etc/crypttab and firewall settings" }
    package func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput {
        let access = collect(root: context.root)
        return ProbeOutput { $0.localAccess = access }
    }
}
