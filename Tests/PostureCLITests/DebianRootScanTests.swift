import Foundation
import PostureTestSupport
import Testing

/// The cached debootstrap root, when one can be made here.
private let debianBase: String? = try? DebianSystemRoot.make().get()

/// `posture scan --root` of a real Debian 12 root, copied as an investigator copies a disk.
@Suite(
    .enabled(
        if: debianBase != nil || DebianSystemRoot.required,
        "no debootstrap root can be made here (needs root, debootstrap and the mirror); CI=true makes that a failure"))
struct DebianRootScanTests {
    /// Found by a user: on a `cp -al` copy, `update-alternatives` links (`/usr/bin/awk`, `which`,
    /// `pager`, `/usr/sbin/rmt`) were reported as unowned executables, failing akishin 3(5)⑩.
    @Test func aHardLinkedCopyHasNoUnownedExecutables() throws {
        let base = try DebianSystemRoot.make().get()
        let copy = try DebianSystemRoot.copy(base, hardLinks: true)
        let state = try TemporaryRoot("state")
        let result = try CLITests.posture(["scan", "--root", copy.path, "--format", "json", "--state-dir", state.path])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
        let integrity = try #require((report["evidence"] as? [String: Any])?["integrity"] as? [String: Any])
        let unowned = (integrity["unowned_executables"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        #expect(unowned.isEmpty, "\(unowned)")
        #expect((integrity["checked"] as? Int ?? 0) > 1000)
        let verify = try CLITests.posture(["integrity", "--root", copy.path])
        let dpkg = try Fixtures.run("/usr/bin/dpkg", ["--root=\(copy.path)", "--verify"], environment: ["PATH": "/usr/bin:/bin", "LANG": "C"])
        #expect(verify.stdout == dpkg.stdout, "\(verify.stderr)")
    }
}
