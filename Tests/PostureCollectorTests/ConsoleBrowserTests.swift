import Foundation
import PostureCollector
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureReference
import PostureTestSupport
import PostureTransport
import Testing

/// The console as a bank employee and a customer's IT use it: the real `posture-collector serve`
/// on loopback holding the planted fleet, driven in Debian's Chromium by selenium
/// (`Tests/Support/console_browser.py`). Screenshots and the printed PDF are kept in
/// `.build/test-artifacts/console/`.
@Suite(.serialized) struct ConsoleBrowserTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path

    /// Why the browser cannot run here, or nil.
    static var unavailable: String? {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is not installed (make test installs chromium and chromium-driver)"
        }
        guard FileManager.default.fileExists(atPath: "\(repository)/.build/python-deps/selenium") else {
            return "selenium is not installed (make test installs it into .build/python-deps)"
        }
        return nil
    }

    @Test(arguments: StoreKind.available)
    func signInOverviewDeviceClaimPrintAndScope(store: StoreKind) async throws {
        if let reason = Self.unavailable {
            if DebianSystemRoot.required { Issue.record("\(reason)") }
            return
        }
        let scratch = store == .postgres ? try ScratchDatabase() : nil
        defer { try? scratch?.drop() }
        let server = try CollectorProcess(store: store, limits: "{per_device_per_minute: 1000}", tls: false, storageURL: scratch?.url)
        let fleet = ConsoleFleet()
        for pc in fleet.pcs {
            let enrolled = try server.enroll(pc.device.key, token: try server.issueToken(contract: pc.contract), hostname: pc.hostname)
            #expect(enrolled.status == 201)
            for (id, bytes) in try fleet.envelopes(pc) { #expect(try server.upload(bytes, id: id).status == 201) }
        }
        let contractToken = try StaffTokens.issue(file: server.root.url("staff-tokens").path, scope: .contract("C-A"), lifetime: 3600, name: "it-a").token
        let profile = try ProfileRepository(paths: .standard()).load(ConsoleFleet.profile)
        let zone = profile.claim.zone
        let transfer = RFC3339.string(from: fleet.now.addingTimeInterval(-3600))
        let notified = Day(fleet.now, in: zone).description
        let failing = fleet.pc("pc-fail")
        let securitySoftware = try #require(profile.requirements.first { $0.check == .securitySoftwareInstalled }).id
        let output = "\(Self.repository)/.build/test-artifacts/console/\(store)"
        let settings = try server.root.write(
            "browser.json",
            String(
                decoding: try JSONSerialization.data(withJSONObject: [
                    "base": server.base, "bank_token": server.staffToken, "contract_token": contractToken, "profile": ConsoleFleet.profile,
                    "failing_host": "pc-fail", "failing_requirement": securitySoftware, "other_key": fleet.pc("pc-b").device.keyID, "incidents": [transfer],
                    "notified": notified,
                    "output": output
                ]), as: UTF8.self))
        let run = try await Fixtures.runDetached(
            "/usr/bin/python3", ["\(Self.repository)/Tests/Support/console_browser.py", settings.path],
            environment: ["PATH": "/usr/bin:/bin", "PYTHONPATH": "\(Self.repository)/.build/python-deps", "HOME": NSTemporaryDirectory(), "LANG": "C.UTF-8"])
        try #require(run.status == 0, "the browser run: \(run.stderr.suffix(3000))\n\(server.log.suffix(2000))")
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])

        #expect(seen["unsigned_redirect"] as? Bool == true)
        #expect((seen["bad_token_error"] as? String)?.contains("unknown or revoked staff token") == true)
        let cookie = seen["cookie"] as? [String: Any]
        #expect(cookie?["httpOnly"] as? Bool == true && cookie?["sameSite"] as? String == "Strict")
        // The planted facts: C-A has 4 PCs (1 failing, 2 unknown, 1 silent, 1 with a fork), C-B 1 unknown.
        let tallies = seen["tallies"] as? [String: [String: Int]]
        #expect(tallies?["C-A"] == ["devices": 4, "failing": 1, "unknown": 2, "silent": 1, "events": 1])
        #expect(tallies?["C-B"] == ["devices": 1, "failing": 0, "unknown": 1, "silent": 0, "events": 0])
        #expect(seen["all_hosts"] as? [String] == ["pc-b", "pc-fail", "pc-fork", "pc-silent", "pc-unknown"])
        #expect(seen["failing_hosts"] as? [String] == ["pc-fail"])
        #expect(seen["silent_hosts"] as? [String] == ["pc-silent"])
        #expect(seen["event_hosts"] as? [String] == ["pc-fork"])
        #expect(seen["requirement_hosts"] as? [String] == ["pc-fail"], "failing the security-software requirement")
        #expect(seen["device_title"] as? String == "pc-fail")
        #expect(
            (seen["device_failing_findings"] as? [String])?.contains { $0.contains("Security software installed") && $0.contains("apt-get install clamav") }
                == true, "the failing requirement is shown with its remedy")
        #expect((seen["device_timeline_spans"] as? Int ?? 0) > 10, "the profile's timeline has a span per requirement")

        // The claim from the form is the assessment `posture-collector assess` makes of the same envelopes.
        let cli = try Fixtures.run(
            CollectorProcess.binary,
            [
                "assess", "--config", server.config, "--contract", "C-A", "--device", failing.device.keyID, "--profile", ConsoleFleet.profile,
                "--incident", transfer, "--notified", notified, "--format", "json", "--token", server.staffToken
            ])
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [String: Any], "\(cli.stderr)")
        let console = try #require(seen["assessment"] as? [String: Any])
        for key in ["outcome", "requirements", "transfers", "verification", "claim", "gaps"] {
            #expect(
                NSDictionary(dictionary: [key: console[key] ?? NSNull()]).isEqual(to: [key: expected[key] ?? NSNull()]),
                "\(key) differs between the console and posture-collector assess")
        }
        #expect(((seen["assessment_outcome_text"] as? String) ?? "").isEmpty == false)
        #expect(seen["overflowing"] as? Bool == false, "the assessment fits an A4 page's width")
        #expect((seen["pdf_pages"] as? Int ?? 0) >= 1)

        #expect(seen["japanese_heading"] as? String == "概要")
        #expect((seen["after_sign_out"] as? String)?.hasSuffix("/console/sign-in") == true)
        #expect((seen["after_sign_out_overview"] as? String)?.hasSuffix("/console/sign-in") == true)
        #expect(seen["contract_tallies"] as? [String] == ["C-A"])
        #expect(seen["other_contract_device"] as? String == "Not found")
        #expect(server.stop() == 0)
    }
}
