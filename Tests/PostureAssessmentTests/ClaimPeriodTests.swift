import Foundation
import PostureAssessment
import PostureModel
import PosturePolicy
import PostureReference
import PostureTestSupport
import Testing

/// Each bank's claim period at its boundaries, judged from the bundled profiles' own counting.
@Suite struct ClaimPeriodTests {
    static let calendar: BankCalendar = {
        let path = ReferencePaths.standard().catalogFile("jp-bank-holidays.yaml")!
        return try! BankCalendar.load(path: path)
    }()

    /// The verdict of one transfer (`YYYY-MM-DD` or RFC 3339) notified on `notified`, under `id`'s profile.
    static func judge(_ id: String, transfer: String, notified: String?) throws -> ClaimPeriodVerdict {
        let profile = try BundledProfiles.load(id)
        return ClaimPeriod.judge(
            profile.claim, transfer: try Assessor.time(transfer, timezone: profile.claim.timezone),
            transferIsDay: Day(transfer) != nil, notified: notified.flatMap { Day($0) }, calendar: calendar)
    }

    /// Transfer, notification, expected status: the 30th day in, the 31st out, by each rule's counting.
    static let boundaries: [(String, String, String, FindingStatus)] = [
        // 001 clause 2 and 004 article 4: transfers on or after the day 30 days before the notification.
        ("iwagin-business-web", "2026-10-20", "2026-11-19", .pass),
        ("iwagin-business-web", "2026-10-20", "2026-11-20", .fail),
        ("akishin-corporate-ib", "2026-10-20", "2026-11-19", .pass),
        ("akishin-corporate-ib", "2026-10-20", "2026-11-20", .fail),
        // 002 and 003: notified by the 30th day after the transfer's day.
        ("higashi-nippon-business-ib", "2026-10-20", "2026-11-19", .pass),
        ("higashi-nippon-business-ib", "2026-10-20", "2026-11-20", .fail),
        ("iyogin-internet-eb", "2026-10-20", "2026-11-19", .pass),
        ("iyogin-internet-eb", "2026-10-20", "2026-11-20", .fail),
        // 00:30 in Tokyo on the 20th is the 19th in UTC: the day is Tokyo's.
        ("iyogin-internet-eb", "2026-10-20T00:30:00+09:00", "2026-11-19", .pass),
        ("iwagin-business-web", "2026-10-20T00:30:00+09:00", "2026-11-19", .pass),
        // 23:30 UTC on the 19th is the 20th in Tokyo.
        ("iyogin-internet-eb", "2026-10-19T23:30:00Z", "2026-11-19", .pass),
        ("iyogin-internet-eb", "2026-10-19T14:30:00Z", "2026-11-19", .fail)
    ]

    @Test(arguments: boundaries)
    func day30IsInAndDay31IsOut(_ row: (String, String, String, FindingStatus)) throws {
        let verdict = try Self.judge(row.0, transfer: row.1, notified: row.2)
        #expect(verdict.status == row.3, "\(verdict.summary.en)")
    }

    @Test func withoutTheNotificationDayTheDeadlineIsUnknown() throws {
        for id in ["iwagin-business-web", "higashi-nippon-business-ib", "iyogin-internet-eb", "akishin-corporate-ib"] {
            let verdict = try Self.judge(id, transfer: "2026-10-20", notified: nil)
            #expect(verdict.status == .unknown, "\(id)")
            #expect(verdict.summary.en.contains("--notified"))
        }
    }

    /// 004: accepted on Friday 2026-09-18, before 敬老の日 (Mon 21), 国民の休日 (Tue 22) and 秋分の日
    /// (Wed 23): the next business day is Thursday the 24th, and cover ends at its 24:00.
    @Test func akishinsCutOffOnAFridayBeforeAHolidayWeekend() throws {
        let friday = "2026-09-18"
        #expect(Self.calendar.businessDay(1, after: Day(friday)!) == Day("2026-09-24"))
        let inside = try Self.judge("akishin-corporate-ib", transfer: "2026-09-24T23:59:00+09:00", notified: friday)
        #expect(inside.status == .pass, "\(inside.summary.en)")
        #expect(inside.coveredUntil == Day("2026-09-25")!.start(in: TimeZone(identifier: "Asia/Tokyo")!))
        #expect(inside.summary.en.contains("2026-09-24 24:00"))
        #expect(try Self.judge("akishin-corporate-ib", transfer: "2026-09-25T00:00:00+09:00", notified: friday).status == .fail)
        #expect(
            try Self.judge("akishin-corporate-ib", transfer: "2026-09-24", notified: friday).status == .pass,
            "a whole day up to its 24:00 is inside")
        #expect(try Self.judge("akishin-corporate-ib", transfer: "2026-09-21", notified: friday).status == .pass)
        #expect(try Self.judge("akishin-corporate-ib", transfer: "2026-08-19", notified: friday).status == .pass)
        #expect(try Self.judge("akishin-corporate-ib", transfer: "2026-08-18", notified: friday).status == .fail)
        // The reading of 午後12時 is in the profile, with its reason, and shown.
        let info = Assessor.profileInfo(try BundledProfiles.load("akishin-corporate-ib"), calendar: Self.calendar)
        #expect(info.counting?.until?.time == "24:00")
        #expect(info.counting?.describe(in: .en).contains("午後12時 is ambiguous") == true)
        #expect(info.counting?.until?.calendarLastDay == Self.calendar.lastDay)
    }

    @Test func beyondTheCalendarTheCutOffIsUnknown() throws {
        let last = Self.calendar.lastDay
        let verdict = try Self.judge("akishin-corporate-ib", transfer: last.description, notified: last.adding(days: -1).description)
        #expect(verdict.status == .unknown, "\(verdict.summary.en)")
        #expect(verdict.summary.en.contains("beyond the bank calendar"))
    }

    /// 002 covers nothing before 2014-12-15 09:00 JST.
    @Test func higashiNipponsStartOfCover() throws {
        let id = "higashi-nippon-business-ib"
        #expect(try Self.judge(id, transfer: "2014-12-15T08:59:59+09:00", notified: "2014-12-16").status == .fail)
        #expect(try Self.judge(id, transfer: "2014-12-15T09:00:00+09:00", notified: "2014-12-16").status == .pass)
        #expect(try Self.judge(id, transfer: "2014-12-15T00:00:00Z", notified: "2014-12-16").status == .pass, "09:00 in Tokyo")
        #expect(try Self.judge(id, transfer: "2014-12-15", notified: "2014-12-16").status == .unknown, "the time decides")
        #expect(try Self.judge(id, transfer: "2014-12-14", notified: "2014-12-16").status == .fail)
    }
}

/// The bank calendar is generated from the holiday law's rules by scripts/jp-bank-holidays, and
/// checked here against an independent implementation: the `holidays` package from PyPI
/// (`make test` installs it into .build/python-deps).
@Suite struct BankCalendarTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path

    @Test func theCatalogIsWhatTheScriptMakes() throws {
        let result = try Fixtures.run(
            "/usr/bin/env",
            [
                "python3", "\(Self.repository)/scripts/jp-bank-holidays", "--check",
                "\(Self.repository)/Profiles/catalog/jp-bank-holidays.yaml"
            ])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func closedDaysAgreeWithThePythonHolidaysPackage() throws {
        let calendar = ClaimPeriodTests.calendar
        let script = """
            import datetime, sys
            import holidays
            first, last = int(sys.argv[1]), int(sys.argv[2])
            days = {d for d in holidays.Japan(years=range(first, last + 1)) if d.weekday() < 5}
            for year in range(first, last + 1):
                for month, day in ((1, 2), (1, 3), (12, 31)):
                    d = datetime.date(year, month, day)
                    if d.weekday() < 5: days.add(d)
            print("\\n".join(sorted(d.isoformat() for d in days)))
            """
        let environment = [
            "PATH": "/usr/local/bin:/usr/bin:/bin:\(ProcessInfo.processInfo.environment["PATH"] ?? "")",
            "PYTHONPATH": "\(Self.repository)/.build/python-deps"
        ]
        let result = try Fixtures.run(
            "/usr/bin/env", ["python3", "-c", script, "\(calendar.firstDay.year)", "\(calendar.lastDay.year)"],
            environment: environment)
        guard result.status == 0 else {
            let reason = "the Python holidays package is not installed (make test installs it into .build/python-deps): \(result.stderr)"
            if DebianSystemRoot.required { Issue.record("\(reason)") }
            return
        }
        let reference = Set(result.stdout.split(separator: "\n").compactMap { Day($0) })
        #expect(reference.count > 200)
        #expect(Set(calendar.closed.keys) == reference)
    }
}
