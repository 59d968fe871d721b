import ArgumentParser
package import Foundation
package import PostureModel

/// The one path from an error to a message and an exit status, for `posture` and
/// `posture-collector` alike: an `ExitStatusError` is shown as `program: message` on stderr and
/// ends the verb with its own status; argument-parser's own errors keep their usage output; any
/// other error is an internal error (70).
package struct ErrorReporter: Sendable {
    /// The prefix of every message: the executable's name.
    package var program: String

    package init(program: String) { self.program = program }

    package static let posture = ErrorReporter(program: "posture")
    package static let collector = ErrorReporter(program: "posture-collector")

    /// Runs a verb body, turning what it throws into a message on stderr and an exit status.
    package func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ExitCode {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch let error as any ExitStatusError {
            printError(error.description)
            throw ExitCode(error.exitStatus)
        } catch {
            printError("internal error: \(error)")
            throw ExitCode(ExitStatus.software)
        }
    }

    /// Writes `program: message` to stderr.
    package func printError(_ message: String) {
        FileHandle.standardError.write(Data("\(program): \(message)\n".utf8))
    }
}

/// Writes `data` to `path` atomically (`AtomicFile`: a full disk leaves the old file or none, never
/// a part), or to stdout when nil.
package func emit(_ data: Data, to path: String?) throws(CommandFailure) {
    guard let path else {
        FileHandle.standardOutput.write(data)
        return
    }
    do throws(FileWriteError) {
        try AtomicFile.write(data, to: path)
    } catch {
        if case .permissionDenied = error { throw CommandFailure(error.description, status: ExitStatus.permission) }
        throw CommandFailure(error.description, status: ExitStatus.cannotCreate)
    }
}
