/// Debian package version comparison, exactly as `dpkg --compare-versions` orders versions:
/// epoch, then upstream and revision compared by dpkg's `verrevcmp` (`~` sorts before
/// everything, even the end; letters sort before non-letters).
package enum DebianVersion {
    /// Negative, zero or positive as `a` is lower, equal or higher than `b`.
    package static func compare(_ a: String, _ b: String) -> Int {
        let pa = parse(a), pb = parse(b)
        if pa.epoch != pb.epoch { return pa.epoch < pb.epoch ? -1 : 1 }
        let upstream = verrevcmp(pa.upstream, pb.upstream)
        if upstream != 0 { return upstream }
        return verrevcmp(pa.revision, pb.revision)
    }

    package static func isLower(_ a: String, than b: String) -> Bool { compare(a, b) < 0 }

    private static func parse(_ version: String) -> (epoch: Int, upstream: ArraySlice<UInt8>, revision: ArraySlice<UInt8>) {
        var bytes = ArraySlice(version.utf8.drop { $0 == UInt8(ascii: " ") })
        while bytes.last == UInt8(ascii: " ") { bytes.removeLast() }
        var epoch = 0
        if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            epoch = Int(String(decoding: bytes[..<colon], as: UTF8.self)) ?? 0
            bytes = bytes[(colon + 1)...]
        }
        if let dash = bytes.lastIndex(of: UInt8(ascii: "-")) {
            return (epoch, bytes[..<dash], bytes[(dash + 1)...])
        }
        return (epoch, bytes, [])
    }

    private static func order(_ c: UInt8?) -> Int {
        guard let c else { return 0 }
        if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { return 0 }
        if (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) {
            return Int(c)
        }
        if c == UInt8(ascii: "~") { return -1 }
        return Int(c) + 256
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private static func verrevcmp(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        var i = a.startIndex, j = b.startIndex
        while i < a.endIndex || j < b.endIndex {
            var firstDiff = 0
            while (i < a.endIndex && !isDigit(a[i])) || (j < b.endIndex && !isDigit(b[j])) {
                let ac = order(i < a.endIndex ? a[i] : nil)
                let bc = order(j < b.endIndex ? b[j] : nil)
                if ac != bc { return ac - bc }
                i += 1
                j += 1
            }
            while i < a.endIndex && a[i] == UInt8(ascii: "0") { i += 1 }
            while j < b.endIndex && b[j] == UInt8(ascii: "0") { j += 1 }
            while i < a.endIndex && isDigit(a[i]) && j < b.endIndex && isDigit(b[j]) {
                if firstDiff == 0 { firstDiff = Int(a[i]) - Int(b[j]) }
                i += 1
                j += 1
            }
            if i < a.endIndex && isDigit(a[i]) { return 1 }
            if j < b.endIndex && isDigit(b[j]) { return -1 }
            if firstDiff != 0 { return firstDiff }
        }
        return 0
    }
}
