/// The verdict of one requirement of one profile.
public enum FindingStatus: String, Codable, Sendable, CaseIterable {
    case pass, fail, unknown, attested
    case notApplicable = "not_applicable"
}

/// What the bank's rule does when a requirement is not met.
public enum Consequence: String, Codable, Sendable, CaseIterable {
    /// No compensation.
    case exclusion
    /// Compensation may be reduced.
    case reduction
    /// A condition of the service or of filing a claim.
    case condition
}

/// One requirement judged against the evidence, with why and how to fix it.
public struct Finding: Codable, Sendable, Hashable {
    /// The Japanese texts of a finding (the top-level texts are English).
    public struct Japanese: Codable, Sendable, Hashable {
        public var title: String
        public var summary: String
        public var remedy: String?
    }

    public var profile: String
    public var requirement: String
    /// The clause as the bank's rule names it (Japanese where the rule has no numbers).
    public var clause: String
    /// The clause in English where `clause` is Japanese words; nil when the citation reads in both.
    @ExplicitNull public var clauseEn: String? = nil
    public var status: FindingStatus
    public var consequence: Consequence
    public var check: String
    public var title: String
    public var summary: String
    @ExplicitNull public var remedy: String? = nil
    public var ja: Japanese

    public init(
        profile: String, requirement: String, clause: String, status: FindingStatus,
        consequence: Consequence, check: String, title: LocalizedText, summary: LocalizedText,
        remedy: LocalizedText?, clauseEn: String? = nil
    ) {
        self.profile = profile
        self.requirement = requirement
        self.clause = clause
        self.clauseEn = clauseEn
        self.status = status
        self.consequence = consequence
        self.check = check
        self.title = title.en
        self.summary = summary.en
        self.remedy = remedy?.en
        self.ja = Japanese(title: title.ja, summary: summary.ja, remedy: remedy?.ja)
    }

    public func title(in language: Language) -> String { language == .ja ? ja.title : title }
    public func clause(in language: Language) -> String { language == .ja ? clause : clauseEn ?? clause }
    public func summary(in language: Language) -> String { language == .ja ? ja.summary : summary }
    public func remedy(in language: Language) -> String? { language == .ja ? ja.remedy : remedy }
}
