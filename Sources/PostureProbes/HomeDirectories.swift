import Foundation

/// Users' home directories inside a root: those `etc/passwd` names plus every directory under `home/`.
/// Finding them registers them with the root's `HomeGuard`, so what lies under them is read only
/// as far as their owners could.
package enum HomeDirectories {
    /// Paths relative to the root (`home/alice`, `root`), sorted and without duplicates.
    package static func all(root: ScanRoot) -> [String] {
        var homes = Set<String>()
        if let passwd = try? root.readText("etc/passwd") {
            for entry in PasswdFile.parse(passwd) where entry.uid == 0 || entry.uid >= 1000 {
                let relative = String(entry.home.drop { $0 == "/" })
                if !relative.isEmpty, root.isDirectory(relative) { homes.insert(relative) }
            }
        }
        for name in (try? root.list("home")) ?? [] where root.isDirectory("home/\(name)") {
            homes.insert("home/\(name)")
        }
        for home in homes {
            guard case .success(let status) = root.status(home), let canonical = root.canonical(home) else { continue }
            root.homes.register(home, .init(canonical: String(canonical.drop { $0 == "/" }), owner: status.owner))
        }
        return homes.sorted()
    }
}

/// Entries of `etc/passwd`.
package enum PasswdFile {
    package struct Entry: Sendable, Hashable {
        package var user: String
        package var uid: Int
        package var home: String
        package var shell: String
    }

    /// Parses the seven colon-separated fields; malformed lines are skipped.
    package static func parse(_ text: String) -> [Entry] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 7, !fields[0].isEmpty, let uid = Int(fields[2]) else { return nil }
            return Entry(user: String(fields[0]), uid: uid, home: String(fields[5]), shell: String(fields[6]))
        }
    }
}

/// Installed snaps and flatpaks, which can hold browsers and file-sharing clients.
package enum AppBundles {
    /// Snap names with a `current` revision, and the version from their `meta/snap.yaml`.
    package static func snaps(root: ScanRoot) -> [String: String?] {
        var found: [String: String?] = [:]
        for name in (try? root.list("snap")) ?? [] where root.exists("snap/\(name)/current/meta/snap.yaml") {
            let yaml = try? root.readText("snap/\(name)/current/meta/snap.yaml")
            found[name] = yaml.flatMap { simpleYAMLValue("version", in: $0) }
        }
        return found
    }

    /// Flatpak application ids (system-wide and per user) and the version their metainfo declares.
    package static func flatpaks(root: ScanRoot, homes: [String]) -> [String: String?] {
        var found: [String: String?] = [:]
        let installations = ["var/lib/flatpak/app"] + homes.map { "\($0)/.local/share/flatpak/app" }
        for installation in installations {
            for id in (try? root.list(installation)) ?? [] {
                let active = "\(installation)/\(id)/current/active"
                guard root.exists(active) else { continue }
                let version: String? =
                    metainfoVersion(root: root, directory: "\(active)/files/share/metainfo")
                    ?? metainfoVersion(root: root, directory: "\(active)/files/share/appdata")
                found[id] = .some(version)
            }
        }
        return found
    }

    /// The first `<release version="…">` of an AppStream metainfo file (the newest release).
    static func metainfoVersion(root: ScanRoot, directory: String) -> String? {
        for name in (try? root.list(directory)) ?? [] where name.hasSuffix(".xml") {
            guard let text = try? root.readText("\(directory)/\(name)", limit: ScanRoot.userFileLimit),
                let release = text.range(of: "<release "),
                let version = text[release.upperBound...].range(of: "version=\"")
            else { continue }
            let rest = text[version.upperBound...]
            if let end = rest.firstIndex(of: "\"") { return String(rest[..<end]) }
        }
        return nil
    }

    /// A top-level `key: value` of a simple YAML file, unquoted.
    static func simpleYAMLValue(_ key: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("\(key):") {
            let value = line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
            return value.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        }
        return nil
    }
}

/// Names of running processes (`/proc/PID/comm`, at most 15 characters), for the live root only.
package enum RunningProcesses {
    package static func names(root: ScanRoot) -> Set<String>? {
        guard root.isLive, let entries = try? root.list("proc") else { return nil }
        var names = Set<String>()
        for pid in entries where pid.first?.isNumber == true {
            if let comm = try? root.readText("proc/\(pid)/comm") {
                names.insert(comm.trimmingCharacters(in: .newlines))
            }
        }
        return names
    }

    /// Whether any of `wanted` (compared on their first 15 characters, as the kernel truncates) runs.
    package static func anyRunning(_ wanted: [String], in names: Set<String>) -> Bool {
        wanted.contains { names.contains(String($0.prefix(15))) }
    }
}
