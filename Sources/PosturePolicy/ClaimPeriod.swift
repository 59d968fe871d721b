package import Foundation
package import PostureModel
import PostureReference

/// How a bank's rule counts the period in which a transfer is compensated, as data (`claim.counting`).
///
/// Two shapes cover the rules: the bank must be **notified within N days of each transfer**
/// (`counts: notification, from: transfer`), or the bank **covers transfers made from N days
/// before the notification** (`counts: transfer, from: notification`), optionally up to a cut-off
/// after it. Every figure the rule gives is a field, so a reader can compare it with the words
/// quoted in `text`.
package struct ClaimCounting: Sendable, Hashable {
    /// What must fall inside the period.
    package enum Counted: String, Sendable, CaseIterable { case notification, transfer }

    /// The upper bound of a `counts: transfer` period: the end of a time of day, some business days
    /// after the notification.
    package struct Until: Sendable, Hashable {
        /// Business days after the day of the notification (1: the next business day).
        package var businessDaysAfter: Int
        /// Minutes after 00:00 of that business day at which cover ends (1440: its end, 24:00).
        package var minutes: Int
        /// The bank calendar (a `catalog/<name>.yaml` file) that says which days are business days.
        package var calendar: String
        /// Why the time was read so, where the rule's words are ambiguous.
        package var reading: LocalizedText?
    }

    package var counts: Counted
    package var days: Int
    /// `counts: notification`: whether the day of the transfer is day 1 (true), or the day after it
    /// is (false: 民法140条, the first day is not counted).
    package var firstDayCounted: Bool
    /// `counts: transfer`: whether the day N days before the notification is itself covered (以降).
    package var inclusive: Bool
    package var until: Until?
    /// The rule's own words.
    package var text: String
}

/// The first instant a rule compensates at all (002: 2014-12-15 09:00 JST), with the rule's words.
package struct CoverStart: Sendable, Hashable {
    package var at: Date
    package var text: String
}

/// A bank calendar: which days are business days, known only between its first and last day.
package struct BankCalendar: Sendable, Hashable {
    package var name: String
    package var firstDay: Day
    package var lastDay: Day
    /// Weekdays on which banks are closed (national holidays, 12/31–1/3), with their names.
    package var closed: [Day: String]

    package init(name: String, firstDay: Day, lastDay: Day, closed: [Day: String]) {
        self.name = name
        self.firstDay = firstDay
        self.lastDay = lastDay
        self.closed = closed
    }

    /// Whether banks are open on `day`; nil outside the calendar's years (never guessed).
    package func isBusinessDay(_ day: Day) -> Bool? {
        guard day >= firstDay, day <= lastDay else { return nil }
        let weekday = ((day.daysSinceEpoch % 7) + 7 + 4) % 7  // 1970-01-01 was a Thursday (4); 0 is Sunday
        return weekday != 0 && weekday != 6 && closed[day] == nil
    }

    /// The `count`-th business day after `day`; nil when the calendar does not reach it.
    package func businessDay(_ count: Int, after day: Day) -> Day? {
        var current = day
        var left = count
        while left > 0 {
            current = current.adding(days: 1)
            guard let open = isBusinessDay(current) else { return nil }
            if open { left -= 1 }
        }
        return current
    }

    /// Reads `catalog/<name>.yaml`: `name`, `first_day`, `last_day` and `closed: {YYYY-MM-DD: name}`.
    package static func load(path: String) throws -> BankCalendar {
        let root = try YAMLNode.load(path: path).mapping("the calendar")
        try root.rejectUnknownKeys(allowed: ["name", "first_day", "last_day", "rule", "source", "closed"])
        let first = try root.required("first_day").day("first_day")
        let last = try root.required("last_day").day("last_day")
        guard first <= last else { throw try root.required("last_day").error("last_day is before first_day") }
        var closed: [Day: String] = [:]
        for entry in try root.required("closed").mapping("closed").entries {
            guard let day = Day(entry.key) else {
                throw LocatedError(file: path, line: entry.keyLine, message: "'\(entry.key)' is not a date YYYY-MM-DD")
            }
            closed[day] = try entry.value.string("closed.\(entry.key)")
        }
        return BankCalendar(name: try root.required("name").string("name"), firstDay: first, lastDay: last, closed: closed)
    }
}

/// One transfer judged against the rule's period: covered or not, and the dates that decide it.
package struct ClaimPeriodVerdict: Sendable, Hashable, Codable {
    package var status: FindingStatus
    /// The day of the transfer in the profile's time zone.
    package var transferDay: Day
    /// `counts: notification`: the last day on which notifying the bank is in time.
    package var notifyBy: Day?
    /// `counts: transfer`: the first day whose transfers are covered.
    package var coveredFrom: Day?
    /// `counts: transfer` with an upper bound: the instant cover ends.
    package var coveredUntil: Date?
    package var coverStarts: Date?
    package var summary: LocalizedText
}

/// Judges one transfer against a profile's counting rule. Pure and dated only by its inputs: the
/// day the assessment runs plays no part.
package enum ClaimPeriod {
    package static func judge(
        _ rules: Profile.ClaimRules, transfer: Date, transferIsDay: Bool, notified: Day?,
        calendar: BankCalendar?
    ) -> ClaimPeriodVerdict {
        let zone = rules.zone
        let day = Day(transfer, in: zone)
        var verdict = ClaimPeriodVerdict(status: .unknown, transferDay: day, summary: .init(en: "", ja: ""))
        func finish(_ status: FindingStatus, _ en: String, _ ja: String) -> ClaimPeriodVerdict {
            verdict.status = status
            verdict.summary = .init(en: en, ja: ja)
            return verdict
        }
        if let start = rules.coverStarts {
            verdict.coverStarts = start.at
            let startText = AssessmentTime.local(start.at, rules.timezone)
            if transfer < start.at, !(transferIsDay && Day(start.at, in: zone) == day) {
                return finish(
                    .fail, "The transfer (\(day)) is before cover starts (\(startText)): \(start.text)",
                    "補償開始(\(startText))より前の取引です(\(day)): \(start.text)")
            }
            if transferIsDay && Day(start.at, in: zone) == day {
                return finish(
                    .unknown, "Cover starts at \(startText), on the transfer's day: give the transfer's time (RFC 3339)",
                    "補償開始(\(startText))と同じ日の取引です。取引時刻(RFC 3339)を指定してください")
            }
        }
        guard let counting = rules.counting else {
            return finish(.notApplicable, "The rule states no claim period", "規定に請求期間の定めはありません")
        }
        switch counting.counts {
        case .notification:
            let limit = day.adding(days: counting.days - (counting.firstDayCounted ? 1 : 0))
            verdict.notifyBy = limit
            let counted = counting.firstDayCounted ? "the transfer's day counted as day 1" : "counting from the day after the transfer"
            let countedJa = counting.firstDayCounted ? "取引日を1日目として" : "取引の翌日から数えて"
            guard let notified else {
                return finish(
                    .unknown, "The bank must be notified by \(limit) (\(counting.days) days, \(counted)); the notification day was not given (--notified)",
                    "\(countedJa)\(counting.days)日以内、\(limit) までに通知が必要です。通知日(--notified)が指定されていません")
            }
            let late = limit.days(until: notified)
            if late > 0 {
                return finish(
                    .fail, "Notified \(notified), \(late) day(s) after the last day \(limit) (\(counting.days) days, \(counted))",
                    "通知日 \(notified) は期限 \(limit)(\(countedJa)\(counting.days)日)を \(late) 日過ぎています")
            }
            return finish(
                .pass, "Notified \(notified), on or before the last day \(limit) (\(counting.days) days, \(counted))",
                "通知日 \(notified) は期限 \(limit)(\(countedJa)\(counting.days)日)以内です")
        case .transfer:
            guard let notified else {
                return finish(
                    .unknown, "Transfers from \(counting.days) days before the notification are covered; the notification day was not given (--notified)",
                    "通知日の\(counting.days)日前以降の取引が対象です。通知日(--notified)が指定されていません")
            }
            let from = notified.adding(days: -counting.days + (counting.inclusive ? 0 : 1))
            verdict.coveredFrom = from
            if day < from {
                return finish(
                    .fail, "The transfer (\(day)) is before \(from), the first day covered (\(counting.days) days before the notification \(notified))",
                    "取引日 \(day) は補償対象の初日 \(from)(通知日 \(notified) の\(counting.days)日前)より前です")
            }
            guard let until = counting.until, day > notified else {
                let bound = counting.until == nil ? "" : "; it is not after the notification day"
                return finish(
                    .pass,
                    "The transfer (\(day)) is on or after \(from), the first day covered (\(counting.days) days before the notification \(notified))\(bound)",
                    "取引日 \(day) は補償対象の初日 \(from)(通知日 \(notified) の\(counting.days)日前)以降です")
            }
            guard let calendar, let business = calendar.businessDay(until.businessDaysAfter, after: notified) else {
                let name = calendar?.name ?? until.calendar
                return finish(
                    .unknown,
                    "The transfer (\(day)) is after the notification day; the cut-off (business day \(until.businessDaysAfter) after \(notified)) is beyond the bank calendar \(name)",
                    "取引日 \(day) は通知日より後です。締切(\(notified) の\(until.businessDaysAfter)営業日後)が銀行カレンダー \(name) の範囲外のため判定できません")
            }
            let end = business.start(in: zone).addingTimeInterval(Double(until.minutes) * 60)
            verdict.coveredUntil = end
            let endText = AssessmentTime.cutOff(end, rules.timezone)
            if transferIsDay && Day(end, in: zone) == day && until.minutes < 1440 {
                return finish(
                    .unknown, "Cover ends at \(endText), on the transfer's day: give the transfer's time (RFC 3339)",
                    "補償期間は \(endText) までで、取引と同じ日です。取引時刻(RFC 3339)を指定してください")
            }
            if transfer >= end {
                return finish(
                    .fail,
                    "The transfer (\(AssessmentTime.local(transfer, rules.timezone))) is after cover ends at \(endText) (business day \(until.businessDaysAfter) after the notification \(notified))",
                    "取引(\(AssessmentTime.local(transfer, rules.timezone)))は補償期間の終わり \(endText)(通知日 \(notified) の翌営業日)より後です")
            }
            return finish(
                .pass,
                "The transfer (\(day)) is between \(from) and the cut-off \(endText) (business day \(until.businessDaysAfter) after the notification \(notified))",
                "取引日 \(day) は補償期間 \(from) 〜 \(endText)(通知日 \(notified) の翌営業日)内です")
        }
    }
}

/// Times shown to readers: `YYYY-MM-DD HH:mm` in a profile's time zone.
package enum AssessmentTime {
    package static func local(_ date: Date, _ timezone: String) -> String {
        let zone = TimeZone.named(timezone) ?? Day.utc
        let local = (Int(date.timeIntervalSince1970.rounded(.down)) + zone.secondsFromGMT(for: date)).floorDivided(by: 86400)
        let minutes = local.remainder / 60
        return "\(Day(daysSinceEpoch: local.quotient)) \(RFC3339.twoDigits(minutes / 60)):\(RFC3339.twoDigits(minutes % 60))"
    }

    /// A cut-off: the end of a day reads `YYYY-MM-DD 24:00`, not 00:00 of the next day.
    package static func cutOff(_ date: Date, _ timezone: String) -> String {
        let text = local(date, timezone)
        guard text.hasSuffix(" 00:00") else { return text }
        let zone = TimeZone.named(timezone) ?? Day.utc
        return "\(Day(date.addingTimeInterval(-1), in: zone)) 24:00"
    }
}
