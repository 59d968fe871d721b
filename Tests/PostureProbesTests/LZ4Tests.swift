import Foundation
import PostureTestSupport
import Testing

@testable import PostureProbes

@Suite struct LZ4Tests {
    /// Compresses with the reference `lz4` tool and decodes with ours.
    static func compress(_ data: Data, _ flags: [String]) throws -> [UInt8]? {
        guard let lz4 = Fixtures.tool("/usr/bin/lz4") else { return nil }
        let root = try TemporaryRoot("lz4")
        try root.write("in", data)
        let result = try Fixtures.run(lz4, flags + ["-q", "-f", root.url("in").path, root.url("in.lz4").path])
        guard result.status == 0 else {
            Issue.record("lz4 failed: \(result.stderr)")
            return nil
        }
        return [UInt8](try Data(contentsOf: root.url("in.lz4")))
    }

    static func sample(size: Int) -> Data {
        let entries = (0..<(size / 400 + 1)).map { (name: "pkg\($0 % 977)", version: "1.\($0).0-\($0 % 7)", architecture: "amd64") }
        return Data(Fixtures.packagesList(entries).utf8.prefix(size))
    }

    @Test(arguments: [
        ["-1"], ["-9"], ["-BD"], ["-B4", "--content-size"], ["--no-frame-crc", "-BX"], ["-B7", "-BD"]
    ])
    func decodesReferenceFrames(_ flags: [String]) throws {
        let original = Self.sample(size: 700_000)
        guard let compressed = try Self.compress(original, flags) else { return }
        #expect(LZ4.isFrame(compressed))
        let decoded = try LZ4.decompress(compressed)
        #expect(decoded == [UInt8](original))
    }

    @Test func decodesIncompressibleAndEmptyInput() throws {
        var random = SystemRandomNumberGenerator()
        let noise = Data((0..<200_000).map { _ in UInt8.random(in: 0...255, using: &random) })
        for original in [noise, Data()] {
            guard let compressed = try Self.compress(original, []) else { return }
            #expect(try LZ4.decompress(compressed) == [UInt8](original))
        }
    }

    @Test func truncatedOrCorruptInputIsAnErrorNotACrash() throws {
        guard let compressed = try Self.compress(Self.sample(size: 300_000), []) else { return }
        for cut in [3, 7, 20, compressed.count / 2, compressed.count - 5] {
            #expect(throws: ProbeError.self) { try LZ4.decompress(Array(compressed.prefix(cut))) }
        }
        var corrupt = compressed
        for i in stride(from: 20, to: corrupt.count - 8, by: 97) { corrupt[i] ^= 0xA5 }
        // Corruption either fails cleanly or decodes to something else; it must never crash.
        _ = try? LZ4.decompress(corrupt)
        #expect(throws: ProbeError.self) { try LZ4.decompress(Array("not lz4 at all".utf8)) }
    }

    // Found by fuzzing (scripts/fuzz lz4): the content size a frame header declares was reserved
    // up front, so 19 bytes claiming 12 GiB made the daemon ask for 12 GiB and die when refused.
    @Test func declaredContentSizeIsCheckedNotTrusted() {
        // Magic, FLG (version 1, content size present), BD, content size 12 GiB, header checksum, end mark.
        let frame: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0x48, 0x40, 0, 0, 0, 0, 3, 0, 0, 0, 0xC5, 0, 0, 0, 0]
        #expect(throws: ProbeError.malformed(path: "LZ4 data", reason: "the frame decodes to 0 bytes but its header says 12884901888")) {
            try LZ4.decompress(frame)
        }
    }

    /// LZ4 expands up to 255 times: output past the limit is an error, not an exhausted memory.
    @Test func decompressionStopsAtTheLimit() throws {
        // One 13-byte block: literal "a", then a match at offset 1 of 4 + 15 + 8 * 255 bytes.
        let block: [UInt8] = [0x1F, UInt8(ascii: "a"), 0x01, 0x00] + [UInt8](repeating: 255, count: 8) + [0]
        let frame: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0x40, 0x40, 0xC0, UInt8(block.count), 0, 0, 0] + block + [0, 0, 0, 0]
        #expect(try LZ4.decompress(frame) == [UInt8](repeating: UInt8(ascii: "a"), count: 2060))
        #expect(throws: ProbeError.malformed(path: "LZ4 data", reason: "it decodes to more than 1000 bytes")) {
            try LZ4.decompress(frame, limit: 1000)
        }
    }
}
