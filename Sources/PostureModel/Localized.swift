/// A user-facing text in English and Japanese, the two languages posture speaks.
package struct LocalizedText: Hashable, Sendable, Codable {
    package var en: String
    package var ja: String

    package init(en: String, ja: String) {
        self.en = en
        self.ja = ja
    }

    package func text(for language: Language) -> String { language == .ja ? ja : en }
}

/// The output language: Japanese when `LANG` starts with `ja`, else English.
package enum Language: String, Sendable, CaseIterable {
    case en, ja

    package static func fromEnvironment(_ environment: [String: String]) -> Language {
        for key in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let value = environment[key], !value.isEmpty {
                return value.hasPrefix("ja") ? .ja : .en
            }
        }
        return .en
    }
}
