package import Foundation

extension Fixtures {
    /// A ClamAV `.cvd` file: the 512-byte space-padded header in the layout of sigtool's `build()`
    /// (`built` as its `strftime("%d %b %Y %H-%M %z")`, e.g. `01 Oct 2026 04-26 -0500`), then opaque
    /// signature data. The probe's own tests read headers made by the real sigtool and freshclam.
    package static func clamavDatabase(built: String, version: Int, signatures: Int = 27_000) -> Data {
        var header =
            "ClamAV-VDB:\(built):\(version):\(signatures):90:0123456789abcdef0123456789abcdef:"
            + "SIGNATURE0123456789abcdef:raynman:1763400000"
        header += String(repeating: " ", count: 512 - header.utf8.count)
        return Data(header.utf8) + Data((0..<2048).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    }

    /// A file of Tests/Support/clamav: signature databases and updates that ClamAV's own sigtool
    /// built and signed (see the README there for where they come from).
    package static func clamavSample(_ name: String) throws -> Data {
        try Data(contentsOf: clamavSamples.appendingPathComponent(name))
    }

    /// Tests/Support/clamav.
    package static var clamavSamples: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Support/clamav").standardized
    }

    /// A Firefox `logins.json` with the fields Firefox writes; the encrypted values are the given secrets.
    package static func firefoxLogins(_ entries: [(hostname: String, secret: String)]) -> String {
        let logins = entries.enumerated().map { index, entry in
            """
            {"id":\(index + 1),"hostname":"\(entry.hostname)","httpRealm":null,"formSubmitURL":"\(entry.hostname)",\
            "usernameField":"user","passwordField":"pass","encryptedUsername":"MDoEEPgAAAA\(entry.secret)U",\
            "encryptedPassword":"MEIEEPgAAAA\(entry.secret)P","guid":"{\(UUID().uuidString)}","encType":1,\
            "timeCreated":1700000000000,"timeLastUsed":1700000000000,"timePasswordChanged":1700000000000,"timesUsed":3}
            """
        }
        return
            "{\"nextId\":\(entries.count + 1),\"logins\":[\(logins.joined(separator: ","))],\"potentiallyVulnerablePasswords\":[],\"dismissedBreachAlertsByLoginGUID\":{},\"version\":3}"
    }

    /// A Chromium `Login Data` SQLite database made with the sqlite3 tool (schema as Chromium writes it).
    package static func chromiumLoginData(at url: URL, _ entries: [(origin: String, secret: String, neverSave: Bool)]) throws {
        guard let sqlite = tool("/usr/bin/sqlite3") else { throw CocoaError(.fileNoSuchFile) }
        var sql = """
            CREATE TABLE meta(key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR);
            INSERT INTO meta VALUES('version','43');
            CREATE TABLE logins (origin_url VARCHAR NOT NULL, action_url VARCHAR, username_element VARCHAR,
              username_value VARCHAR, password_element VARCHAR, password_value BLOB, submit_element VARCHAR,
              signon_realm VARCHAR NOT NULL, date_created INTEGER NOT NULL, blacklisted_by_user INTEGER NOT NULL,
              scheme INTEGER NOT NULL, password_type INTEGER, times_used INTEGER, form_data BLOB,
              display_name VARCHAR, icon_url VARCHAR, federation_url VARCHAR, skip_zero_click INTEGER,
              generation_upload_status INTEGER, possible_username_pairs BLOB, id INTEGER PRIMARY KEY AUTOINCREMENT,
              date_last_used INTEGER NOT NULL DEFAULT 0, moving_blocked_for BLOB, date_password_modified INTEGER NOT NULL DEFAULT 0,
              UNIQUE (origin_url, username_element, username_value, password_element, signon_realm));
            """
        for entry in entries {
            sql +=
                "\nINSERT INTO logins (origin_url, action_url, username_value, password_value, signon_realm, date_created, blacklisted_by_user, scheme) VALUES ('\(entry.origin)', '\(entry.origin)', 'user-\(entry.secret)', CAST('v10\(entry.secret)' AS BLOB), '\(entry.origin)/', 13340000000000000, \(entry.neverSave ? 1 : 0), 0);"
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let result = try run(sqlite, [url.path], input: Data(sql.utf8))
        if result.status != 0 { throw NSError(domain: "sqlite3", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: result.stderr]) }
    }

    /// An `/etc/shadow` line whose password was last changed `daysAgo` days before `now`.
    package static func shadowLine(user: String, hash: String, daysAgo: Int, maxDays: String = "99999", now: Date = Date()) -> String {
        let today = Int(now.timeIntervalSince1970 / 86400)
        return "\(user):\(hash):\(today - daysAgo):0:\(maxDays):7:::"
    }
}

/// A package to install into a generated root: its files are written and recorded in the dpkg
/// database (`status`, `info/<name>.list`, `info/<name>.md5sums`) exactly as dpkg records them.
package struct FakePackage {
    package var name: String
    package var version: String
    package var files: [(path: String, content: String, mode: Int)]
    package var conffiles: [(path: String, content: String)]
    package var directories: [String]
    package var architecture: String

    package init(
        _ name: String, version: String = "1.0-1", architecture: String = "amd64",
        files: [(path: String, content: String, mode: Int)] = [], conffiles: [(path: String, content: String)] = [],
        directories: [String] = []
    ) {
        self.name = name
        self.version = version
        self.architecture = architecture
        self.files = files
        self.conffiles = conffiles
        self.directories = directories
    }
}

extension Fixtures {
    /// MD5 of a string as lower-case hex, computed by the system's `md5sum` so fixtures do not trust our own code.
    package static func md5(_ content: String) throws -> String {
        let result = try run("/usr/bin/md5sum", [], input: Data(content.utf8))
        return String(result.stdout.prefix(32))
    }

    /// Installs `packages` into `root`: files on disk plus a dpkg database describing them.
    package static func install(_ packages: [FakePackage], into root: TemporaryRoot, diversions: [(from: String, to: String, by: String)] = []) throws {
        var status = ""
        for package in packages {
            var list = ["/."]
            var md5sums = ""
            for directory in package.directories {
                list.append(directory)
                try root.makeDirectory(String(directory.dropFirst()))
            }
            for file in package.files {
                let url = try root.write(String(file.path.dropFirst()), file.content)
                try FileManager.default.setAttributes([.posixPermissions: file.mode], ofItemAtPath: url.path)
                list.append(file.path)
                md5sums += "\(try md5(file.content))  \(file.path.dropFirst())\n"
            }
            var conffileField = ""
            for conffile in package.conffiles {
                try root.write(String(conffile.path.dropFirst()), conffile.content)
                list.append(conffile.path)
                conffileField += "\n \(conffile.path) \(try md5(conffile.content))"
            }
            try root.write("var/lib/dpkg/info/\(package.name).list", list.joined(separator: "\n") + "\n")
            try root.write("var/lib/dpkg/info/\(package.name).md5sums", md5sums)
            status += """
                Package: \(package.name)
                Status: install ok installed
                Priority: optional
                Section: misc
                Installed-Size: 10
                Maintainer: Test <test@example.org>
                Architecture: \(package.architecture)
                Version: \(package.version)
                """
            if !conffileField.isEmpty { status += "\nConffiles:" + conffileField }
            status += "\nDescription: \(package.name)\n\n"
        }
        try root.write("var/lib/dpkg/status", status)
        try root.makeDirectory("var/lib/dpkg/updates")
        try root.write("var/lib/dpkg/diversions", diversions.map { "\($0.from)\n\($0.to)\n\($0.by)\n" }.joined())
    }
}

extension Fixtures {
    /// An NSS certificate database (`cert9.db`, as Firefox and Chromium keep them) made by NSS's
    /// own `certutil`, holding each PEM certificate with its trust flags (`C,,` a CA for TLS
    /// servers, `P,,` a trusted server, `,,` none).
    package static func nssDatabase(at directory: URL, _ certificates: [(name: String, pem: String, trust: String)]) throws {
        guard let certutil = tool("/usr/bin/certutil") else {
            throw NSError(domain: "certutil", code: 1, userInfo: [NSLocalizedDescriptionKey: "certutil is missing: apt-get install libnss3-tools"])
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func certutilRun(_ arguments: [String]) throws {
            let result = try run(certutil, arguments + ["-d", "sql:\(directory.path)"])
            if result.status != 0 {
                throw NSError(domain: "certutil", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: result.stderr])
            }
        }
        try certutilRun(["-N", "--empty-password"])
        for certificate in certificates {
            let pem = directory.appendingPathComponent("\(certificate.name).pem")
            try Data(certificate.pem.utf8).write(to: pem)
            try certutilRun(["-A", "-n", certificate.name, "-t", certificate.trust, "-i", pem.path])
            try FileManager.default.removeItem(at: pem)
        }
    }
}
