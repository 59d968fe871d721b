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

    /// A directory's names come from the scan cache while its identity is the one they were kept
    /// under; every entry's status is read afresh (a `chmod +x` changes no directory), an entry
    /// added or removed has the directory listed again, and a directory changed too recently to be
    /// told apart from its next change is never kept.
    @Test func listingsAreReusedOnlyForAnUnchangedDirectory() throws {
        let root = try TemporaryRoot("walk-listings")
        let state = try TemporaryRoot("walk-listings-state")
        for path in ["usr/lib/a/one.so", "usr/lib/a/b/two", "usr/lib/c/three"] { try root.write(path, "x") }
        let scanRoot = try ScanRoot(root.path)
        func walk() throws -> (seen: [String: Bool], listed: Int) {
            let cache = ScanCache(directory: state.path, root: scanRoot)
            var seen: [String: Bool] = [:]
            let problems = FileWalk.visit(root: scanRoot, "usr/lib", maxDepth: 8, maxEntries: 100, listings: cache) { path, status in
                if status.isRegular { seen[path] = status.isExecutable }
            }
            #expect(problems.isEmpty)
            try cache.save()
            return (seen, cache.hits(of: "listing"))
        }
        let files = ["usr/lib/a/one.so": false, "usr/lib/a/b/two": false, "usr/lib/c/three": false]
        // Written this instant: listed, used, not kept (checked only while the run is quick enough to tell).
        let written = Date()
        let fresh = try walk()
        #expect(fresh.seen == files)
        if Date().timeIntervalSince(written) < FileIdentity.settlingSeconds - 0.5 {
            #expect(try walk().listed == 0, "directories changed within the settling time are listed again")
        }
        Fixtures.letFilesSettle()
        #expect(try walk().seen == files)
        #expect(try walk().listed == 4, "usr/lib, a, a/b and c from the cache")

        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.url("usr/lib/c/three").path)
        try root.write("usr/lib/a/four", "x")
        Fixtures.letFilesSettle()
        let changed = try walk()
        #expect(changed.seen == files.merging(["usr/lib/c/three": true, "usr/lib/a/four": false]) { $1 })
        #expect(changed.listed == 3, "a was listed again; its new file was seen, and c's new mode")
        #expect(FileWalk.Listing.decode(FileWalk.Listing.encode(["b", "one.so"])) == ["b", "one.so"])
        for bad: [UInt8] in [[0x61], [0, 0], Array("a/b\u{0}".utf8), Array(".\u{0}".utf8), [0xFF, 0]] {
            #expect(FileWalk.Listing.decode(bad) == nil, "\(bad)")
        }
        #expect(Fixtures.settlingWait > FileIdentity.settlingSeconds)
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
