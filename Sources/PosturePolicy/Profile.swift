import Crypto
import Foundation
import PostureModel
import PostureReference

/// A bank's countermeasure rules as requirements posture can check (`Profiles/<id>.yaml`).
public struct Profile: Sendable, Hashable {
    /// Where the rule text came from.
    public struct Source: Sendable, Hashable {
        public var document: String
        public var asOf: Day
    }

    /// How a claim must be filed: the window and from when it counts.
    public struct ClaimRules: Sendable, Hashable {
        public enum CountedFrom: String, Sendable, CaseIterable { case occurrence, notification }
        public var windowDays: Int
        public var countedFrom: CountedFrom
        /// Seconds: the newest report before the incident must be at most this old.
        public var evidenceMaxAge: Int
        public var timezone: String

        public static let `default` = ClaimRules(windowDays: 30, countedFrom: .occurrence,
                                                 evidenceMaxAge: 72 * 3600, timezone: "Asia/Tokyo")
    }

    public var id: String
    public var name: LocalizedText
    public var source: Source
    public var claim: ClaimRules
    /// Figures the rule states that no check uses directly (for example an order-delay threshold).
    public var data: [String: String]
    public var requirements: [Requirement]
    /// The file it was loaded from.
    public var path: String
    /// Hex SHA-256 of the file bytes, recorded in reports as the reference data used.
    public var sha256: String
}

/// One countermeasure of a profile, judged by one check.
public struct Requirement: Sendable, Hashable {
    public var id: String
    public var clause: String
    public var consequence: Consequence
    public var title: LocalizedText
    public var remedy: LocalizedText?
    public var check: Check
    public var parameters: CheckParameters
    public var line: Int?
}

/// Reads and strictly validates profile files.
public enum ProfileLoader {
    static let topLevelKeys: Set<String> = ["id", "name", "source", "claim", "data", "requirements"]
    static let requirementKeys: Set<String> = ["id", "clause", "consequence", "title", "remedy", "check", "with"]

    /// Loads `path`. Every problem is a `LocatedError` naming the file and line.
    public static func load(path: String) throws -> Profile {
        let data = try LocatedError.readFile(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw LocatedError(file: path, line: nil, message: "not UTF-8 text")
        }
        return try parse(text, path: path, sha256: SHA256.hash(data: data).hexString)
    }

    public static func parse(_ text: String, path: String, sha256: String = "") throws -> Profile {
        let document = try YAMLNode.parse(text, file: path)
        let root = try document.mapping("the profile")
        try root.rejectUnknownKeys(allowed: topLevelKeys)

        let id = try root.required("id").string("id")
        guard isIdentifier(id) else {
            throw try root.required("id").error("id '\(id)' must be lower-case letters, digits and '-'")
        }
        let name = try root.required("name").localized("name")
        let sourceMap = try root.required("source").mapping("source")
        try sourceMap.rejectUnknownKeys(allowed: ["document", "as_of"])
        let source = Profile.Source(document: try sourceMap.required("document").string("source.document"),
                                    asOf: try sourceMap.required("as_of").day("source.as_of"))

        var claim = Profile.ClaimRules.default
        if let claimNode = root.optional("claim") {
            let map = try claimNode.mapping("claim")
            try map.rejectUnknownKeys(allowed: ["window_days", "counted_from", "evidence_max_age", "timezone"])
            if let node = map.optional("window_days") {
                claim.windowDays = try node.int("claim.window_days")
                guard claim.windowDays > 0 else { throw node.error("claim.window_days must be positive") }
            }
            if let node = map.optional("counted_from") {
                let text = try node.string("claim.counted_from")
                guard let value = Profile.ClaimRules.CountedFrom(rawValue: text) else {
                    throw node.error("claim.counted_from must be occurrence or notification, not '\(text)'")
                }
                claim.countedFrom = value
            }
            if let node = map.optional("evidence_max_age") { claim.evidenceMaxAge = try node.duration("claim.evidence_max_age") }
            if let node = map.optional("timezone") {
                claim.timezone = try node.string("claim.timezone")
                guard TimeZone(identifier: claim.timezone) != nil else {
                    throw node.error("claim.timezone '\(claim.timezone)' is not a known time zone")
                }
            }
        }

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
        return Profile(id: id, name: name, source: source, claim: claim, data: data,
                       requirements: requirements, path: path, sha256: sha256)
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
        return Requirement(id: id, clause: try map.required("clause").string("clause"), consequence: consequence,
                           title: try map.required("title").localized("title"),
                           remedy: try map.optional("remedy")?.localized("remedy"),
                           check: check, parameters: parameters, line: node.line)
    }

    private static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}

/// Finds profiles by id on the search path, or loads them from a path.
public struct ProfileRepository: Sendable {
    public enum LookupError: Error, CustomStringConvertible {
        case unknownProfile(String, searched: [String])

        public var description: String {
            switch self {
            case .unknownProfile(let id, let searched):
                return "no profile '\(id)' (searched: \(searched.joined(separator: ", "))); `posture profiles list` shows the ids"
            }
        }
    }

    public let paths: ReferencePaths

    public init(paths: ReferencePaths) { self.paths = paths }

    /// `reference` is an id on the search path or a path to a YAML file.
    public func load(_ reference: String) throws -> Profile {
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

    public func loadAll() throws -> [Profile] {
        try paths.profileFiles().map { try load($0.id) }
    }
}
