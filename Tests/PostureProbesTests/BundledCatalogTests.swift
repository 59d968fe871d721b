import Foundation
import PostureModel
import PostureProbes
import PostureReference
import PostureTestSupport
import Testing

/// The catalogs shipped in Profiles/catalog load strictly and use the names the report contract allows.
@Suite struct BundledCatalogTests {
    static let paths = ReferencePaths(directories: [ReferencePaths.bundledDirectory()!])

    @Test func securitySoftwareCatalogCoversTheContractProducts() throws {
        let catalog = try SecuritySoftwareCatalog.load(path: try #require(Self.paths.catalogFile(SecuritySoftwareCatalog.fileName)))
        #expect(
            Set(catalog.products.map(\.id)) == [
                "clamav", "mdatp", "falcon", "sentinelone", "sophos", "eset",
                "trendmicro-ds", "trellix", "withsecure"
            ])
        #expect(catalog.products.allSatisfy { !$0.packages.isEmpty || !$0.paths.isEmpty })
        #expect(catalog.products.first { $0.id == "clamav" }?.signatures?.kind == .clamavCVD)
        #expect(catalog.products.allSatisfy { !($0.source ?? "").isEmpty }, "every shipped product names its source")
    }

    @Test func browserCatalogCoversTheContractBrowsers() throws {
        let catalog = try BrowserCatalog.load(path: try #require(Self.paths.catalogFile(BrowserCatalog.fileName)))
        #expect(
            Set(catalog.browsers.map(\.name)) == [
                "firefox", "firefox-esr", "chromium", "google-chrome", "microsoft-edge",
                "brave", "opera", "vivaldi"
            ])
        let esr = try #require(catalog.browsers.first { $0.name == "firefox-esr" })
        #expect(!esr.support.lines.isEmpty)
        #expect(catalog.browsers.filter { $0.name != "firefox-esr" }.allSatisfy { $0.support.latest != nil })
        #expect(catalog.browsers.allSatisfy { !$0.support.source.isEmpty }, "every shipped browser names its release data's source")
    }

    @Test func fileSharingCatalogHasBitTorrentAndWinnyFamily() throws {
        let catalog = try FileSharingCatalog.load(path: try #require(Self.paths.catalogFile(FileSharingCatalog.fileName)))
        let ids = Set(catalog.clients.map(\.id))
        #expect(ids.contains("transmission") && ids.contains("qbittorrent"))
        #expect(catalog.clients.contains { $0.windowsExecutables.contains { $0.lowercased() == "winny.exe" } })
    }

    @Test func osCatalogKnowsEveryRequiredRelease() throws {
        let catalog = try OSLifecycleCatalog.load(path: try #require(Self.paths.catalogFile(OSLifecycleCatalog.fileName)))
        let versions = { (id: String) in Set(catalog.distribution(id)?.releases.map(\.version) ?? []) }
        #expect(versions("debian").isSuperset(of: ["9", "10", "11", "12", "13"]))
        #expect(versions("ubuntu").isSuperset(of: ["16.04", "18.04", "20.04", "22.04", "24.04", "26.04"]))
        for id in ["rhel", "rocky", "almalinux"] { #expect(versions(id).isSuperset(of: ["8", "9", "10"])) }
        #expect(versions("rhel").contains("7"))
        #expect(!versions("fedora").isEmpty)
        #expect(catalog.distribution("ubuntu")?.releases.first { $0.version == "22.04" }?.support["esm"] != nil)
    }
}

/// The security-software catalog: who sells each product, and which processes are its engine.
@Suite struct SecuritySoftwareCatalogTests {
    static func bundled() throws -> SecuritySoftwareCatalog {
        try SecuritySoftwareCatalog.load(path: try #require(BundledCatalogTests.paths.catalogFile(SecuritySoftwareCatalog.fileName)))
    }

    @Test func everyProductSaysWhetherItIsSoldCommercially() throws {
        let commercial = Dictionary(uniqueKeysWithValues: try Self.bundled().products.map { ($0.id, $0.commercial) })
        #expect(
            commercial == [
                "clamav": false, "mdatp": true, "falcon": true, "sentinelone": true, "sophos": true, "eset": true,
                "trendmicro-ds": true, "trellix": true, "withsecure": true
            ])
    }

    @Test func updatersAloneNeverCountAsRunning() throws {
        let products = try Self.bundled().products
        let clamav = try #require(products.first { $0.id == "clamav" })
        #expect(clamav.processes == ["clamd", "clamonacc"] && clamav.updaters == ["freshclam"])
        for product in products {
            let comms = Set(product.updaters.map { String($0.prefix(15)) })
            #expect(!product.processes.isEmpty && !RunningProcesses.anyRunning(product.processes, in: comms), "\(product.id)")
        }
    }

    static func product(_ commercial: String, moreUpdaters: String) -> String {
        """
        as_of: "2026-11-24"
        products:
          - id: clamav
            name: ClamAV
        \(commercial)    processes: [clamd]
            updaters: [freshclam\(moreUpdaters)]

        """
    }

    @Test(arguments: [
        ("", "", 3, "a product needs 'commercial'"),
        ("    commercial: maybe\n", "", 5, "commercial must be true or false, not 'maybe'"),
        ("    commercial: false\n", ", clamd", 7, "'clamd' is listed both as an engine process and as an updater")
    ])
    func productsWithoutCommercialOrWithAnEngineAsUpdaterAreRefused(_ row: (String, String, Int, String)) throws {
        let directory = try TemporaryRoot("catalog")
        let file = try directory.write("security-software.yaml", Self.product(row.0, moreUpdaters: row.1))
        #expect(throws: LocatedError(file: file.path, line: row.2, message: row.3)) {
            try SecuritySoftwareCatalog.load(path: file.path)
        }
    }

    @Test func aProductWithCommercialLoads() throws {
        let directory = try TemporaryRoot("catalog")
        let file = try directory.write("security-software.yaml", Self.product("    commercial: false\n", moreUpdaters: ""))
        let catalog = try SecuritySoftwareCatalog.load(path: file.path)
        #expect(catalog.products.map(\.commercial) == [false])
    }
}
