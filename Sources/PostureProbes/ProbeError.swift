import PostureModel

/// Why a probe could not see something; the text ends up in the report as the reason for `unknown`.
package enum ProbeError: Error, CustomStringConvertible, Sendable, Equatable {
    case missing(path: String)
    /// None of the places a file may live holds it (os-release: /etc, then /usr/lib).
    case missingEverywhere(paths: [String])
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unsupported(String)
    /// The probe was still running at its deadline and was abandoned.
    case timedOut(seconds: Int)

    package var description: String {
        switch self {
        case .missing(let path): return "\(path) does not exist"
        case .missingEverywhere(let paths) where paths.count == 2: return "neither \(paths[0]) nor \(paths[1]) exists"
        case .missingEverywhere(let paths): return "none of \(paths.joined(separator: ", ")) exists"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .malformed(let path, let reason): return "\(path) is damaged: \(reason)"
        case .unsupported(let what): return what
        case .timedOut(let seconds): return "timed out after \(seconds) s (a file it read may have been crafted to stall it)"
        }
    }
}

extension ProbeError: ExitStatusError {
    package var exitStatus: Int32 {
        switch self {
        case .missing, .missingEverywhere: ExitStatus.noInput
        case .unreadable(_, let reason) where reason.contains("ermission"): ExitStatus.permission
        case .unreadable: ExitStatus.noInput
        default: ExitStatus.dataError
        }
    }
}
