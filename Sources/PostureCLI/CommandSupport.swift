import ArgumentParser
import Foundation
import PostureCommandLine
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureProbes
import PostureReference

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

/// Writes `posture: message` to stderr.
func printError(_ message: String) {
    ErrorReporter.posture.printError(message)
}
