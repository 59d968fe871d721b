import Foundation
import PostureAgent
import PostureTestSupport
import PostureTransport
import Testing

/// The default `/etc/posture/agent.yaml` that the Debian package installs (`packaging/agent.yaml`).
@Suite struct PackagingTests {
    static let shippedConfig = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../packaging/agent.yaml").standardized.path

    /// Every `# key: value` line made live, so the documented examples are parsed too.
    static func uncommented() throws -> String {
        let text = try String(contentsOfFile: shippedConfig, encoding: .utf8)
        let commentedKey = try Regex(#"^# ((?: {2})*(?:[a-z_]+:.*|# .*))$"#)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            guard let match = line.wholeMatch(of: commentedKey), let body = match.output[1].substring else { return String(line) }
            return String(body)
        }.joined(separator: "\n")
    }

    @Test func shippedConfigParsesAndKeepsTheDefaults() throws {
        let config = try AgentConfig.parse(path: Self.shippedConfig)
        let defaults = AgentConfig()
        #expect(config.profiles == defaults.profiles)
        #expect(config.interval == defaults.interval)
        #expect(config.jitter == defaults.jitter)
        #expect(config.logLevel == defaults.logLevel)
        #expect(config.stateDirectory == nil, "the state directory default comes from the CLI, not the file")
        #expect(config.upload == nil, "no collector until the administrator names one")
    }

    @Test func everyDocumentedOptionParses() throws {
        let root = try TemporaryRoot("packaging")
        let path = try root.write("agent.yaml", try Self.uncommented()).path
        let config = try AgentConfig.parse(path: path)
        #expect(config.stateDirectory == "/var/lib/posture")
        let upload = try #require(config.upload, "the commented upload section")
        #expect(upload.url == "https://collector.bank.example/v1/reports")
        #expect(upload.transport.caFile == "/etc/posture/ca.pem")
        #expect(upload.transport.pinnedPublicKey == "sha256//BASE64")
        #expect(upload.transport.clientCertificate == "/etc/posture/client.pem")
        #expect(upload.transport.clientKey == "/etc/posture/client.key")
        #expect(upload.transport.proxy == "http://proxy.example:8080")
        #expect(upload.transport.totalTimeout == 30)
    }

    @Test func statusAcceptsTheShippedConfig() throws {
        let root = try TemporaryRoot("packaging")
        let result = try CLITests.posture(["status", "--config", Self.shippedConfig, "--state-dir", root.url("state").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("config:         \(Self.shippedConfig)"))
    }
}
