import Foundation
import PostureTestSupport
import Testing

/// `scan --sign`, `verify`, `key` and the journal, through the built binary.
@Suite struct SigningTests {
    static func signedScan(_ root: TemporaryRoot, state: String, output: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        var arguments = ["scan", "--sign", "--root", root.path, "--profile", root.url("profiles/test-bank.yaml").path, "--state-dir", state]
        if let output { arguments += ["--output", output] }
        return try CLITests.posture(arguments)
    }

    @Test func signedScanChainsAndVerifies() throws {
        let root = try CLITests.debianRoot(pending: false)
        let state = root.url("state").path
        let first = try Self.signedScan(root, state: state, output: root.url("r1.json").path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("created the device key"))
        let bytes = try Data(contentsOf: root.url("r1.json"))
        #expect(bytes.last != UInt8(ascii: "\n"), "--output writes the envelope bytes exactly, no trailing newline")
        let envelope = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
        #expect(envelope["payloadType"] as? String == "application/vnd.posture.report+json")
        let second = try Self.signedScan(root, state: state)
        #expect(second.stdout.hasSuffix("}\n"))
        #expect(!second.stderr.contains("created the device key"), "an existing key is never replaced")
        try root.write("r2.json", String(second.stdout.dropLast()))
        let payload = try #require(
            Data(base64Encoded: (try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as! [String: Any])["payload"] as! String))
        let report = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
        let chain = try #require(report["chain"] as? [String: Any])
        #expect(chain["sequence"] as? Int == 2)
        #expect((chain["previous"] as? String)?.count == 64)

        let verify = try CLITests.posture(["verify", root.url("r2.json").path, root.url("r1.json").path, "--key", state + "/device.pub"])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(try CLITests.posture(["verify", root.url("r2.json").path, "--state-dir", state]).status == 0)
        #expect(try CLITests.posture(["verify", root.url("missing.json").path, "--state-dir", state]).status == 66)
        var tampered = bytes
        tampered[tampered.count / 2] = tampered[tampered.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        try tampered.write(to: root.url("r1.json"))
        let bad = try CLITests.posture(["verify", root.url("r1.json").path, root.url("r2.json").path, "--state-dir", state])
        #expect(bad.status == 65)
        #expect(bad.stdout.contains("r1.json: FAILED"))

        let export = try CLITests.posture(["journal", "export", "--state-dir", state])
        try root.write("export.ndjson", export.stdout)
        #expect(try CLITests.posture(["verify", root.url("export.ndjson").path, "--state-dir", state]).status == 0)
        let show = try CLITests.posture(["key", "show", "--state-dir", state])
        #expect(show.stdout.contains("key id: "))
        #expect(try CLITests.posture(["scan", "--sign", "--format", "text", "--state-dir", state]).status == 64)
    }

    /// A writer killed with SIGKILL at random moments never loses a completed report nor leaves
    /// one the next start cannot read: the journal's export always verifies as one unbroken chain.
    @Test func journalSurvivesKillNine() async throws {
        let root = try CLITests.debianRoot(pending: false)
        let state = root.url("state").path
        _ = try Self.signedScan(root, state: state)
        for round in 0..<12 {
            try await Fixtures.runAndKill(
                CLITests.executable,
                [
                    "scan", "--sign", "--root", root.path, "--profile",
                    root.url("profiles/test-bank.yaml").path, "--state-dir", state,
                    "--output", root.url("out-\(round).json").path
                ],
                window: 5_000_000...250_000_000)
        }
        _ = try Self.signedScan(root, state: state)
        let export = try CLITests.posture(["journal", "export", "--state-dir", state])
        #expect(export.status == 0, "\(export.stderr)")
        let lines = export.stdout.split(separator: "\n")
        #expect(lines.count >= 2)
        try root.write("export.ndjson", export.stdout)
        let verify = try CLITests.posture(["verify", root.url("export.ndjson").path, "--state-dir", state])
        #expect(verify.status == 0, "\(verify.stdout)")
        let sequences = lines.compactMap { line -> Int? in
            guard let envelope = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let payload = Data(base64Encoded: envelope["payload"] as? String ?? ""),
                let report = try? JSONSerialization.jsonObject(with: payload) as? [String: Any]
            else { return nil }
            return (report["chain"] as? [String: Any])?["sequence"] as? Int
        }
        #expect(sequences == Array(1...lines.count), "no gap: every completed append is whole")
    }
}
