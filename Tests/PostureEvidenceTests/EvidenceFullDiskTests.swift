import Foundation
import PostureModel
import PostureTestSupport
import Testing

@testable import PostureEvidence

/// The journal and the device key in a state directory on a real full file system (a filled tmpfs).
@Suite(.enabled(if: ScratchFilesystem.testsRun, "no tmpfs can be mounted here (needs root); CI=true makes that a failure"))
struct EvidenceFullDiskTests {
    @Test func anAppendThatFindsNoSpaceStoresNothingAndTheChainContinues() throws {
        let disk = try ScratchFilesystem()
        let key = try DeviceKey.generate(stateDirectory: disk.path)
        var journal: Journal? = try Journal(stateDirectory: disk.path)
        for _ in 0..<2 { _ = try journal?.append(EnvelopeTests.report(), key: key) }
        journal = nil

        try disk.fill()
        let reopened = try Journal(stateDirectory: disk.path)
        #expect(try reopened.entries().map(\.sequence) == [1, 2], "a journal closed before the disk filled opens and reads")
        let head = try reopened.head(keyID: key.keyID)
        do {
            _ = try reopened.append(EnvelopeTests.report(), key: key)
            Issue.record("the append succeeded on a full disk")
        } catch JournalError.noSpace(let path, _) {
            #expect(path == "\(disk.path)/\(Journal.fileName)")
        }
        #expect(try reopened.entries().map(\.sequence) == [1, 2])
        #expect(try reopened.head(keyID: key.keyID)?.sha256 == head?.sha256, "the chain head is unchanged")
        #expect(
            JournalError.noSpace(journal: reopened.path, doing: "append the report to the journal").description
                .contains("no space left on device in \(disk.path)"))

        disk.free()
        let appended = try reopened.append(EnvelopeTests.report(), key: key)
        #expect(appended.report.chain?.sequence == 3)
        #expect(appended.report.chain?.previous == head?.sha256, "the next report links to the last one stored")
    }

    /// With room for one key file but not both, or for none, generating leaves neither file nor a
    /// temporary one; an existing pair is never touched.
    @Test(arguments: [0, 4096])
    func aKeyThatCannotBeWrittenInFullIsNotWrittenAtAll(leaving free: Int) throws {
        let disk = try ScratchFilesystem()
        try disk.fill(leaving: free)
        #expect(throws: KeyError.unwritable(.noSpace(path: "\(disk.path)/\(free == 0 ? DeviceKey.privateName : DeviceKey.publicName)"))) {
            try DeviceKey.generate(stateDirectory: disk.path)
        }
        #expect(disk.files().isEmpty, "\(disk.files())")
        #expect(throws: KeyError.missing("\(disk.path)/\(DeviceKey.privateName)")) { try DeviceKey.load(stateDirectory: disk.path) }

        disk.free()
        let key = try DeviceKey.generate(stateDirectory: disk.path)
        try disk.fill()
        #expect(throws: KeyError.self) { try DeviceKey.generate(stateDirectory: disk.path, force: true) }
        #expect(try DeviceKey.load(stateDirectory: disk.path).keyID == key.keyID)
        #expect(DeviceKey.keyID(of: try DeviceKey.publicKey(file: "\(disk.path)/\(DeviceKey.publicName)")) == key.keyID)
    }
}
