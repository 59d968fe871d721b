import Foundation
import PostureTestSupport
import Testing

@testable import PostureModel

/// posture's own time arithmetic (RFC 3339, days in a zone, fixed-offset zones from tzdata)
/// against Foundation's formatters and calendar and against TZif files made by `zic`.
@Suite struct TimeTests {
    /// Instants from 1970 to 2100, the same every run.
    static let instants: [Date] = {
        var generator = SeededGenerator(seed: 42)
        return (0..<2000).map { _ in Date(timeIntervalSince1970: Double.random(in: 0..<4_102_444_800, using: &generator)) }
            + [0, 1.7, 86399.999, 86400, 1_796_361_668.9999, 4_102_444_799].map { Date(timeIntervalSince1970: $0) }
    }()

    @Test func writesWhatJSONEncodersISO8601Writes() throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        for date in Self.instants {
            let foundation = try JSONDecoder().decode([String].self, from: encoder.encode([date]))[0]
            #expect(RFC3339.string(from: date) == foundation)
        }
    }

    @Test func readsWhatFoundationReads() throws {
        let formatter = ISO8601DateFormatter()
        for date in Self.instants {
            let whole = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
            let text = formatter.string(from: whole)
            #expect(RFC3339.date(from: text) == formatter.date(from: text), "\(text)")
            formatter.timeZone = TimeZone(secondsFromGMT: 9 * 3600 + 1800)
            let offset = formatter.string(from: whole)
            #expect(RFC3339.date(from: offset) == whole, "\(offset)")
            formatter.timeZone = TimeZone(secondsFromGMT: 0)
        }
        #expect(RFC3339.date(from: "2026-12-04T05:21:08.5Z")?.timeIntervalSince1970 == 1_796_361_668.5)
        #expect(RFC3339.date(from: "2026-12-04t14:21:08+09:00")?.timeIntervalSince1970 == 1_796_361_668)
    }

    @Test(arguments: [
        "2020-01-01T00:00:00Zjunk", "2020-01-01", " 2020-01-01T00:00:00Z", "2020-01-01T00:00:00",
        "2026-02-30T00:00:00Z", "2026-12-04T24:00:00Z", "2026-12-04T05:60:00Z", "2026-12-04T05:21:60Z",
        "2026-12-04T05:21:08+0900", "2026-12-04 05:21:08Z", "2026-12-04T05:21:08.Z",
        "2026-12-04T05:21:08.1234567890Z", "2026-12-04T05:21:08+24:00", "+2026-12-04T05:21:08Z", "２026-12-04T05:21:08Z"
    ])
    func rejectsWhatIsNotRFC3339(_ text: String) {
        #expect(RFC3339.date(from: text) == nil)
    }

    /// Days and midnights in named zones equal Foundation's calendar's, fixed-offset or not.
    @Test(arguments: ["Asia/Tokyo", "UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "America/Santiago"])
    func daysInAZoneMatchTheCalendar(_ identifier: String) throws {
        let named = try #require(TimeZone.named(identifier))
        let reference = try #require(TimeZone(identifier: identifier))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = reference
        for date in Self.instants {
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let day = Day(date, in: named)
            #expect([day.year, day.month, day.day] == [parts.year, parts.month, parts.day], "\(identifier) \(date)")
            #expect(day.start(in: named) == calendar.startOfDay(for: date), "\(identifier) \(day)")
        }
    }

    @Test func zonesWithoutChangesSince1970AreFixedOffsets() {
        #expect(ZoneInfo.fixedOffsetSince1970("Asia/Tokyo") == 9 * 3600)
        #expect(ZoneInfo.fixedOffsetSince1970("UTC") == 0)
        #expect(ZoneInfo.fixedOffsetSince1970("Europe/Berlin") == nil)
        #expect(TimeZone.named("Asia/Tokio") == nil)
        for hostile in ["../../../etc/passwd", "/etc/localtime", "Asia/../Asia/Tokyo", "", "Asia/Tokyo\0"] {
            #expect(ZoneInfo.fixedOffsetSince1970(hostile) == nil, "\(hostile)")
        }
    }

    /// A truncated or garbled TZif file is no fixed offset (and never a crash): Foundation decides.
    @Test func damagedTZifFilesAreNotFixedOffsets() throws {
        let tokyo = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ZoneInfo.directory + "Asia/Tokyo")))
        #expect(ZoneInfo.fixedOffset(tzif: tokyo) == 9 * 3600)
        for length in 0..<tokyo.count { #expect(ZoneInfo.fixedOffset(tzif: Array(tokyo.prefix(length))) == nil, "\(length) bytes") }
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<500 {
            var garbled = tokyo
            garbled[Int.random(in: 0..<garbled.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            _ = ZoneInfo.fixedOffset(tzif: garbled)
        }
        #expect(ZoneInfo.fixedOffset(tzif: Array(repeating: 0xFF, count: 4096)) == nil)
    }

    @Test(
        arguments: [
            ("\nJST-9\n", 32400), ("\nUTC0\n", 0), ("\n<+0545>-5:45\n", 20700), ("\n<-03>3\n", -10800),
            ("\nEST5EDT,M3.2.0,M11.1.0\n", nil), ("\nCET-1CEST,M3.5.0,M10.5.0/3\n", nil), ("\n\n", nil), ("JST-9", nil)
        ] as [(String, Int?)])
    func posixFooterRules(_ row: (String, Int?)) {
        #expect(ZoneInfo.posixRuleOffset(ArraySlice(Array(row.0.utf8))) == row.1)
    }

    /// TZif files compiled by the real `zic`: a zone is fixed only if nothing changed after 1970.
    @Test func zicCompiledZones() throws {
        guard let zic = Fixtures.tool("/usr/sbin/zic", "/usr/bin/zic") else {
            if DebianSystemRoot.required { Issue.record("zic (libc-bin) is not installed") }
            return
        }
        let root = try TemporaryRoot()
        let source = try root.write(
            "zones",
            """
            Rule Test 1975 max - Mar lastSun 2:00 1:00 S
            Rule Test 1975 max - Oct lastSun 2:00 0 -
            Zone Test/Fixed 5:45 - +0545
            Zone Test/ChangedBefore1970 8:00 - OLD 1951 May 1
                9:00 - NEW
            Zone Test/ChangedAfter1970 8:00 - OLD 1990 May 1
                9:00 - NEW
            Zone Test/Summer 1:00 Test C%sT

            """)
        for slim in ["fat", "slim"] {
            let out = root.url(slim).path
            let compiled = try Fixtures.run(zic, ["-b", slim, "-d", out, source.path])
            #expect(compiled.status == 0, "\(compiled.stderr)")
            func offset(_ zone: String) throws -> Int? {
                ZoneInfo.fixedOffset(tzif: [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(out)/Test/\(zone)"))))
            }
            #expect(try offset("Fixed") == 20700, "\(slim)")
            #expect(try offset("ChangedBefore1970") == 32400, "\(slim)")
            #expect(try offset("ChangedAfter1970") == nil, "\(slim)")
            #expect(try offset("Summer") == nil, "\(slim)")
        }
    }
}
