import Foundation
import PostureEvidence
package import PostureModel
package import PosturePolicy

/// One self-contained HTML file (no external assets, printable on A4) that a staff member can
/// attach to a claim: a scan of this PC, or a bank's assessment of a claim with its timeline chart.
package enum HTMLReport {
    /// The scan report: per bank, each requirement with clause, verdict, evidence and remedy.
    package static func scan(
        _ report: Report, profiles: [Profile], keyID: String?, envelopeSHA256: String?,
        language: Language
    ) -> String {
        let ja = language == .ja
        var body = "<h1>\(ja ? "オンラインバンキング端末 セキュリティ状態報告" : "Online-banking PC security posture")</h1>\n"
        var facts: [(String, String)] = [
            (ja ? "端末" : "Host", report.host.hostname ?? "?"),
            ("OS", report.evidence.os?.prettyName ?? report.evidence.os?.id ?? "?"),
            (ja ? "取得日時" : "Collected", both(report.collectedAt, profiles.first?.claim.timezone ?? "UTC")),
            (ja ? "レポートID" : "Report id", report.id)
        ]
        if let envelopeSHA256 {
            facts.append((ja ? "署名" : "Signature", ja ? "端末の鍵で署名済み" : "signed with the device key"))
            if let keyID { facts.append((ja ? "端末の鍵ID" : "Device key id", keyID)) }
            facts.append((ja ? "エンベロープ SHA-256" : "Envelope SHA-256", envelopeSHA256))
        } else {
            facts.append(
                (
                    ja ? "署名" : "Signature",
                    ja
                        ? "署名なし(この端末での確認用。銀行は署名付きレポートで判断します)"
                        : "unsigned (for this PC's own check; a bank judges signed reports)"
                ))
            if let keyID { facts.append((ja ? "この端末の鍵ID" : "This PC's key id", keyID)) }
        }
        if report.host.root != "/" { facts.append((ja ? "スキャン対象" : "Scanned root", report.host.root)) }
        body += factTable(facts)
        if !report.evidence.unavailable.isEmpty {
            body += "<p class=note>\(ja ? "取得できなかった情報" : "Not collected"): "
            body += report.evidence.unavailable.sorted { $0.key < $1.key }.map { "<b>\(escape($0.key))</b>: \(escape($0.value))" }.joined(separator: "; ")
            body += "</p>\n"
        }
        if let truncation = report.evidence.truncation {
            body += "<p class=note>\(escape(truncation.described(ja: ja)))</p>\n"
        }
        for profile in profiles {
            body += "<h2>\(escape(profile.name.text(for: language))) <small>\(escape(profile.id))</small></h2>\n"
            body += "<p class=note>\(ja ? "規定" : "Rule"): \(escape(profile.source.described))</p>\n"
            body += findingTable(report.findings.filter { $0.profile == profile.id }, language: language)
        }
        let status = verdictLine(report.findings, language: language)
        body += "<p class=verdict>\(escape(status))</p>\n"
        return page(
            title: ja ? "posture スキャン \(report.id)" : "posture scan \(report.id)", language: language, body: body,
            signed: envelopeSHA256 != nil)
    }

    /// The bank's assessment: outcome, per requirement the verdict at the incident, the timeline
    /// chart of the window, and the evidence (key, report ids and hashes).
    package static func assessment(_ a: Assessment, language: Language) -> String {
        let ja = language == .ja
        let zone = a.profile.timezone
        func at(_ date: Date) -> String { AssessmentText.local(date, zone) }
        var body = "<h1>\(ja ? "不正利用被害 補償請求の判定" : "Fraud compensation claim: assessment")</h1>\n"
        body += "<h2>\(escape(a.profile.name.text(for: language))) <small>\(escape(a.profile.id))</small></h2>\n"
        var facts: [(String, String)] = [
            (ja ? "被害発生" : "Incident", "\(a.claim.incidents.joined(separator: ", ")) (\(zone))"),
            (ja ? "銀行への通知日" : "Bank notified", a.claim.notifiedDay?.description ?? (ja ? "未指定(期限は判定不能)" : "not given (deadline unknown)")),
            (ja ? "対象期間" : "Window", "\(at(a.claim.windowFrom)) → \(at(a.claim.windowTo))"),
            (
                ja ? "端末の鍵ID" : "Device key id",
                a.verification.keyId
                    + (a.verification.keyPinned ? "" : (ja ? "(鍵が固定されていません: " : " (NOT pinned: ") + a.keySource + ")")
            ),
            (ja ? "規定" : "Rule", a.profile.documentTitle ?? a.profile.document),
            (ja ? "請求期間の規定" : "Claim period", a.profile.counting?.describe(in: language) ?? (ja ? "定めなし" : "none stated by the rule")),
            (ja ? "判定日時" : "Assessed", both(a.assessedAt, zone))
        ]
        if let start = a.profile.coverStarts { facts.insert((ja ? "補償開始" : "Cover starts", "\(at(start)) (\(a.profile.coverStartsText ?? ""))"), at: 6) }
        body += factTable(facts)
        if a.transfers.count > 1 || a.transfers.first?.cover != nil {
            body += "<h3>\(ja ? "取引ごとの判定" : "Each transfer")</h3><ul>"
            body += AssessmentText.transferLines(a, language: language).map { "<li>\(escape($0).replacingOccurrences(of: "\n    ", with: "<br>"))</li>" }
                .joined()
            body += "</ul>\n"
        }
        let verdictClass = a.outcome.verdict == .noExclusionFound && a.outcome.unassessed.isEmpty ? "ok" : "bad"
        body += "<div class=\"outcome \(verdictClass)\"><b>\(escape(Labels.outcome(a.outcome.verdict, language: language)))</b>"
        if !a.outcome.clauses.isEmpty { body += " — \(ja ? "条項" : "clauses") \(escape(a.clauses(in: language).joined(separator: ", ")))" }
        body += "<ul>" + a.reasons(in: language).map { "<li>\(escape($0))</li>" }.joined()
        if !a.outcome.unassessed.isEmpty {
            body += "<li>\(ja ? "判定できない要件" : "Not assessable"): \(escape(a.outcome.unassessed.joined(separator: ", ")))</li>"
        }
        body += "</ul></div>\n"
        if let log = a.verification.log {
            body += "<p class=\"log\">\(escape(log.summary(in: language)))</p>"
            if !log.problems.isEmpty { body += "<ul>" + log.problems.map { "<li>\(escape($0))</li>" }.joined() + "</ul>" }
            body += "\n"
        }
        if !a.verification.ok {
            body += "<h3>\(ja ? "検証の失敗" : "Verification failures")</h3><ul>"
            body += a.verification.problems.map { "<li>\(escape($0))</li>" }.joined() + "</ul>\n"
        }
        if !a.requirements.isEmpty {
            body += "<h3>\(ja ? "期間中の推移" : "Timeline of the window")</h3>\n" + TimelineChart(assessment: a, language: language).svg()
            body += "<h3>\(ja ? "要件ごとの判定(発生直前のレポート)" : "Requirements at the incident (last report before it)")</h3>\n"
            body +=
                "<table class=findings><thead><tr><th>\(ja ? "判定" : "Status")</th><th>\(ja ? "条項" : "Clause")</th><th>\(ja ? "要件" : "Requirement")</th><th>\(ja ? "根拠" : "Evidence")</th></tr></thead><tbody>\n"
            for requirement in a.requirements {
                let status = requirement.atIncident?.status
                let label = status.map { Labels.status($0, check: requirement.check, language: language).text } ?? (ja ? "証跡なし" : "no evidence")
                let changes =
                    requirement.timeline.count > 1
                    ? "<br><small>"
                        + requirement.timeline.map {
                            "\(escape(Labels.status($0.status, check: requirement.check, language: language).text)) \(at($0.from))–\(at($0.to))"
                        }.joined(separator: " · ") + "</small>" : ""
                body += "<tr class=\"\(status?.rawValue ?? "none")\"><td class=status>\(escape(label))</td>"
                body +=
                    "<td>\(escape(requirement.clause(in: language)))<br><small>\(escape(Labels.consequence(requirement.consequence, language: language)))</small></td>"
                body += "<td>\(escape(requirement.title.text(for: language)))</td>"
                body += "<td>\(escape(requirement.atIncident?.summary(in: language) ?? ""))\(changes)</td></tr>\n"
            }
            body += "</tbody></table>\n"
        }
        if !a.gaps.isEmpty {
            body += "<h3>\(ja ? "証跡の欠落" : "Gaps in the evidence")</h3><ul>"
            for gap in a.gaps {
                let what =
                    gap.kind == .chain
                    ? (ja ? "チェーン欠落 \(gap.missing ?? 0) 件" : "\(gap.missing ?? 0) report(s) missing from the chain")
                    : (ja ? "レポートのない期間" : "no reports")
                body +=
                    "<li>\(escape(what)): \(at(gap.from)) → \(at(gap.to))\(gap.spansIncident ? (ja ? " <b>(発生時刻をまたぐ)</b>" : " <b>(spans the incident)</b>") : "")</li>"
            }
            body += "</ul>\n"
        }
        if !a.attestations.isEmpty {
            body += "<h3>\(ja ? "申告" : "Attestations")</h3><table class=evidence><tbody>"
            for attestation in a.attestations {
                body +=
                    "<tr><td>\(escape(attestation.requirement))</td><td>\(at(attestation.recordedAt))</td><td>\(escape(attestation.by ?? ""))</td><td>\(escape(attestation.note ?? ""))</td></tr>"
            }
            body += "</tbody></table>\n"
        }
        body +=
            "<h3>\(ja ? "使用したレポート" : "Reports used") (\(a.reports.count))</h3><table class=evidence><thead><tr><th>seq</th><th>\(ja ? "取得日時" : "Collected")</th><th>\(ja ? "レポートID" : "Report id")</th><th>\(ja ? "エンベロープ" : "Envelope") SHA-256</th></tr></thead><tbody>\n"
        for report in a.reports {
            let marker = report.id == a.lastReportBeforeIncident?.id ? " class=marked" : ""
            body += "<tr\(marker)><td>\(report.sequence)</td><td>\(at(report.collectedAt))</td><td>\(report.id)</td><td class=hash>\(report.sha256)</td></tr>\n"
        }
        body += "</tbody></table>\n"
        if let stronger = a.strongerMeasures {
            body +=
                "<h3>\(ja ? "規定以上の対策としてこの端末で確認できたもの" : "Measures this PC shows beyond the rule's") <small>\(escape(ja ? stronger.clause : stronger.clauseEn ?? stronger.clause))</small></h3>\n"
            body += findingTable(stronger.shown + stronger.notShown, language: language)
        }
        if !a.disagreements.isEmpty {
            body +=
                "<h3>\(ja ? "端末での判定と異なる項目" : "Judged differently on the PC")</h3><ul>" + a.disagreements.map { "<li>\(escape($0))</li>" }.joined() + "</ul>\n"
        }
        return page(title: "posture assessment \(a.profile.id) \(a.claim.incident)", language: language, body: body, signed: true)
    }

    // MARK: Pieces

    static func findingTable(_ findings: [Finding], language: Language) -> String {
        let ja = language == .ja
        var out =
            "<table class=findings><thead><tr><th>\(ja ? "判定" : "Status")</th><th>\(ja ? "条項" : "Clause")</th><th>\(ja ? "要件" : "Requirement")</th><th>\(ja ? "根拠・対処" : "Evidence and remedy")</th></tr></thead><tbody>\n"
        for finding in findings {
            let label = Labels.status(finding.status, check: finding.check, language: language).text
            let remedy = finding.remedy(in: language).map { "<br><span class=remedy>→ \(withCode($0))</span>" } ?? ""
            out += "<tr class=\"\(finding.status.rawValue)\"><td class=status>\(escape(label))</td>"
            out += "<td>\(escape(finding.clause(in: language)))<br><small>\(escape(Labels.consequence(finding.consequence, language: language)))</small></td>"
            out += "<td>\(escape(finding.title(in: language)))</td><td>\(withCode(finding.summary(in: language)))\(remedy)</td></tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    static func verdictLine(_ findings: [Finding], language: Language) -> String {
        let ja = language == .ja
        if findings.contains(where: { $0.status == .fail }) { return ja ? "満たしていない要件があります。" : "At least one requirement is not met." }
        if findings.contains(where: { $0.status == .unknown }) {
            return ja ? "不適合はありませんが、確認できない要件があります。" : "Nothing fails, but some requirements could not be confirmed."
        }
        return ja ? "すべての要件を満たしています。" : "Every requirement is met."
    }

    static func factTable(_ facts: [(String, String)]) -> String {
        "<table class=facts><tbody>" + facts.map { "<tr><th>\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }.joined() + "</tbody></table>\n"
    }

    static func iso(_ date: Date) -> String { RFC3339.string(from: date) }

    /// A time in the bank's zone, with UTC beside it.
    static func both(_ date: Date, _ zone: String) -> String {
        zone == "UTC" ? iso(date) : "\(AssessmentTime.local(date, zone)) \(zone) (\(iso(date)))"
    }

    /// Text escaped for HTML, its `backticked` spans (commands, paths) shown as code.
    /// Escaped text with `backticked` spans as `<code>`.
    package static func withCode(_ text: String) -> String {
        let parts = text.split(separator: "`", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts.count % 2 == 1 else { return escape(text) }
        return parts.enumerated().map { $0.offset % 2 == 1 ? "<code>\(escape($0.element))</code>" : escape($0.element) }.joined()
    }

    /// Text made safe for HTML element content and attribute values.
    package static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// - Parameter signed: whether the page was made from signed evidence, as its footer says.
    static func page(title: String, language: Language, body: String, signed: Bool) -> String {
        let footer =
            switch (signed, language == .ja) {
            case (true, true): "署名付き証跡にもとづき作成"
            case (true, false): "made from signed evidence"
            case (false, true): "署名のないローカルスキャンから作成"
            case (false, false): "made from an unsigned local scan"
            }
        return """
            <!DOCTYPE html>
            <html lang="\(language.rawValue)">
            <head>
            <meta charset="utf-8">
            <title>\(escape(title))</title>
            <style>
            @page { size: A4; margin: 14mm 12mm; }
            body { font-family: "Noto Sans CJK JP", "Noto Sans JP", "Source Han Sans JP", "IPAexGothic", "IPAGothic", "TakaoPGothic", "VL PGothic", "Droid Sans Fallback", "Hiragino Sans", "Yu Gothic", "Meiryo", sans-serif; font-size: 9.5pt; color: #111; max-width: 186mm; margin: 0 auto; }
            h1 { font-size: 15pt; margin: 0 0 4mm; } h2 { font-size: 12pt; margin: 5mm 0 2mm; border-bottom: 1px solid #888; }
            h3 { font-size: 10.5pt; margin: 4mm 0 1.5mm; } small { color: #555; font-weight: normal; }
            table { border-collapse: collapse; width: 100%; margin-bottom: 2mm; }
            th, td { border: 1px solid #bbb; padding: 1mm 1.5mm; vertical-align: top; text-align: left; }
            thead th { background: #eee; } tr { page-break-inside: avoid; }
            table.facts th { width: 32mm; background: #f4f4f4; }
            td.status { font-weight: bold; white-space: nowrap; }
            tr.pass td.status, tr.attested td.status { color: #116611; } tr.fail td.status { color: #b00000; }
            tr.unknown td.status { color: #8a5a00; } tr.not_applicable td.status { color: #666; }
            .remedy { color: #333; } .note { color: #555; font-size: 8.5pt; }
            td.hash { font-family: monospace; font-size: 7pt; word-break: break-all; } table.evidence { font-size: 8pt; }
            tr.marked td { background: #fff6d6; }
            .outcome { border: 2px solid #b00000; padding: 2mm 3mm; margin: 3mm 0; } .outcome.ok { border-color: #116611; }
            .outcome ul { margin: 1mm 0 0; padding-left: 5mm; } .verdict { font-weight: bold; margin-top: 4mm; }
            svg { width: 100%; height: auto; } code { font-family: monospace; font-size: 0.92em; background: #f2f2f2; padding: 0 0.3mm; }
            </style>
            </head>
            <body>
            \(body)<p class=note>posture — \(footer)</p>
            </body>
            </html>

            """
    }
}
