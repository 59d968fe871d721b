package import Foundation
import Synchronization

/// RFC 3339 times as posture writes and reads them (`2026-12-04T05:21:08Z`), computed from the
/// proleptic Gregorian calendar alone. Foundation's formatters map ICU's calendar and time-zone
/// data (several MiB of a scan's peak memory) to do the same arithmetic.
package enum RFC3339 {
    /// UTC with whole seconds, the fraction dropped (as JSONEncoder's `.iso8601` writes).
    package static func string(from date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let (days, time) = seconds.floorDivided(by: 86400)
        return "\(Day(daysSinceEpoch: days))T\(twoDigits(time / 3600)):\(twoDigits(time / 60 % 60)):\(twoDigits(time % 60))Z"
    }

    /// Strictly RFC 3339: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9 digits, then `Z`
    /// or `±HH:MM` (`t` and `z` as RFC 3339 allows), nothing before or after; nil for anything
    /// else, including dates and times that do not exist (`02-30`, `24:00`, `:60`).
    package static func date(from text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard (20...40).contains(bytes.count), let day = Day(String(decoding: bytes[0..<10], as: UTF8.self)),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let hour = number(bytes[11..<13]), let minute = number(bytes[14..<16]), let second = number(bytes[17..<19]),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == UInt8(ascii: ".") {
            var scale = 0.1
            index += 1
            let start = index
            while index < bytes.count, let digit = digit(bytes[index]) {
                fraction += Double(digit) * scale
                scale /= 10
                index += 1
            }
            guard (1...9).contains(index - start) else { return nil }
        }
        guard let offset = offsetSeconds(bytes[index...]) else { return nil }
        let seconds = day.daysSinceEpoch * 86400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// `Z` or `±HH:MM` as seconds east of UTC.
    private static func offsetSeconds(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "Z") || first == UInt8(ascii: "z") { return bytes.count == 1 ? 0 : nil }
        guard first == UInt8(ascii: "+") || first == UInt8(ascii: "-") else { return nil }
        let rest = Array(bytes.dropFirst())
        guard rest.count == 5, rest[2] == UInt8(ascii: ":"), let hours = number(rest[0..<2]), let minutes = number(rest[3..<5]),
            hours < 24, minutes < 60
        else { return nil }
        return (first == UInt8(ascii: "-") ? -1 : 1) * (hours * 3600 + minutes * 60)
    }

    private static func digit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }

    private static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard let digit = digit(byte) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    package static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

extension Int {
    /// Quotient rounded towards minus infinity, and the remainder that goes with it (never negative).
    package func floorDivided(by divisor: Int) -> (quotient: Int, remainder: Int) {
        let remainder = self % divisor
        return remainder < 0 ? (self / divisor - 1, remainder + divisor) : (self / divisor, remainder)
    }
}

extension TimeZone {
    /// The zone named `identifier` (IANA, e.g. `Asia/Tokyo`), or nil when there is none.
    ///
    /// A zone whose offset has not changed since 1970 and has no daylight saving time (Asia/Tokyo,
    /// UTC), as the system's tzdata file says, is a fixed-offset zone: the same answers for every
    /// time posture handles, without the ICU calendar data that a named zone maps into memory.
    /// Any other zone, or a system without tzdata, is Foundation's named zone.
    package static func named(_ identifier: String) -> TimeZone? {
        if let offset = ZoneInfo.fixedOffsetSince1970(identifier) { return TimeZone(secondsFromGMT: offset) }
        return TimeZone(identifier: identifier)
    }
}

/// Reads a zone's TZif file (RFC 8536) from the system's tzdata to tell whether its offset is fixed.
enum ZoneInfo {
    static let directory = "/usr/share/zoneinfo/"
    /// Answers already read, by identifier: every judgement asks for its profile's zone, and the
    /// file is read once per process (profiles name a handful of zones).
    private static let known = Mutex<[String: Int?]>([:])

    /// Seconds east of UTC when `identifier` has kept one offset, without daylight saving time,
    /// since 1970 and will keep it (its footer rule has no DST); nil otherwise or when unreadable.
    static func fixedOffsetSince1970(_ identifier: String) -> Int? {
        if let answer = known.withLock({ $0[identifier] }) { return answer }
        let answer = readFixedOffset(identifier)
        known.withLock { if $0.count < 64 { $0[identifier] = answer } }
        return answer
    }

    private static func readFixedOffset(_ identifier: String) -> Int? {
        guard !identifier.isEmpty, identifier.count <= 64, !identifier.hasPrefix("/"), !identifier.contains(".."),
            identifier.utf8.allSatisfy({ $0 < 0x80 && (isalnum(Int32($0)) != 0 || "/_+-".utf8.contains($0)) }),
            let data = FileManager.default.contents(atPath: directory + identifier), data.count < 1 << 20
        else { return nil }
        return fixedOffset(tzif: [UInt8](data))
    }

    static func fixedOffset(tzif bytes: [UInt8]) -> Int? {
        func be(_ at: Int, _ width: Int) -> Int64? {
            guard at >= 0, at + width <= bytes.count else { return nil }
            var value: UInt64 = 0
            for byte in bytes[at..<(at + width)] { value = value << 8 | UInt64(byte) }
            return width == 4 ? Int64(Int32(bitPattern: UInt32(value))) : Int64(bitPattern: value)
        }
        func header(_ at: Int) -> (version: UInt8, isut: Int, isstd: Int, leap: Int, time: Int, type: Int, char: Int)? {
            guard bytes.count >= at + 44, bytes[at..<(at + 4)].elementsEqual("TZif".utf8) else { return nil }
            let counts = (0..<6).compactMap { be(at + 20 + $0 * 4, 4).map(Int.init) }
            guard counts.count == 6, counts.allSatisfy({ (0...100_000).contains($0) }) else { return nil }
            return (bytes[at + 4], counts[0], counts[1], counts[2], counts[3], counts[4], counts[5])
        }
        guard let first = header(0), first.version >= UInt8(ascii: "2") else { return nil }
        let v1Size = first.time * 5 + first.type * 6 + first.char + first.leap * 8 + first.isstd + first.isut
        let start = 44 + v1Size
        guard let h = header(start), h.type > 0 else { return nil }
        let times = start + 44, indices = times + h.time * 8, types = indices + h.time
        let footer = types + h.type * 6 + h.char + h.leap * 12 + h.isstd + h.isut
        guard footer < bytes.count else { return nil }
        func type(_ index: Int) -> (offset: Int, dst: Bool)? {
            guard index < h.type, let offset = be(types + index * 6, 4) else { return nil }
            return (Int(offset), bytes[types + index * 6 + 4] != 0)
        }
        // The type in force at 1970 (type 0 before the first transition), then every later one.
        var inForce: [Int] = []
        var atEpoch = 0
        for transition in 0..<h.time {
            guard let at = be(times + transition * 8, 8) else { return nil }
            let index = Int(bytes[indices + transition])
            if at <= 0 { atEpoch = index } else { inForce.append(index) }
        }
        inForce.append(atEpoch)
        var offsets = Set<Int>()
        for index in inForce {
            guard let found = type(index), !found.dst else { return nil }
            offsets.insert(found.offset)
        }
        guard offsets.count == 1, let offset = offsets.first, let rule = posixRuleOffset(bytes[footer...]), rule == offset else { return nil }
        return offset
    }

    /// The footer `\nSTDoffset\n` of a zone without daylight saving time, as seconds east of UTC
    /// (POSIX counts west: `JST-9` is +9 h); nil for a rule with DST or anything unexpected.
    static func posixRuleOffset(_ footer: ArraySlice<UInt8>) -> Int? {
        var text = Array(footer)
        guard text.first == 0x0A, let end = text.dropFirst().firstIndex(of: 0x0A) else { return nil }
        text = Array(text[1..<end])
        var index = 0
        if text.first == UInt8(ascii: "<") {
            guard let close = text.firstIndex(of: UInt8(ascii: ">")) else { return nil }
            index = close + 1
        } else {
            while index < text.count, isalpha(Int32(text[index])) != 0 { index += 1 }
            guard index >= 3 else { return nil }
        }
        var sign = 1
        if index < text.count, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
            sign = text[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
        }
        var parts: [Int] = [0]
        var digits = 0
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ":") {
                guard digits > 0, parts.count < 3 else { return nil }
                parts.append(0)
                digits = 0
            } else if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                parts[parts.count - 1] = parts[parts.count - 1] * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3 else { return nil }
            } else {
                return nil  // a DST name or rule follows
            }
            index += 1
        }
        guard digits > 0 else { return nil }
        let seconds = parts[0] * 3600 + (parts.count > 1 ? parts[1] * 60 : 0) + (parts.count > 2 ? parts[2] : 0)
        return -sign * seconds
    }
}
