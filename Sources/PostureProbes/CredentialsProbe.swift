import Foundation
import GRDB
package import PostureModel

/// Logins saved in browser profiles, and password-note files on desktops, found without
/// decrypting anything: only the browser, the profile path and the site's origin are kept.
package struct CredentialsProbe: Sendable {
    /// Firefox-family profile folders (each holds profile directories with `logins.json`), relative to a home.
    package static let firefoxRoots = [
        ".mozilla/firefox", "snap/firefox/common/.mozilla/firefox",
        ".var/app/org.mozilla.firefox/.mozilla/firefox"
    ]
    /// Chromium-family user-data folders (profiles `Default`, `Profile N` hold `Login Data`), relative to a home.
    static let chromiumRoots: [(browser: String, path: String)] = [
        ("chromium", ".config/chromium"), ("chromium", "snap/chromium/common/chromium"),
        ("chromium", ".var/app/org.chromium.Chromium/config/chromium"),
        ("google-chrome", ".config/google-chrome"), ("google-chrome", ".config/google-chrome-beta"),
        ("google-chrome", ".var/app/com.google.Chrome/config/google-chrome"),
        ("microsoft-edge", ".config/microsoft-edge"), ("microsoft-edge", ".var/app/com.microsoft.Edge/config/microsoft-edge"),
        ("brave", ".config/BraveSoftware/Brave-Browser"), ("brave", ".var/app/com.brave.Browser/config/BraveSoftware/Brave-Browser"),
        ("opera", ".config/opera"), ("vivaldi", ".config/vivaldi")
    ]
    /// File names that look like password notes (lower-cased substrings), Japanese included.
    static let noteWords = ["password", "passwd", "パスワード", "ぱすわーど", "暗証番号", "暗証", "ログイン情報"]
    /// File-name stems (before the first dot) that are password notes on their own.
    static let noteStems: Set<String> = ["pw", "pwd", "pass", "id_pw", "idpw", "id_pass", "idpass"]

    package init() {}

    /// The saved logins and notes, and what could not be read (for example another user's home without root).
    package func collect(root: ScanRoot, homes: [String]) -> (CredentialsEvidence, problems: [String]) {
        var logins: [CredentialsEvidence.SavedLogin] = []
        var notes: [String] = []
        var problems: [String] = []
        // A folder that stands there but cannot be listed safely (a symlink in a home, no
        // permission) is a problem to report, not an empty folder.
        func listing(_ directory: String) -> [String] {
            do { return try root.list(directory) } catch {
                problems.append("\(error)")
                return []
            }
        }
        for home in homes {
            do {
                _ = try root.list(home)
            } catch {
                problems.append("\(error)")
                continue
            }
            for base in Self.firefoxRoots {
                for profile in listing("\(home)/\(base)") {
                    let file = "\(home)/\(base)/\(profile)/logins.json"
                    guard root.exists(file) else { continue }
                    do {
                        for origin in try Self.firefoxOrigins(try root.readBytes(file, limit: ScanRoot.userFileLimit), path: root.display(file)) {
                            logins.append(.init(browser: "firefox", profilePath: root.display("\(home)/\(base)/\(profile)"), origin: origin))
                        }
                    } catch { problems.append("\(error)") }
                }
            }
            for (browser, base) in Self.chromiumRoots where root.exists("\(home)/\(base)") {
                let names = listing("\(home)/\(base)")
                guard root.isDirectory("\(home)/\(base)") else { continue }
                let profiles = ["."] + names.filter { $0 == "Default" || $0.hasPrefix("Profile ") }
                for profile in profiles {
                    let directory = profile == "." ? "\(home)/\(base)" : "\(home)/\(base)/\(profile)"
                    guard root.exists("\(directory)/Login Data") else { continue }
                    do {
                        for origin in try Self.chromiumOrigins(root: root, file: "\(directory)/Login Data") {
                            logins.append(.init(browser: browser, profilePath: root.display(directory), origin: origin))
                        }
                    } catch { problems.append("\(error)") }
                }
            }
            notes += passwordNotes(root: root, home: home, listing: listing)
        }
        return (CredentialsEvidence(savedLogins: logins, passwordNotes: notes), problems)
    }

    /// The `hostname` of every entry in a Firefox `logins.json` (the encrypted fields are never read).
    static func firefoxOrigins(_ bytes: [UInt8], path: String) throws(ProbeError) -> [String] {
        struct LoginsFile: Decodable {
            struct Login: Decodable { var hostname: String }
            var logins: [Login]
        }
        do {
            return try JSONDecoder().decode(LoginsFile.self, from: Data(bytes)).logins.map(\.hostname)
        } catch {
            throw ProbeError.malformed(path: path, reason: "not a Firefox logins.json")
        }
    }

    /// `origin_url` of the saved (not "never save") logins of a Chromium `Login Data` database,
    /// read from a private copy because the running browser may hold a lock on it.
    static func chromiumOrigins(root: ScanRoot, file: String) throws(ProbeError) -> [String] {
        try SQLiteSnapshot.read(root: root, file: file, kind: "Login Data database", tables: ["logins"]) { db in
            let columns = try db.columns(in: "logins").map(\.name)
            let sql =
                columns.contains("blacklisted_by_user")
                ? "SELECT origin_url FROM logins WHERE blacklisted_by_user = 0" : "SELECT origin_url FROM logins"
            return try String.fetchAll(db, sql: sql)
        }
    }

    /// Files named like password notes on the user's desktop (XDG desktop folder, `Desktop`, `デスクトップ`).
    /// - Parameter listing: lists a directory, recording why one could not be listed.
    func passwordNotes(root: ScanRoot, home: String, listing: (String) -> [String]) -> [String] {
        var desktops = ["Desktop", "デスクトップ"]
        if let dirs = try? root.readText("\(home)/.config/user-dirs.dirs", limit: ScanRoot.userFileLimit) {
            for line in dirs.split(separator: "\n") where line.hasPrefix("XDG_DESKTOP_DIR=") {
                let value = line.dropFirst("XDG_DESKTOP_DIR=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if value.hasPrefix("$HOME/") { desktops.append(String(value.dropFirst(6))) }
            }
        }
        var found: [String] = []
        for desktop in Set(desktops).sorted() {
            for name in listing("\(home)/\(desktop)") {
                let lower = name.lowercased()
                let stem = String(lower.split(separator: ".").first ?? "")
                guard Self.noteWords.contains(where: { lower.contains($0) }) || Self.noteStems.contains(stem) else { continue }
                found.append(root.display("\(home)/\(desktop)/\(name)"))
            }
        }
        return found
    }
}

extension CredentialsProbe: BlockingProbe {
    package var name: ProbeName { .credentials }
    package var reads: String { "browsers' saved-login files and desktop file names in every home" }
    package func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput {
        let (credentials, problems) = collect(root: context.root, homes: context.homes)
        return ProbeOutput(problems: problems) { $0.credentials = credentials }
    }
}
