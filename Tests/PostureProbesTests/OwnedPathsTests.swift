import Foundation
import PostureTestSupport
import Testing

@testable import PostureIntegrity
@testable import PostureProbes

/// Owned paths are compared by canonical path, so a package listing `/bin/ls` owns `/usr/bin/ls`
/// on a merged-/usr system, and a digest never answers for a path nobody listed.
@Suite struct OwnedPathsTests {
    @Test(arguments: [
        ("/bin/ls", "/usr/bin/ls", true),
        ("/usr/bin/ls", "/usr/bin/ls", true),
        ("/bin/ls", "/usr/bin/ls.real", false),
        ("/bin/ls", "/usr/sbin/ls", false),
        ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", true),
        ("/etc/ssl/certs/ca.pem", "/etc/ssl/certs/ca.pem", true)
    ])
    func listedPathsAreOwnedUnderTheirCanonicalName(_ row: (listed: String, walked: String, owned: Bool)) throws {
        let root = try TemporaryRoot("owned")
        try root.write("usr/bin/ls", "x")
        try root.write("usr/lib/x86_64-linux-gnu/libc.so.6", "x")
        try root.write("etc/ssl/certs/ca.pem", "x")
        try root.symlink("bin", to: "usr/bin")
        try root.symlink("lib", to: "usr/lib")
        let scanRoot = try ScanRoot(root.path)
        let collector = OwnedPathsCollector(root: scanRoot)
        collector.insert(contentsOf: ["/usr/share/doc/coreutils/copyright", row.listed, row.listed])
        let owned = collector.sealed()
        #expect(owned.count == 2, "duplicates are kept once")
        #expect(owned.contains(canonical: row.walked) == row.owned)
        #expect(owned.contains(row.listed, in: scanRoot), "a listed path is owned under its own name too")
    }
}
