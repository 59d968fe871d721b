package import Foundation
package import PostureModel
package import Yams

/// An error in a YAML file a user handed over, located as `FILE:LINE: message` (GNU style).
package struct LocatedError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong with the file, which decides the exit status.
    package enum Kind: Sendable, Equatable {
        /// The contents are wrong (exit 65).
        case malformed
        /// The file does not exist (exit 66).
        case missing
        /// The file exists but cannot be read (exit 77).
        case permissionDenied
    }

    package var file: String
    package var line: Int?
    package var message: String
    package var kind: Kind

    package init(file: String, line: Int?, message: String, kind: Kind = .malformed) {
        self.file = file
        self.line = line
        self.message = message
        self.kind = kind
    }

    /// Reads a whole file, or throws a `LocatedError` whose kind says why it could not.
    package static func readFile(_ path: String) throws -> Data {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LocatedError(file: path, line: nil, message: "no such file", kind: .missing)
        }
        guard !isDirectory.boolValue else { throw LocatedError(file: path, line: nil, message: "is a directory") }
        guard fm.isReadableFile(atPath: path) else {
            throw LocatedError(file: path, line: nil, message: "permission denied", kind: .permissionDenied)
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LocatedError(file: path, line: nil, message: "cannot read: \(error.localizedDescription)")
        }
    }

    package var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// A YAML node with its file and line, and typed accessors whose errors say where and what.
package struct YAMLNode {
    package let node: Node
    package let file: String

    /// Line of the node (from 1), when the parser recorded one.
    package var line: Int? { node.mark?.line }

    /// Parses `text` (the contents of `file`) strictly; an empty document is an error.
    package static func parse(_ text: String, file: String) throws -> YAMLNode {
        do {
            // No implicit tags: every reader here asks for the type it wants (`int`, `isNull`), and
            // Yams' default resolver compiles seven NSRegularExpressions (ICU) for tags nobody reads.
            guard let node = try Yams.compose(yaml: text, .basic) else {
                throw LocatedError(file: file, line: 1, message: "the file is empty")
            }
            return YAMLNode(node: node, file: file)
        } catch let error as YamlError {
            throw LocatedError(file: file, line: YAMLNode.line(of: error), message: YAMLNode.message(of: error))
        }
    }

    /// Reads and parses `path`.
    package static func load(path: String) throws -> YAMLNode {
        let data = try LocatedError.readFile(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw LocatedError(file: path, line: nil, message: "not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    package func error(_ message: String) -> LocatedError {
        LocatedError(file: file, line: line, message: message)
    }

    package func mapping(_ what: String) throws -> YAMLMapping {
        guard case .mapping(let mapping) = node else { throw error("\(what) must be a mapping") }
        var entries: [(key: String, keyLine: Int?, value: YAMLNode)] = []
        var seen = Set<String>()
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                throw YAMLNode(node: key, file: file).error("keys of \(what) must be plain strings")
            }
            guard seen.insert(scalar.string).inserted else {
                throw YAMLNode(node: key, file: file).error("duplicate key '\(scalar.string)' in \(what)")
            }
            entries.append((scalar.string, key.mark?.line, YAMLNode(node: value, file: file)))
        }
        return YAMLMapping(owner: self, what: what, entries: entries)
    }

    package func sequence(_ what: String) throws -> [YAMLNode] {
        guard case .sequence(let sequence) = node else { throw error("\(what) must be a list") }
        return sequence.map { YAMLNode(node: $0, file: file) }
    }

    package var isNull: Bool {
        if case .scalar(let scalar) = node { return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string) }
        return false
    }

    package func string(_ what: String) throws -> String {
        guard case .scalar(let scalar) = node, !isNull else { throw error("\(what) must be a string") }
        return scalar.string
    }

    package func int(_ what: String) throws -> Int {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = Int(scalar.string) else {
            throw error("\(what) must be a whole number")
        }
        return value
    }

    package func bool(_ what: String) throws -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { throw error("\(what) must be true or false") }
        switch scalar.string {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default: throw error("\(what) must be true or false, not '\(scalar.string)'")
        }
    }

    package func day(_ what: String) throws -> Day {
        let text = try string(what)
        guard let day = Day(text) else { throw error("\(what) must be a date YYYY-MM-DD, not '\(text)'") }
        return day
    }

    /// A duration such as `30s`, `5m`, `6h` or `7d`, in seconds.
    package func duration(_ what: String) throws -> Int {
        let text = try string(what)
        guard let seconds = DurationText.seconds(text) else {
            throw error("\(what) must be a duration: a number with s, m, h or d (30s, 6h), not '\(text)'")
        }
        return seconds
    }

    package func strings(_ what: String) throws -> [String] {
        try sequence(what).map { try $0.string("each entry of \(what)") }
    }

    package func localized(_ what: String) throws -> LocalizedText {
        let map = try mapping(what)
        try map.rejectUnknownKeys(allowed: ["en", "ja"])
        return LocalizedText(
            en: try map.required("en").string("\(what).en"),
            ja: try map.required("ja").string("\(what).ja"))
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        case .duplicatedKeysInMapping(_, let context):
            return context.mark.line
        case .reader(_, let offset, _, let yaml):
            guard let offset else { return nil }
            return yaml.utf8.prefix(offset).reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        default:
            return nil
        }
    }

    private static func message(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
            .composer(let context, let problem, _, _):
            let prefix = context.map { "\($0.text) " } ?? ""
            return "YAML syntax error: \(prefix)\(problem)"
        case .reader(let problem, _, _, _):
            return "YAML reader error: \(problem)"
        case .duplicatedKeysInMapping(let duplicates, _):
            return "duplicate keys: \(duplicates.joined(separator: ", "))"
        default:
            return "YAML error: \(error)"
        }
    }
}

/// A YAML mapping whose keys are checked: unknown keys are errors with their line.
package struct YAMLMapping {
    package let owner: YAMLNode
    package let what: String
    package let entries: [(key: String, keyLine: Int?, value: YAMLNode)]

    package var keys: [String] { entries.map(\.key) }

    package func optional(_ key: String) -> YAMLNode? {
        guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    package func required(_ key: String) throws -> YAMLNode {
        guard let value = optional(key) else { throw owner.error("\(what) needs '\(key)'") }
        return value
    }

    package func rejectUnknownKeys(allowed: Set<String>) throws {
        for entry in entries where !allowed.contains(entry.key) {
            let known = allowed.sorted().joined(separator: ", ")
            throw LocatedError(
                file: owner.file, line: entry.keyLine ?? owner.line,
                message: "unknown key '\(entry.key)' in \(what) (known: \(known))")
        }
    }
}

/// Durations written as a number and a unit (`30s`, `5m`, `6h`, `7d`).
package enum DurationText {
    package static func seconds(_ text: String) -> Int? {
        guard let unit = text.last, let number = Int(text.dropLast()), number >= 0 else { return nil }
        switch unit {
        case "s": return number
        case "m": return number * 60
        case "h": return number * 3600
        case "d": return number * 86400
        default: return nil
        }
    }
}

extension LocatedError: ExitStatusError {
    package var exitStatus: Int32 {
        switch kind {
        case .malformed: ExitStatus.dataError
        case .missing: ExitStatus.noInput
        case .permissionDenied: ExitStatus.permission
        }
    }
}
