import Crypto
import Foundation
import PostureEvidence
import PostureTestSupport
import Testing

/// State another account could plant is refused, naming the fix; the first key is published once.
@Suite struct StateDirectoryTests {
    static func signedScan(_ root: TemporaryRoot, state: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try CLITests.posture(["scan", "--sign", "--root", root.path, "--profile", root.url("profiles/test-bank.yaml").path, "--state-dir", state])
    }

    @Test(arguments: [
        ("world-writable", "chmod 700"),
        ("another user's", "chown \(geteuid())"),
        ("a symlink", "not a regular directory")
    ])
    func aStateDirectoryOthersControlIsRefused(_ row: (kind: String, fix: String)) throws {
        let root = try CLITests.debianRoot(pending: false)
        let state = root.url("state").path
        switch row.kind {
        case "world-writable":
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
            chmod(state, 0o777)
        case "another user's":
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
            chown(state, 65534, 65534)
        default:
            try FileManager.default.createDirectory(atPath: root.url("elsewhere").path, withIntermediateDirectories: false)
            try FileManager.default.createSymbolicLink(atPath: state, withDestinationPath: root.url("elsewhere").path)
        }
        let result = try Self.signedScan(root, state: state)
        #expect(result.status == 77, "\(row.kind): \(result.stderr)")
        #expect(result.stderr.contains(row.fix), "\(row.kind): \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(state)/device.key"), "no key written there")
    }

    @Test func aKeyAnotherUserOwnsIsRefused() throws {
        let root = try CLITests.debianRoot(pending: false)
        let state = root.url("state").path
        #expect(try Self.signedScan(root, state: state).status != 77)
        chown("\(state)/device.key", 65534, 65534)
        let result = try Self.signedScan(root, state: state)
        #expect(result.status == 77, "\(result.stderr)")
        #expect(result.stderr.contains("chown \(geteuid()) \(state)/device.key"), "\(result.stderr)")
    }

    @Test func theJournalIsPrivate() throws {
        let root = try CLITests.debianRoot(pending: false)
        let state = root.url("state").path
        _ = try Self.signedScan(root, state: state)
        for name in ["journal.sqlite", "journal.sqlite-wal", "device.key"] {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: "\(state)/\(name)")[.posixPermissions] as? Int)
            #expect(mode == 0o600, "\(name) is \(String(mode, radix: 8))")
        }
    }

    /// Two first `scan --sign` at once, 50 times: each report is signed by the key left on disk.
    @Test func concurrentFirstRunsSignWithTheKeyOnDisk() throws {
        let root = try CLITests.debianRoot(pending: false)
        for round in 0..<50 {
            let state = root.url("state-\(round)").path
            let results = Fixtures.onThreads([0, 1], width: 2) { _ in try Self.signedScan(root, state: state) }
            let onDisk = try DeviceKey.load(stateDirectory: state)
            #expect(try DeviceKey.publicKey(file: "\(state)/device.pub").rawRepresentation == onDisk.publicKey.rawRepresentation)
            for result in results {
                let output = try result.get()
                #expect(output.status == 0, "round \(round): \(output.stderr)")
                let envelope = try Envelope.decode(Data(output.stdout.utf8))
                #expect(envelope.signatures.map(\.keyid) == [onDisk.keyID], "round \(round): signed with a key that is not on disk")
                #expect(envelope.isSigned(by: onDisk.publicKey))
            }
        }
    }
}
