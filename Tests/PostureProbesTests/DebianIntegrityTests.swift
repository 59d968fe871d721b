import Foundation
import PostureModel
import PostureTestSupport
import Testing

@testable import PostureIntegrity
@testable import PostureProbes

/// The cached debootstrap root, when one can be made here.
private let debianBase: String? = try? DebianSystemRoot.make().get()

/// The integrity probe on real Debian 12 roots made by debootstrap, against `dpkg --verify` in the
/// same root, on copies an investigator would make: `cp -al` (hard links, symlinks included) and
/// `cp -a` with tampering.
@Suite(
    .enabled(
        if: debianBase != nil || DebianSystemRoot.required,
        "no debootstrap root can be made here (needs root, debootstrap and the mirror); CI=true makes that a failure"))
struct DebianIntegrityTests {
    /// One finding as `dpkg --verify` prints it: `??5??????   /usr/bin/cmp`, `missing   c /etc/x`.
    struct Finding: Hashable, CustomStringConvertible {
        var missing: Bool
        var conffile: Bool
        var path: String
        var description: String { "\(missing ? "missing  " : "??5??????") \(conffile ? "c" : " ") \(path)" }
    }

    static func dpkgVerify(_ root: String) throws -> Set<Finding> {
        let result = try Fixtures.run("/usr/bin/dpkg", ["--root=\(root)", "--verify"], environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"])
        var findings = Set<Finding>()
        for line in result.stdout.split(separator: "\n") {
            let characters = Array(line)
            #expect(characters.count > 12 && characters[9] == " " && characters[11] == " ", "unexpected dpkg --verify line: \(line)")
            guard characters.count > 12 else { continue }
            let flags = String(characters[0..<9])
            #expect(flags == "missing  " || flags == "??5??????", "dpkg --verify reported more than a digest: \(line)")
            findings.insert(Finding(missing: flags.hasPrefix("missing"), conffile: characters[10] == "c", path: String(characters[12...])))
        }
        return findings
    }

    static func integrity(_ root: String, _ resolution: RootDirectory.Resolution) async throws -> IntegrityEvidence {
        let scanRoot = try ScanRoot(root, resolution: resolution)
        let database = try DpkgDatabase.read(root: scanRoot)
        return try await IntegrityProbe(stateDirectory: nil, forceFull: true).collect(root: scanRoot, database: database, now: Date())
    }

    static func findings(_ evidence: IntegrityEvidence) -> Set<Finding> {
        Set(
            evidence.modified.map { Finding(missing: false, conffile: $0.kind == "conffile", path: $0.path) }
                + evidence.missing.map { Finding(missing: true, conffile: $0.kind == "conffile", path: $0.path) })
    }

    /// A replaced binary, a deleted one, a changed conffile, and one byte changed in a library of
    /// more than `LargeFiles.threshold` bytes (hashed once every chunk has run, in shared lanes).
    static func tamper(_ copy: TemporaryRoot) throws {
        let fm = FileManager.default
        try fm.removeItem(at: copy.url("usr/bin/cmp"))
        try fm.copyItem(at: copy.url("usr/bin/sdiff"), to: copy.url("usr/bin/cmp"))
        try fm.removeItem(at: copy.url("usr/bin/tac"))
        try copy.write("etc/login.defs", "PASS_MAX_DAYS 99999\n")
        var library = try Data(contentsOf: copy.url(largeLibrary))
        #expect(library.count > LargeFiles.threshold)
        library[library.count / 2] ^= 0x01
        try library.write(to: copy.url(largeLibrary), options: .atomic)
    }

    static let largeLibrary = "usr/lib/x86_64-linux-gnu/libdb-5.3.so"

    static func sha256sum(_ path: String) throws -> String {
        String(try Fixtures.run("/usr/bin/sha256sum", [path]).stdout.prefix(64))
    }

    /// `update-alternatives` links (`/usr/bin/awk` -> `/etc/alternatives/awk` -> `/usr/bin/mawk`),
    /// links made by maintainer scripts and the diverted `/bin/sh` are the package system's, not unowned.
    @Test(arguments: everyResolution)
    func aHardLinkedCopyHasNoUnownedExecutablesAndMatchesDpkgVerify(_ resolution: RootDirectory.Resolution) async throws {
        let copy = try DebianSystemRoot.copy(try DebianSystemRoot.make().get(), hardLinks: true)
        let evidence = try await Self.integrity(copy.path, resolution)
        #expect(evidence.unownedExecutables.isEmpty, "\(evidence.unownedExecutables.map(\.path))")
        #expect(evidence.checked > 1000)
        #expect(evidence.unreadable.isEmpty && evidence.unverifiablePackages.isEmpty)
        let dpkg = try Self.dpkgVerify(copy.path)
        #expect(Self.findings(evidence) == dpkg, "\(Self.findings(evidence).symmetricDifference(dpkg))")
    }

    /// A replaced binary, a deleted one, a changed conffile, a file diverted by the administrator
    /// (`dpkg-divert --local --rename`) with another program put in its place, and an executable
    /// no package installed.
    @Test(arguments: everyResolution)
    func aTamperedCopyMatchesDpkgVerify(_ resolution: RootDirectory.Resolution) async throws {
        let copy = try DebianSystemRoot.copy(try DebianSystemRoot.make().get())
        try Self.tamper(copy)
        let fm = FileManager.default
        let divert = try Fixtures.run(
            "/usr/bin/dpkg-divert", ["--root=\(copy.path)", "--local", "--rename", "--add", "/usr/bin/diff"],
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"])
        #expect(divert.status == 0, "\(divert.stderr)")
        try fm.copyItem(at: copy.url("usr/bin/diff3"), to: copy.url("usr/bin/diff"))
        try fm.copyItem(at: copy.url("usr/bin/ls"), to: copy.url("usr/bin/lsx"))
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy.url("usr/bin/lsx").path)
        // A versioned shared object no package installed, not executable: a library all the same.
        try fm.copyItem(at: copy.url("usr/lib/x86_64-linux-gnu/libc.so.6"), to: copy.url("usr/lib/x86_64-linux-gnu/libevil.so.1"))
        try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: copy.url("usr/lib/x86_64-linux-gnu/libevil.so.1").path)

        let evidence = try await Self.integrity(copy.path, resolution)
        let dpkg = try Self.dpkgVerify(copy.path)
        #expect(
            dpkg == [
                Finding(missing: false, conffile: false, path: "/usr/bin/cmp"), Finding(missing: true, conffile: false, path: "/usr/bin/tac"),
                Finding(missing: false, conffile: true, path: "/etc/login.defs"), Finding(missing: false, conffile: false, path: "/" + Self.largeLibrary)
            ], "the tampering is not what dpkg sees: \(dpkg)")
        #expect(Self.findings(evidence) == dpkg, "\(Self.findings(evidence).symmetricDifference(dpkg))")
        #expect(
            evidence.unownedExecutables == [
                .init(path: "/usr/bin/lsx", sha256: try Self.sha256sum(copy.url("usr/bin/ls").path)),
                .init(path: "/usr/lib/x86_64-linux-gnu/libevil.so.1", sha256: try Self.sha256sum(copy.url("usr/lib/x86_64-linux-gnu/libc.so.6").path))
            ])

        // A data file no package installed: not a candidate, until it is made set-id below.
        try copy.write("usr/lib/x86_64-linux-gnu/plugin.dat", "data\n")

        // A rescan from the sealed cache resolves owned paths through its open directories
        // (`/bin` is merged-/usr's link to `/usr/bin`): it owns and finds what the full run does.
        let state = try TemporaryRoot("integrity-state")
        let scanRoot = try ScanRoot(copy.path, resolution: resolution)
        func rescan(preloading: Bool = false) async throws -> (evidence: IntegrityEvidence, digestsFromCache: Int) {
            let cache = ScanCache(directory: state.path, root: scanRoot)
            var probe = IntegrityProbe(stateDirectory: state.path, forceFull: false)
            if preloading { probe.preloadCache(root: scanRoot) }
            let found = try await probe.collect(
                root: scanRoot, database: try DpkgDatabase.read(root: scanRoot), now: Date(), cache: cache)
            try cache.save()
            return (found, cache.hits(of: "sha256"))
        }
        Fixtures.letFilesSettle()
        for (expected, hits) in [("full", 0), ("incremental", 2)] {
            let (found, fromCache) = try await rescan()
            #expect(found.mode == expected && fromCache == hits, "\(expected): \(fromCache) digests from the scan cache")
            #expect(found.unownedExecutables == evidence.unownedExecutables, "\(expected): \(found.unownedExecutables.prefix(5).map(\.path))")
            #expect(found.extraCaCertificates == evidence.extraCaCertificates && Self.findings(found) == dpkg, "\(expected)")
        }
        // Every digest of the second run came from the cache: the chunks whose large files were
        // hashed last handed over their sections too. (This time the cache is read ahead, as a scan does.)
        let again = try await rescan(preloading: true).evidence
        #expect(again.mode == "incremental" && again.fromCache == again.checked, "\(again.fromCache) of \(again.checked) from the cache")
        // The unowned program rewritten in place: its digest is taken again, the library's is not.
        try Data("#!/bin/sh\necho changed\n".utf8).write(to: copy.url("usr/bin/lsx"))
        Fixtures.letFilesSettle()
        let (changed, fromCache) = try await rescan()
        #expect(fromCache == 1)
        #expect(changed.unownedExecutables.first?.sha256 == (try Self.sha256sum(copy.url("usr/bin/lsx").path)))
        #expect(changed.unownedExecutables.last == evidence.unownedExecutables.last)

        // Changes no directory's listing shows, after a rescan that listed nothing again (the walk's
        // memory): a data file made set-id; and a program added where the memory holds the
        // directory's old listing. The rescan finds what a run with no cache finds, listing again
        // only the directory that changed.
        let listed = try OpenWatch([copy.url("usr/bin").path, copy.url("usr/lib/x86_64-linux-gnu").path], events: UInt32(IN_ACCESS))
        try FileManager.default.setAttributes([.posixPermissions: 0o4755], ofItemAtPath: copy.url("usr/lib/x86_64-linux-gnu/plugin.dat").path)
        let added = try copy.write("usr/sbin/newtool", "#!/bin/sh\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: added.path)
        let sbin = try OpenWatch([copy.url("usr/sbin").path], events: UInt32(IN_ACCESS))
        let remembered = try await rescan().evidence
        #expect(listed.opened().isEmpty, "listed again: \(listed.opened())")
        #expect(sbin.opened() == [copy.url("usr/sbin").path])
        let uncached = try await Self.integrity(copy.path, resolution)
        #expect(listed.opened() == [copy.url("usr/bin").path, copy.url("usr/lib/x86_64-linux-gnu").path])
        #expect(remembered.unownedExecutables == uncached.unownedExecutables)
        #expect(
            Set(remembered.unownedExecutables.map(\.path))
                == Set(changed.unownedExecutables.map(\.path)).union(["/usr/lib/x86_64-linux-gnu/plugin.dat", "/usr/sbin/newtool"]),
            "\(remembered.unownedExecutables.map(\.path))")
        #expect(remembered.unownedExecutables.first { $0.path.hasSuffix("plugin.dat") }?.setid == true)

        // A program a package no longer lists (its path taken out of the package's list): ownership
        // changed and no directory did, so what the memory left out as owned is looked at again.
        Fixtures.letFilesSettle()
        _ = try await rescan()
        let list = copy.url("var/lib/dpkg/info/diffutils.list")
        let lines = try String(contentsOf: list, encoding: .utf8).split(separator: "\n")
        #expect(lines.contains("/usr/bin/sdiff"))
        try Data(lines.filter { $0 != "/usr/bin/sdiff" }.map { $0 + "\n" }.joined().utf8).write(to: list)
        let disowned = try await rescan().evidence
        #expect(disowned.unownedExecutables == (try await Self.integrity(copy.path, resolution)).unownedExecutables)
        #expect(Set(disowned.unownedExecutables.map(\.path)) == Set(remembered.unownedExecutables.map(\.path)).union(["/usr/bin/sdiff"]))
    }

    /// Files hashed several at once in SIMD lanes (`MultiMD5`) and one stream per task find the
    /// same: every file checked, the same modified and missing ones, equal to `dpkg --verify`.
    @Test func laneHashingFindsWhatOneStreamFinds() async throws {
        let copy = try DebianSystemRoot.copy(try DebianSystemRoot.make().get())
        try Self.tamper(copy)
        let root = try ScanRoot(copy.path)
        var verifier = PackageVerifier(root: root, stateDirectory: nil, forceFull: true)
        let lanes = try await verifier.verify()
        // Large files hashed two by two as they come, instead of all at the end.
        verifier.largeFilesFlushAt = 2
        let flushed = try await verifier.verify()
        #expect(flushed.checked == lanes.checked && flushed.modified == lanes.modified && flushed.missing == lanes.missing)
        // Their chunks' cache sections are all handed over: the next run takes every file from the cache.
        let state = try TemporaryRoot("lanes-state")
        var caching = PackageVerifier(root: root, stateDirectory: state.path, forceFull: true)
        caching.largeFilesFlushAt = 2
        Fixtures.letFilesSettle()
        _ = try await caching.verify()
        let rescan = try await PackageVerifier(root: root, stateDirectory: state.path).verify()
        #expect(!rescan.full && rescan.fromCache == rescan.checked && rescan.checked == lanes.checked, "\(rescan.fromCache) of \(rescan.checked)")
        verifier.largeFilesFlushAt = LargeFiles.defaultFlushAt
        verifier.multiBuffer = false
        let stream = try await verifier.verify()
        #expect(lanes.checked == stream.checked && lanes.checked > 2000, "\(lanes.checked) and \(stream.checked) files checked")
        #expect(lanes.modified == stream.modified)
        #expect(lanes.missing == stream.missing)
        #expect(lanes.unreadable == stream.unreadable)
        let found = Set(
            lanes.modified.map { Finding(missing: false, conffile: $0.kind == "conffile", path: $0.path) }
                + lanes.missing.map { Finding(missing: true, conffile: $0.kind == "conffile", path: $0.path) })
        #expect(found == (try Self.dpkgVerify(copy.path)))
    }
}
