import CMultiMD5

/// A multi-buffer MD5 kernel, named by how many messages one SIMD pass hashes; AVX-512VL's
/// kernels, whose rotate and ternary-logic instructions make each step shorter, are 9 (8 lanes)
/// and 17 (16 lanes: two groups of 8, whose chains of steps the CPU overlaps, as in 16).
package enum MultiMD5Width: Int, Sendable, CaseIterable, CustomStringConvertible {
    case scalar = 1
    case sse2 = 4
    case avx2 = 8
    case avx512vl = 9
    case avx2x2 = 16
    case avx512vlx2 = 17

    /// Number of independent messages the kernel hashes at once.
    package var laneCount: Int {
        switch self {
        case .avx512vl: 8
        case .avx512vlx2: 16
        default: rawValue
        }
    }

    /// Whether this CPU can run the kernel.
    package var isSupported: Bool { multi_md5_width_supported(Int32(rawValue)) }

    /// Every width this CPU supports, narrowest first.
    package static var supported: [MultiMD5Width] { allCases.filter(\.isSupported) }

    /// The widest kernel this CPU supports.
    package static var best: MultiMD5Width { MultiMD5Width(rawValue: Int(multi_md5_best_width())) ?? .scalar }

    package var description: String {
        switch self {
        case .scalar: "scalar"
        case .sse2: "sse2"
        case .avx2: "avx2"
        case .avx512vl: "avx512vl"
        case .avx2x2: "avx2x2"
        case .avx512vlx2: "avx512vlx2"
        }
    }
}

/// Hashes up to `laneCount` independent byte streams with one multi-buffer MD5 kernel.
///
/// Each lane buffers up to `laneCapacity` bytes. The kernel runs when every busy
/// lane holds at least one full block, when a lane's buffer is full, on `flush()`
/// and on `finish`; lanes without a full block sit idle for that pass. For best
/// throughput feed every busy lane in turn, topping its buffered bytes up to about
/// half the capacity, so that passes rarely run with idle lanes.
package struct MultiMD5Hasher: Sendable {
    package static let blockSize = Int(MULTI_MD5_BLOCK_SIZE)
    package static let digestSize = Int(MULTI_MD5_DIGEST_SIZE)

    package let width: MultiMD5Width
    package let laneCapacity: Int
    package var laneCount: Int { width.laneCount }

    private var state = multi_md5_state()
    private var storage: [UInt8]
    private var begin: [Int]
    private var end: [Int]
    private var length: [UInt64]
    private var busy: [Bool]

    /// Creates a hasher; `laneCapacity` is rounded up to whole blocks, at least 4.
    package init(width: MultiMD5Width = .best, laneCapacity: Int = 64 * 1024) {
        let blockSize = Self.blockSize
        self.width = width
        self.laneCapacity = max(4, (laneCapacity + blockSize - 1) / blockSize) * blockSize
        let lanes = width.laneCount
        storage = [UInt8](repeating: 0, count: lanes * self.laneCapacity)
        begin = [Int](repeating: 0, count: lanes)
        end = [Int](repeating: 0, count: lanes)
        length = [UInt64](repeating: 0, count: lanes)
        busy = [Bool](repeating: false, count: lanes)
        multi_md5_init(&state)
    }

    /// Whether `lane` holds a started, unfinished message.
    package func isBusy(lane: Int) -> Bool {
        busy[lane]
    }

    /// Bytes appended to `lane` and not yet compressed.
    package func bufferedCount(lane: Int) -> Int {
        end[lane] - begin[lane]
    }

    /// Starts a new message on `lane`, discarding any message it held.
    package mutating func start(lane: Int) {
        precondition(lane >= 0 && lane < laneCount, "lane out of range")
        multi_md5_init_lane(&state, Int32(lane))
        begin[lane] = 0
        end[lane] = 0
        length[lane] = 0
        busy[lane] = true
    }

    /// Appends bytes to the message on `lane`.
    package mutating func update(lane: Int, bytes: UnsafeRawBufferPointer) {
        precondition(busy[lane], "lane \(lane) has no started message")
        var remaining = bytes
        while !remaining.isEmpty {
            makeRoom(lane: lane, atLeast: min(remaining.count, laneCapacity / 2))
            let count = min(remaining.count, laneCapacity - end[lane])
            let offset = lane * laneCapacity + end[lane]
            storage.withUnsafeMutableBytes { destination in
                destination.baseAddress!.advanced(by: offset)
                    .copyMemory(from: remaining.baseAddress!, byteCount: count)
            }
            end[lane] += count
            length[lane] += UInt64(count)
            remaining = UnsafeRawBufferPointer(rebasing: remaining[count...])
        }
        runIfAllBusyLanesReady()
    }

    /// Appends bytes to the message on `lane`.
    package mutating func update(lane: Int, bytes: some Sequence<UInt8>) {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(lane: lane, bytes: UnsafeRawBufferPointer(buffer))
        }
        if handled == nil {
            Array(bytes).withUnsafeBytes { update(lane: lane, bytes: $0) }
        }
    }

    /// Lets `body` write up to `maxCount` bytes of the message on `lane` straight
    /// into the lane's buffer (for example with `read(2)`) and returns the number
    /// of bytes it reported writing. The buffer passed may be shorter than `maxCount`.
    @discardableResult
    package mutating func fill(
        lane: Int, upTo maxCount: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) rethrows -> Int {
        precondition(busy[lane], "lane \(lane) has no started message")
        precondition(maxCount >= 0, "negative count")
        makeRoom(lane: lane, atLeast: min(maxCount, laneCapacity / 2))
        let offset = lane * laneCapacity + end[lane]
        let count = min(maxCount, laneCapacity - end[lane])
        let written = try storage.withUnsafeMutableBytes { buffer in
            try body(UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + count)]))
        }
        precondition(written >= 0 && written <= count, "fill body reported \(written) of \(count) bytes")
        end[lane] += written
        length[lane] += UInt64(written)
        runIfAllBusyLanesReady()
        return written
    }

    /// Runs the kernel until no lane holds a full block.
    package mutating func flush() {
        while compressOnce() {}
    }

    /// Finishes the message on `lane`, returns its 16-byte digest and frees the lane.
    package mutating func finish(lane: Int) -> [UInt8] {
        finish(lanes: [lane])[0]
    }

    /// Finishes the messages on several lanes in shared kernel passes and returns
    /// their digests in the order of `lanes`.
    package mutating func finish(lanes: [Int]) -> [[UInt8]] {
        precondition(lanes.count <= 1 || Set(lanes).count == lanes.count, "lanes must be distinct")
        var padding = [UInt8](repeating: 0, count: Int(MULTI_MD5_MAX_PADDING))
        for lane in lanes {
            precondition(busy[lane], "lane \(lane) has no started message")
            let paddingCount = padding.withUnsafeMutableBufferPointer { buffer in
                multi_md5_padding(length[lane], buffer.baseAddress!)
            }
            makeRoom(lane: lane, atLeast: paddingCount)
            let offset = lane * laneCapacity + end[lane]
            storage.replaceSubrange(offset..<(offset + paddingCount), with: padding[..<paddingCount])
            end[lane] += paddingCount
        }
        while lanes.contains(where: { begin[$0] != end[$0] }) {
            _ = compressOnce()
        }
        return lanes.map { lane in
            busy[lane] = false
            begin[lane] = 0
            end[lane] = 0
            length[lane] = 0
            return [UInt8](unsafeUninitializedCapacity: Self.digestSize) { digest, count in
                multi_md5_lane_digest(&state, Int32(lane), digest.baseAddress!)
                count = Self.digestSize
            }
        }
    }

    /// MD5 digests of `messages`, hashed `width.laneCount` at a time.
    package static func digests(of messages: [[UInt8]], width: MultiMD5Width = .best) -> [[UInt8]] {
        var hasher = MultiMD5Hasher(width: width)
        let target = hasher.laneCapacity / 2
        var digests = [[UInt8]](repeating: [], count: messages.count)
        var message = [Int?](repeating: nil, count: hasher.laneCount)
        var offset = [Int](repeating: 0, count: hasher.laneCount)
        var next = 0

        /// Starts the next message on an idle lane, tops the lane's buffer up to
        /// `target` and returns whether its message has been fed completely.
        func feed(_ lane: Int) -> Bool {
            if message[lane] == nil {
                guard next < messages.count else { return false }
                hasher.start(lane: lane)
                message[lane] = next
                offset[lane] = 0
                next += 1
            }
            let index = message[lane]!
            let start = offset[lane]
            let count = min(max(0, target - hasher.bufferedCount(lane: lane)), messages[index].count - start)
            messages[index].withUnsafeBytes { bytes in
                hasher.update(lane: lane, bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count)]))
            }
            offset[lane] += count
            return offset[lane] == messages[index].count
        }

        while true {
            let done = (0..<hasher.laneCount).filter(feed)
            if done.isEmpty && message.allSatisfy({ $0 == nil }) {
                return digests
            }
            // Finishing the emptiest lane first and refilling it at once keeps
            // the other lanes' final passes full.
            for lane in done.sorted(by: { hasher.bufferedCount(lane: $0) < hasher.bufferedCount(lane: $1) }) {
                digests[message[lane]!] = hasher.finish(lane: lane)
                message[lane] = nil
                _ = feed(lane)
            }
        }
    }

    private func fullBlocks(lane: Int) -> Int {
        (end[lane] - begin[lane]) / Self.blockSize
    }

    private mutating func runIfAllBusyLanesReady() {
        var anyBusy = false
        for lane in 0..<laneCount where busy[lane] {
            if fullBlocks(lane: lane) == 0 {
                return
            }
            anyBusy = true
        }
        if anyBusy {
            _ = compressOnce()
        }
    }

    /// One kernel pass over every lane holding a full block, as many blocks as
    /// the shortest of them holds. Returns false when no lane had a full block.
    private mutating func compressOnce() -> Bool {
        var blockCount = Int.max
        for lane in 0..<laneCount {
            let blocks = fullBlocks(lane: lane)
            if blocks > 0 {
                blockCount = min(blockCount, blocks)
            }
        }
        guard blockCount != Int.max else { return false }

        var laneState = state
        storage.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            withUnsafeTemporaryAllocation(
                of: UnsafePointer<UInt8>?.self, capacity: Int(MULTI_MD5_MAX_LANES)
            ) { pointers in
                pointers.initialize(repeating: nil)
                for lane in 0..<laneCount where fullBlocks(lane: lane) > 0 {
                    pointers[lane] = UnsafePointer(base + lane * laneCapacity + begin[lane])
                }
                multi_md5_blocks(&laneState, Int32(width.rawValue), pointers.baseAddress!, blockCount)
            }
        }
        state = laneState
        for lane in 0..<laneCount where fullBlocks(lane: lane) > 0 {
            begin[lane] += blockCount * Self.blockSize
        }
        return true
    }

    /// Ensures `lane` has `wanted` (at most half the capacity) free bytes at its end,
    /// compacting the buffer and running the kernel as needed.
    private mutating func makeRoom(lane: Int, atLeast wanted: Int) {
        while laneCapacity - end[lane] < wanted {
            if begin[lane] > 0 {
                let start = lane * laneCapacity
                let consumed = begin[lane]
                let pending = end[lane] - consumed
                storage.withUnsafeMutableBytes { bytes in
                    let laneBase = bytes.baseAddress!.advanced(by: start)
                    laneBase.copyMemory(from: laneBase.advanced(by: consumed), byteCount: pending)
                }
                begin[lane] = 0
                end[lane] = pending
            } else {
                _ = compressOnce()
            }
        }
    }
}
