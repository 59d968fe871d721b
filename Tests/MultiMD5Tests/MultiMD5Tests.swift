import CMultiMD5
import Crypto
import MultiMD5
import PostureTestSupport
import Testing

func referenceMD5(_ bytes: [UInt8]) -> [UInt8] {
    Array(Insecure.MD5.hash(data: bytes))
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// Feeds messages to a hasher in random chunk sizes, refilling lanes as they finish.
func streamDigests(
    of messages: [[UInt8]], hasher: inout MultiMD5Hasher, maxChunk: Int, rng: inout SeededGenerator
) -> [[UInt8]] {
    var digests = [[UInt8]](repeating: [], count: messages.count)
    var message = [Int?](repeating: nil, count: hasher.laneCount)
    var offset = [Int](repeating: 0, count: hasher.laneCount)
    var next = 0
    var finished = 0
    while finished < messages.count {
        for lane in 0..<hasher.laneCount where message[lane] == nil && next < messages.count {
            hasher.start(lane: lane)
            message[lane] = next
            offset[lane] = 0
            next += 1
        }
        var done: [Int] = []
        for lane in 0..<hasher.laneCount {
            guard let index = message[lane] else { continue }
            let remaining = messages[index].count - offset[lane]
            let count = min(remaining, Int.random(in: 1...maxChunk, using: &rng))
            if rng.next() % 4 == 0 {
                let written = hasher.fill(lane: lane, upTo: count) { buffer in
                    buffer.copyBytes(from: messages[index][offset[lane]..<(offset[lane] + buffer.count)])
                    return buffer.count
                }
                offset[lane] += written
            } else {
                hasher.update(lane: lane, bytes: messages[index][offset[lane]..<(offset[lane] + count)])
                offset[lane] += count
            }
            if offset[lane] == messages[index].count {
                done.append(lane)
            }
        }
        if rng.next() % 8 == 0 {
            hasher.flush()
        }
        let digestsDone: [[UInt8]]
        if rng.next() % 2 == 0 {
            digestsDone = hasher.finish(lanes: done)
        } else {
            digestsDone = done.map { hasher.finish(lane: $0) }
        }
        for (lane, digest) in zip(done, digestsDone) {
            digests[message[lane]!] = digest
            message[lane] = nil
            finished += 1
        }
    }
    return digests
}

@Suite struct MultiMD5Tests {
    static let widths = MultiMD5Width.supported

    @Test func cpuReportsWidths() {
        #expect(MultiMD5Width.supported.first == .scalar)
        #expect(MultiMD5Width.supported.last == MultiMD5Width.best)
        print("supported widths: \(MultiMD5Width.supported), best: \(MultiMD5Width.best)")
    }

    @Test(arguments: widths)
    func rfc1321Vectors(width: MultiMD5Width) {
        let vectors: [(String, String)] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f"
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a"
            )
        ]
        let digests = MultiMD5Hasher.digests(of: vectors.map { Array($0.0.utf8) }, width: width)
        for ((message, expected), digest) in zip(vectors, digests) {
            #expect(hex(digest) == expected, "MD5(\"\(message)\")")
        }
    }

    @Test(arguments: widths)
    func everyLengthUpTo4096(width: MultiMD5Width) {
        var rng = SeededGenerator(seed: 0x5EED_0000 + UInt64(width.rawValue))
        let lengths = Array(0...4096).shuffled(using: &rng)
        let messages = lengths.map { rng.bytes($0) }
        let digests = MultiMD5Hasher.digests(of: messages, width: width)
        #expect(digests.count == messages.count)
        for (message, digest) in zip(messages, digests) where digest != referenceMD5(message) {
            Issue.record("length \(message.count): \(hex(digest)) != \(hex(referenceMD5(message)))")
        }
    }

    @Test(arguments: widths)
    func everyLengthUpTo4096Streamed(width: MultiMD5Width) {
        var rng = SeededGenerator(seed: 0xC0FFEE + UInt64(width.rawValue))
        let lengths = Array(0...4096).shuffled(using: &rng)
        let messages = lengths.map { rng.bytes($0) }
        var hasher = MultiMD5Hasher(width: width, laneCapacity: 256)
        let digests = streamDigests(of: messages, hasher: &hasher, maxChunk: 300, rng: &rng)
        #expect(digests.count == messages.count)
        for (message, digest) in zip(messages, digests) where digest != referenceMD5(message) {
            Issue.record("length \(message.count): \(hex(digest)) != \(hex(referenceMD5(message)))")
        }
    }

    @Test(arguments: widths)
    func largeInputsInUnevenChunks(width: MultiMD5Width) {
        var rng = SeededGenerator(seed: 0xB16 + UInt64(width.rawValue))
        let sizes = [3 << 20, (17 << 20) + 13, (1 << 20) + 1, 100 * 1024 - 3, 5, 65_536, 777_777, 0]
        let messages = sizes.map { rng.bytes($0) }
        var hasher = MultiMD5Hasher(width: width)
        let digests = streamDigests(of: messages, hasher: &hasher, maxChunk: 100_000, rng: &rng)
        for (message, digest) in zip(messages, digests) {
            #expect(digest == referenceMD5(message), "length \(message.count)")
        }
    }

    @Test(arguments: widths)
    func kernelLeavesIdleLanesUntouched(width: MultiMD5Width) {
        var rng = SeededGenerator(seed: 0x1D1E)
        let laneCount = Int(MULTI_MD5_MAX_LANES)
        let messages = (0..<laneCount).map { rng.bytes(64 * (3 + $0) + $0) }
        // Every lane alone, all of them, and 400 other sets (of 65,535).
        let masks = (0..<laneCount).map { 1 << $0 } + [(1 << laneCount) - 1] + (0..<400).map { _ in Int(rng.next() % UInt64((1 << laneCount) - 1)) + 1 }
        for activeMask in masks {
            var state = multi_md5_state()
            multi_md5_init(&state)
            var consumed = [Int](repeating: 0, count: laneCount)
            for round in 0..<3 {
                let active = (0..<laneCount).filter { activeMask & (1 << $0) != 0 && ($0 + round) % 3 != 0 }
                messages.withUnsafeBufferPointers { bases in
                    var blocks = [UnsafePointer<UInt8>?](repeating: nil, count: laneCount)
                    for lane in active {
                        blocks[lane] = bases[lane] + consumed[lane]
                    }
                    multi_md5_blocks(&state, Int32(width.rawValue), blocks, 1)
                }
                for lane in active {
                    consumed[lane] += 64
                }
            }
            for lane in 0..<laneCount where activeMask & (1 << lane) != 0 {
                let message = messages[lane]
                var state = state
                let fullBlocks = message.count / 64
                message.withUnsafeBufferPointer { bytes in
                    var blocks = [UnsafePointer<UInt8>?](repeating: nil, count: laneCount)
                    blocks[lane] = bytes.baseAddress! + consumed[lane]
                    multi_md5_blocks(&state, Int32(width.rawValue), blocks, fullBlocks - consumed[lane] / 64)
                }
                var digest = [UInt8](repeating: 0, count: 16)
                let tail = Array(message[(fullBlocks * 64)...])
                multi_md5_finish_lane(&state, Int32(lane), tail, tail.count, UInt64(message.count), &digest)
                #expect(digest == referenceMD5(message), "mask \(activeMask) lane \(lane)")
            }
            for lane in 0..<laneCount where activeMask & (1 << lane) == 0 {
                var digest = [UInt8](repeating: 0, count: 16)
                multi_md5_lane_digest(&state, Int32(lane), &digest)
                #expect(hex(digest) == "0123456789abcdeffedcba9876543210", "idle lane \(lane) changed")
            }
        }
    }

    @Test func valueSemantics() {
        var original = MultiMD5Hasher(width: .scalar)
        original.start(lane: 0)
        original.update(lane: 0, bytes: Array("hello ".utf8))
        var copy = original
        original.update(lane: 0, bytes: Array("world".utf8))
        copy.update(lane: 0, bytes: Array("there".utf8))
        #expect(original.finish(lane: 0) == referenceMD5(Array("hello world".utf8)))
        #expect(copy.finish(lane: 0) == referenceMD5(Array("hello there".utf8)))
        #expect(!copy.isBusy(lane: 0))
    }
}

extension Array where Element == [UInt8] {
    /// Calls `body` with stable base pointers of every element.
    func withUnsafeBufferPointers<R>(_ body: ([UnsafePointer<UInt8>]) -> R) -> R {
        func nest(_ index: Int, _ collected: [UnsafePointer<UInt8>]) -> R {
            if index == count {
                return body(collected)
            }
            return self[index].withUnsafeBufferPointer { nest(index + 1, collected + [$0.baseAddress!]) }
        }
        return nest(0, [])
    }
}
