import Foundation

/// The directory a scan reads from (`/` for the live system, or a mounted disk image).
///
/// Every probe reads through it. Paths are given relative to the root (`etc/os-release`), and
/// symbolic links resolve inside the root: an absolute link target in an image points into the
/// image, never to the host.
public struct ScanRoot: Sendable, Hashable {
    /// Canonical absolute path of the root.
    public let path: String

    /// True when the root is the running system, so `/proc` and running processes describe it.
    public var isLive: Bool { path == "/" }

    public init(_ path: String) throws(ProbeError) {
        guard let canonical = Platform.realPath(path) else {
            throw ProbeError.unreadable(path: path, reason: Platform.lastErrorText())
        }
        guard Platform.status(canonical)?.isDirectory == true else {
            throw ProbeError.unsupported("\(path) is not a directory")
        }
        self.path = canonical
    }

    /// The host path of `relative`, with every symlink inside the root resolved inside the root.
    /// Returns nil when resolution loops.
    public func hostPath(_ relative: String) -> String? {
        if isLive { return relative.hasPrefix("/") ? relative : "/" + relative }
        var resolved: [Substring] = []
        var pending = Array(relative.split(separator: "/").reversed())
        var links = 0
        while let component = pending.popLast() {
            switch component {
            case ".": continue
            case "..": _ = resolved.popLast(); continue
            default: break
            }
            let candidate = join(resolved + [component])
            guard let status = Platform.lstatus(candidate), status.isSymlink else {
                resolved.append(component)
                continue
            }
            links += 1
            guard links <= 40, let target = Platform.readLink(candidate) else { return nil }
            if target.hasPrefix("/") { resolved.removeAll() }
            pending.append(contentsOf: target.split(separator: "/").reversed())
        }
        return join(resolved)
    }

    private func join(_ components: [Substring]) -> String {
        components.isEmpty ? path : (path == "/" ? "" : path) + "/" + components.joined(separator: "/")
    }

    /// The canonical absolute path inside the root (every symlink resolved inside it), or nil when it does not exist.
    public func canonical(_ relative: String) -> String? {
        if isLive {
            return Platform.realPath("/" + relative.drop { $0 == "/" })
        }
        guard let host = hostPath(relative), Platform.lstatus(host) != nil else { return nil }
        return host == path ? "/" : String(host.dropFirst(path.count))
    }

    /// The path as it is shown in reports and messages: absolute inside the root.
    public func display(_ relative: String) -> String { "/" + relative.drop { $0 == "/" } }

    public func exists(_ relative: String) -> Bool {
        guard let host = hostPath(relative) else { return false }
        return Platform.status(host) != nil
    }

    public func isDirectory(_ relative: String) -> Bool {
        guard let host = hostPath(relative) else { return false }
        return Platform.status(host)?.isDirectory == true
    }

    /// Modification time, or nil when the file does not exist.
    public func modified(_ relative: String) -> Date? {
        guard let host = hostPath(relative) else { return nil }
        return Platform.status(host)?.modified
    }

    /// The most posture reads of one file in a user's home (browser profiles, desktop settings):
    /// anyone can put a file there, for example a sparse one of a terabyte, and none of those
    /// posture reads is legitimately near this size.
    public static let userFileLimit = 64 << 20

    /// The bytes of a regular file (not a FIFO or device) of at most `limit` bytes.
    public func readBytes(_ relative: String, limit: Int = .max) throws(ProbeError) -> [UInt8] {
        guard let host = hostPath(relative) else {
            throw ProbeError.unreadable(path: display(relative), reason: "too many levels of symbolic links")
        }
        guard Platform.lstatus(host) != nil else { throw ProbeError.missing(path: display(relative)) }
        do {
            return try Platform.readFile(host, limit: limit)
        } catch {
            throw ProbeError.unreadable(path: display(relative), reason: Self.reason(of: error))
        }
    }

    /// Reads a text file; invalid UTF-8 is replaced rather than rejected.
    public func readText(_ relative: String, limit: Int = .max) throws(ProbeError) -> String {
        String(decoding: try readBytes(relative, limit: limit), as: UTF8.self)
    }

    /// Names in a directory, sorted; a missing directory is an empty list.
    public func list(_ relative: String) throws(ProbeError) -> [String] {
        guard let host = hostPath(relative), Platform.status(host) != nil else { return [] }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: host).sorted()
        } catch {
            throw ProbeError.unreadable(path: display(relative), reason: "\(Platform.lastErrorText())")
        }
    }

    private static func reason(of error: ProbeError) -> String {
        if case .unreadable(_, let reason) = error { return reason }
        return error.description
    }
}
