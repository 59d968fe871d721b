import ArgumentParser
import Foundation
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureProbes
import PostureReference

/// Writes `message` to stderr as `posture: message`.
extension CompletionKind {
    /// The profile ids on the standard search path, for `--profile <TAB>`.
    static var profileIDs: CompletionKind {
        .custom { _, _, prefix in
            let ids = (try? ProfileRepository(paths: ReferencePaths.standard(extra: [])).loadAll().map(\.id)) ?? []
            return ids.filter { $0.hasPrefix(prefix) }.sorted()
        }
    }
}

/// The root named by `--root`: an error names the option, so a mistyped path reads as one.
func scanRoot(_ path: String) throws(ProbeError) -> ScanRoot {
    do { return try ScanRoot(path) } catch {
        switch error {
        case .unreadable(let named, let reason): throw ProbeError.unreadable(path: "--root \(named)", reason: reason)
        case .unsupported(let text): throw ProbeError.unsupported("--root \(text)")
        default: throw error
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("posture: \(message)\n".utf8))
}

/// Runs a verb body, turning known errors into a message on stderr and their exit status.
func withErrorMapping(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as LocatedError {
        printError(error.description)
        switch error.kind {
        case .malformed: throw ExitCode(ExitStatus.dataError)
        case .missing: throw ExitCode(ExitStatus.noInput)
        case .permissionDenied: throw ExitCode(ExitStatus.permission)
        }
    } catch let error as ProfileRepository.LookupError {
        printError(error.description)
        throw ExitCode(ExitStatus.noInput)
    } catch let error as ProbeError {
        printError(error.description)
        switch error {
        case .missing: throw ExitCode(ExitStatus.noInput)
        case .unreadable(_, let reason) where reason.contains("ermission"): throw ExitCode(ExitStatus.permission)
        case .unreadable: throw ExitCode(ExitStatus.noInput)
        default: throw ExitCode(ExitStatus.dataError)
        }
    } catch let error as StateDirectoryError {
        printError(error.description)
        throw ExitCode(ExitStatus.permission)
    } catch let error as KeyError {
        printError(error.description)
        switch error {
        case .missing: throw ExitCode(ExitStatus.noInput)
        case .unwritable(let failure): throw ExitCode(failure.isNoSpace ? ExitStatus.ioError : ExitStatus.permission)
        case .tooOpen: throw ExitCode(ExitStatus.permission)
        case .exists: throw ExitCode(ExitStatus.usage)
        case .malformed: throw ExitCode(ExitStatus.dataError)
        }
    } catch let error as JournalError {
        printError(error.description)
        switch error {
        case .noSpace: throw ExitCode(ExitStatus.ioError)
        case .failed, .malformedAttestation: throw ExitCode(ExitStatus.software)
        }
    } catch let error as OutputError {
        printError(error.description)
        throw ExitCode(error.status)
    } catch {
        printError("internal error: \(error)")
        throw ExitCode(ExitStatus.software)
    }
}

/// Writing results failed.
struct OutputError: Error, CustomStringConvertible {
    var description: String
    var status: Int32 = ExitStatus.software
}

/// Writes `data` to `path` atomically (`AtomicFile`: a full disk leaves the old file or none, never
/// a part), or to stdout when nil.
func emit(_ data: Data, to path: String?) throws {
    guard let path else {
        FileHandle.standardOutput.write(data)
        return
    }
    do throws(FileWriteError) {
        try AtomicFile.write(data, to: path)
    } catch {
        if case .permissionDenied = error { throw OutputError(description: error.description, status: ExitStatus.permission) }
        throw OutputError(description: error.description, status: ExitStatus.cannotCreate)
    }
}
