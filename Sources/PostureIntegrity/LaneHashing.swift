import MultiMD5
import PostureModel
import PostureProbes
import Synchronization

/// Multi-buffer MD5 hashers shared by the hashing tasks, as `BufferPool` shares read buffers:
/// a verification allocates as many as run at once.
final class HasherPool: Sendable {
    let width: MultiMD5Width
    private let idle = Mutex<[MultiMD5Hasher]>([])

    init(width: MultiMD5Width) { self.width = width }

    /// The pool for this CPU's widest kernel; nil when it has no SIMD kernel, where one MD5
    /// stream per core (swift-crypto's) is faster than lanes.
    static func forThisCPU() -> HasherPool? {
        MultiMD5Width.best == .scalar ? nil : HasherPool(width: .best)
    }

    func borrow() -> MultiMD5Hasher {
        idle.withLock { $0.popLast() } ?? MultiMD5Hasher(width: width, laneCapacity: ChunkWorker.laneCapacity)
    }

    func giveBack(_ hasher: MultiMD5Hasher) {
        idle.withLock { $0.append(hasher) }
    }
}

extension ChunkWorker {
    /// Bytes each lane buffers (eight lanes: 256 KiB, the single stream's read buffer); a read fills up to half of it.
    static let laneCapacity = 1 << 15

    /// Hashes the files several at once, one per SIMD lane: each lane reads its file as the
    /// kernel consumes it, and takes the next file the moment its own ends, so short files never
    /// wait for long ones. Returns each request's index and digest (nil when unreadable).
    func hashInLanes(_ requests: [HashRequest], pool: HasherPool, into result: inout ChunkResult) -> [(Int, CachedDigest?)] {
        /// The file a lane is hashing.
        struct Lane {
            var request: Int
            var fd: Int32
            var identity: FileIdentity
        }
        var hasher = pool.borrow()
        var lanes = [Lane?](repeating: nil, count: hasher.laneCount)
        var digests: [(Int, CachedDigest?)] = []
        digests.reserveCapacity(requests.count)
        var next = 0
        let readSize = hasher.laneCapacity / 2

        func unreadable(_ request: Int) {
            result.unreadable.append(requests[request].check.path)
            digests.append((requests[request].index, nil))
        }
        /// Files opened ahead of their lane, the kernel already reading them (nil: would not open).
        var opened: [Int: (fd: Int32, status: Platform.FileStatus)?] = [:]
        func openAhead(through last: Int) {
            for request in next...min(last, requests.count - 1) where opened[request] == nil {
                guard case .success(let file) = root.openFile(requests[request].check.path) else {
                    opened[request] = .some(nil)
                    continue
                }
                Platform.prefetch(file.fd)
                opened[request] = file
            }
        }
        /// Gives `lane` the next file that opens; leaves it empty when none is left.
        func startNext(_ lane: Int) {
            lanes[lane] = nil
            while next < requests.count {
                openAhead(through: next + lanes.count + Self.lookahead)
                let request = next
                next += 1
                guard let file = opened.removeValue(forKey: request) ?? nil else {
                    unreadable(request)
                    continue
                }
                Platform.adviseSequential(file.fd)
                hasher.start(lane: lane)
                lanes[lane] = Lane(request: request, fd: file.fd, identity: file.status.identity)
                return
            }
        }

        for lane in lanes.indices { startNext(lane) }
        while lanes.contains(where: { $0 != nil }) {
            var ended: [Int] = []
            var readAny = false
            for index in lanes.indices {
                guard let lane = lanes[index] else { continue }
                let room = readSize - hasher.bufferedCount(lane: index)
                guard room > 0 else { continue }
                readAny = true
                var failed = false
                let count = hasher.fill(lane: index, upTo: room) { buffer in
                    switch Platform.readSome(lane.fd, into: buffer.baseAddress!, count: buffer.count) {
                    case .success(let count): return count
                    case .failure:
                        failed = true
                        return 0
                    }
                }
                if failed {
                    _ = hasher.finish(lane: index)
                    Platform.closeFile(lane.fd)
                    unreadable(lane.request)
                    startNext(index)
                } else if count == 0 {
                    ended.append(index)
                }
            }
            if ended.isEmpty {
                if !readAny { hasher.flush() }
                continue
            }
            for (index, bytes) in zip(ended, hasher.finish(lanes: ended)) {
                guard let lane = lanes[index] else { continue }
                if evict { Platform.evictFromCache(lane.fd) }
                Platform.closeFile(lane.fd)
                let request = requests[lane.request]
                let actual = MD5Digest(bytes: bytes)
                result.checked += 1
                digests.append((request.index, CachedDigest(settled: lane.identity, expected: request.expected, actual: actual)))
                if actual != request.expected { result.modified.append(modified(request.check)) }
                startNext(index)
            }
        }
        pool.giveBack(hasher)
        return digests
    }
}

/// The large files of a full run's chunks, hashed together: in its own chunk a large file ends up
/// alone in its hasher's lanes, one stream at a fraction of the kernel's throughput; gathered from
/// many chunks they fill every lane, the largest started first. When `flushAt` of them wait, the
/// chunk that brings the last hashes them all in its task (so the chunks held stay few, whatever
/// the system); the rest are hashed once every package is read, over every core. A chunk with
/// large files hands over its section once their digests are known.
final class LargeFiles: Sendable {
    /// Regular files of this many bytes or more wait for the others.
    static let threshold: Int64 = 1 << 20
    /// Large files waiting at most: 512 hold at most about 6.5 MiB of their chunks' checks (when
    /// each is in a chunk of its own). A flush hashes in one task: at 256, this machine's 348 large
    /// files made `integrity --full` 5% slower than hashing them all at the end over both cores.
    static let defaultFlushAt = 512

    let flushAt: Int

    init(flushAt: Int = LargeFiles.defaultFlushAt) { self.flushAt = max(flushAt, 1) }

    /// A chunk whose large files are not hashed yet.
    struct Chunk: Sendable {
        var batch: [FileCheck]
        var package: UInt64
        var sequence: Int
        /// The digests of the chunk's files not diverted, nil where a large file waits.
        var digests: [CachedDigest?]
        var requests: [ChunkWorker.HashRequest]
    }

    private let waiting = Mutex<(chunks: [Chunk], files: Int)>(([], 0))

    /// Adds a chunk; returns every chunk waiting (this one included) when `flushAt` large files
    /// wait, for the caller to hash now, else none.
    func add(_ chunk: Chunk) -> [Chunk] {
        waiting.withLock { waiting in
            waiting.chunks.append(chunk)
            waiting.files += chunk.requests.count
            guard waiting.files >= flushAt else { return [] }
            defer { waiting = ([], 0) }
            return waiting.chunks
        }
    }

    /// The chunks still waiting; call once every chunk has run.
    func take() -> [Chunk] {
        waiting.withLock { waiting in
            defer { waiting = ([], 0) }
            return waiting.chunks
        }
    }

    /// The requests shared out into `count` lists of nearly equal bytes, largest first (each to the
    /// list with the fewest bytes so far), each list in descending size. A request's index is
    /// replaced by its position in `requests`.
    static func share(_ requests: [ChunkWorker.HashRequest], into count: Int) -> [[ChunkWorker.HashRequest]] {
        var lists = [[ChunkWorker.HashRequest]](repeating: [], count: max(count, 1))
        var bytes = [Int](repeating: 0, count: lists.count)
        let ordered = requests.enumerated().sorted { ($0.element.size, $1.offset) > ($1.element.size, $0.offset) }
        for (position, request) in ordered {
            let emptiest = bytes.indices.min { bytes[$0] < bytes[$1] }!
            var request = request
            request.index = position
            lists[emptiest].append(request)
            bytes[emptiest] += request.size
        }
        return lists.filter { !$0.isEmpty }
    }
}

extension ChunkWorker {
    /// Hashes the large files still waiting once every chunk has run, in the lanes of `concurrency`
    /// tasks, and hands over their chunks' sections. What they found.
    func hashLargeFiles(concurrency: Int) async -> ChunkResult {
        guard let largeFiles, let hashers else { return ChunkResult() }
        let chunks = largeFiles.take()
        guard !chunks.isEmpty else { return ChunkResult() }
        let worker = self
        var found = ChunkResult()
        var hashed: [(Int, CachedDigest?)] = []
        await withTaskGroup(of: (ChunkResult, [(Int, CachedDigest?)]).self) { group in
            for list in LargeFiles.share(chunks.flatMap(\.requests), into: concurrency) {
                group.addTask {
                    var result = ChunkResult()
                    let digests = worker.hashInLanes(list, pool: hashers, into: &result)
                    return (result, digests)
                }
            }
            for await (result, digests) in group {
                found.merge(result)
                hashed += digests
            }
        }
        complete(chunks, hashed)
        return found
    }

    /// Hashes the large files of `chunks` in this task's lanes, largest first, and hands over their
    /// sections (a flush of `LargeFiles`). What they found.
    func hashLargeFilesNow(_ chunks: [LargeFiles.Chunk]) -> ChunkResult {
        var found = ChunkResult()
        guard let hashers, !chunks.isEmpty else { return found }
        let list = LargeFiles.share(chunks.flatMap(\.requests), into: 1).first ?? []
        complete(chunks, hashInLanes(list, pool: hashers, into: &found))
        return found
    }

    /// Puts each digest (by its position among the chunks' requests, in order) into its chunk,
    /// and hands every chunk's section to the sink.
    private func complete(_ chunks: [LargeFiles.Chunk], _ hashed: [(Int, CachedDigest?)]) {
        /// Where each request's digest goes: its chunk, and its index there.
        let owners = chunks.indices.flatMap { chunk in chunks[chunk].requests.map { (chunk, $0.index) } }
        var digests = chunks.map(\.digests)
        for (position, digest) in hashed {
            let (chunk, index) = owners[position]
            digests[chunk][index] = digest
        }
        for (chunk, digests) in zip(chunks, digests) {
            addSection(chunk.batch, package: chunk.package, sequence: chunk.sequence, digests: digests)
        }
    }
}
