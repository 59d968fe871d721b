import Foundation
import PostureAssessment
import PostureCollector
import PostureModel
import PosturePolicy

/// The device page's timeline: one row per requirement of a profile, coloured by status from the
/// change points kept at ingest, over the last 30 or 90 days, as an inline SVG in the colours of
/// the assessment's timeline.
struct ConsoleTimeline {
    /// One requirement's row: its label and (status, from, to) spans.
    struct Row {
        var label: String
        var spans: [(status: FindingStatus, from: Date, to: Date)]
    }

    var rows: [Row]
    var from: Date
    var to: Date
    var timezone: String

    /// Rows for `findings` (the newest verdict's, in the profile's order) from `changes`, each span
    /// lasting until the next change, the last one until `lastReport`.
    init(findings: [Finding], changes: [VerdictChange], lastReport: Date, from: Date, to: Date, timezone: String, language: Language) {
        self.from = from
        self.to = to
        self.timezone = timezone
        let points = changes.map { (at: $0.collectedAt, statuses: $0.byRequirement) }
        rows = findings.map { finding in
            var spans: [(status: FindingStatus, from: Date, to: Date)] = []
            for (index, point) in points.enumerated() {
                guard let status = point.statuses[finding.requirement].flatMap(FindingStatus.init(rawValue:)) else { continue }
                let end = index + 1 < points.count ? points[index + 1].at : lastReport
                guard end > from else { continue }
                spans.append((status, max(point.at, from), end))
            }
            let clause = language == .ja ? finding.clause : (finding.clauseEn ?? finding.clause)
            return Row(label: "\(clause) \(finding.requirement)", spans: spans)
        }
    }

    func svg() -> String {
        let width = 760.0, labelWidth = 170.0, rowHeight = 13.0, top = 6.0
        let start = from.timeIntervalSince1970, span = max(to.timeIntervalSince1970 - start, 3600)
        let plot = width - labelWidth - 8
        func x(_ date: Date) -> Double { labelWidth + plot * min(max((date.timeIntervalSince1970 - start) / span, 0), 1) }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        let axis = top + Double(rows.count) * rowHeight
        var out = "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(axis + 16))\" font-size=\"8\" "
        out += "font-family=\"sans-serif\" role=\"img\">\n"
        let zone = TimeZone.named(timezone) ?? Day.utc
        let days = max(1, Int(span / 86400))
        var day = Day(from, in: zone)
        while day.start(in: zone) <= to {
            let xd = x(day.start(in: zone))
            if xd > labelWidth {
                out += "<line x1=\"\(f(xd))\" y1=\"\(f(top))\" x2=\"\(f(xd))\" y2=\"\(f(axis + 3))\" stroke=\"#ddd\" stroke-width=\"0.5\"/>"
                out += "<text x=\"\(f(xd))\" y=\"\(f(axis + 12))\" text-anchor=\"middle\" fill=\"#444\">"
                out += String(format: "%02d-%02d", day.month, day.day) + "</text>\n"
            }
            day = day.adding(days: max(1, days / 10))
        }
        for (index, row) in rows.enumerated() {
            let y = top + Double(index) * rowHeight
            out += "<text x=\"\(f(labelWidth - 4))\" y=\"\(f(y + rowHeight - 4))\" text-anchor=\"end\" fill=\"#222\">"
            out += HTMLReport.escape(String(row.label.prefix(38))) + "</text>"
            for spanned in row.spans {
                let x0 = x(spanned.from), x1 = max(x(spanned.to), x0 + 1.5)
                out += "<rect x=\"\(f(x0))\" y=\"\(f(y + 2))\" width=\"\(f(x1 - x0))\" height=\"\(f(rowHeight - 4))\" "
                out += "fill=\"\(TimelineChart.colour(spanned.status))\"><title>\(spanned.status.rawValue)</title></rect>"
            }
            out += "\n"
        }
        return out + "</svg>\n"
    }
}
