import Foundation

/// The apt options of a root that change which updates apt installs (`etc/apt/apt.conf.d/*`,
/// then `etc/apt/apt.conf`), parsed as apt's `ReadConfigFile` does: `A::B "v";` and
/// `A { B "v"; };` scopes, `//`, `#` and `/* */` comments, `#clear` and `#include`. Names are
/// case-insensitive, as in apt; a later value replaces an earlier one.
struct AptConfiguration: Sendable {
    /// Lower-cased full option name → value.
    private(set) var values: [String: String] = [:]
    /// Files apt would refuse (syntax errors), with the reason.
    private(set) var problems: [String] = []

    static let partsDirectory = "etc/apt/apt.conf.d"
    static let mainFile = "etc/apt/apt.conf"

    init(values: [String: String] = [:]) {
        for (name, value) in values { self.values[name.lowercased()] = value }
    }

    static func read(root: ScanRoot) -> AptConfiguration {
        var configuration = AptConfiguration()
        for name in partFiles(in: (try? root.list(partsDirectory)) ?? [], extension: "conf") {
            configuration.readFile(root: root, path: "\(partsDirectory)/\(name)", depth: 0)
        }
        if root.exists(mainFile) { configuration.readFile(root: root, path: mainFile, depth: 0) }
        return configuration
    }

    func string(_ name: String) -> String? {
        values[name.lowercased()].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// apt's `FindB`: `0`/`1`, `no`/`false`/`without`/`off`/`disable`, `yes`/`true`/`with`/`on`/`enable`.
    func bool(_ name: String, default fallback: Bool = false) -> Bool {
        guard let text = string(name) else { return fallback }
        switch text.lowercased() {
        case "0", "no", "false", "without", "off", "disable": return false
        case "1", "yes", "true", "with", "on", "enable": return true
        default: return fallback
        }
    }

    /// The names apt reads from a `.d` directory (`GetListOfFilesInDir` with one extension,
    /// files without one allowed), sorted: no leading dot, only letters, digits, `_ - : .`,
    /// an extension (after the last dot) equal to `ext` when there is a dot, no trailing dot.
    static func partFiles(in names: [String], extension ext: String) -> [String] {
        names.filter { name in
            guard let first = name.utf8.first, first != UInt8(ascii: "."), name.utf8.last != UInt8(ascii: ".") else { return false }
            if let dot = name.lastIndex(of: "."), name[name.index(after: dot)...] != ext { return false }
            return name.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A)
                    || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: ":") || c == UInt8(ascii: ".")
            }
        }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    private mutating func readFile(root: ScanRoot, path: String, depth: Int) {
        guard let text = try? root.readText(path, limit: 1 << 20) else { return }
        if let problem = parse(text, root: root, depth: depth) {
            problems.append("\(root.display(path)): \(problem)")
        }
    }

    /// Parses one file's text into `values`; returns the syntax error apt would report.
    mutating func parse(_ text: String, root: ScanRoot? = nil, depth: Int = 0) -> String? {
        var scopes: [String] = []
        var buffer = ""
        var inComment = false
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine.replacingOccurrences(of: "\t", with: " ").trimmingCharacters(in: .whitespaces))
            if inComment {
                guard let end = line.range(of: "*/") else { continue }
                line = line[end.upperBound...]
                inComment = false
            }
            line = Self.stripLineComments(line)
            var fragment = ""
            while let open = Self.unquotedRange(of: "/*", in: line) {
                fragment += line[..<open.lowerBound]
                if let close = line[open.upperBound...].range(of: "*/") {
                    line = line[close.upperBound...]
                } else {
                    line = ""
                    inComment = true
                }
            }
            fragment += line
            guard !fragment.isEmpty else { continue }

            var inQuote = false
            var start = fragment.startIndex
            for index in fragment.indices {
                let c = fragment[index]
                if c == "\"" { inQuote.toggle() }
                guard !inQuote, c == "{" || c == ";" || c == "}" else { continue }
                let piece = fragment[start..<index].trimmingCharacters(in: .whitespaces)
                if !buffer.isEmpty && !piece.isEmpty { buffer += " " }
                buffer += piece
                start = fragment.index(after: index)
                if c == "{" && buffer.isEmpty { return "line \(number + 1): block starts with no name" }
                if buffer.isEmpty {
                    if c == "}" { _ = scopes.popLast() }
                    continue
                }
                var words = Self.words(buffer)
                guard !words.isEmpty, words.count <= 2 else { return "line \(number + 1): extra junk after value" }
                var tag = words.removeFirst()
                var word = words.first
                if word == nil && c != "{" {
                    word = tag
                    tag = ""
                }
                if c == "{" {
                    scopes.append(tag)
                    tag = ""
                }
                let parent = scopes.joined(separator: "::")
                let item = parent.isEmpty ? tag : (c != "{" || !tag.isEmpty ? parent + "::" + tag : parent)
                if tag.hasPrefix("#") {
                    guard scopes.isEmpty else { return "line \(number + 1): directives can only be done at the top level" }
                    switch tag {
                    case "#clear":
                        let prefix = (word ?? "").lowercased()
                        values = values.filter { $0.key != prefix && !$0.key.hasPrefix(prefix + "::") }
                    case "#include":
                        guard depth < 10 else { return "line \(number + 1): too many nested includes" }
                        if let root, let target = word {
                            let relative = String(target.drop { $0 == "/" })
                            if target.hasSuffix("/") {
                                for name in Self.partFiles(in: (try? root.list(relative)) ?? [], extension: "conf") {
                                    readFile(root: root, path: relative + name, depth: depth + 1)
                                }
                            } else {
                                readFile(root: root, path: relative, depth: depth + 1)
                            }
                        }
                    default:
                        return "line \(number + 1): unsupported directive '\(tag)'"
                    }
                } else if let word {
                    values[item.lowercased()] = word
                }
                buffer = ""
                if c == "}" { _ = scopes.popLast() }
            }
            let rest = fragment[start...].trimmingCharacters(in: .whitespaces)
            if !rest.isEmpty && !buffer.isEmpty { buffer += " " }
            buffer += rest
        }
        return buffer.isEmpty ? nil : "extra junk at end of file"
    }

    /// Cuts a `//` or `#` comment that is outside quotes (`#clear`, `#include` are not comments).
    private static func stripLineComments(_ line: Substring) -> Substring {
        var line = line
        if let slash = unquotedRange(of: "//", in: line) { line = line[..<slash.lowerBound] }
        var search = line.startIndex
        while let hash = line[search...].firstIndex(of: "#") {
            let quotes = line[..<hash].filter { $0 == "\"" }.count
            let after = line[line.index(after: hash)...]
            if quotes % 2 != 0 || ["clear", "include", "x-apt-configure-index"].contains(where: { after.hasPrefix($0) }) {
                search = line.index(after: hash)
                continue
            }
            return line[..<hash]
        }
        return line
    }

    private static func unquotedRange(of token: String, in line: Substring) -> Range<Substring.Index>? {
        var search = line.startIndex
        while let found = line[search...].range(of: token) {
            if line[..<found.lowerBound].filter({ $0 == "\"" }).count % 2 == 0 { return found }
            search = line.index(after: found.lowerBound)
        }
        return nil
    }

    /// Splits `tag "value"` as apt does: the tag by `ParseQuoteWord` (up to a blank outside
    /// quotes, quotes dropped, `%xx` decoded), the value by `ParseCWord` (quoted pieces joined,
    /// kept as written) or, when it is not only quoted pieces, by `ParseQuoteWord` again.
    private static func words(_ text: String) -> [String] {
        var rest = Substring(text)
        guard let tag = quoteWord(&rest) else { return [] }
        rest = rest.drop { $0 == " " }
        guard !rest.isEmpty else { return [tag] }
        if let value = cWord(rest) { return [tag, value] }
        guard let value = quoteWord(&rest) else { return [tag] }
        return rest.isEmpty ? [tag, value] : [tag, value, String(rest)]
    }

    private static func quoteWord(_ text: inout Substring) -> String? {
        text = text.drop { $0 == " " }
        guard !text.isEmpty else { return nil }
        var end = text.startIndex
        while end < text.endIndex, !text[end].isWhitespace {
            if let close: Character = text[end] == "\"" ? "\"" : (text[end] == "[" ? "]" : nil) {
                guard let found = text[text.index(after: end)...].firstIndex(of: close) else { return nil }
                end = found
            }
            end = text.index(after: end)
        }
        let bytes = Array(text[..<end].utf8)
        var word: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
                let value = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
            {
                word.append(value)
                i += 3
                continue
            }
            if bytes[i] != UInt8(ascii: "\"") { word.append(bytes[i]) }
            i += 1
        }
        text = text[end...].drop { $0.isWhitespace }
        return String(decoding: word, as: UTF8.self)
    }

    private static func cWord(_ text: Substring) -> String? {
        var result = ""
        var index = text.startIndex
        var previousBlank = false
        while index < text.endIndex {
            let c = text[index]
            if c == "\"" {
                guard let close = text[text.index(after: index)...].firstIndex(of: "\"") else { return nil }
                result += text[text.index(after: index)..<close]
                index = text.index(after: close)
                previousBlank = false
                continue
            }
            guard c.isWhitespace else { return nil }
            if !previousBlank { result += " " }
            previousBlank = true
            index = text.index(after: index)
        }
        return result
    }
}
