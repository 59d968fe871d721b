import Foundation
import PostureModel
import PostureTestSupport
import Testing

@testable import PostureProbes

/// The scan cache gives back only what it sealed, for the root it was made for: any other file in
/// its place is ignored with a reason, and the scan reads everything again.
@Suite struct ScanCacheTests {
    static func filled(_ state: TemporaryRoot, root: ScanRoot) throws {
        let cache = ScanCache(directory: state.path, root: root)
        cache.store("a", Array("first value".utf8))
        cache.store("b", [])
        try cache.save()
    }

    @Test func keepsWhatAScanUsedAndNothingElse() throws {
        let state = try TemporaryRoot("scan-cache")
        let root = try ScanRoot("/")
        try Self.filled(state, root: root)
        let path = state.url(ScanCache.fileName).path
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let second = ScanCache(directory: state.path, root: root)
        #expect(second.note == nil)
        #expect(second.value("a") == Array("first value".utf8) && second.value("missing") == nil)
        #expect(second.hits == 1)
        try second.save()
        // "b" was not asked for: the next scan does not get it.
        let third = ScanCache(directory: state.path, root: root)
        #expect(third.value("a") != nil && third.value("b") == nil)
        #expect(ScanCache(directory: state.path, root: root, reuse: false).value("a") == nil, "a full scan uses nothing stored")
    }

    /// A scan that stores again exactly what it read leaves the file alone; one different value rewrites it.
    @Test func storingTheSameValuesDoesNotRewriteTheCache() throws {
        let state = try TemporaryRoot("scan-cache-same")
        let root = try ScanRoot("/")
        try Self.filled(state, root: root)
        let path = state.url(ScanCache.fileName).path
        func inode() throws -> Int? { try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int }
        let written = try inode()
        let same = ScanCache(directory: state.path, root: root)
        for key in ["a", "b"] { same.store(key, try #require(same.value(key))) }
        try same.save()
        #expect(try inode() == written, "rewritten although nothing changed")
        let changed = ScanCache(directory: state.path, root: root)
        _ = changed.value("b")
        changed.store("a", Array("second value".utf8))
        try changed.save()
        #expect(try inode() != written)
        #expect(ScanCache(directory: state.path, root: root).value("a") == Array("second value".utf8))
    }

    /// What tests wait for before counting cache hits is longer than what a file needs to settle.
    @Test func testsWaitLongEnoughForFilesToSettle() {
        #expect(Fixtures.settlingWait > FileIdentity.settlingSeconds)
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        func identity(changedSecondsAgo seconds: Double) -> FileIdentity {
            FileIdentity(device: 1, inode: 2, size: 3, modifiedNanoseconds: 0, changedNanoseconds: now - Int64(seconds * 1e9))
        }
        #expect(!identity(changedSecondsAgo: 0).isSettled() && !identity(changedSecondsAgo: -60).isSettled())
        #expect(identity(changedSecondsAgo: FileIdentity.settlingSeconds + 1).isSettled())
    }

    @Test(arguments: [
        ("flipped byte", "its seal does not match"), ("truncated", "its seal does not match"), ("empty", "truncated"),
        ("another root", "made for another root"), ("key removed", "its key is missing"), ("fifo", "not a regular file")
    ])
    func anythingButItsOwnSealedFileIsIgnored(damage: String, reason: String) throws {
        let state = try TemporaryRoot("scan-cache")
        let root = try ScanRoot("/")
        try Self.filled(state, root: root)
        let path = state.url(ScanCache.fileName).path
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var opened = root
        switch damage {
        case "flipped byte": bytes[bytes.count / 2] ^= 1
        case "truncated": bytes.removeLast(5)
        case "empty": bytes = []
        case "another root": opened = try ScanRoot("/tmp")
        case "key removed": try FileManager.default.removeItem(atPath: state.url(CacheKey.fileName).path)
        default:
            try FileManager.default.removeItem(atPath: path)
            #expect(mkfifo(path, 0o600) == 0)
        }
        if ["flipped byte", "truncated", "empty"].contains(damage) { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
        let cache = ScanCache(directory: state.path, root: opened)
        #expect(cache.value("a") == nil, "\(damage)")
        #expect(cache.note?.contains(reason) == true, "\(damage): \(cache.note ?? "no note")")
    }
}

/// A list's offers as the scan cache keeps them read back as written; bytes that are not what
/// `OfferCoding.encode` writes are refused whole (the list is then read again), never half-used.
@Suite struct OfferCodingTests {
    static let offers = [
        AptIndex.Offer(
            name: "openssl", architecture: "amd64", version: "3.0.17-1~deb12u2", source: "openssl", sourceVersion: "3.0.17-1~deb12u2",
            phasedUpdatePercentage: nil, file: 0),
        AptIndex.Offer(
            name: "libfoo1", architecture: "all", version: "1:2.0+dfsg-1", source: "foo", sourceVersion: "1:2.0+dfsg-1",
            phasedUpdatePercentage: 40, file: 0)
    ]

    @Test func offersReadBackAsWritten() throws {
        let decoded = try #require(OfferCoding.decode(OfferCoding.encode(Self.offers), file: 3))
        #expect(decoded.map(\.name) == ["openssl", "libfoo1"] && decoded.allSatisfy { $0.file == 3 })
        #expect(decoded.map(\.version) == Self.offers.map(\.version) && decoded.map(\.sourceVersion) == Self.offers.map(\.sourceVersion))
        #expect(decoded.map(\.phasedUpdatePercentage) == [nil, 40] && decoded.map(\.architecture) == ["amd64", "all"])
        #expect(OfferCoding.decode([], file: 0)?.isEmpty == true, "a list offering none of the names")
    }

    @Test(arguments: [
        ("five fields", Array("a\0b\0c\0d\0e\n".utf8)),
        ("seven fields", Array("a\0b\0c\0d\0e\0\0x\n".utf8)),
        ("phase not a number", Array("a\0b\0c\0d\0e\0forty\n".utf8)),
        ("truncated", Array(OfferCoding.encode(OfferCodingTests.offers).dropLast(9))),
        ("garbage", [UInt8](repeating: 0xFF, count: 4096))
    ])
    func anythingElseIsRefused(_ label: String, _ bytes: [UInt8]) {
        #expect(OfferCoding.decode(bytes, file: 0) == nil, "\(label)")
    }
}
