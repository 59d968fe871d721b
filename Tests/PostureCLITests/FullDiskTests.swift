import Foundation
import PostureTestSupport
import Testing

/// The agent's state and the files verbs write with `--output` on a real full file system (a
/// small tmpfs, filled up): a clear error, no crash, nothing lost and nothing left half written.
@Suite(.enabled(if: ScratchFilesystem.testsRun, "no tmpfs can be mounted here (needs root); CI=true makes that a failure"))
struct FullDiskTests {
    /// A root to scan (on the ordinary disk) and an agent config whose state directory is a fresh tmpfs.
    struct Agent {
        let root: TemporaryRoot
        let disk: ScratchFilesystem
        let config: String
        var state: String { disk.path }

        init() throws {
            root = try CLITests.debianRoot(pending: false)
            disk = try ScratchFilesystem()
            config = try root.write("agent.yaml", "state_dir: \(disk.path)\nprofiles: [test-bank]\n").path
        }

        func cycle() throws -> (status: Int32, stdout: String, stderr: String) {
            try CLITests.posture(["agent", "--once", "--config", config, "--root", root.path, "--profiles", root.url("profiles").path])
        }

        /// `journal list` lines: sequence, time, report id, envelope SHA-256.
        func journal() throws -> [String] {
            let list = try CLITests.posture(["journal", "list", "--config", config])
            #expect(list.status == 0, "the journal reads on a full disk: \(list.stderr)")
            return list.stdout.split(separator: "\n").map(String.init)
        }

        /// Exports the journal to the ordinary disk and verifies it: `verify`'s output, or nil when it fails.
        func verifiedExport() throws -> String? {
            let export = try CLITests.posture(["journal", "export", "--config", config])
            #expect(export.status == 0, "\(export.stderr)")
            let file = try root.write("export-\(UUID().uuidString.prefix(8)).ndjson", export.stdout)
            let verify = try CLITests.posture(["verify", file.path, "--state-dir", state])
            #expect(verify.status == 0, "\(verify.stdout)")
            return verify.status == 0 ? verify.stdout : nil
        }
    }

    /// The lines of stderr posture itself wrote (not the agent's event log).
    static func errors(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("posture: ") }
    }

    @Test func agentCycleOnAFullDiskFailsCleanlyAndTheChainContinues() throws {
        let agent = try Agent()
        for _ in 0..<2 { #expect(try agent.cycle().status == 0) }
        let key = try Data(contentsOf: agent.disk.url("device.key"))
        let before = try agent.journal()
        #expect(before.count == 2)

        try agent.disk.fill()
        let failed = try agent.cycle()
        #expect(failed.status == 74, "EX_IOERR, not a crash: \(failed.stderr)")
        let errors = Self.errors(failed.stderr)
        #expect(errors.count == 1, "one line: \(failed.stderr)")
        #expect(errors.first?.contains("no space left on device in \(agent.state)") == true, "\(failed.stderr)")
        #expect(try agent.journal() == before, "the journal reads on the full disk and holds the earlier reports, nothing half written")
        #expect(try agent.verifiedExport()?.contains("verified: 2 envelope(s)") == true)
        #expect(try Data(contentsOf: agent.disk.url("device.key")) == key, "the device key is intact")
        #expect(try CLITests.posture(["key", "show", "--state-dir", agent.state]).status == 0)
        #expect(try CLITests.posture(["status", "--config", agent.config]).status == 0)
        #expect(!agent.disk.files().contains { $0.contains(".tmp-") }, "no temporary file left: \(agent.disk.files())")

        agent.disk.free()
        let resumed = try agent.cycle()
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let after = try agent.journal()
        #expect(after.map { $0.split(separator: "\t")[0] } == ["1", "2", "3"], "no gap: the failed cycle took no sequence number")
        #expect(Array(after.prefix(2)) == before)
        #expect(try agent.verifiedExport()?.contains("verified: 3 envelope(s)") == true, "the chain links across the full disk")
    }

    /// The key is written in full (both files) before it replaces anything, so a full disk, even
    /// one that has room for the first file but not the second, leaves no key at all.
    @Test(arguments: [0, 4096])
    func aFullDiskLeavesNoPartialDeviceKey(leaving free: Int) throws {
        let agent = try Agent()
        try agent.disk.fill(leaving: free)
        let cycle = try agent.cycle()
        #expect(cycle.status == 74, "\(cycle.stderr)")
        #expect(Self.errors(cycle.stderr).first?.contains("no space left on device in \(agent.state)") == true, "\(cycle.stderr)")
        let generate = try CLITests.posture(["key", "generate", "--state-dir", agent.state])
        #expect(generate.status == 74, "\(generate.stderr)")
        #expect(agent.disk.files().isEmpty, "no key file, whole or partial, and no temporary file: \(agent.disk.files())")

        agent.disk.free()
        #expect(try agent.cycle().status == 0)
        let show = try CLITests.posture(["key", "show", "--state-dir", agent.state])
        let publicLine = try String(contentsOf: agent.disk.url("device.pub"), encoding: .utf8)
        #expect(show.stdout.hasPrefix(publicLine), "device.pub belongs to device.key")
    }

    /// Every verb that writes `--output`, run twice into a directory on a tmpfs: once with room,
    /// then with the disk full. The second run fails with 73 and leaves the first file as it was
    /// (and a new name not created at all), never a truncated file.
    @Test(arguments: ["scan", "scan --sign", "journal export", "claim", "assess"])
    func outputFilesAreReplacedWholeOrNotAtAll(verb: String) throws {
        let (root, state, profile, incident) = try ClaimCommandTests.signedHistory()
        let disk = try ScratchFilesystem()
        let bundle = root.url("bundle.json").path
        _ = try CLITests.posture(["claim", "--profile", profile, "--incident", incident, "--state-dir", state, "--output", bundle])
        func run(_ output: String) throws -> (status: Int32, stdout: String, stderr: String) {
            let arguments: [String]
            switch verb {
            case "scan": arguments = ["scan", "--root", root.path, "--profile", profile, "--state-dir", state, "--format", "json"]
            case "scan --sign": arguments = ["scan", "--sign", "--root", root.path, "--profile", profile, "--state-dir", state]
            case "journal export": arguments = ["journal", "export", "--state-dir", state]
            case "claim": arguments = ["claim", "--profile", profile, "--incident", incident, "--state-dir", state]
            default: arguments = ["assess", bundle, "--profile", profile, "--incident", incident, "--format", "html"]
            }
            return try CLITests.posture(arguments + ["--output", output])
        }
        let file = disk.url("out").path
        let first = try run(file)
        #expect([0, 1, 3].contains(first.status), "\(first.stderr)")
        let written = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(!written.isEmpty)
        let journaled = try CLITests.posture(["journal", "list", "--state-dir", state]).stdout

        try disk.fill()
        for target in [file, disk.url("new").path] {
            let failed = try run(target)
            #expect(failed.status == 73, "EX_CANTCREAT: \(failed.stderr)")
            let errors = Self.errors(failed.stderr)
            #expect(
                errors.count == 1 && errors[0].contains("cannot write \(target): no space left on device in \(disk.path)"),
                "\(failed.stderr)")
            if verb == "scan --sign" { #expect(errors.first?.contains("kept in the journal") == true) }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == written, "the old file, whole")
        #expect(disk.files() == ["out"], "no new file, no temporary file: \(disk.files())")
        let journal = try CLITests.posture(["journal", "list", "--state-dir", state]).stdout
        let added = journal.split(separator: "\n").count - journaled.split(separator: "\n").count
        #expect(added == (verb == "scan --sign" ? 2 : 0), "a signed report is journaled whether or not its file could be written")
    }
}
