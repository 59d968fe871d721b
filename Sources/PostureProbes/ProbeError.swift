/// Why a probe could not see something; the text ends up in the report as the reason for `unknown`.
public enum ProbeError: Error, CustomStringConvertible, Sendable, Equatable {
    case missing(path: String)
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .missing(let path): return "\(path) does not exist"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .malformed(let path, let reason): return "\(path) is damaged: \(reason)"
        case .unsupported(let what): return what
        }
    }
}
