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
    static func forEachStanza(
        in bytes: [UInt8], wanted: Set<String>? = nil,
        _ body: ([String: Substring]) -> Void
    ) {
        let text = String(decoding: bytes, as: UTF8.self)
        forEachStanza(in: text, wanted: wanted, body)
    }

    static func forEachStanza(
        in text: String, wanted: Set<String>? = nil,
        _ body: ([String: Substring]) -> Void
    ) {
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

/// Scans apt `Packages` lists for what candidate selection needs of each stanza (name, version,
/// architecture, source, phasing), on raw bytes: the fast path for the largest input of a scan.
/// Fed in chunks of any size (a stanza or a line may span two), so a list is never held whole.
struct PackagesListScanner {
    struct Entry {
        let name: String
        let version: String
        let architecture: String
        /// `Source:` name and version (apt's defaults: the package's own name and version).
        let source: String
        let sourceVersion: String
        /// `Phased-Update-Percentage`, when below 100 (apt ignores values above 100).
        let phasedUpdatePercentage: Int?
    }

    /// The longest line kept whole; the rest of a longer line is not needed (no field this scanner
    /// reads is that long) and is dropped, so one hostile line cannot take memory.
    static let maxLine = 1 << 16

    private let interesting: (String) -> Bool
    private var name: String?
    private var version: String?
    private var architecture: String?
    private var source: String?
    private var phased: Int?
    private var skipping = false
    private var partial: [UInt8] = []
    private var partialOverlong = false

    init(interesting: @escaping (String) -> Bool) {
        self.interesting = interesting
    }

    /// Calls `body` for every stanza of a whole list whose package name passes `interesting`.
    static func scan(
        _ buffer: UnsafeBufferPointer<UInt8>, interesting: @escaping (String) -> Bool,
        _ body: (Entry) -> Void
    ) {
        var scanner = PackagesListScanner(interesting: interesting)
        scanner.feed(buffer, body)
        scanner.finish(body)
    }

    /// Scans the complete lines of `chunk` (with any line left over from the previous chunk).
    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ body: (Entry) -> Void) {
        guard let base = chunk.baseAddress else { return }
        var position = 0
        let end = chunk.count
        while position < end {
            guard let newline = memchr(base + position, 0x0A, end - position) else {
                keepPartial(UnsafeBufferPointer(start: base + position, count: end - position))
                return
            }
            let lineEnd = UnsafePointer<UInt8>(newline.assumingMemoryBound(to: UInt8.self)) - base
            if partial.isEmpty {
                line(UnsafeBufferPointer(start: base + position, count: lineEnd - position), body)
            } else {
                keepPartial(UnsafeBufferPointer(start: base + position, count: lineEnd - position))
                let whole = partial
                partial.removeAll(keepingCapacity: true)
                partialOverlong = false
                whole.withUnsafeBufferPointer { line($0, body) }
            }
            position = lineEnd + 1
        }
    }

    /// Ends the list: scans a last line without a newline and the last stanza.
    mutating func finish(_ body: (Entry) -> Void) {
        if !partial.isEmpty {
            let whole = partial
            partial.removeAll()
            whole.withUnsafeBufferPointer { line($0, body) }
        }
        flush(body)
    }

    private mutating func keepPartial(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard !partialOverlong else { return }
        let room = Self.maxLine - partial.count
        if bytes.count > room {
            partial.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[..<room]))
            partialOverlong = true
        } else {
            partial.append(contentsOf: bytes)
        }
    }

    private mutating func flush(_ body: (Entry) -> Void) {
        if let name, let version, let architecture {
            var sourceName = name
            var sourceVersion = version
            if let source {
                // apt's debListParser::NewVersion: "NAME" or "NAME (VERSION)".
                if let space = source.firstIndex(of: " ") {
                    sourceName = String(source[..<space])
                    if let open = source[space...].firstIndex(of: "("), let close = source[open...].firstIndex(of: ")") {
                        sourceVersion = String(source[source.index(after: open)..<close])
                    }
                } else {
                    sourceName = source
                }
            }
            body(
                Entry(
                    name: name, version: version, architecture: architecture, source: sourceName,
                    sourceVersion: sourceVersion, phasedUpdatePercentage: phased))
        }
        name = nil
        version = nil
        architecture = nil
        source = nil
        phased = nil
        skipping = false
    }

    private mutating func line(_ line: UnsafeBufferPointer<UInt8>, _ body: (Entry) -> Void) {
        guard let base = line.baseAddress, !line.isEmpty, !(line.count == 1 && base[0] == 0x0D) else {
            flush(body)
            return
        }
        guard !skipping else { return }
        func hasPrefix(_ prefix: StaticString) -> Bool {
            let count = prefix.utf8CodeUnitCount
            return line.count >= count && memcmp(base, prefix.utf8Start, count) == 0
        }
        func value(from start: Int) -> String {
            var s = start, e = line.count
            while s < e && (base[s] == 0x20 || base[s] == 0x09) { s += 1 }
            while e > s && (base[e - 1] == 0x20 || base[e - 1] == 0x0D) { e -= 1 }
            return String(decoding: UnsafeBufferPointer(start: base + s, count: e - s), as: UTF8.self)
        }
        switch base[0] {
        case UInt8(ascii: "P") where hasPrefix("Package:"):
            let n = value(from: 8)
            if interesting(n) { name = n } else { skipping = true }
        case UInt8(ascii: "P") where hasPrefix("Phased-Update-Percentage:"):
            // apt's FindULL: leading digits; a value above 100 is ignored (the version stays unphased).
            let digits = value(from: 25).prefix { $0.isASCII && $0.isNumber }
            if let percentage = Int(digits), percentage < 100 { phased = percentage } else { phased = nil }
        case UInt8(ascii: "V") where hasPrefix("Version:"):
            version = value(from: 8)
        case UInt8(ascii: "A") where hasPrefix("Architecture:"):
            architecture = value(from: 13)
        case UInt8(ascii: "S") where hasPrefix("Source:"):
            source = value(from: 7)
        default:
            break
        }
    }
}
