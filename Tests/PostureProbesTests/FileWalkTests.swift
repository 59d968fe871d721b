import Foundation
import PostureModel
import PostureTestSupport
import Testing

@testable import PostureProbes
@testable import PostureReference

/// A walk that could not see everything says so, so that finding nothing is never read as "none".
@Suite struct FileWalkTests {
    @Test func aWalkCutShortByItsCapSaysSo() throws {
        let root = try TemporaryRoot("walk")
        for index in 0..<10 { try root.write("home/u/.wine/drive_c/f\(index).exe", "x") }
        let scanRoot = try ScanRoot(root.path)
        var seen = 0
        let cut = FileWalk.visit(root: scanRoot, "home/u/.wine/drive_c", maxDepth: 4, maxEntries: 4) { _, _ in seen += 1 }
        #expect(seen == 4)
        #expect(cut == ["stopped after 4 entries under /home/u/.wine/drive_c"])
        #expect(FileWalk.visit(root: scanRoot, "home/u/.wine/drive_c", maxDepth: 4, maxEntries: 100) { _, _ in }.isEmpty)
        #expect(FileWalk.visit(root: scanRoot, "home/u/absent", maxDepth: 4, maxEntries: 100) { _, _ in }.isEmpty)
    }

    /// A user who fills a Wine drive past the walk's cap to hide a Winny behind it gets `unknown`, not a pass.
    @Test func aWineDriveTooLargeToSearchMakesFileSharingIncomplete() throws {
        let root = try TemporaryRoot("wine")
        try root.write("var/lib/dpkg/status", Fixtures.dpkgStatus([.init("dpkg", "1.21.22")]))
        try root.write("etc/passwd", "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n")
        let drive = root.url("home/alice/.wine/drive_c/filler")
        try FileManager.default.createDirectory(at: drive, withIntermediateDirectories: true)
        for index in 0..<50_001 { FileManager.default.createFile(atPath: drive.appendingPathComponent("\(index)").path, contents: nil) }
        try root.write("home/alice/.wine/drive_c/zz/Winny.exe", "MZ")
        let catalog = FileSharingCatalog(
            asOf: Day("2026-11-24")!,
            clients: [
                .init(id: "winny", name: "Winny", packages: [], binaries: [], flatpak: [], snap: [], windowsExecutables: ["winny.exe"])
            ])
        let scanRoot = try ScanRoot(root.path)
        let result = FileSharingProbe(catalog: catalog).collect(
            root: scanRoot, database: try DpkgDatabase.read(root: scanRoot),
            homes: HomeDirectories.all(root: scanRoot))
        #expect(result.clients.isEmpty)
        #expect(result.problems == ["stopped after 50000 entries under /home/alice/.wine/drive_c"])
    }
}
