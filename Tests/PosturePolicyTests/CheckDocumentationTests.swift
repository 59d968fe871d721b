import Foundation
import PostureReference
import Testing

@testable import PosturePolicy

/// `Profiles/README.md`'s table of checks says what the code accepts: one row per check, each
/// parameter named with its default (or "required"), "none" for a check without parameters.
@Suite struct CheckDocumentationTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Profiles/README.md").standardized

    /// check id → its parameters cell.
    static func rows() throws -> [String: String] {
        let text = try String(contentsOf: readme, encoding: .utf8)
        var rows: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            rows[cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[2]
        }
        return rows
    }

    /// The parameter names a cell lists: backticked names outside parentheses.
    static func names(in cell: String) -> Set<String> {
        var depth = 0, outside = ""
        for character in cell {
            if character == "(" { depth += 1 } else if character == ")" { depth -= 1 } else if depth == 0 { outside.append(character) }
        }
        return Set(outside.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) })
    }

    static func rendered(_ value: ParameterValue) -> String {
        switch value {
        case .int(let number): return "\(number)"
        case .bool(let flag): return "\(flag)"
        case .string(let text): return text
        case .strings(let list): return list.isEmpty ? "list, optional" : list.joined(separator: ", ")
        }
    }

    /// One definition per check; its declared defaults are what a profile that omits them gets.
    @Test func everyCheckIsDefinedOnce() throws {
        #expect(Set(CheckRegistry.definitions.keys) == Set(Check.allCases))
        for check in Check.allCases {
            #expect(CheckRegistry.definition(check).check == check)
            guard !check.parameters.contains(where: \.required) else { continue }
            let filled = try CheckParameters.parse(nil, for: check, at: YAMLNode.parse("x: 1", file: "t.yaml"))
            for spec in check.parameters where !spec.required {
                #expect(filled.values[spec.name] == spec.defaultValue, "\(check.rawValue) \(spec.name)")
            }
        }
    }

    @Test func everyCheckIsDocumentedWithItsParameters() throws {
        let rows = try Self.rows()
        #expect(Set(rows.keys) == Set(Check.allCases.map(\.rawValue)), "rows without a check, or checks without a row")
        for check in Check.allCases {
            let cell = try #require(rows[check.rawValue], "\(check.rawValue) has no row")
            if check.parameters.isEmpty {
                #expect(cell == "none", "\(check.rawValue): \(cell)")
                continue
            }
            #expect(Self.names(in: cell) == Set(check.parameters.map(\.name)), "\(check.rawValue): \(cell)")
            for spec in check.parameters {
                if spec.required {
                    #expect(cell.contains("`\(spec.name)` (required"), "\(check.rawValue) \(spec.name): \(cell)")
                } else if let value = spec.defaultValue {
                    #expect(cell.contains("`\(spec.name)` (\(Self.rendered(value))"), "\(check.rawValue) \(spec.name): \(cell)")
                }
            }
        }
    }
}

/// Each `with:` key a profile gives lands in its own field of the check's typed parameters, and
/// an omitted key leaves the field's default.
@Suite struct CheckParameterSetTests {
    static func parameters(_ check: Check, _ with: String) throws -> CheckParameters {
        let yaml = """
            id: t
            name: {ja: "t", en: "t"}
            source: {document: "001_x.txt", as_of: "2026-11-24"}
            claim: {window_days: 30, counted_from: occurrence, evidence_max_age: 72h, timezone: Asia/Tokyo}
            requirements:
              - id: r
                clause: "1"
                consequence: exclusion
                title: {ja: "t", en: "t"}
                check: \(check.rawValue)
                with: \(with)
            """
        return try ProfileLoader.parse(yaml, path: "t.yaml").requirements[0].parameters
    }

    @Test func givenKeysReachTheirFields() throws {
        let age = PasswordAgeParameters(try Self.parameters(.accountsPasswordAge, "{max_days: 30, include_root: true}"))
        #expect(age.maxDays == 30 && age.includeRoot)
        let ageDefaults = PasswordAgeParameters(try Self.parameters(.accountsPasswordAge, "{}"))
        #expect(ageDefaults.maxDays == 90 && !ageDefaults.includeRoot)

        #expect(SavedLoginsParameters(try Self.parameters(.credentialsNoSavedBankLogins, "{domains: [a.example]}")).domains == ["a.example"])

        let browser = BrowserSupportedParameters(
            try Self.parameters(.browserSupported, "{reference_max_age_days: 11, distribution_lag_lines: 12, max_index_age_days: 13}"))
        #expect([browser.referenceMaxAgeDays, browser.distributionLagLines, browser.maxIndexAgeDays] == [11, 12, 13] as [Int])
        #expect(IndexAgeParameters(try Self.parameters(.browserUpdated, "{max_index_age_days: 3}")).maxIndexAgeDays == 3)

        #expect(AttestationParameters(try Self.parameters(.attestation, "{valid_days: 5}")).validDays == 5)
        #expect(AttestationParameters(try Self.parameters(.attestation, "{}")).validDays == nil)

        let environment = RecommendedEnvironmentParameters(
            try Self.parameters(.environmentRecommended, "{os: [debian], browsers: [firefox], as_of: '2026-01-01', source: 'https://b.example'}"))
        #expect(environment.os == ["debian"] && environment.browsers == ["firefox"])
        #expect(environment.asOf == "2026-01-01" && environment.source == "https://b.example")
        #expect(RecommendedEnvironmentParameters(try Self.parameters(.environmentRecommended, "{}")).os == nil)
        #expect(UnavailableToolParameters(try Self.parameters(.toolUnavailableOnLinux, "{tool: Rapport}")).tool == "Rapport")

        let files = ModifiedFilesParameters(try Self.parameters(.integrityNoModifiedSystemFiles, "{include_conffiles: true, include_missing: false}"))
        #expect(files.includeConffiles && !files.includeMissing)
        #expect(InterceptionParameters(try Self.parameters(.integrityNoInterception, "{domains: [b.example]}")).domains == ["b.example"])

        let os = OSSupportedParameters(try Self.parameters(.osSupported, "{phase: eol, min_days_left: 30}"))
        #expect(os.phase == "eol" && os.minDaysLeft == 30)
        let updates = PendingUpdatesParameters(try Self.parameters(.updatesNonePending, "{max_index_age_days: 2, security_only: true}"))
        #expect(updates.maxIndexAgeDays == 2 && updates.securityOnly)

        #expect(SecurityProductParameters(try Self.parameters(.securitySoftwareRunning, "{commercial_only: true}")).commercialOnly)
        let signatures = SignatureAgeParameters(try Self.parameters(.securitySoftwareSignaturesFresh, "{max_age_days: 2, commercial_only: true}"))
        #expect(signatures.maxAgeDays == 2 && signatures.commercialOnly)
    }
}
