package import Foundation
import PostureReference
import PostureTransparency

/// `posture-collector`'s YAML config. Unknown keys are errors with file and line, as in the agent's
/// config; relative paths are taken from the config file's directory.
package struct CollectorConfig: Sendable {
    /// Where the evidence is kept.
    package enum Storage: Sendable, Equatable {
        /// One SQLite file (the embedded default).
        case sqlite(path: String)
        /// A PostgreSQL server, by connection URL.
        case postgres(url: String)
    }

    /// Per-device limits on what the collector accepts.
    package struct Limits: Sendable, Equatable {
        package var maxBody = 1 << 20
        package var perDevicePerMinute = 60
        /// Refused requests (and repeats) one source address may make per minute before it is refused at once.
        package var perAddressRefusalsPerMinute = 60
        /// Untrusted requests (uploads, enrollments) being worked on at once; more answer 503.
        package var maxInFlight = 256
        package init() {}
    }

    /// How long a connection may stay silent, and how long one request may take to arrive.
    package struct Timeouts: Sendable, Equatable {
        package var idle: TimeInterval = 15
        package var request: TimeInterval = 30
        package init() {}
    }

    package var path: String?
    package var host = "127.0.0.1"
    package var port = 8443
    package var tlsCertificate: String?
    package var tlsKey: String?
    package var storage = Storage.sqlite(path: "/var/lib/posture-collector/collector.db")
    package var receiptKey = "/var/lib/posture-collector/receipt.key"
    package var staffTokensFile: String?
    package var limits = Limits()
    package var timeouts = Timeouts()
    package var logLevel = "info"
    package var console = Console()
    /// Note verifier keys (`cosignature/v1`, `NAME+KEYHASH+BASE64`) of the witnesses whose
    /// cosignatures of the audit log's checkpoints this collector keeps and serves.
    package var witnesses: [String] = []

    /// The web console (`/console/`, on when `staff_tokens_file` is set): the profiles whose
    /// verdicts are kept at ingest and shown, and how long a sign-in lasts.
    package struct Console: Sendable, Equatable {
        /// Profile ids; empty: every profile on the search path.
        package var profiles: [String] = []
        package var session: TimeInterval = 8 * 3600
        package init() {}
    }

    package init() {}

    /// Whether `host` names a loopback address, the only place plain HTTP is allowed.
    package static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    package static func parse(path: String) throws -> CollectorConfig {
        let root = try YAMLNode.load(path: path).mapping("the collector config")
        try root.rejectUnknownKeys(allowed: [
            "listen", "tls", "storage", "receipt_key", "staff_tokens_file", "limits", "timeouts", "log_level", "console", "witnesses"
        ])
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        func resolve(_ file: String) -> String { file.hasPrefix("/") ? file : "\(directory)/\(file)" }
        var config = CollectorConfig()
        config.path = path
        if let node = root.optional("listen") {
            let text = try node.string("listen")
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
                throw node.error("listen must be HOST:PORT (127.0.0.1:8443), not '\(text)'")
            }
            config.host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            config.port = port
        }
        if let node = root.optional("tls") {
            let map = try node.mapping("tls")
            try map.rejectUnknownKeys(allowed: ["cert", "key"])
            config.tlsCertificate = resolve(try map.required("cert").string("tls.cert"))
            config.tlsKey = resolve(try map.required("key").string("tls.key"))
        } else if !isLoopback(config.host), let node = root.optional("listen") {
            throw node.error("plain HTTP is for loopback only (behind a reverse proxy): add tls {cert, key} or listen on 127.0.0.1")
        }
        if let node = root.optional("storage") {
            let text = try node.string("storage")
            if text.hasPrefix("sqlite://") {
                let file = String(text.dropFirst("sqlite://".count))
                guard !file.isEmpty else { throw node.error("storage sqlite:// needs a file: sqlite:///var/lib/posture-collector/collector.db") }
                config.storage = .sqlite(path: resolve(file))
            } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
                do { _ = try PostgresURL(text) } catch { throw node.error("\(error)") }
                config.storage = .postgres(url: text)
            } else {
                throw node.error("storage must be sqlite:///PATH or postgres://USER@HOST/DB, not '\(text)'")
            }
        }
        if let node = root.optional("receipt_key") { config.receiptKey = resolve(try node.string("receipt_key")) }
        if let node = root.optional("staff_tokens_file") { config.staffTokensFile = resolve(try node.string("staff_tokens_file")) }
        if let node = root.optional("limits") {
            let map = try node.mapping("limits")
            try map.rejectUnknownKeys(allowed: ["max_body", "per_device_per_minute", "per_address_refusals_per_minute", "max_in_flight"])
            if let size = map.optional("max_body") {
                let text = try size.string("limits.max_body")
                guard let bytes = Self.bytes(text), bytes > 0 else {
                    throw size.error("limits.max_body must be a size: a number with B, KiB or MiB (1MiB), not '\(text)'")
                }
                config.limits.maxBody = bytes
            }
            for (key, keyPath) in [
                ("per_device_per_minute", \Limits.perDevicePerMinute),
                ("per_address_refusals_per_minute", \Limits.perAddressRefusalsPerMinute), ("max_in_flight", \Limits.maxInFlight)
            ] {
                guard let value = map.optional(key) else { continue }
                config.limits[keyPath: keyPath] = try value.int("limits.\(key)")
                guard config.limits[keyPath: keyPath] > 0 else { throw value.error("limits.\(key) must be at least 1") }
            }
        }
        if let node = root.optional("timeouts") {
            let map = try node.mapping("timeouts")
            try map.rejectUnknownKeys(allowed: ["idle", "request"])
            for (key, keyPath) in [("idle", \Timeouts.idle), ("request", \Timeouts.request)] {
                guard let value = map.optional(key) else { continue }
                let seconds = try value.duration("timeouts.\(key)")
                guard seconds > 0 else { throw value.error("timeouts.\(key) must be at least 1s") }
                config.timeouts[keyPath: keyPath] = TimeInterval(seconds)
            }
        }
        if let node = root.optional("log_level") {
            config.logLevel = try node.string("log_level")
            guard ["debug", "info", "warning", "error"].contains(config.logLevel) else {
                throw node.error("log_level must be debug, info, warning or error")
            }
        }
        if let node = root.optional("witnesses") {
            config.witnesses = try node.strings("witnesses")
            for (index, key) in config.witnesses.enumerated() where (try? CosignatureVerifier(verifierKey: key)) == nil {
                throw node.error("witnesses[\(index)] is not a witness's verifier key (NAME+KEYHASH+BASE64, from posture-collector witness key)")
            }
        }
        if let node = root.optional("console") {
            let map = try node.mapping("console")
            try map.rejectUnknownKeys(allowed: ["profiles", "session"])
            if let profiles = map.optional("profiles") { config.console.profiles = try profiles.strings("console.profiles") }
            if let session = map.optional("session") {
                let seconds = try session.duration("console.session")
                guard seconds >= 60 else { throw session.error("console.session must be at least 1m") }
                config.console.session = TimeInterval(seconds)
            }
        }
        return config
    }

    /// `512B`, `64KiB`, `1MiB` in bytes.
    static func bytes(_ text: String) -> Int? {
        for (unit, scale) in [("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)] where text.hasSuffix(unit) {
            return Int(text.dropLast(unit.count)).map { $0 * scale }
        }
        return nil
    }
}

/// A `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=…&sslrootcert=CA.pem` connection URL.
/// `sslmode` defaults to `verify-full` for a server on another host (a man in the middle cannot
/// strip TLS) and to `prefer` on loopback.
package struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    /// How TLS to the server is used (libpq's sslmode names); `require` and `verify-full` both
    /// check the certificate (against `sslrootcert`, else the system trust store) and host name.
    package enum TLSMode: String, Sendable { case disable, prefer, require, verifyFull = "verify-full" }

    package var host: String
    package var port: Int
    package var user: String
    package var password: String?
    package var database: String?
    package var tls: TLSMode
    /// `sslrootcert`: the CA file the server's certificate is checked against.
    package var rootCertificate: String?

    /// Why a URL was refused.
    package struct Invalid: Error, CustomStringConvertible {
        package var description: String
    }

    package init(_ text: String) throws {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw Invalid(description: "storage is not a postgres:// URL")
        }
        guard let user = components.user, !user.isEmpty else {
            throw Invalid(description: "storage postgres:// URL needs a user: postgres://USER@HOST/DB")
        }
        self.user = user
        password = components.password
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        port = components.port ?? 5432
        let name = String(components.path.drop { $0 == "/" })
        database = name.isEmpty ? nil : name
        let local = CollectorConfig.isLoopback(host)
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? (local ? "prefer" : "verify-full")
        guard let tls = TLSMode(rawValue: mode) else {
            throw Invalid(description: "storage sslmode must be disable, prefer, require or verify-full, not '\(mode)'")
        }
        self.tls = tls
        rootCertificate = components.queryItems?.first { $0.name == "sslrootcert" }?.value
    }

    /// The URL without its password, for logs.
    package var description: String {
        "postgres://\(user)@\(host):\(port)/\(database ?? "")?sslmode=\(tls.rawValue)" + (rootCertificate.map { "&sslrootcert=\($0)" } ?? "")
    }
}
