import ArgumentParser
import Foundation
import PostureCLI
import PostureCommandLine
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureProbes
import PostureReference
import PostureTestSupport
import Testing

/// `posture` verbs run in this process (argument-parser's `parseAsRoot`, then `run`), and the one
/// table that turns an error into an exit status. `CLITests` keeps the built binary for the contract.
@Suite struct InProcessVerbTests {
    /// Runs `arguments` as `posture` would; the exit status it ends with (0 when it returns).
    static func run(_ arguments: [String]) async throws -> Int32 {
        do {
            var command = try PostureCommand.parseAsRoot(arguments)
            if var verb = command as? any AsyncParsableCommand { try await verb.run() } else { try command.run() }
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch {
            return PostureCommand.exitCode(for: error).rawValue
        }
    }

    @Test(arguments: [
        (["profiles", "show", "no-such-bank"], ExitStatus.noInput),
        (["profiles", "validate", "/nonexistent/profile.yaml"], ExitStatus.noInput),
        (["verify", "/nonexistent/envelope.json"], ExitStatus.noInput),
        (["scan", "--root", "/nonexistent/disk", "--profile", "no-such-bank"], ExitStatus.noInput),
        (
            [
                "assess", "/nonexistent/claim.json", "--key", "/nonexistent/device.pub", "--profile", "akishin-corporate-ib",
                "--incident", "2026-11-10"
            ], ExitStatus.noInput
        ),
        (["assess", "/nonexistent/claim.json"], ExitStatus.usage),
        (
            ["claim", "--profile", "akishin-corporate-ib", "--incident", "2026-11-10", "--output", "/tmp/x", "--filed", "2026-11-11"],
            ExitStatus.usage
        )
    ])
    func verbEndsWithTheStatusOfItsError(arguments: [String], status: Int32) async throws {
        #expect(try await Self.run(arguments) == status)
    }

    @Test func aSecondKeyIsAUsageErrorAndAnOpenStateDirectoryIsRefused() async throws {
        let root = try TemporaryRoot()
        let state = root.url("state").path
        #expect(try await Self.run(["key", "generate", "--state-dir", state]) == 0)
        #expect(try await Self.run(["key", "generate", "--state-dir", state]) == ExitStatus.usage)
        let open = root.url("open").path
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        #expect(try await Self.run(["key", "generate", "--state-dir", open]) == ExitStatus.permission)
    }

    /// Every error type a verb may meet states its own status, and both executables report it
    /// through `ErrorReporter`: one row per case that has a status of its own.
    @Test(arguments: [
        (LocatedError(file: "p.yaml", line: 3, message: "bad", kind: .malformed) as any Error, ExitStatus.dataError),
        (LocatedError(file: "p.yaml", line: nil, message: "no such file", kind: .missing), ExitStatus.noInput),
        (LocatedError(file: "p.yaml", line: nil, message: "permission denied", kind: .permissionDenied), ExitStatus.permission),
        (ProfileRepository.LookupError.unknownProfile("x", searched: []), ExitStatus.noInput),
        (ProbeError.missing(path: "/x"), ExitStatus.noInput),
        (ProbeError.unreadable(path: "/x", reason: "Permission denied"), ExitStatus.permission),
        (ProbeError.unreadable(path: "/x", reason: "I/O error"), ExitStatus.noInput),
        (ProbeError.malformed(path: "/x", reason: "bad"), ExitStatus.dataError),
        (KeyError.missing("/k"), ExitStatus.noInput),
        (KeyError.exists("/k"), ExitStatus.usage),
        (KeyError.tooOpen("/k", mode: 0o644), ExitStatus.permission),
        (KeyError.malformed("/k"), ExitStatus.dataError),
        (JournalError.noSpace(journal: "/j", doing: "append"), ExitStatus.ioError),
        (JournalError.failed(journal: "/j", doing: "append", reason: "x"), ExitStatus.software),
        (StateDirectoryError.writableByOthers("/s", mode: 0o777), ExitStatus.permission),
        (BundleError("bad bundle"), ExitStatus.dataError),
        (CommandFailure("cannot write", status: ExitStatus.cannotCreate), ExitStatus.cannotCreate),
        (CocoaError(.fileReadUnknown), ExitStatus.software)
    ])
    func errorReporterGivesEachErrorItsStatus(error: any Error, status: Int32) async throws {
        let reporter = ErrorReporter(program: "posture-test")
        await #expect(throws: ExitCode(status)) { try await reporter.run { throw error } }
    }
}
