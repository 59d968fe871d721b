import Foundation
import Testing
import PostureModel
import PostureReference

/// The catalogs shipped in Profiles/catalog load strictly and use the names the report contract allows.
@Suite struct BundledCatalogTests {
    static let paths = ReferencePaths(directories: [ReferencePaths.bundledDirectory()!])

    @Test func securitySoftwareCatalogCoversTheContractProducts() throws {
        let catalog = try SecuritySoftwareCatalog.load(path: try #require(Self.paths.catalogFile(SecuritySoftwareCatalog.fileName)))
        #expect(Set(catalog.products.map(\.id)) == ["clamav", "mdatp", "falcon", "sentinelone", "sophos", "eset",
                                                    "trendmicro-ds", "trellix", "withsecure"])
        #expect(catalog.products.allSatisfy { !$0.packages.isEmpty || !$0.paths.isEmpty })
        #expect(catalog.products.first { $0.id == "clamav" }?.signatures?.kind == .clamavCVD)
    }

    @Test func browserCatalogCoversTheContractBrowsers() throws {
        let catalog = try BrowserCatalog.load(path: try #require(Self.paths.catalogFile(BrowserCatalog.fileName)))
        #expect(Set(catalog.browsers.map(\.name)) == ["firefox", "firefox-esr", "chromium", "google-chrome", "microsoft-edge",
                                                      "brave", "opera", "vivaldi"])
        let esr = try #require(catalog.browsers.first { $0.name == "firefox-esr" })
        #expect(!esr.support.lines.isEmpty)
        #expect(catalog.browsers.filter { $0.name != "firefox-esr" }.allSatisfy { $0.support.latest != nil })
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
