import Foundation
import PostureTestSupport
import Testing

@testable import PostureIntegrity
@testable import PostureProbes

/// The integrity cache's file format, read back the way a rescan reads it: streamed in windows.
@Suite struct IntegrityCacheTests {
    /// A root with packages large enough for several chunks each, verified once so the cache exists
    /// (in `state`, by default inside the root).
    static func verifiedRoot(state: String? = nil) async throws -> (root: TemporaryRoot, state: String) {
        let root = try TemporaryRoot("integrity-cache")
        let big = (0..<130).map { ("/usr/share/big/file\($0)", "content \($0)\n", 0o644) }
        try Fixtures.install(
            [
                FakePackage("big", files: big, directories: ["/usr", "/usr/share", "/usr/share/big"]),
                FakePackage("small", files: [("/usr/bin/small", "small\n", 0o755)], conffiles: [("/etc/small.conf", "a=1\n")]),
                FakePackage("dash", files: [("/usr/share/man/man1/sh.1.gz", "dash man\n", 0o644)]),
                FakePackage("man-db", files: [("/usr/share/man/man1/sh.distrib.1.gz", "man\n", 0o644)]),
                // bash's sh.1.gz is diverted by dash: checked at sh.distrib.1.gz.
                FakePackage("bash", files: [("/usr/share/man/man1/sh.1.gz", "dash man\n", 0o644)])
            ], into: root, diversions: [("/usr/share/man/man1/sh.1.gz", "/usr/share/man/man1/sh.distrib.1.gz", "dash")])
        // Lists changed within the settling time are not recorded: wait, so every package is.
        Fixtures.letFilesSettle()
        let state = state ?? root.url("state").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let scanRoot = try ScanRoot(root.path)
        _ = try await PackageVerifier(root: scanRoot, stateDirectory: state).verify(database: try DpkgDatabase.read(root: scanRoot))
        return (root, state)
    }

    /// What an index found, in a comparable form.
    static func summary(_ index: SectionIndex) -> [String]? {
        guard let (packages, diverted, divertedSection) = index.finish() else { return nil }
        var lines = packages.map { key, package in
            "\(key) \(package.section) \(package.stanza) \(package.chunks.map { "\($0.sequence):\($0.count):\($0.entries)" })"
        }
        lines += diverted.map { "\($0.key) \($0.value.actual.high)" } + ["\(divertedSection)"]
        return lines.sorted()
    }

    @Test func sectionsAreIndexedTheSameWhateverTheWindowsTheFileStreamsIn() async throws {
        let (root, state) = try await Self.verifiedRoot()
        defer { withExtendedLifetime(root) {} }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: state + "/" + IntegrityCache.fileName)))
        let end = bytes.count - IntegrityCache.sealSize
        var whole = SectionIndex(start: IntegrityCache.headerSize, end: end)
        whole.consume(Array(bytes[..<end]), at: 0)
        let expected = try #require(Self.summary(whole))
        #expect(expected.count == 5 + 2)  // five packages, one diverted file, the diverted section
        #expect(expected.contains { $0.contains("0:48:") && $0.contains("2:") })  // 134 entries of "big": three chunks
        for window in [1, 3, 8, 23, 24, 25, 100, 4096] {
            var index = SectionIndex(start: IntegrityCache.headerSize, end: end)
            for start in stride(from: 0, to: end, by: window) {
                index.consume(Array(bytes[start..<min(start + window, end)]), at: start)
            }
            #expect(Self.summary(index) == expected, "window \(window)")
        }
        // Bytes missing at the end, or sections beyond it, are not a cache.
        var short = SectionIndex(start: IntegrityCache.headerSize, end: end)
        short.consume(Array(bytes[..<(end - 1)]), at: 0)
        #expect(Self.summary(short) == nil)
    }

    @Test func theCacheLoadsWithEveryPackage() async throws {
        let (root, state) = try await Self.verifiedRoot()
        guard case .loaded(let cache) = IntegrityCache.load(directory: state, root: try ScanRoot(root.path)) else {
            Issue.record("the cache did not load")
            return
        }
        #expect(cache.packages.count == 5)
        #expect(cache.diverted.keys.sorted() == ["/usr/share/man/man1/sh.distrib.1.gz"])
    }
}
