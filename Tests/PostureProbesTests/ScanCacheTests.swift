import Foundation
import PostureModel
import PostureProbes
import PostureTestSupport
import Testing

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
