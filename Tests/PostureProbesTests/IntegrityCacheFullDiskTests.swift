import Foundation
import PostureTestSupport
import Testing

@testable import PostureIntegrity
@testable import PostureProbes

/// The integrity cache in a state directory on a real full file system (a filled tmpfs).
@Suite(.enabled(if: ScratchFilesystem.testsRun, "no tmpfs can be mounted here (needs root); CI=true makes that a failure"))
struct IntegrityCacheFullDiskTests {
    /// Verification goes on when the cache cannot be saved, says so in a note, and keeps the
    /// last sealed cache whole; with space again the cache is saved and used.
    @Test(arguments: [false, true])
    func aCacheThatCannotBeSavedIsANoteAndTheOldOneStays(full: Bool) async throws {
        let disk = try ScratchFilesystem()
        let (root, state) = try await IntegrityCacheTests.verifiedRoot(state: disk.path)
        let scanRoot = try ScanRoot(root.path)
        let cacheFile = URL(fileURLWithPath: state).appendingPathComponent(IntegrityCache.fileName)
        let saved = try Data(contentsOf: cacheFile)
        try root.write("usr/bin/small", "changed\n")

        try disk.fill()
        let verifier = PackageVerifier(root: scanRoot, stateDirectory: state, forceFull: full)
        let result = try await verifier.verify()
        #expect(result.modified.map(\.path) == ["/usr/bin/small"], "the verification itself is complete")
        #expect(result.cacheNote?.contains("cache not saved") == true, "\(result.cacheNote ?? "no note")")
        #expect(result.cacheNote?.contains("No space left on device") == true, "\(result.cacheNote ?? "no note")")
        #expect(try Data(contentsOf: cacheFile) == saved, "the last cache stays, whole")
        guard case .loaded = IntegrityCache.load(directory: state, root: scanRoot) else {
            Issue.record("the last cache no longer loads")
            return
        }
        #expect(disk.files() == [IntegrityCache.fileName, CacheKey.fileName], "no temporary file left: \(disk.files())")

        disk.free()
        let resumed = try await PackageVerifier(root: scanRoot, stateDirectory: state).verify()
        #expect(resumed.cacheNote == nil, "\(resumed.cacheNote ?? "")")
        #expect(resumed.modified.map(\.path) == ["/usr/bin/small"])
        #expect(try Data(contentsOf: cacheFile) != saved, "saved once there is room")
        #expect(try await PackageVerifier(root: scanRoot, stateDirectory: state).verify().fromCache > 0)
    }
}
