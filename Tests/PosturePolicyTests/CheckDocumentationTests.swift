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
