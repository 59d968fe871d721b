import Crypto
package import Foundation
package import PostureModel
package import PostureReference

/// A bank's countermeasure rules as requirements posture can check (`Profiles/<id>.yaml`).
package struct Profile: Sendable, Hashable {
    /// Where the rule text came from.
    package struct Source: Sendable, Hashable {
        package var document: String
        package var asOf: Day
        /// The document's own title, as the bank publishes it.
        package var title: String? = nil
        /// Where the bank publishes it.
        package var url: String? = nil

        /// The title (else the file name), with the file and date it was read from.
        package var described: String {
            let where_ = [url, document].compactMap { $0 }.joined(separator: ", ")
            return title.map { "\($0) (\(where_), as of \(asOf))" } ?? "\(document) (as of \(asOf))"
        }
    }

    /// How a claim is judged: the rule's counting, the evidence window and the time zone of its days.
    package struct ClaimRules: Sendable, Hashable {
        /// Days of evidence before the first transfer that the assessment looks at; nil when the
        /// rule states no period (then only `evidence_max_age` before it).
        package var windowDays: Int?
        /// The rule's own counting of the claim period; nil when the rule states none.
        package var counting: ClaimCounting?
        /// The first instant the rule compensates at all.
        package var coverStarts: CoverStart?
        /// Seconds: the newest report before the incident must be at most this old.
        package var evidenceMaxAge: Int
        package var timezone: String

        package static let `default` = ClaimRules(
            windowDays: nil, counting: nil, coverStarts: nil,
            evidenceMaxAge: 72 * 3600, timezone: "Asia/Tokyo")

        /// The time zone every day of the rule is counted in.
        package var zone: TimeZone { TimeZone.named(timezone) ?? TimeZone.named("Asia/Tokyo")! }

        /// Seconds of evidence looked at before the first transfer.
        package var windowSeconds: Int { windowDays.map { $0 * 86400 } ?? evidenceMaxAge }
    }

    package var id: String
    package var name: LocalizedText
    package var source: Source
    package var claim: ClaimRules
    /// Figures the rule states that no check uses directly (for example an order-delay threshold).
    package var data: [String: String]
    package var requirements: [Requirement]
    /// Where the rule lets a customer who cannot take its measures explain stronger ones (002), the
    /// checks whose passing an assessment lists as measures this PC shows beyond the required ones.
    package var strongerMeasures: StrongerMeasures?
    /// The file it was loaded from.
    package var path: String
    /// Hex SHA-256 of the file bytes, recorded in reports as the reference data used.
    package var sha256: String
}

/// Measures an assessment lists, beyond the rule's, for a customer who must show stronger ones.
package struct StrongerMeasures: Sendable, Hashable {
    package var clause: String
    package var clauseEn: String?
    /// One requirement per check (id `beyond-<check>`), judged like any other but deciding nothing.
    package var requirements: [Requirement]
}

/// One countermeasure of a profile, judged by one check.
package struct Requirement: Sendable, Hashable {
    package var id: String
    /// The clause as the bank's rule names it; `clause: {ja: …, en: …}` in a profile gives both.
    package var clause: String
    /// The clause in English for English output, where the rule's citation is Japanese words.
    package var clauseEn: String?
    package var consequence: Consequence
    package var title: LocalizedText
    package var remedy: LocalizedText?
    package var check: Check
    package var parameters: CheckParameters
    /// Periods (in days) that the bank's rule does not give, so posture chose them: parameters
    /// left to the check's default, and those the profile lists under `tool_default`. Every
    /// finding says so.
    package var toolDefaults: [String: Int] = [:]
    package var line: Int?

    /// The parameters that are periods in days, which a rule may or may not state.
    package static let periodParameters: Set<String> = ["valid_days", "max_age_days", "max_index_age_days", "max_days"]

    package func clause(in language: Language) -> String { language == .ja ? clause : clauseEn ?? clause }
}

/// Reads and strictly validates profile files.
package enum ProfileLoader {
    static let topLevelKeys: Set<String> = ["id", "name", "source", "claim", "data", "requirements", "stronger_measures"]
    static let requirementKeys: Set<String> = ["id", "clause", "consequence", "title", "remedy", "check", "with", "tool_default"]

    /// Loads `path`. Every problem is a `LocatedError` naming the file and line.
    package static func load(path: String) throws -> Profile {
        let data = try LocatedError.readFile(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw LocatedError(file: path, line: nil, message: "not UTF-8 text")
        }
        return try parse(text, path: path, sha256: SHA256.hash(data: data).hexString)
    }

    package static func parse(_ text: String, path: String, sha256: String = "") throws -> Profile {
        let document = try YAMLNode.parse(text, file: path)
        let root = try document.mapping("the profile")
        try root.rejectUnknownKeys(allowed: topLevelKeys)

        let id = try root.required("id").string("id")
        guard isIdentifier(id) else {
            throw try root.required("id").error("id '\(id)' must be lower-case letters, digits and '-'")
        }
        let name = try root.required("name").localized("name")
        let sourceMap = try root.required("source").mapping("source")
        try sourceMap.rejectUnknownKeys(allowed: ["document", "as_of", "title", "url"])
        let source = Profile.Source(
            document: try sourceMap.required("document").string("source.document"),
            asOf: try sourceMap.required("as_of").day("source.as_of"),
            title: try sourceMap.optional("title")?.string("source.title"),
            url: try sourceMap.optional("url")?.string("source.url"))

        let claim = try parseClaim(root.optional("claim"))

        var data: [String: String] = [:]
        if let dataNode = root.optional("data") {
            for entry in try dataNode.mapping("data").entries {
                data[entry.key] = try entry.value.string("data.\(entry.key)")
            }
        }

        var requirements: [Requirement] = []
        var seen: [String: Int] = [:]
        for node in try root.required("requirements").sequence("requirements") {
            let requirement = try parseRequirement(node)
            if let first = seen[requirement.id] {
                throw node.error("duplicate requirement id '\(requirement.id)' (first at line \(first))")
            }
            seen[requirement.id] = requirement.line ?? 0
            requirements.append(requirement)
        }
        guard !requirements.isEmpty else { throw document.error("the profile has no requirements") }
        if claim.counting == nil, let deadline = requirements.first(where: { $0.check == .claimDeadline }) {
            throw LocatedError(
                file: path, line: deadline.line,
                message: "requirement '\(deadline.id)' checks claim.deadline, but the profile states no claim.counting")
        }
        var stronger: StrongerMeasures?
        if let node = root.optional("stronger_measures") {
            let map = try node.mapping("stronger_measures")
            try map.rejectUnknownKeys(allowed: ["clause", "checks"])
            let (clause, clauseEn) = try citation(map.required("clause"), "stronger_measures.clause")
            let checksNode = try map.required("checks")
            var measures: [Requirement] = []
            for entry in try checksNode.sequence("stronger_measures.checks") {
                let name = try entry.string("each entry of stronger_measures.checks")
                guard let check = Check(rawValue: name), check.probe != nil else {
                    throw entry.error("stronger_measures.checks: '\(name)' is not a check a probe serves")
                }
                measures.append(
                    Requirement(
                        id: "beyond-" + name.replacingOccurrences(of: ".", with: "-").replacingOccurrences(of: "_", with: "-"),
                        clause: clause, clauseEn: clauseEn, consequence: .condition, title: .init(en: name, ja: name), remedy: nil,
                        check: check, parameters: try CheckParameters.parse(nil, for: check, at: entry), line: entry.line))
            }
            stronger = StrongerMeasures(clause: clause, clauseEn: clauseEn, requirements: measures)
        }
        return Profile(
            id: id, name: name, source: source, claim: claim, data: data,
            requirements: requirements, strongerMeasures: stronger, path: path, sha256: sha256)
    }

    static let claimKeys: Set<String> = ["window_days", "counted_from", "evidence_max_age", "timezone", "counting", "cover_starts"]

    private static func parseClaim(_ claimNode: YAMLNode?) throws -> Profile.ClaimRules {
        var claim = Profile.ClaimRules.default
        guard let claimNode else { return claim }
        let map = try claimNode.mapping("claim")
        try map.rejectUnknownKeys(allowed: claimKeys)
        if let node = map.optional("window_days") {
            let days = try node.int("claim.window_days")
            guard days > 0 else { throw node.error("claim.window_days must be positive") }
            claim.windowDays = days
        }
        if let node = map.optional("evidence_max_age") { claim.evidenceMaxAge = try node.duration("claim.evidence_max_age") }
        if let node = map.optional("timezone") {
            claim.timezone = try node.string("claim.timezone")
            guard TimeZone.named(claim.timezone) != nil else {
                throw node.error("claim.timezone '\(claim.timezone)' is not a known time zone")
            }
        }
        if let node = map.optional("counting") { claim.counting = try parseCounting(node) }
        if let node = map.optional("counted_from") {
            // Before claim.counting: "occurrence" meant notified within window_days of the transfer,
            // the transfer's day not counted; "notification" counted the filing, which is no longer judged.
            let text = try node.string("claim.counted_from")
            guard text == "occurrence" else {
                throw node.error("claim.counted_from '\(text)' is no longer supported: state the rule under claim.counting")
            }
            guard claim.counting == nil else { throw node.error("claim.counted_from and claim.counting exclude each other") }
            guard let days = claim.windowDays else { throw node.error("claim.counted_from needs claim.window_days") }
            claim.counting = ClaimCounting(
                counts: .notification, days: days, firstDayCounted: false, inclusive: true, until: nil,
                text: "notified within \(days) days of the occurrence (counted_from: occurrence)")
        }
        if let node = map.optional("cover_starts") {
            let cover = try node.mapping("claim.cover_starts")
            try cover.rejectUnknownKeys(allowed: ["at", "text"])
            let atNode = try cover.required("at")
            guard let at = RFC3339.date(from: try atNode.string("claim.cover_starts.at")) else {
                throw atNode.error("claim.cover_starts.at must be an RFC 3339 time with its offset (2014-12-15T09:00:00+09:00)")
            }
            claim.coverStarts = CoverStart(at: at, text: try cover.required("text").string("claim.cover_starts.text"))
        }
        return claim
    }

    private static func parseCounting(_ node: YAMLNode) throws -> ClaimCounting {
        let map = try node.mapping("claim.counting")
        try map.rejectUnknownKeys(allowed: ["counts", "from", "days", "first_day", "inclusive", "until", "text"])
        let countsNode = try map.required("counts")
        let countsText = try countsNode.string("claim.counting.counts")
        guard let counts = ClaimCounting.Counted(rawValue: countsText) else {
            throw countsNode.error("claim.counting.counts must be notification or transfer, not '\(countsText)'")
        }
        let expectedFrom = counts == .notification ? "transfer" : "notification"
        let fromNode = try map.required("from")
        guard try fromNode.string("claim.counting.from") == expectedFrom else {
            throw fromNode.error("claim.counting.from must be \(expectedFrom) when counts is \(counts.rawValue)")
        }
        let daysNode = try map.required("days")
        let days = try daysNode.int("claim.counting.days")
        guard days > 0 else { throw daysNode.error("claim.counting.days must be positive") }
        var counting = ClaimCounting(
            counts: counts, days: days, firstDayCounted: false, inclusive: true, until: nil,
            text: try map.required("text").string("claim.counting.text"))
        switch counts {
        case .notification:
            let firstNode = try map.required("first_day")
            switch try firstNode.string("claim.counting.first_day") {
            case "counted": counting.firstDayCounted = true
            case "not_counted": counting.firstDayCounted = false
            case let other: throw firstNode.error("claim.counting.first_day must be counted or not_counted, not '\(other)'")
            }
            for key in ["inclusive", "until"] where map.optional(key) != nil {
                throw map.optional(key)!.error("claim.counting.\(key) applies to counts: transfer only")
            }
        case .transfer:
            counting.inclusive = try map.required("inclusive").bool("claim.counting.inclusive")
            if let firstDay = map.optional("first_day") { throw firstDay.error("claim.counting.first_day applies to counts: notification only") }
            if let untilNode = map.optional("until") {
                let until = try untilNode.mapping("claim.counting.until")
                try until.rejectUnknownKeys(allowed: ["business_days_after", "time", "calendar", "reading"])
                let businessNode = try until.required("business_days_after")
                let business = try businessNode.int("claim.counting.until.business_days_after")
                guard business >= 0 else { throw businessNode.error("claim.counting.until.business_days_after must not be negative") }
                let timeNode = try until.required("time")
                let time = try timeNode.string("claim.counting.until.time")
                let parts = time.split(separator: ":")
                guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
                    (0...24).contains(hours), (0...59).contains(minutes), hours * 60 + minutes <= 1440
                else {
                    throw timeNode.error("claim.counting.until.time must be HH:MM between 00:00 and 24:00, not '\(time)'")
                }
                counting.until = .init(
                    businessDaysAfter: business, minutes: hours * 60 + minutes,
                    calendar: try until.required("calendar").string("claim.counting.until.calendar"),
                    reading: try until.optional("reading")?.localized("claim.counting.until.reading"))
            }
        }
        return counting
    }

    private static func parseRequirement(_ node: YAMLNode) throws -> Requirement {
        let map = try node.mapping("a requirement")
        try map.rejectUnknownKeys(allowed: requirementKeys)
        let idNode = try map.required("id")
        let id = try idNode.string("requirement id")
        guard isIdentifier(id) else { throw idNode.error("requirement id '\(id)' must be lower-case letters, digits and '-'") }
        let consequenceNode = try map.required("consequence")
        let consequenceText = try consequenceNode.string("consequence")
        guard let consequence = Consequence(rawValue: consequenceText) else {
            throw consequenceNode.error("consequence must be exclusion, reduction or condition, not '\(consequenceText)'")
        }
        let checkNode = try map.required("check")
        let checkName = try checkNode.string("check")
        guard let check = Check(rawValue: checkName) else {
            throw checkNode.error("unknown check '\(checkName)' (known: \(Check.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let parameters = try CheckParameters.parse(map.optional("with"), for: check, at: checkNode)
        let given = Set(try map.optional("with")?.mapping("with").keys ?? [])
        var toolDefaults: [String: Int] = [:]
        for spec in check.parameters where Requirement.periodParameters.contains(spec.name) && !given.contains(spec.name) {
            if let value = parameters.int(spec.name) { toolDefaults[spec.name] = value }
        }
        if let listNode = map.optional("tool_default") {
            for name in try listNode.strings("tool_default") {
                guard Requirement.periodParameters.contains(name), given.contains(name), let value = parameters.int(name) else {
                    throw listNode.error("tool_default names '\(name)', which is not a period parameter given under 'with'")
                }
                toolDefaults[name] = value
            }
        }
        let (clause, clauseEn) = try citation(map.required("clause"), "clause")
        return Requirement(
            id: id, clause: clause, clauseEn: clauseEn, consequence: consequence,
            title: try map.required("title").localized("title"),
            remedy: try map.optional("remedy")?.localized("remedy"),
            check: check, parameters: parameters, toolDefaults: toolDefaults, line: node.line)
    }

    /// A clause citation: a string the rule's readers use in both languages ("3(5)⑩"), or
    /// `{ja, en}` where the rule cites by Japanese headings.
    private static func citation(_ node: YAMLNode, _ what: String) throws -> (String, String?) {
        if (try? node.mapping(what)) != nil {
            let text = try node.localized(what)
            return (text.ja, text.en)
        }
        return (try node.string(what), nil)
    }

    private static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}

/// Finds profiles by id on the search path, or loads them from a path.
package struct ProfileRepository: Sendable {
    package enum LookupError: Error, CustomStringConvertible {
        case unknownProfile(String, searched: [String])

        package var description: String {
            switch self {
            case .unknownProfile(let id, let searched):
                return "no profile '\(id)' (searched: \(searched.joined(separator: ", "))); `posture profiles list` shows the ids"
            }
        }
    }

    package let paths: ReferencePaths

    package init(paths: ReferencePaths) { self.paths = paths }

    /// `reference` is an id on the search path or a path to a YAML file.
    package func load(_ reference: String) throws -> Profile {
        if reference.contains("/") || reference.hasSuffix(".yaml") || reference.hasSuffix(".yml") {
            return try ProfileLoader.load(path: reference)
        }
        guard let file = paths.profileFiles().first(where: { $0.id == reference }) else {
            throw LookupError.unknownProfile(reference, searched: paths.directories)
        }
        let profile = try ProfileLoader.load(path: file.path)
        guard profile.id == reference else {
            throw LocatedError(file: file.path, line: 1, message: "file is named for '\(reference)' but declares id '\(profile.id)'")
        }
        return profile
    }

    package func loadAll() throws -> [Profile] {
        try paths.profileFiles().map { try load($0.id) }
    }

    /// The profiles a scan judges, for `posture scan` and the agent alike: those `references`
    /// name (ids or paths), else every profile on the search path; none at all is an error.
    package func chosen(_ references: [String]) throws -> [Profile] {
        let chosen = references.isEmpty ? try loadAll() : try references.map { try load($0) }
        guard !chosen.isEmpty else {
            throw LocatedError(
                file: paths.directories.joined(separator: ":"), line: nil,
                message: "no profiles found; pass --profile FILE or --profiles DIR", kind: .missing)
        }
        return chosen
    }
}

extension ProfileRepository.LookupError: ExitStatusError {
    package var exitStatus: Int32 { ExitStatus.noInput }
}
