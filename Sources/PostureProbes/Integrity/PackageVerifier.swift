import Crypto
import Foundation
import PostureModel

/// Verifies installed package files against the package database, as `dpkg --verify` does,
/// but hashing on every core with the kernel reading ahead, and skipping files a sealed cache
/// proves unchanged.
public struct PackageVerifier: Sendable {
    /// What a verification found.
    public struct Result: Sendable {
        public var checked = 0
        /// Files whose digest came from the cache instead of being read.
        public var fromCache = 0
        public var modified: [IntegrityEvidence.ModifiedFile] = []
        public var missing: [IntegrityEvidence.MissingFile] = []
        /// Files that exist but could not be read (permission), so were not verified.
        public var unreadable: [String] = []
        public var unverifiablePackages: [String] = []
        /// Whether every file was hashed (no cache used).
        public var full = true
        /// Why the cache was not used, when it existed but was rejected.
        public var cacheNote: String?
        /// Every path the package database lists (when asked for), for finding files no package owns.
        public var owned: Set<String> = []
    }

    public var root: ScanRoot
    /// Where the cache lives; nil disables it.
    public var stateDirectory: String?
    /// Hash everything even when the cache is valid.
    public var forceFull: Bool
    /// A full re-hash runs when the last one is older than this.
    public var fullInterval: TimeInterval
    /// Evict each file from the page cache after hashing it (cold-cache benchmarks only).
    public var evictAfterReading: Bool
    public var concurrency: Int
    /// Also return every listed path in `Result.owned`.
    public var collectOwned = false

    public init(root: ScanRoot, stateDirectory: String?, forceFull: Bool = false, fullInterval: TimeInterval = 7 * 86400,
                evictAfterReading: Bool = false, concurrency: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.root = root
        self.stateDirectory = stateDirectory
        self.forceFull = forceFull
        self.fullInterval = fullInterval
        self.evictAfterReading = evictAfterReading
        self.concurrency = max(1, concurrency)
    }

    static let chunkSize = 48

    public func verify(database: DpkgDatabase, now: Date = Date()) async throws(ProbeError) -> Result {
        let files = try PackageFiles(root: root)
        var result = Result()
        var previous: IntegrityCache?
        if let stateDirectory, !forceFull {
            switch IntegrityCache.load(directory: stateDirectory) {
            case .loaded(let cache):
                if now.timeIntervalSince(cache.lastFullRun) < fullInterval { previous = cache }
            case .absent: break
            case .rejected(let why): result.cacheNote = "integrity cache discarded, everything re-hashed: \(why)"
            }
        }
        result.full = previous == nil
        let cache = previous

        var diverted: [FileCheck] = []
        var divertedHashes: [String: MD5Digest] = [:]
        // A full run streams every digest into a new cache; an incremental run keeps only the
        // files it had to hash and merges them into the old cache at the end.
        var sink: CacheSink?
        if let stateDirectory {
            if cache == nil {
                do throws(ProbeError) {
                    sink = CacheSink(writer: try IntegrityCacheWriter(directory: stateDirectory, lastFullRun: now))
                } catch {
                    result.cacheNote = (result.cacheNote.map { $0 + "; " } ?? "") + "cache not saved: \(error)"
                }
            } else {
                sink = CacheSink(writer: nil)
            }
        }
        let buffers = BufferPool(size: ChunkWorker.bufferSize)
        defer { buffers.release() }
        let packages = database.installed.sorted { $0.name < $1.name }
        var firstError: ProbeError?

        // Each package is a task: it reads its own file list and hashes its files in chunks (a
        // large package fans out into child tasks). At most `concurrency * 2` packages are in
        // flight, so memory follows the work in progress, not the number of files.
        let worker = ChunkWorker(root: root, cache: cache, evict: evictAfterReading, buffers: buffers, sink: sink)
        let chunkSize = Self.chunkSize
        let concurrency = self.concurrency
        let collectOwned = self.collectOwned
        func absorb(_ chunk: ChunkResult) {
            result.checked += chunk.checked
            result.fromCache += chunk.fromCache
            result.modified += chunk.modified
            result.missing += chunk.missing
            result.unreadable += chunk.unreadable
        }
        await withTaskGroup(of: PackageOutcome.self) { group in
            var inFlight = 0
            func collect(_ outcome: PackageOutcome) {
                absorb(outcome.files)
                diverted += outcome.diverted
                divertedHashes.merge(outcome.divertedHashes) { first, _ in first }
                if let package = outcome.unverifiable { result.unverifiablePackages.append(package) }
                result.owned.formUnion(outcome.owned)
                if let error = outcome.error, firstError == nil { firstError = error }
            }
            for package in packages {
                if inFlight >= concurrency * 2, let done = await group.next() {
                    collect(done)
                    inFlight -= 1
                }
                group.addTask {
                    await Self.verify(package: package, files: files, worker: worker, chunkSize: chunkSize,
                                      concurrency: concurrency, collectOwned: collectOwned)
                }
                inFlight += 1
            }
            for await outcome in group { collect(outcome) }
        }
        // Diverted files are compared with whatever package lists the diverted-to path.
        if !diverted.isEmpty {
            let resolved = diverted.map { check -> FileCheck in
                var check = check
                check.expected = divertedHashes[check.path]
                return check
            }
            absorb(worker.run(resolved))
        }
        var writer = sink?.writer
        let rehashed = sink?.rehashed ?? [:]
        if let firstError {
            writer?.discard()
            throw firstError
        }

        result.modified.sort { ($0.path, $0.package) < ($1.path, $1.package) }
        result.missing.sort { ($0.path, $0.package) < ($1.path, $1.package) }
        result.unreadable.sort()
        if let stateDirectory, let cache, !rehashed.isEmpty {
            do throws(ProbeError) {
                var merged = try IntegrityCacheWriter(directory: stateDirectory, lastFullRun: cache.lastFullRun)
                cache.forEachRecord { key, record in
                    if rehashed[key] == nil { merged.add(raw: record) }
                }
                for (key, entry) in rehashed {
                    merged.add(key: key, identity: entry.identity, expected: entry.expected, actual: entry.actual)
                }
                writer = merged
            } catch {
                result.cacheNote = (result.cacheNote.map { $0 + "; " } ?? "") + "cache not saved: \(error)"
            }
        }
        if writer != nil {
            do throws(ProbeError) {
                try writer!.finish()
            } catch {
                result.cacheNote = (result.cacheNote.map { $0 + "; " } ?? "") + "cache not saved: \(error)"
            }
        }
        return result
    }
}

/// What verifying one package found.
struct PackageOutcome: Sendable {
    var files = ChunkResult()
    var diverted: [FileCheck] = []
    var divertedHashes: [String: MD5Digest] = [:]
    var unverifiable: String?
    var error: ProbeError?
    var owned: [String] = []
}

extension PackageVerifier {
    static func verify(package: DpkgDatabase.Package, files: PackageFiles, worker: ChunkWorker, chunkSize: Int,
                       concurrency: Int, collectOwned: Bool) async -> PackageOutcome {
        var outcome = PackageOutcome()
        do throws(ProbeError) {
            var listed = try files.checks(for: package)
            if !listed.hasMD5sums { outcome.unverifiable = package.name }
            outcome.divertedHashes = listed.divertedHashes
            // Batches are hashed as they are read; a large package fans out over `concurrency` child tasks.
            await withTaskGroup(of: ChunkResult.self) { group in
                var inFlight = 0
                while true {
                    let batch: [FileCheck]
                    do throws(ProbeError) {
                        batch = try listed.next(chunkSize)
                    } catch {
                        outcome.error = error
                        break
                    }
                    if batch.isEmpty { break }
                    if collectOwned { outcome.owned += batch.map(\.path) }
                    var plain = batch
                    if batch.contains(where: \.diverted) {
                        outcome.diverted += batch.filter(\.diverted)
                        plain.removeAll(where: \.diverted)
                    }
                    guard !plain.isEmpty else { continue }
                    if inFlight >= concurrency, let done = await group.next() {
                        outcome.files.merge(done)
                        inFlight -= 1
                    }
                    group.addTask { worker.run(plain) }
                    inFlight += 1
                }
                for await done in group { outcome.files.merge(done) }
            }
        } catch {
            outcome.error = error
        }
        return outcome
    }
}

/// Open directories for `fstatat`, so checking 100,000 files does not walk every full path in
/// the kernel. Only the live root uses them; an image root resolves each path inside the root.
struct DirectoryHandles {
    let root: ScanRoot
    private var current: (path: Substring, fd: Int32)?

    init(root: ScanRoot) { self.root = root }

    mutating func lstat(_ path: String) -> Result<Platform.FileStatus, FileError> {
        guard root.isLive, let slash = path.utf8.lastIndex(of: 0x2F), slash != path.startIndex else {
            guard let host = root.hostPath(path) else { return .failure(FileError(code: ELOOP)) }
            return Platform.lstatus(host).map { .success($0) } ?? .failure(FileError(code: errno))
        }
        let directory = path[..<slash]
        if current?.path != directory {
            close()
            switch Platform.openDirectory(String(directory)) {
            case .success(let fd): current = (directory, fd)
            case .failure(let error): return .failure(error)
            }
        }
        return Platform.statAt(current!.fd, String(path.utf8[path.utf8.index(after: slash)...])!)
    }

    mutating func close() {
        if let current { Platform.closeFile(current.fd) }
        current = nil
    }
}

/// What one hashing task found.
struct ChunkResult: Sendable {
    var checked = 0
    var fromCache = 0
    var modified: [IntegrityEvidence.ModifiedFile] = []
    var missing: [IntegrityEvidence.MissingFile] = []
    var unreadable: [String] = []

    mutating func merge(_ other: ChunkResult) {
        checked += other.checked
        fromCache += other.fromCache
        modified += other.modified
        missing += other.missing
        unreadable += other.unreadable
    }
}

/// Where hashing tasks put the digests they computed: straight into the new cache file on a
/// full run, or into a small table of re-hashed files on an incremental one.
final class CacheSink: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var writer: IntegrityCacheWriter?
    private(set) var rehashed: [UInt64: (identity: FileIdentity, expected: MD5Digest, actual: MD5Digest)] = [:]

    init(writer: IntegrityCacheWriter?) { self.writer = writer }

    func add(_ entries: [(key: UInt64, identity: FileIdentity, expected: MD5Digest, actual: MD5Digest)]) {
        guard !entries.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        for entry in entries {
            if writer != nil {
                writer!.add(key: entry.key, identity: entry.identity, expected: entry.expected, actual: entry.actual)
            } else {
                rehashed[entry.key] = (entry.identity, entry.expected, entry.actual)
            }
        }
    }
}

/// Read buffers shared by the hashing tasks: each task borrows one and gives it back, so a
/// verification allocates as many buffers as run at once, not one per chunk.
final class BufferPool: @unchecked Sendable {
    private let size: Int
    private let lock = NSLock()
    private var free: [UnsafeMutableRawPointer] = []
    private var all: [UnsafeMutableRawPointer] = []

    init(size: Int) { self.size = size }

    func borrow() -> UnsafeMutableRawPointer {
        lock.lock()
        defer { lock.unlock() }
        if let buffer = free.popLast() { return buffer }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        all.append(buffer)
        return buffer
    }

    func giveBack(_ buffer: UnsafeMutableRawPointer) {
        lock.lock()
        free.append(buffer)
        lock.unlock()
    }

    /// Frees every buffer; call once no task uses them.
    func release() {
        lock.lock()
        defer { lock.unlock() }
        for buffer in all { buffer.deallocate() }
        all.removeAll()
        free.removeAll()
    }
}

/// Checks a chunk of files: existence first (as `dpkg --verify` does for every listed path),
/// then the MD5 of those that need hashing, with the next files already being read ahead.
struct ChunkWorker: Sendable {
    let root: ScanRoot
    let cache: IntegrityCache?
    let evict: Bool
    let buffers: BufferPool
    let sink: CacheSink?
    static let bufferSize = 1 << 18
    static let lookahead = 16

    func run(_ checks: [FileCheck]) -> ChunkResult {
        var result = ChunkResult()
        var toHash: [(check: FileCheck, host: String, expected: MD5Digest)] = []
        var directories = DirectoryHandles(root: root)
        defer { directories.close() }
        for check in checks {
            let status: Platform.FileStatus
            switch directories.lstat(check.path) {
            case .success(let found): status = found
            case .failure(let error):
                if error.isNotFound {
                    result.missing.append(.init(path: check.path, package: check.package, kind: check.conffile ? "conffile" : "file"))
                } else {
                    result.unreadable.append(check.path)
                }
                continue
            }
            guard !status.isDirectory, let expected = check.expected else { continue }
            guard let host = root.hostPath(check.path) else {
                result.unreadable.append(check.path)
                continue
            }
            if let cache {
                let target = status.isSymlink ? Platform.status(host) : status
                if let target, let actual = cache.digest(key: check.key, identity: target.identity, expected: expected) {
                    result.checked += 1
                    result.fromCache += 1
                    if actual != expected { result.modified.append(modified(check)) }
                    continue
                }
            }
            toHash.append((check, host, expected))
        }
        guard !toHash.isEmpty else { return result }
        var digests: [(key: UInt64, identity: FileIdentity, expected: MD5Digest, actual: MD5Digest)] = []
        defer { sink?.add(digests) }

        let buffer = buffers.borrow()
        defer { buffers.giveBack(buffer) }
        var opened: [Int: Int32] = [:]
        func open(_ index: Int) -> Int32? {
            if let fd = opened[index] { return fd }
            guard case .success(let fd) = Platform.openForReading(toHash[index].host) else { return nil }
            Platform.prefetch(fd)
            opened[index] = fd
            return fd
        }
        for index in toHash.indices {
            for ahead in (index + 1)..<min(index + 1 + Self.lookahead, toHash.count) where opened[ahead] == nil {
                _ = open(ahead)
            }
            let item = toHash[index]
            guard let fd = open(index) else {
                result.unreadable.append(item.check.path)
                continue
            }
            defer {
                Platform.closeFile(fd)
                opened[index] = nil
            }
            Platform.adviseSequential(fd)
            guard let before = Platform.status(fd: fd), let actual = md5(fd, buffer) else {
                result.unreadable.append(item.check.path)
                continue
            }
            if evict { Platform.evictFromCache(fd) }
            result.checked += 1
            if sink != nil { digests.append((item.check.key, before.identity, item.expected, actual)) }
            if actual != item.expected { result.modified.append(modified(item.check)) }
        }
        for fd in opened.values { Platform.closeFile(fd) }
        return result
    }

    private func modified(_ check: FileCheck) -> IntegrityEvidence.ModifiedFile {
        .init(path: check.path, package: check.package, kind: check.conffile ? "conffile" : "file")
    }

    private func md5(_ fd: Int32, _ buffer: UnsafeMutableRawPointer) -> MD5Digest? {
        var hasher = Insecure.MD5()
        while true {
            switch Platform.readSome(fd, into: buffer, count: Self.bufferSize) {
            case .failure: return nil
            case .success(0): return MD5Digest(bytes: hasher.finalize())
            case .success(let n): hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: n))
            }
        }
    }
}
