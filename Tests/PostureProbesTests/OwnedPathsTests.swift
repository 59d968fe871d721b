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

/// The verifier digests owned paths from the bytes of a stored path through its stack of open
/// directories, and answers consecutive paths of one directory from the last one opened: both must
/// give what a fresh resolution of each path gives.
@Suite struct DirectoryStackTests {
    static let paths = [
        "/usr/bin/ls", "/usr/lib/ls", "/usr/bin/cat", "/usr/missing/file", "/usr/bin/cat", "/usr/lib/cat", "/bin/ls", "/lib/ls",
        "/bin/cat", "/usr/bin", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/usr/missing/other",
        "/usr/bin/../lib/x86_64-linux-gnu/libc.so.6",
        "/usr/bin/..", "/top", "/etc/ssl/certs/ca.pem", "/etc/ssl/certs/absent.pem", "/etc/ssl/ca.pem/inside", "/usr/bin/ls",
        "/usr/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/cat"
    ]

    func root() throws -> (TemporaryRoot, ScanRoot) {
        let root = try TemporaryRoot("stack")
        try root.write("usr/bin/ls", "ls")
        try root.write("usr/bin/cat", "cat binary")
        try root.write("usr/lib/ls", "another ls, in a directory whose path is as long")
        try root.write("usr/lib/x86_64-linux-gnu/libc.so.6", "libc")
        try root.write("etc/ssl/certs/ca.pem", "pem")
        try root.write("etc/ssl/ca.pem", "not a directory")
        try root.write("top", "at the top")
        try root.symlink("bin", to: "usr/bin")
        try root.symlink("lib", to: "usr/lib")
        return (root, try ScanRoot(root.path))
    }

    @Test func digestsFromBytesEqualTheDigestsOfCanonicalPaths() throws {
        let (temporary, scanRoot) = try root()
        defer { withExtendedLifetime(temporary) {} }
        var stack = DirectoryStack(root: scanRoot)
        defer { stack.close() }
        var resolved = 0
        defer { #expect(resolved == Self.paths.count - 3, "all but those in a missing directory or under a file") }
        for path in Self.paths {
            let slash = path.lastIndex(of: "/")!
            let canonical = OwnedPaths.digest(OwnedPaths.canonicalDirectory(path[..<slash], in: scanRoot) + path[slash...])
            // A path whose directory does not open is resolved as the collector resolves strings.
            guard let digest = path.withCString({ stack.canonicalDigest($0, strlen($0)) }) else { continue }
            #expect(digest == canonical, "\(path)")
            resolved += 1
        }
    }

    @Test(arguments: 0..<20)
    func answersInAnyOrderEqualThoseOfAFreshStack(seed: UInt64) throws {
        let (temporary, scanRoot) = try root()
        defer { withExtendedLifetime(temporary) {} }
        var generator = SeededGenerator(seed: seed)
        let order = seed == 0 ? Self.paths : (Self.paths + Self.paths).shuffled(using: &generator)
        var stack = DirectoryStack(root: scanRoot)
        defer { stack.close() }
        var existing = 0
        defer { #expect(existing > 0 || seed != 0, "the paths are there to be found") }
        for path in order {
            var fresh = DirectoryStack(root: scanRoot)
            defer { fresh.close() }
            switch seed == 0 ? 0 : generator.next() % 3 {
            case 0:
                let expected = path.withCString { fresh.lstat($0, strlen($0)) }
                let found = path.withCString { stack.lstat($0, strlen($0)) }
                switch (found, expected) {
                case (.success(let a), .success(let b)):
                    #expect(a.identity == b.identity, "\(path)")
                    existing += 1
                case (.failure(let a), .failure(let b)): #expect("\(a)" == "\(b)", "\(path)")
                default: Issue.record("\(path): \(found) where a fresh stack gives \(expected)")
                }
            case 1:
                let isDirectory = path.withCString { stack.isDirectory($0, strlen($0)) }
                #expect(isDirectory == path.withCString { fresh.isDirectory($0, strlen($0)) }, "\(path)")
            default:
                let digest = path.withCString { stack.canonicalDigest($0, strlen($0)) }
                #expect(digest == path.withCString { fresh.canonicalDigest($0, strlen($0)) }, "\(path)")
            }
        }
    }
}
