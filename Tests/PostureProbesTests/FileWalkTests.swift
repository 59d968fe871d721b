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

    /// `d` holding a file, a directory with a file, a link to that directory and a FIFO.
    static func everyKindOfEntry(_ name: String) throws -> TemporaryRoot {
        let root = try TemporaryRoot(name)
        try root.write("d/file", "x")
        try root.write("d/sub/inner", "y")
        try root.symlink("d/link", to: "sub")
        #expect(mkfifo(root.url("d/fifo").path, 0o644) == 0)
        return root
    }

    /// A walk by listings tells each entry's type without reading its status or opening it:
    /// links are not followed (the one here leads to a directory), and the FIFO is never opened.
    @Test func entriesComeWithTheTypeTheirListingGives() throws {
        let root = try Self.everyKindOfEntry("walk-types")
        let watch = try OpenWatch([root.url("d/fifo").path])
        var types: [String: Platform.EntryType] = [:]
        let problems = FileWalk.visitEntries(root: try ScanRoot(root.path), "d", maxDepth: 4, maxEntries: 100, sorted: false) {
            types[$0.path] = $0.type
        }
        #expect(problems.isEmpty)
        #expect(types == ["d/file": .regular, "d/sub": .directory, "d/sub/inner": .regular, "d/link": .symlink, "d/fifo": .other])
        #expect(watch.opened().isEmpty, "opened: \(watch.opened())")
    }

    /// A walk with a `ListingMemory` takes a directory's listing from it only under the identity
    /// the directory had when listed (so it does not read the directory, as inotify shows), visits
    /// only the entries the memory kept while counting the others against its cap, hands over only
    /// listings of settled directories, and lists again a directory an entry was added to.
    @Test func aListingIsRecalledOnlyUnderTheIdentityItWasListedWith() throws {
        let root = try TemporaryRoot("walk-memory")
        try root.write("d/a", "a")
        try root.write("d/owned", "o")
        try root.write("d/sub/b", "b")
        Fixtures.letFilesSettle()
        var stored: [String: (identity: FileIdentity, listing: FileWalk.Listing)] = [:]
        var walked: [String: Bool] = [:]
        // Like the search for unowned executables, the memory leaves out one file it need not see.
        let memory = FileWalk.ListingMemory(
            recall: { directory, identity in
                guard let kept = stored[directory], kept.identity == identity else { return nil }
                let entries = kept.listing.filter { $0.name != "owned" }
                return (entries, kept.listing.count - entries.count)
            },
            walked: { directory, identity, listing in
                walked[directory] = listing == nil
                if let listing { stored[directory] = (identity, listing) }
            })
        func walk(cap: Int = 100) throws -> (seen: Set<String>, problems: [String]) {
            var seen = Set<String>()
            walked = [:]
            let problems = FileWalk.visitEntries(root: try ScanRoot(root.path), "d", maxDepth: 4, maxEntries: cap, memory: memory) {
                seen.insert("\($0.path) \($0.type)")
            }
            return (seen, problems)
        }
        let first = try walk()
        #expect(first.seen == ["d/a regular", "d/owned regular", "d/sub directory", "d/sub/b regular"] && first.problems.isEmpty)
        #expect(walked == ["d": false, "d/sub": false])

        let listed = try OpenWatch([root.url("d").path, root.url("d/sub").path], events: UInt32(IN_ACCESS))
        let second = try walk()
        #expect(second.seen == ["d/a regular", "d/sub directory", "d/sub/b regular"] && second.problems.isEmpty)
        #expect(walked == ["d": true, "d/sub": true])
        #expect(listed.opened().isEmpty, "listed again: \(listed.opened())")
        // What the memory left out still counts: the start and three of d's four entries fill a cap of four.
        #expect(try walk(cap: 4).problems == ["stopped after 4 entries under /d"])

        try root.write("d/c", "c")
        let third = try walk()
        #expect(third.seen == ["d/a regular", "d/c regular", "d/owned regular", "d/sub directory", "d/sub/b regular"])
        // Listed within the settling time: used now, not handed over (its ctime could yet repeat).
        #expect(walked == ["d/sub": true])
        #expect(listed.opened() == [root.url("d").path])
        #expect(stored["d"]?.listing.map(\.name).sorted() == ["a", "owned", "sub"])
    }

    /// Where a file system leaves `d_type` unknown (ext2 without `filetype`, some network file
    /// systems), the entry's own status says what it is, without following a link.
    @Test func anUnknownListedTypeIsReadFromTheStatus() throws {
        let root = try Self.everyKindOfEntry("walk-unknown")
        let directory = open(root.url("d").path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(directory >= 0)
        defer { close(directory) }
        let types = ["file", "sub", "link", "fifo"].map { try? FileWalk.type(of: $0, in: directory, listed: .unknown).get() }
        #expect(types == [.regular, .directory, .symlink, .other])
        #expect(FileWalk.type(of: "gone", in: directory, listed: .unknown).failure?.isNotFound == true)
        #expect(try FileWalk.type(of: "gone", in: directory, listed: .regular).get() == .regular, "a known type is taken as listed")
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
