package import PostureModel

/// Antivirus/EDR products: how to tell each is installed, running, and how old its signatures are.
package struct SecuritySoftwareCatalog: Sendable, Hashable {
    package static let fileName = "security-software.yaml"

    /// Where a product's signature date can be read offline.
    package struct Signatures: Sendable, Hashable {
        package enum Kind: String, Sendable, CaseIterable {
            /// ClamAV `.cvd`/`.cld` headers (their build time).
            case clamavCVD = "clamav-cvd"
            /// The newest modification time of the files under the paths.
            case newestMtime = "newest-mtime"
        }
        package var kind: Kind
        package var paths: [String]
    }

    /// One product.
    package struct Product: Sendable, Hashable {
        package var id: String
        package var name: String
        /// Sold commercially (市販) rather than free software.
        package var commercial: Bool
        package var packages: [String]
        package var paths: [String]
        /// The scanning engine's process names: the product runs when one of these does.
        package var processes: [String]
        /// Processes that only fetch signatures (freshclam) or manage the agent: never "running" alone.
        package var updaters: [String]
        package var signatures: Signatures?
        /// Where the package names, paths and process names come from (the vendor's documentation).
        package var source: String?

        package init(
            id: String, name: String, commercial: Bool, packages: [String], paths: [String], processes: [String],
            updaters: [String] = [], signatures: Signatures?, source: String? = nil
        ) {
            self.id = id
            self.name = name
            self.commercial = commercial
            self.packages = packages
            self.paths = paths
            self.processes = processes
            self.updaters = updaters
            self.signatures = signatures
            self.source = source
        }
    }

    package var asOf: Day
    package var products: [Product]

    package static func load(path: String) throws -> SecuritySoftwareCatalog {
        let root = try YAMLNode.load(path: path).mapping("the catalog")
        try root.rejectUnknownKeys(allowed: ["as_of", "products"])
        let products = try root.required("products").sequence("products").map { node in
            let map = try node.mapping("a product")
            try map.rejectUnknownKeys(allowed: ["id", "name", "commercial", "packages", "paths", "processes", "updaters", "signatures", "source"])
            var signatures: Signatures?
            if let node = map.optional("signatures") {
                let s = try node.mapping("signatures")
                try s.rejectUnknownKeys(allowed: ["kind", "paths"])
                let kindNode = try s.required("kind")
                let kindText = try kindNode.string("signatures.kind")
                guard let kind = Signatures.Kind(rawValue: kindText) else {
                    throw kindNode.error("signatures.kind must be clamav-cvd or newest-mtime, not '\(kindText)'")
                }
                signatures = Signatures(kind: kind, paths: try s.required("paths").strings("signatures.paths"))
            }
            let processes = try map.optional("processes")?.strings("processes") ?? []
            let updatersNode = map.optional("updaters")
            let updaters = try updatersNode?.strings("updaters") ?? []
            if let both = updaters.first(where: processes.contains), let updatersNode {
                throw updatersNode.error("'\(both)' is listed both as an engine process and as an updater")
            }
            return Product(
                id: try map.required("id").string("id"), name: try map.required("name").string("name"),
                commercial: try map.required("commercial").bool("commercial"),
                packages: try map.optional("packages")?.strings("packages") ?? [],
                paths: try map.optional("paths")?.strings("paths") ?? [],
                processes: processes, updaters: updaters, signatures: signatures,
                source: try map.optional("source")?.string("source"))
        }
        return SecuritySoftwareCatalog(asOf: try root.required("as_of").day("as_of"), products: products)
    }
}

/// File-sharing (P2P) clients, matched by package, binary, flatpak or snap id, or Windows executable under Wine.
package struct FileSharingCatalog: Sendable, Hashable {
    package static let fileName = "file-sharing.yaml"

    /// One client.
    package struct Client: Sendable, Hashable {
        package var id: String
        package var name: String
        package var packages: [String]
        package var binaries: [String]
        package var flatpak: [String]
        package var snap: [String]
        package var windowsExecutables: [String]
    }

    package var asOf: Day
    package var clients: [Client]

    package static func load(path: String) throws -> FileSharingCatalog {
        let root = try YAMLNode.load(path: path).mapping("the catalog")
        try root.rejectUnknownKeys(allowed: ["as_of", "clients"])
        let clients = try root.required("clients").sequence("clients").map { node in
            let map = try node.mapping("a client")
            try map.rejectUnknownKeys(allowed: ["id", "name", "packages", "binaries", "flatpak", "snap", "windows_executables"])
            return Client(
                id: try map.required("id").string("id"), name: try map.required("name").string("name"),
                packages: try map.optional("packages")?.strings("packages") ?? [],
                binaries: try map.optional("binaries")?.strings("binaries") ?? [],
                flatpak: try map.optional("flatpak")?.strings("flatpak") ?? [],
                snap: try map.optional("snap")?.strings("snap") ?? [],
                windowsExecutables: try map.optional("windows_executables")?.strings("windows_executables") ?? [])
        }
        return FileSharingCatalog(asOf: try root.required("as_of").day("as_of"), clients: clients)
    }
}

/// Web browsers: where each is installed from and which release lines its vendor still supports.
package struct BrowserCatalog: Sendable, Hashable {
    package static let fileName = "browsers.yaml"

    /// A release line with a fixed end of support (Firefox ESR).
    package struct Line: Sendable, Hashable {
        package var line: String
        package var eol: Day
    }

    /// Which versions the vendor still supports.
    package struct Support: Sendable, Hashable {
        package var latest: String?
        /// How many leading version numbers name a release line.
        package var lineComponents: Int
        /// The newest N lines are supported.
        package var linesSupported: Int
        package var lines: [Line]
        /// Where the release data comes from (the vendor's schedule or calendar).
        package var source: String = ""
        /// Whether `latest` (or a line's end) is estimated from the vendor's cadence rather than published.
        package var estimated: Bool = false

        /// The source, and whether the figures are estimates: what a verdict on them rests on.
        package var provenance: String { estimated ? "\(source); estimated" : source }
    }

    /// One browser.
    package struct Browser: Sendable, Hashable {
        package var name: String
        package var packages: [String]
        package var snap: [String]
        package var flatpak: [String]
        package var installDirs: [String]
        package var support: Support
    }

    package var asOf: Day
    package var browsers: [Browser]

    package static func load(path: String) throws -> BrowserCatalog {
        let root = try YAMLNode.load(path: path).mapping("the catalog")
        try root.rejectUnknownKeys(allowed: ["as_of", "browsers"])
        let browsers = try root.required("browsers").sequence("browsers").map { node in
            let map = try node.mapping("a browser")
            try map.rejectUnknownKeys(allowed: ["name", "packages", "snap", "flatpak", "install_dirs", "support"])
            let supportMap = try map.required("support").mapping("support")
            try supportMap.rejectUnknownKeys(allowed: ["latest", "line_components", "lines_supported", "lines", "source", "estimated"])
            let lines: [Line] =
                try supportMap.optional("lines")?.sequence("lines").map { node -> Line in
                    let line = try node.mapping("a line")
                    try line.rejectUnknownKeys(allowed: ["line", "eol"])
                    return Line(line: try line.required("line").string("line"), eol: try line.required("eol").day("eol"))
                } ?? []
            let support = Support(
                latest: try supportMap.optional("latest")?.string("latest"),
                lineComponents: try supportMap.optional("line_components")?.int("line_components") ?? 1,
                linesSupported: try supportMap.optional("lines_supported")?.int("lines_supported") ?? 1,
                lines: lines, source: try supportMap.required("source").string("support.source"),
                estimated: try supportMap.optional("estimated")?.bool("support.estimated") ?? false)
            return Browser(
                name: try map.required("name").string("name"),
                packages: try map.optional("packages")?.strings("packages") ?? [],
                snap: try map.optional("snap")?.strings("snap") ?? [],
                flatpak: try map.optional("flatpak")?.strings("flatpak") ?? [],
                installDirs: try map.optional("install_dirs")?.strings("install_dirs") ?? [],
                support: support)
        }
        return BrowserCatalog(asOf: try root.required("as_of").day("as_of"), browsers: browsers)
    }
}
