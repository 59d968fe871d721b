import Foundation

/// Reader for Debian control-file stanzas (dpkg `status`, apt `Packages` and `Release` files):
/// `Field: value` lines, continuation lines starting with a space or tab, stanzas separated by
/// blank lines. Works on raw bytes so that tens of megabytes of package lists parse quickly.
enum ControlFile {
    /// One field of a stanza: its name and raw value (continuation lines included, newlines kept).
    struct Field {
        let name: Substring
        let value: Substring
    }

    /// Calls `body` once per stanza with the fields whose names are in `wanted` (all when nil).
    static func forEachStanza(in bytes: [UInt8], wanted: Set<String>? = nil,
                              _ body: ([String: Substring]) -> Void) {
        let text = String(decoding: bytes, as: UTF8.self)
        forEachStanza(in: text, wanted: wanted, body)
    }

    static func forEachStanza(in text: String, wanted: Set<String>? = nil,
                              _ body: ([String: Substring]) -> Void) {
        var fields: [String: Substring] = [:]
        var currentName: String?
        var currentStart = text.startIndex
        var currentEnd = text.startIndex
        func closeField() {
            if let name = currentName { fields[name] = text[currentStart..<currentEnd] }
            currentName = nil
        }
        var lineStart = text.startIndex
        let utf8 = text.utf8
        while lineStart < text.endIndex {
            let lineEnd = utf8[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? text.endIndex
            let line = text[lineStart..<lineEnd]
            if line.isEmpty || line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) {
                closeField()
                if !fields.isEmpty { body(fields) }
                fields.removeAll(keepingCapacity: true)
            } else if let first = line.utf8.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                if currentName != nil { currentEnd = lineEnd }
            } else if let colon = line.firstIndex(of: ":") {
                closeField()
                let name = String(line[..<colon])
                if wanted == nil || wanted!.contains(name) {
                    currentName = name
                    var valueStart = line.index(after: colon)
                    while valueStart < lineEnd && (text[valueStart] == " " || text[valueStart] == "\t") {
                        valueStart = text.index(after: valueStart)
                    }
                    currentStart = valueStart
                    currentEnd = lineEnd
                }
            }
            lineStart = lineEnd < text.endIndex ? text.index(after: lineEnd) : text.endIndex
        }
        closeField()
        if !fields.isEmpty { body(fields) }
    }

    /// Strips an OpenPGP clear-signature wrapper (`InRelease`), returning the signed text.
    static func clearSignedBody(_ text: String) -> String {
        guard text.hasPrefix("-----BEGIN PGP SIGNED MESSAGE-----") else { return text }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        while let first = lines.first, !first.trimmingCharacters(in: .whitespaces).isEmpty { lines = lines.dropFirst() }
        var body: [Substring] = []
        for line in lines {
            if line.hasPrefix("-----BEGIN PGP SIGNATURE-----") { break }
            body.append(line.hasPrefix("- ") ? line.dropFirst(2) : line)
        }
        return body.joined(separator: "\n")
    }
}

/// Scans apt `Packages` lists for just the package name, version and architecture of each stanza,
/// on raw bytes: the fast path for the largest input of a scan.
enum PackagesListScanner {
    struct Entry {
        let name: String
        let version: String
        let architecture: String
    }

    /// Calls `body` for every stanza whose package name passes `interesting`.
    static func scan(_ buffer: UnsafeBufferPointer<UInt8>, interesting: (String) -> Bool,
                     _ body: (Entry) -> Void) {
        guard let base = buffer.baseAddress else { return }
        let end = buffer.count
        var position = 0
        var name: String?
        var version: String?
        var architecture: String?
        var skipping = false

        func flush() {
            if let name, let version, let architecture { body(Entry(name: name, version: version, architecture: architecture)) }
            name = nil
            version = nil
            architecture = nil
            skipping = false
        }
        func value(from start: Int, to lineEnd: Int) -> String {
            var s = start, e = lineEnd
            while s < e && (base[s] == 0x20 || base[s] == 0x09) { s += 1 }
            while e > s && (base[e - 1] == 0x20 || base[e - 1] == 0x0D) { e -= 1 }
            return String(decoding: UnsafeBufferPointer(start: base + s, count: e - s), as: UTF8.self)
        }
        func hasPrefix(_ prefix: StaticString, at offset: Int, lineEnd: Int) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard lineEnd - offset >= count else { return false }
            return memcmp(base + offset, prefix.utf8Start, count) == 0
        }

        while position < end {
            let remaining = end - position
            let lineEnd: Int
            if let newline = memchr(base + position, 0x0A, remaining) {
                lineEnd = UnsafePointer<UInt8>(newline.assumingMemoryBound(to: UInt8.self)) - base
            } else {
                lineEnd = end
            }
            if lineEnd == position || (lineEnd == position + 1 && base[position] == 0x0D) {
                flush()
            } else if !skipping {
                switch base[position] {
                case UInt8(ascii: "P") where hasPrefix("Package:", at: position, lineEnd: lineEnd):
                    let n = value(from: position + 8, to: lineEnd)
                    if interesting(n) { name = n } else { skipping = true }
                case UInt8(ascii: "V") where hasPrefix("Version:", at: position, lineEnd: lineEnd):
                    version = value(from: position + 8, to: lineEnd)
                case UInt8(ascii: "A") where hasPrefix("Architecture:", at: position, lineEnd: lineEnd):
                    architecture = value(from: position + 13, to: lineEnd)
                default:
                    break
                }
            }
            position = lineEnd + 1
        }
        flush()
    }
}
