package import Foundation
import PostureReference
package import PostureTransport

/// `/etc/posture/agent.yaml`: what the daemon scans, how often, and where reports go.
/// Unknown keys are errors with file and line, like profiles.
package struct AgentConfig: Sendable {
    /// Where and how reports are uploaded.
    package struct Upload: Sendable {
        package var url: String
        package var transport: TransportOptions
    }

    package static let defaultPath = "/etc/posture/agent.yaml"

    /// The file it came from; nil for the built-in defaults.
    package var path: String?
    package var stateDirectory: String?
    package var profiles: [String] = []
    package var interval: TimeInterval = 6 * 3600
    package var jitter: TimeInterval = 30 * 60
    /// A cycle still running after this long is killed (`cycle.timeout`) and the next runs on schedule.
    package var cycleTimeout: TimeInterval = 45 * 60
    package var upload: Upload?
    package var logLevel = "info"

    package init() {}

    /// `--config FILE`, else `/etc/posture/agent.yaml` when it exists, else the defaults
    /// (scan every bundled profile, keep reports in the journal only).
    package static func load(explicit: String?) throws -> AgentConfig {
        if let explicit { return try parse(path: explicit) }
        if FileManager.default.fileExists(atPath: defaultPath) { return try parse(path: defaultPath) }
        return AgentConfig()
    }

    package static func parse(path: String) throws -> AgentConfig {
        let root = try YAMLNode.load(path: path).mapping("the agent config")
        try root.rejectUnknownKeys(allowed: ["state_dir", "profiles", "schedule", "upload", "log_level"])
        var config = AgentConfig()
        config.path = path
        config.stateDirectory = try root.optional("state_dir")?.string("state_dir")
        config.profiles = try root.optional("profiles")?.strings("profiles") ?? []
        if let schedule = root.optional("schedule") {
            let map = try schedule.mapping("schedule")
            try map.rejectUnknownKeys(allowed: ["interval", "jitter", "cycle_timeout"])
            if let node = map.optional("interval") {
                config.interval = TimeInterval(try node.duration("schedule.interval"))
                guard config.interval >= 60 else { throw node.error("schedule.interval must be at least 1m") }
            }
            if let node = map.optional("jitter") { config.jitter = TimeInterval(try node.duration("schedule.jitter")) }
            if let node = map.optional("cycle_timeout") {
                config.cycleTimeout = TimeInterval(try node.duration("schedule.cycle_timeout"))
                guard config.cycleTimeout >= 60 else { throw node.error("schedule.cycle_timeout must be at least 1m") }
            }
        }
        if let upload = root.optional("upload") {
            let map = try upload.mapping("upload")
            try map.rejectUnknownKeys(allowed: ["url", "ca_file", "pinned_public_key", "client_cert", "client_key", "proxy", "timeout"])
            if let urlNode = map.optional("url") {
                let url = try urlNode.string("upload.url")
                guard url.hasPrefix("https://") || url.hasPrefix("http://127.") || url.hasPrefix("http://localhost") else {
                    throw urlNode.error("upload.url must be https:// (plain http only to loopback)")
                }
                var options = TransportOptions()
                options.caFile = try map.optional("ca_file")?.string("upload.ca_file")
                options.pinnedPublicKey = try map.optional("pinned_public_key")?.string("upload.pinned_public_key")
                options.clientCertificate = try map.optional("client_cert")?.string("upload.client_cert")
                options.clientKey = try map.optional("client_key")?.string("upload.client_key")
                options.proxy = try map.optional("proxy")?.string("upload.proxy")
                if let node = map.optional("timeout") { options.totalTimeout = TimeInterval(try node.duration("upload.timeout")) }
                config.upload = Upload(url: url, transport: options)
            }
        }
        if let node = root.optional("log_level") {
            config.logLevel = try node.string("log_level")
            guard ["debug", "info", "warning", "error"].contains(config.logLevel) else {
                throw node.error("log_level must be debug, info, warning or error")
            }
        }
        return config
    }
}
