package import Foundation

/// A JSON contract as the set of its key paths (`findings[].clause`; arrays as `[]`), compared
/// with a sample file in `Tests/Support/contracts`: a field added on purpose is added to the
/// sample, a field lost or renamed fails the comparison.
package enum ContractPaths {
    package static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Support/contracts").standardized

    /// Every key path of `json`; objects at `keyedByData` (maps keyed by probe names, paths …)
    /// are one field each.
    package static func of(_ json: Any, keyedByData: Set<String> = []) -> Set<String> {
        var paths = Set<String>()
        func walk(_ value: Any, _ path: String) {
            switch value {
            case let object as [String: Any]:
                if keyedByData.contains(path) {
                    paths.insert(path)
                    return
                }
                for (key, child) in object { walk(child, path.isEmpty ? key : "\(path).\(key)") }
            case let array as [Any]:
                paths.insert(path + "[]")
                for child in array { walk(child, path + "[]") }
            default: paths.insert(path)
            }
        }
        walk(json, "")
        return paths
    }

    /// The paths of the sample `name` (one per line, `#` comments).
    package static func sample(_ name: String) throws -> Set<String> {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        return Set(text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") })
    }

    /// (fields not in the sample, fields of the sample that are missing), both sorted.
    package static func compare(_ json: Any, with name: String, keyedByData: Set<String> = []) throws -> (added: [String], lost: [String]) {
        let paths = of(json, keyedByData: keyedByData)
        let expected = try sample(name)
        return (paths.subtracting(expected).sorted(), expected.subtracting(paths).sorted())
    }
}
