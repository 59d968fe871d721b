import Foundation
import PostureAssessment
import PostureModel
import PosturePolicy

/// ANSI styling, used only when standard output is a colour terminal.
struct TextStyle {
    var colour: Bool

    static func stdoutIsColourTerminal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        isatty(STDOUT_FILENO) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
    }

    func paint(_ text: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    func bold(_ text: String) -> String { paint(text, "1") }
    func dim(_ text: String) -> String { paint(text, "2") }
}

/// The scan result for a person at a terminal: per profile, each requirement's verdict, clause and remedy.
struct TextReport {
    var report: Report
    var profiles: [Profile]
    var language: Language
    var style: TextStyle

    private func label(_ finding: Finding) -> (text: String, colour: String) {
        Labels.status(finding.status, check: finding.check, language: language)
    }

    private func consequenceLabel(_ consequence: Consequence) -> String {
        Labels.consequence(consequence, language: language)
    }

    private func padded(_ text: String, _ width: Int) -> String {
        let visible = text.reduce(0) { $0 + ($1.isASCII ? 1 : 2) }
        return text + String(repeating: " ", count: max(1, width - visible))
    }

    /// One line per bank, first: whether the PC would keep its cover today, and why not.
    func summary() -> String {
        let ja = language == .ja
        var lines: [String] = []
        for profile in profiles {
            let findings = report.findings.filter { $0.profile == profile.id }
            let failing = findings.filter { $0.status == .fail }
            let exclusions = Set(failing.filter { $0.consequence == .exclusion }.map(\.clause)).count
            let open = findings.filter { $0.status == .unknown }.count
            let (word, colour, detail): (String, String, String)
            if !failing.isEmpty {
                (word, colour) = (ja ? "補償に懸念" : "AT RISK", "1;31")
                let others = failing.filter { $0.consequence != .exclusion }.count
                detail =
                    ja
                    ? "補償対象外となる条項 \(exclusions) 件" + (others > 0 ? "、その他の不適合 \(others) 件" : "")
                    : "\(exclusions) exclusion clause(s) failing" + (others > 0 ? ", \(others) other failure(s)" : "")
            } else if open > 0 {
                (word, colour) = (ja ? "判断不可" : "CANNOT TELL", "33")
                detail = ja ? "確認できない要件 \(open) 件" : "\(open) requirement(s) could not be confirmed"
            } else {
                (word, colour) = (ja ? "補償の要件を満たす" : "KEEPS COVER", "32")
                detail = ja ? "不適合なし" : "nothing fails"
            }
            lines.append(
                "  " + style.paint(padded(word, 12), colour) + ControlCharacters.escaped(profile.name.text(for: language))
                    + " (\(profile.id)): " + detail)
        }
        return lines.joined(separator: "\n")
    }

    func render() -> String {
        let ja = language == .ja
        var out = ""
        let os = ControlCharacters.escaped(report.evidence.os?.prettyName ?? report.evidence.os?.id ?? (ja ? "OS 不明" : "unknown OS"))
        let when = RFC3339.string(from: report.collectedAt)
        out += style.bold("posture \(report.agent.version)") + "  \(ControlCharacters.escaped(report.host.hostname ?? "?"))  \(os)  \(when)\n"
        if report.host.root != "/" { out += (ja ? "スキャン対象: " : "scanned root: ") + ControlCharacters.escaped(report.host.root) + "\n" }
        for (probe, reason) in report.evidence.unavailable.sorted(by: { $0.key < $1.key }) {
            out += style.dim((ja ? "  取得できなかった情報 " : "  not collected ") + "\(probe): \(ControlCharacters.escaped(reason))") + "\n"
        }
        if let truncation = report.evidence.truncation {
            out += style.dim("  " + ControlCharacters.escaped(truncation.described(ja: ja))) + "\n"
        }
        out += "\n" + summary() + "\n"
        for profile in profiles {
            let findings = report.findings.filter { $0.profile == profile.id }
                .enumerated().sorted {
                    (Labels.rank($0.element.status, check: $0.element.check), $0.offset)
                        < (Labels.rank($1.element.status, check: $1.element.check), $1.offset)
                }.map(\.element)
            var tallied: [(label: String, count: Int)] = []
            for finding in findings {
                let text = label(finding).text
                if let last = tallied.indices.last, tallied[last].label == text { tallied[last].count += 1 } else { tallied.append((text, 1)) }
            }
            let tally = tallied.map { "\($0.count) \($0.label)" }.joined(separator: ", ")
            out += "\n" + style.bold("\(profile.name.text(for: language)) (\(profile.id))") + "  " + style.dim(tally) + "\n"
            for finding in findings {
                let (text, colour) = label(finding)
                let clause = (ja ? "条項 " : "clause ") + ControlCharacters.escaped(finding.clause(in: language))
                out +=
                    "  " + style.paint(padded(text, 9), colour) + ControlCharacters.escaped(finding.title(in: language))
                    + "  " + style.dim("[\(clause), \(consequenceLabel(finding.consequence))]") + "\n"
                out += "           " + style.dim(ControlCharacters.escaped(finding.summary(in: language))) + "\n"
                if let remedy = finding.remedy(in: language) {
                    out += "           → " + ControlCharacters.escaped(remedy) + "\n"
                }
            }
        }
        let status = ExitStatus.of(report.findings)
        let verdict: String
        switch status {
        case ExitStatus.failed: verdict = ja ? "満たしていない要件があります。" : "At least one requirement is not met."
        case ExitStatus.unknown: verdict = ja ? "不適合はありませんが、確認できない要件があります。" : "Nothing fails, but some requirements could not be confirmed."
        default: verdict = ja ? "すべての要件を満たしています。" : "Every requirement is met."
        }
        out += "\n" + style.bold(verdict) + "\n"
        return out
    }
}

/// A profile printed for a reader: its source, claim rules and requirements.
struct ProfileDescription {
    var profile: Profile
    var language: Language

    func render() -> String {
        var out = "\(profile.id)\t\(profile.name.text(for: language))\n"
        out += "source: \(profile.source.described)\n"
        let info = Assessor.profileInfo(profile, calendar: nil)
        out += "claim period: \(info.counting?.describe(in: language) ?? "none stated by the rule")\n"
        if let start = info.coverStartsText, let at = info.coverStarts {
            out += "cover starts: \(AssessmentTime.local(at, profile.claim.timezone)) (\(start))\n"
        }
        out += "evidence: \(profile.claim.windowDays.map { "\($0) days before the first transfer" } ?? "no window stated"), "
        out += "a report at most \(profile.claim.evidenceMaxAge / 3600)h before each; \(profile.claim.timezone)\n"
        for (key, value) in profile.data.sorted(by: { $0.key < $1.key }) { out += "data: \(key) = \(value)\n" }
        out += "\n"
        for requirement in profile.requirements {
            let parameters = requirement.parameters.values.sorted { $0.key < $1.key }.map { "\($0.key)=\(describe($0.value))" }
            out += "\(requirement.id)\t\(requirement.clause(in: language))\t\(requirement.consequence.rawValue)\t\(requirement.check.rawValue)"
            out += parameters.isEmpty ? "" : " (\(parameters.joined(separator: ", ")))"
            out += "\n    \(requirement.title.text(for: language))\n"
        }
        return out
    }

    private func describe(_ value: ParameterValue) -> String {
        switch value {
        case .int(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let v): return v
        case .strings(let v): return "[\(v.joined(separator: ", "))]"
        }
    }
}
