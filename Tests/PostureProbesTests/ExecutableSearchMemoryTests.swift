import Foundation
import PostureTestSupport
import Testing

@testable import PostureIntegrity
@testable import PostureProbes

/// The walk's memory in the scan cache keeps of each directory its subdirectories and the files
/// no package owned, gives them back only under the identity it stored them with, and never gives
/// a wrong listing from bytes it cannot read.
@Suite struct ExecutableSearchMemoryTests {
    static let fingerprint = [UInt8](repeating: 0xAB, count: 32)

    static func identity(_ inode: UInt64) -> FileIdentity {
        FileIdentity(device: 2049, inode: inode, size: 4096, modifiedNanoseconds: 1_700_000_000_000_000_000, changedNanoseconds: 1_700_000_000_000_000_001)
    }

    /// In walk order: `usr/bin/x11/deep` comes without its parent (as a directory listed while it
    /// was still settling is), so its record names its whole path.
    static let listings: [(path: String, inode: UInt64, listing: FileWalk.Listing)] = [
        ("usr/bin", 10, [("ls", .regular), ("backdoor", .regular), ("awk", .symlink), ("fifo", .other), ("x11", .directory)]),
        ("usr/bin/x11", 11, [("deep", .directory)]),
        ("usr/bin/x11/deep/er", 15, [("tool", .regular)]),
        ("opt/vendor", 12, [("ünïcode tool", .regular), ("owned tool", .regular)])
    ]
    static let owned: Set<String> = ["usr/bin/ls", "opt/vendor/owned tool"]
    static let expected = [
        "usr/bin": "backdoor:regular,x11:directory +3", "usr/bin/x11": "deep:directory +0", "usr/bin/x11/deep/er": "tool:regular +0",
        "opt/vendor": "ünïcode tool:regular +1"
    ]

    static func memory(recalling previous: ExecutableSearchMemory? = nil, fresh: Set<String>? = nil) -> [UInt8] {
        var walked = ExecutableSearchMemory.Walked(recalledFrom: previous)
        for (path, inode, listing) in listings {
            walked.add(path, identity: identity(inode), listing: fresh.map { $0.contains(path) } ?? true ? listing : nil)
        }
        return walked.memory(fingerprint: fingerprint) { owned.contains($0) } ?? []
    }

    static func names(_ found: (entries: FileWalk.Listing, omitted: Int)?) -> String? {
        found.map { "\($0.entries.map { "\($0.name):\($0.type)" }.joined(separator: ",")) +\($0.omitted)" }
    }

    static func expectAsStored(_ memory: ExecutableSearchMemory) {
        for (path, inode, _) in listings {
            #expect(names(memory.listing(of: path, identity: identity(inode))) == expected[path], "\(path)")
        }
    }

    @Test func keepsSubdirectoriesAndUnownedFilesUnderTheDirectorysIdentity() throws {
        let memory = try #require(ExecutableSearchMemory(Self.memory()))
        #expect(memory.fingerprint == Self.fingerprint && memory.count == 4)
        Self.expectAsStored(memory)
        var touched = Self.identity(10)
        touched.changedNanoseconds += 1
        #expect(memory.listing(of: "usr/bin", identity: touched) == nil)
        #expect(memory.listing(of: "usr/bin", identity: Self.identity(11)) == nil)
        for other in ["usr/sbin", "usr/bin/", "bin", "x11", "usr/bin/x11/deep", "er", "usr/bin/x11/er", "usr/bin/x11/deep/er/"] {
            #expect(memory.listing(of: other, identity: Self.identity(10)) == nil && memory.listing(of: other, identity: Self.identity(15)) == nil, "\(other)")
        }
    }

    /// A subdirectory's record names it by its own name under its parent's record, so the memory
    /// of a system's walk stays small; a directory whose parent was not walked names its whole
    /// path, and a sibling whose name only begins with the last directory's is not put under it.
    @Test func recordsNameADirectoryUnderItsParent() throws {
        var walked = ExecutableSearchMemory.Walked(recalledFrom: nil)
        for (path, inode) in [
            ("usr/bin", 10), ("usr/bin/x11", 11), ("usr/bin/x11b", 12), ("usr/bin/x11b/sub", 13), ("usr/bin/x11/deep/er", 15), ("usr/lib", 16)
        ] {
            walked.add(path, identity: Self.identity(UInt64(inode)), listing: [])
        }
        let memory = try #require(ExecutableSearchMemory(walked.memory(fingerprint: Self.fingerprint) { _ in false } ?? []))
        let expected: [(path: String, parent: String?, name: String)] = [
            ("usr/bin", nil, "usr/bin"), ("usr/bin/x11", "usr/bin", "x11"), ("usr/bin/x11b", "usr/bin", "x11b"),
            ("usr/bin/x11b/sub", "usr/bin/x11b", "sub"), ("usr/bin/x11/deep/er", nil, "usr/bin/x11/deep/er"), ("usr/lib", nil, "usr/lib")
        ]
        for (path, parent, name) in expected {
            let number = try #require(memory.number(of: path), "\(path)")
            let head = memory.head(number)
            #expect(String(decoding: head.name, as: UTF8.self) == name, "\(path)")
            #expect(head.parent == (parent.flatMap { memory.number(of: $0) }.map { $0 + 1 } ?? 0), "\(path)")
        }
    }

    /// Directories are found by a 64-bit FNV-1a of their path, which anyone can make collide: a
    /// directory whose path hashes like a remembered one's (this pair was found by a rho search,
    /// about 5 billion hashes) never gets that one's listing, even with the same identity.
    @Test func aPathThatHashesLikeARememberedOneIsNotIt() throws {
        let (remembered, colliding) = ("usr/lib/I82XiouFosO", "usr/lib/d5AV6mNYFvA")
        #expect(ExecutableSearchMemory.PathHash.of(Array(remembered.utf8)) == ExecutableSearchMemory.PathHash.of(Array(colliding.utf8)))
        var walked = ExecutableSearchMemory.Walked(recalledFrom: nil)
        walked.add(remembered, identity: Self.identity(20), listing: [("hidden", .regular)])
        let memory = try #require(ExecutableSearchMemory(walked.memory(fingerprint: Self.fingerprint) { _ in false } ?? []))
        #expect(Self.names(memory.listing(of: remembered, identity: Self.identity(20))) == "hidden:regular +0")
        #expect(memory.listing(of: colliding, identity: Self.identity(20)) == nil)
    }

    /// A rescan that recalled every directory keeps the memory byte for byte; one that listed some
    /// again keeps the others' records as they were (renumbered parents included).
    @Test func recalledDirectoriesKeepTheirRecords() throws {
        let bytes = Self.memory()
        let previous = try #require(ExecutableSearchMemory(bytes))
        #expect(Self.memory(recalling: previous, fresh: []) == bytes)
        for fresh: Set<String> in [["usr/bin"], ["usr/bin/x11"], ["usr/bin/x11/deep/er", "opt/vendor"]] {
            let next = try #require(ExecutableSearchMemory(Self.memory(recalling: previous, fresh: fresh)))
            #expect(next.count == 4)
            Self.expectAsStored(next)
        }
        // Under another fingerprint the recalled records are left out (their notes of ownership no longer hold).
        var walked = ExecutableSearchMemory.Walked(recalledFrom: previous)
        walked.add("usr/bin", identity: Self.identity(10), listing: nil)
        walked.add("usr/bin/x11", identity: Self.identity(11), listing: [("new", .regular)])
        let other = try #require(walked.memory(fingerprint: [UInt8](repeating: 1, count: 32)) { _ in false }.flatMap(ExecutableSearchMemory.init))
        #expect(other.count == 1 && Self.names(other.listing(of: "usr/bin/x11", identity: Self.identity(11))) == "new:regular +0")
    }

    /// A walk whose listings outgrow the limit (a disk with millions of files under its system
    /// directories) keeps nothing more and makes no memory.
    @Test func aWalkTooLargeToRememberMakesNoMemory() {
        var walked = ExecutableSearchMemory.Walked(recalledFrom: nil, sizeLimit: 4 * ExecutableSearchMemory.Walked.chunkSize)
        let listing: FileWalk.Listing = (0..<1000).map { ("library-\($0).so.1", .regular) }
        for index in 0..<3 { walked.add("usr/lib/d\(index)", identity: Self.identity(UInt64(index)), listing: listing) }
        #expect(!walked.abandoned && walked.memory(fingerprint: Self.fingerprint) { _ in false } != nil)
        for index in 3..<20 { walked.add("usr/lib/d\(index)", identity: Self.identity(UInt64(index)), listing: listing) }
        #expect(walked.abandoned && walked.count < 20)
        #expect(walked.memory(fingerprint: Self.fingerprint) { _ in false } == nil)
        // One directory larger than the limit is enough.
        var huge = ExecutableSearchMemory.Walked(recalledFrom: nil, sizeLimit: 4 * ExecutableSearchMemory.Walked.chunkSize)
        huge.add("usr/lib/huge", identity: Self.identity(1), listing: (0..<20_000).map { ("library-\($0).so.1", .regular) })
        #expect(huge.abandoned && huge.count == 0)
    }

    /// Cut anywhere, or of another version, the bytes give no memory or one whose every listing is
    /// either absent or exactly as stored.
    @Test func damagedBytesNeverGiveAWrongListing() throws {
        let bytes = Self.memory()
        #expect(ExecutableSearchMemory([]) == nil)
        #expect(ExecutableSearchMemory([2] + bytes.dropFirst()) == nil)
        var parsed = 0
        for length in 0..<bytes.count {
            guard let memory = ExecutableSearchMemory(Array(bytes[..<length])) else { continue }
            parsed += 1
            for (path, inode, _) in Self.listings {
                let found = Self.names(memory.listing(of: path, identity: Self.identity(inode)))
                #expect(found == nil || found == Self.expected[path], "cut at \(length): \(path)")
            }
        }
        #expect(parsed == 4, "only the cuts between directories parse: \(parsed)")
    }
}
