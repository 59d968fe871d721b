import Foundation
package import PostureModel

/// The window as an inline SVG: one row per requirement, coloured by status over time, with the
/// incident, the notification, gaps and each report marked.
package struct TimelineChart {
    var assessment: Assessment
    var language: Language

    let width = 700.0
    let labelWidth = 150.0
    let rowHeight = 13.0
    let top = 18.0

    /// The colour of a status, in the assessment's timeline and the console's.
    package static func colour(_ status: FindingStatus) -> String {
        switch status {
        case .pass, .attested: return "#4caf50"
        case .fail: return "#d32f2f"
        case .unknown: return "#f2b01e"
        case .notApplicable: return "#bdbdbd"
        }
    }

    func svg() -> String {
        let a = assessment
        let rows = a.requirements.filter { !$0.timeline.isEmpty }
        let from = a.claim.windowFrom.timeIntervalSince1970
        let to = max(a.claim.windowTo.timeIntervalSince1970, from + 3600)
        let plot = width - labelWidth - 8
        func x(_ date: Date) -> Double { labelWidth + plot * min(max((date.timeIntervalSince1970 - from) / (to - from), 0), 1) }
        let height = top + Double(rows.count) * rowHeight + 34
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-size=\"8\" font-family=\"sans-serif\" role=\"img\">\n"
        // Day ticks, about eight across the window.
        let days = max(1, Int((to - from) / 86400))
        let step = max(1, days / 8)
        let zone = TimeZone.named(a.profile.timezone) ?? Day.utc
        var day = Day(a.claim.windowFrom, in: zone)
        let last = Day(a.claim.windowTo, in: zone)
        let axis = top + Double(rows.count) * rowHeight
        while day <= last {
            let xd = x(day.start(in: zone))
            if xd >= labelWidth {
                out += "<line x1=\"\(f(xd))\" y1=\"\(f(top - 2))\" x2=\"\(f(xd))\" y2=\"\(f(axis + 3))\" stroke=\"#ddd\" stroke-width=\"0.5\"/>"
                out +=
                    "<text x=\"\(f(xd))\" y=\"\(f(axis + 11))\" text-anchor=\"middle\" fill=\"#444\">\(String(format: "%02d-%02d", day.month, day.day))</text>\n"
            }
            day = day.adding(days: step)
        }
        for (index, row) in rows.enumerated() {
            let y = top + Double(index) * rowHeight
            let label = "\(row.clause(in: language)) \(row.requirement)"
            out +=
                "<text x=\"\(f(labelWidth - 4))\" y=\"\(f(y + rowHeight - 4))\" text-anchor=\"end\" fill=\"#222\">\(HTMLReport.escape(String(label.prefix(34))))</text>"
            for segment in row.timeline {
                let x0 = x(segment.from), x1 = max(x(segment.to), x0 + 1.5)
                out +=
                    "<rect x=\"\(f(x0))\" y=\"\(f(y + 2))\" width=\"\(f(x1 - x0))\" height=\"\(f(rowHeight - 4))\" fill=\"\(Self.colour(segment.status))\"><title>\(segment.status.rawValue)</title></rect>"
            }
            out += "\n"
        }
        for gap in a.gaps {
            let x0 = x(gap.from), x1 = x(gap.to)
            out +=
                "<rect x=\"\(f(x0))\" y=\"\(f(top))\" width=\"\(f(max(x1 - x0, 1)))\" height=\"\(f(axis - top))\" fill=\"url(#hatch)\" stroke=\"#555\" stroke-width=\"0.4\"/>\n"
        }
        for report in a.reports {
            out +=
                "<line x1=\"\(f(x(report.collectedAt)))\" y1=\"\(f(axis + 14))\" x2=\"\(f(x(report.collectedAt)))\" y2=\"\(f(axis + 18))\" stroke=\"#333\" stroke-width=\"0.5\"/>"
        }
        let ja = language == .ja
        for start in a.transfers.isEmpty ? [a.claim.incidentStart] : a.transfers.map(\.start) {
            let incidentX = x(start)
            out +=
                "\n<line x1=\"\(f(incidentX))\" y1=\"\(f(top - 8))\" x2=\"\(f(incidentX))\" y2=\"\(f(axis + 3))\" stroke=\"#b00000\" stroke-width=\"1.2\" stroke-dasharray=\"3 2\"/>"
            out += "<text x=\"\(f(incidentX))\" y=\"\(f(top - 10))\" text-anchor=\"middle\" fill=\"#b00000\">\(ja ? "被害発生" : "incident")</text>\n"
        }
        if let notified = a.claim.notified {
            let nx = x(notified)
            out +=
                "<line x1=\"\(f(nx))\" y1=\"\(f(top - 8))\" x2=\"\(f(nx))\" y2=\"\(f(axis + 3))\" stroke=\"#1f4e9c\" stroke-width=\"1\" stroke-dasharray=\"1 2\"/>"
            out += "<text x=\"\(f(nx))\" y=\"\(f(top - 10))\" text-anchor=\"middle\" fill=\"#1f4e9c\">\(ja ? "通知" : "notified")</text>\n"
        }
        let legend: [(FindingStatus, String)] = [
            (.pass, ja ? "合格・申告済" : "pass / attested"), (.fail, ja ? "不適合" : "fail"),
            (.unknown, ja ? "不明・要申告" : "unknown"), (.notApplicable, ja ? "対象外" : "n/a")
        ]
        var lx = labelWidth
        for (status, text) in legend {
            out +=
                "<rect x=\"\(f(lx))\" y=\"\(f(axis + 22))\" width=\"8\" height=\"7\" fill=\"\(Self.colour(status))\"/><text x=\"\(f(lx + 11))\" y=\"\(f(axis + 28.5))\" fill=\"#333\">\(text)</text>"
            lx += 95
        }
        out += "\n<text x=\"4\" y=\"\(f(axis + 17.5))\" fill=\"#555\">\(ja ? "レポート" : "reports")</text>"
        out +=
            "<defs><pattern id=\"hatch\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" stroke=\"#555\" stroke-width=\"0.6\"/></pattern></defs>"
        return out + "</svg>\n"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
