/// The verdict of one requirement of one profile.
package enum FindingStatus: String, Codable, Sendable, CaseIterable {
    case pass, fail, unknown, attested
    case notApplicable = "not_applicable"
}

/// What the bank's rule does when a requirement is not met.
package enum Consequence: String, Codable, Sendable, CaseIterable {
    /// No compensation.
    case exclusion
    /// Compensation may be reduced.
    case reduction
    /// A condition of the service or of filing a claim.
    case condition
}

/// One requirement judged against the evidence, with why and how to fix it.
package struct Finding: Codable, Sendable, Hashable {
    /// The Japanese texts of a finding (the top-level texts are English).
    package struct Japanese: Codable, Sendable, Hashable {
        package var title: String
        package var summary: String
        package var remedy: String?
    }

    package var profile: String
    package var requirement: String
    /// The clause as the bank's rule names it (Japanese where the rule has no numbers).
    package var clause: String
    /// The clause in English where `clause` is Japanese words; nil when the citation reads in both.
    @ExplicitNull package var clauseEn: String? = nil
    package var status: FindingStatus
    package var consequence: Consequence
    package var check: String
    package var title: String
    package var summary: String
    @ExplicitNull package var remedy: String? = nil
    package var ja: Japanese

    package init(
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

    package func title(in language: Language) -> String { language == .ja ? ja.title : title }
    package func clause(in language: Language) -> String { language == .ja ? clause : clauseEn ?? clause }
    package func summary(in language: Language) -> String { language == .ja ? ja.summary : summary }
    package func remedy(in language: Language) -> String? { language == .ja ? ja.remedy : remedy }
}
