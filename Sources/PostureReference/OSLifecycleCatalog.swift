package import PostureModel

/// Vendor support dates of OS releases: the fallback when a scanned root has no distro-info-data.
package struct OSLifecycleCatalog: Sendable, Hashable {
    /// One distribution (`os-release` `ID`) and its releases.
    package struct Distribution: Sendable, Hashable {
        package var id: String
        /// The phase whose date is the report's `eol`.
        package var eolPhase: String
        package var releases: [Release]
    }

    /// One release and the last day of each support phase.
    package struct Release: Sendable, Hashable {
        package var version: String
        package var codename: String?
        package var released: Day?
        package var lts: Bool
        package var support: [String: Day]
    }

    package static let fileName = "os-lifecycle.yaml"

    package var asOf: Day
    package var distributions: [Distribution]

    package func distribution(_ id: String) -> Distribution? {
        distributions.first { $0.id == id }
    }

    package static func load(path: String) throws -> OSLifecycleCatalog {
        let root = try YAMLNode.load(path: path).mapping("the catalog")
        try root.rejectUnknownKeys(allowed: ["as_of", "sources", "distributions"])
        let asOf = try root.required("as_of").day("as_of")
        let distributions = try root.required("distributions").sequence("distributions").map { node in
            let map = try node.mapping("a distribution")
            try map.rejectUnknownKeys(allowed: ["id", "eol_phase", "releases"])
            let releases = try map.required("releases").sequence("releases").map { node in
                let release = try node.mapping("a release")
                try release.rejectUnknownKeys(allowed: ["version", "codename", "released", "lts", "support"])
                var support: [String: Day] = [:]
                if let phases = release.optional("support") {
                    for entry in try phases.mapping("support").entries {
                        support[entry.key] = try entry.value.day("support.\(entry.key)")
                    }
                }
                return Release(
                    version: try release.required("version").string("version"),
                    codename: try release.optional("codename")?.string("codename"),
                    released: try release.optional("released")?.day("released"),
                    lts: try release.optional("lts")?.bool("lts") ?? false,
                    support: support)
            }
            return Distribution(
                id: try map.required("id").string("id"),
                eolPhase: try map.required("eol_phase").string("eol_phase"),
                releases: releases)
        }
        return OSLifecycleCatalog(asOf: asOf, distributions: distributions)
    }
}
