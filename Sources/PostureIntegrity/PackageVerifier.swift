import Crypto
package import Foundation
package import PostureModel
package import PostureProbes
import Synchronization

/// Verifies installed package files against the package database, as `dpkg --verify` does,
/// but hashing on every core with the kernel reading ahead, and skipping files a sealed cache
/// proves unchanged.
package struct PackageVerifier: Sendable {
    /// What a verification found.
    package struct Result: Sendable {
        package var checked = 0
        /// Files whose digest came from the cache instead of being read.
        package var fromCache = 0
        package var modified: [IntegrityEvidence.ModifiedFile] = []
        package var missing: [IntegrityEvidence.MissingFile] = []
        /// Files that exist but could not be read (permission), so were not verified.
        package var unreadable: [String] = []
        package var unverifiablePackages: [String] = []
        /// Whether every file was hashed (no cache used).
        package var full = true
        /// Why the cache was not used, when it existed but was rejected.
        package var cacheNote: String?
        /// Every path the package database lists (when asked for), for finding files no package owns.
        package var owned = OwnedPaths()
    }

    package var root: ScanRoot
    /// Where the cache lives; nil disables it.
    package var stateDirectory: String?
    /// Hash everything even when the cache is valid.
    package var forceFull: Bool
    /// A full re-hash runs when the last one is older than this.
    package var fullInterval: TimeInterval
    /// Evict each file from the page cache after hashing it (cold-cache benchmarks only).
    package var evictAfterReading: Bool
    package var concurrency: Int
    /// Also return every listed path in `Result.owned`.
    package var collectOwned = false
    /// Hash several files at once in SIMD lanes when the CPU can (`MultiMD5`); off, one MD5
    /// stream per task.
    package var multiBuffer = true
    /// How many large files wait to be hashed together at most (`LargeFiles`).
    var largeFilesFlushAt = LargeFiles.defaultFlushAt
    /// The cache being read ahead of the verification (`preloadCache`); nil reads it when verifying.
    private var preloaded: Task<IntegrityCache.LoadOutcome, Never>?

    package init(
        root: ScanRoot, stateDirectory: String?, forceFull: Bool = false, fullInterval: TimeInterval = 7 * 86400,
        evictAfterReading: Bool = false, concurrency: Int = ProcessInfo.processInfo.activeProcessorCount
    ) {
        self.root = root
        self.stateDirectory = stateDirectory
        self.forceFull = forceFull
        self.fullInterval = fullInterval
        self.evictAfterReading = evictAfterReading
        self.concurrency = max(1, concurrency)
    }

    static let chunkSize = 48
    /// How many stored entries one task checks on an incremental run.
    static let storedRunSize = 2048

    /// Reads the package database of the root and verifies against it, reading the cache meanwhile.
    package func verify(now: Date = Date()) async throws(ProbeError) -> Result {
        async let loaded = cache()
        let database = try DpkgDatabase.read(root: root)
        return try await verify(database: database, loaded: await loaded, now: now)
    }

    package func verify(database: DpkgDatabase, now: Date = Date()) async throws(ProbeError) -> Result {
        try await verify(database: database, loaded: cache(), now: now)
    }

    /// Starts reading the cache and checking its seal now, in a task of its own and with the settings
    /// this verifier has now, so that the verification finds it read: a scan does this before it
    /// loads its catalogs and starts its probes.
    package mutating func preloadCache() {
        guard preloaded == nil else { return }
        let verifier = self
        preloaded = Task.detached { verifier.loadCache() }
    }

    private func cache() async -> IntegrityCache.LoadOutcome {
        if let preloaded { return await preloaded.value }
        return loadCache()
    }

    /// The cache, when it may be used at all.
    private func loadCache() -> IntegrityCache.LoadOutcome {
        guard let stateDirectory, !forceFull else { return .absent }
        return IntegrityCache.load(directory: stateDirectory, root: root)
    }

    /// One verification: which cache may be trusted (`CachePolicy`), every package scheduled
    /// (`PackageScheduler`), diverted files resolved (`DiversionResolver`), the cache written
    /// back (`CacheRewrite`).
    private func verify(database: DpkgDatabase, loaded: IntegrityCache.LoadOutcome, now: Date) async throws(ProbeError) -> Result {
        let files = try PackageFiles(root: root)
        var result = Result()
        let policy = CachePolicy(loaded: loaded, now: now, fullInterval: fullInterval, diversionsDigest: files.diversionsDigest)
        let cache = policy.cache
        result.full = cache == nil
        result.cacheNote = policy.note
        let rewrite = stateDirectory.map { CacheRewrite(directory: $0, root: root, diversionsDigest: files.diversionsDigest) }
        var sink: CacheSink?
        do throws(ProbeError) {
            sink = try rewrite?.sink(fullRunAt: cache == nil ? now : nil)
        } catch {
            result.noteCacheNotSaved(error)
        }
        let buffers = BufferPool(size: ChunkWorker.bufferSize)
        defer { buffers.release() }
        let hashers = multiBuffer ? HasherPool.forThisCPU() : nil
        let worker = ChunkWorker(
            root: root, evict: evictAfterReading, buffers: buffers, hashers: hashers, sink: sink,
            largeFiles: hashers.map { _ in LargeFiles(flushAt: largeFilesFlushAt) })
        // Listed paths become digests as tasks hand them over; no list of path strings is kept.
        // A valid cache says how many paths are listed, so their digests are allocated once.
        let listed = cache?.packages.values.reduce(0) { total, package in total + package.chunks.reduce(0) { $0 + $1.count } } ?? 0
        let owned = collectOwned ? OwnedPathsCollector(root: root, expected: listed + files.diversions.count * 2) : nil

        var scheduled = await PackageScheduler(concurrency: concurrency)
            .run(database.installed.sorted { $0.name < $1.name }, files: files, cache: cache, worker: worker, owned: owned)
        scheduled.found.merge(await worker.hashLargeFiles(concurrency: concurrency))
        let diversions = DiversionResolver(worker: worker).resolve(scheduled.diverted, hashes: scheduled.divertedHashes, cache: cache)
        scheduled.found.merge(diversions.found)
        if let error = scheduled.firstError {
            sink?.take().writer?.discard()
            throw error
        }

        let found = scheduled.found
        result.checked = found.checked
        result.fromCache = found.fromCache
        result.modified = found.modified.sorted { ($0.path, $0.package) < ($1.path, $1.package) }
        result.missing = found.missing.sorted { ($0.path, $0.package) < ($1.path, $1.package) }
        result.unreadable = found.unreadable.sorted()
        result.unverifiablePackages = scheduled.unverifiable
        if let owned {
            // Both ends of a diversion are the package system's, whichever file sits there now.
            owned.insert(contentsOf: files.diversions.flatMap { [$0.key, $0.value.to] })
            result.owned = owned.sealed()
        }
        guard let rewrite, let sections = sink?.take() else { return result }
        do throws(ProbeError) {
            try rewrite.save(sections, previous: cache, reused: scheduled.reused, diverted: diversions.section)
        } catch {
            result.noteCacheNotSaved(error)
        }
        return result
    }
}

extension PackageVerifier.Result {
    mutating func noteCacheNotSaved(_ error: ProbeError) {
        cacheNote = (cacheNote.map { $0 + "; " } ?? "") + "cache not saved: \(error)"
    }
}

/// What verifying one package found.
struct PackageOutcome: Sendable {
    var files = ChunkResult()
    var diverted: [FileCheck] = []
    var divertedHashes: [String: MD5Digest] = [:]
    var unverifiable: String?
    var error: ProbeError?
    /// The package's key when it was checked from its stored records.
    var reused: UInt64?
}

extension PackageVerifier {
    static func verify(
        package: DpkgDatabase.Package, files: PackageFiles, cache: IntegrityCache?, worker: ChunkWorker,
        concurrency: Int, owned: OwnedPathsCollector?
    ) async -> PackageOutcome {
        let key = IntegrityCache.key(package: package)
        let stanza = IntegrityCache.stanzaDigest(package)
        let list = files.infoFile(package, "list")
        let md5sums = files.infoFile(package, "md5sums")
        if let stored = cache?.packages[key], let cache, stored.stanza == stanza, stored.list == list?.identity,
            stored.md5sums == md5sums?.identity
        {
            if let outcome = await verifyStored(
                package: package.name, key: key, stored: stored, cache: cache, worker: worker,
                concurrency: concurrency, owned: owned)
            {
                return outcome
            }
        }
        var outcome = PackageOutcome()
        var chunks = 0
        do throws(ProbeError) {
            var listed = try files.checks(for: package, list: list?.path, md5sums: md5sums?.path)
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
                    owned?.insert(contentsOf: batch.map(\.path))
                    outcome.diverted += batch.filter(\.diverted)
                    if inFlight >= concurrency, let done = await group.next() {
                        outcome.files.merge(done)
                        inFlight -= 1
                    }
                    let sequence = chunks
                    chunks += 1
                    group.addTask { worker.runChunk(batch, package: key, sequence: sequence) }
                    inFlight += 1
                }
                for await done in group { outcome.files.merge(done) }
            }
        } catch {
            outcome.error = error
        }
        // Lists changed too recently to be told apart from their next change are read again next time.
        if list?.identity.isSettled() != false, md5sums?.identity.isSettled() != false {
            worker.sink?.add(
                CacheSection.package(
                    key: key, stanza: stanza, list: list?.identity, md5sums: md5sums?.identity,
                    chunks: chunks, divertedHashes: outcome.divertedHashes))
        }
        return outcome
    }

    /// Checks a package from its stored records, runs of chunks on up to `concurrency` child tasks;
    /// nil when the records do not decode.
    static func verifyStored(
        package: String, key: UInt64, stored: IntegrityCache.Package, cache: IntegrityCache,
        worker: ChunkWorker, concurrency: Int, owned: OwnedPathsCollector?
    ) async -> PackageOutcome? {
        var outcome = PackageOutcome()
        outcome.reused = key
        outcome.divertedHashes = stored.divertedHashes
        if stored.md5sums == nil { outcome.unverifiable = package }
        var runs: [ArraySlice<IntegrityCache.Chunk>] = []
        var start = 0, entries = 0
        for (index, chunk) in stored.chunks.enumerated() {
            entries += chunk.count
            if entries >= storedRunSize || index == stored.chunks.count - 1 {
                runs.append(stored.chunks[start...index])
                start = index + 1
                entries = 0
            }
        }
        var malformed = false
        func absorb(_ found: StoredOutcome) {
            malformed = malformed || found.malformed
            outcome.files.merge(found.files)
            outcome.diverted += found.diverted
            if !found.malformed {
                owned?.insert(digests: found.owned)
                owned?.insert(contentsOf: found.ownedUnresolved)
            }
        }
        if runs.count <= 1 {
            absorb(worker.verifyStored(runs.first ?? [], package: package, cache: cache, collectOwned: owned != nil))
            return malformed ? nil : outcome
        }
        await withTaskGroup(of: StoredOutcome.self) { group in
            var inFlight = 0
            for run in runs {
                if inFlight >= concurrency, let done = await group.next() {
                    absorb(done)
                    inFlight -= 1
                }
                group.addTask { worker.verifyStored(run, package: package, cache: cache, collectOwned: owned != nil) }
                inFlight += 1
            }
            for await done in group { absorb(done) }
        }
        return malformed ? nil : outcome
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

/// Where the tasks put the cache sections they produce: straight into the new cache file on a
/// full run; on an incremental one, kept (with replacements for stored chunks that changed) until
/// the end, when the cache is rewritten only if anything changed.
final class CacheSink: Sendable {
    /// What the tasks handed over.
    struct Sections {
        var writer: IntegrityCacheWriter?
        var pending: [[UInt8]] = []
        /// New bytes for stored chunk sections, by where the old section starts.
        var replaced: [Int: [UInt8]] = [:]

        var changed: Bool { !pending.isEmpty || !replaced.isEmpty }
    }

    private let sections: Mutex<Sections>

    init(writer: IntegrityCacheWriter?) { sections = Mutex(Sections(writer: writer)) }

    func add(_ section: [UInt8]) {
        sections.withLock { sections in
            if sections.writer != nil { sections.writer!.add(section) } else { sections.pending.append(section) }
        }
    }

    func replace(_ old: Int, with section: [UInt8]) {
        sections.withLock { $0.replaced[old] = section }
    }

    /// What was handed over; call once every task has ended.
    func take() -> Sections {
        sections.withLock { sections in
            defer { sections = Sections() }
            return sections
        }
    }
}

/// Read buffers shared by the hashing tasks: each task borrows one and gives it back, so a
/// verification allocates as many buffers as run at once, not one per chunk.
final class BufferPool: Sendable {
    /// Buffers by address, so the pool's state is plain integers.
    private struct Buffers {
        var free: [UInt] = []
        var all: [UInt] = []
    }
    private let size: Int
    private let buffers = Mutex(Buffers())

    init(size: Int) { self.size = size }

    func borrow() -> UnsafeMutableRawPointer {
        let address = buffers.withLock { buffers -> UInt in
            if let address = buffers.free.popLast() { return address }
            let address = UInt(bitPattern: UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64))
            buffers.all.append(address)
            return address
        }
        return UnsafeMutableRawPointer(bitPattern: address)!
    }

    func giveBack(_ buffer: UnsafeMutableRawPointer) {
        buffers.withLock { $0.free.append(UInt(bitPattern: buffer)) }
    }

    /// Frees every buffer; call once no task uses them.
    func release() {
        buffers.withLock { buffers in
            for address in buffers.all { UnsafeMutableRawPointer(bitPattern: address)!.deallocate() }
            buffers = Buffers()
        }
    }
}

/// What checking a run of stored chunks found.
struct StoredOutcome: Sendable {
    var files = ChunkResult()
    var diverted: [FileCheck] = []
    /// Digests of the run's listed paths (at most `storedRunSize`) with their directories in
    /// canonical form, sorted, handed to the collector when the run decoded.
    var owned: [OwnedPaths.Digest] = []
    /// Listed paths whose directory could not be opened, to resolve as listed.
    var ownedUnresolved: [String] = []
    /// The stored entries did not decode: the package must be verified from its lists.
    var malformed = false
}

/// The entries of a run of stored chunks read into one buffer, decoded one at a time.
struct StoredEntries {
    struct Chunk {
        var bytes: Range<Int>
        var count: Int
    }

    let raw: UnsafeRawBufferPointer
    let chunks: [Chunk]
    private var chunk = -1
    private var offset = 0
    private var remaining = 0
    /// An entry did not decode, or a chunk's entries did not fill it exactly.
    private(set) var malformed = false

    init(raw: UnsafeRawBufferPointer, chunks: [Chunk]) {
        self.raw = raw
        self.chunks = chunks
    }

    /// The next entry and the number of its chunk in the run.
    mutating func next() -> (CacheEntry, Int)? {
        guard chunk < chunks.count else { return nil }
        while remaining == 0 {
            if chunk >= 0, offset != chunks[chunk].bytes.upperBound { malformed = true }
            chunk += 1
            guard !malformed, chunk < chunks.count else { return nil }
            offset = chunks[chunk].bytes.lowerBound
            remaining = chunks[chunk].count
        }
        guard let entry = CacheEntry.decode(raw, at: &offset, end: chunks[chunk].bytes.upperBound) else {
            malformed = true
            remaining = 0
            chunk = chunks.count
            return nil
        }
        remaining -= 1
        return (entry, chunk)
    }
}

/// Checks files: existence first (as `dpkg --verify` does for every listed path), then the MD5
/// of those that need hashing, with the next files already being read ahead.
struct ChunkWorker: Sendable {
    let root: ScanRoot
    let evict: Bool
    let buffers: BufferPool
    /// Multi-buffer hashers, when this CPU has a SIMD kernel.
    let hashers: HasherPool?
    let sink: CacheSink?
    /// Where a chunk leaves its large files for `hashLargeFiles`; nil hashes them in the chunk.
    var largeFiles: LargeFiles?
    static let bufferSize = 1 << 18
    static let lookahead = 16

    /// Checks a batch read from a package's lists and hands its chunk section to the sink, or,
    /// when it has large files, leaves both to `hashLargeFiles`.
    func runChunk(_ batch: [FileCheck], package: UInt64, sequence: Int) -> ChunkResult {
        let plain = batch.filter { !$0.diverted }
        let (result, digests, large) = run(plain, deferringLarge: largeFiles != nil)
        if let largeFiles, !large.isEmpty {
            var result = result
            let due = largeFiles.add(LargeFiles.Chunk(batch: batch, package: package, sequence: sequence, digests: digests, requests: large))
            result.merge(hashLargeFilesNow(due))
            return result
        }
        addSection(batch, package: package, sequence: sequence, digests: digests)
        return result
    }

    /// Hands a chunk's section to the sink: each file's path and flags, with the digest of each
    /// file not diverted (`digests`, in the order of those files).
    func addSection(_ batch: [FileCheck], package: UInt64, sequence: Int, digests: [CachedDigest?]) {
        guard let sink else { return }
        var section = CacheSection.chunkHeader(package: package, sequence: sequence, count: batch.count)
        var next = 0
        for check in batch {
            var digest: CachedDigest?
            if !check.diverted {
                digest = digests[next]
                next += 1
            }
            CacheEntry.encode(
                into: &section, path: check.path, conffile: check.conffile, diverted: check.diverted,
                expected: check.diverted ? nil : check.expected, digest: digest)
        }
        CacheSection.finish(&section)
        sink.add(section)
    }

    /// Checks files; a check's `previous` digest is used when the file is provably unchanged.
    /// Returns, per check, the digest to record (nil when not hashed).
    func run(_ checks: [FileCheck]) -> (ChunkResult, [CachedDigest?]) {
        let (result, digests, _) = run(checks, deferringLarge: false)
        return (result, digests)
    }

    /// `run`, leaving unhashed (`deferringLarge`) the regular files of `LargeFiles.threshold`
    /// bytes or more, which it returns.
    func run(_ checks: [FileCheck], deferringLarge: Bool) -> (ChunkResult, [CachedDigest?], [HashRequest]) {
        var result = ChunkResult()
        var digests = [CachedDigest?](repeating: nil, count: checks.count)
        var toHash: [HashRequest] = []
        var large: [HashRequest] = []
        var directories = DirectoryStack(root: root)
        defer { directories.close() }
        for (index, check) in checks.enumerated() {
            var path = check.path
            let outcome: Result<Platform.FileStatus, FileError>? = path.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { bytes -> Result<Platform.FileStatus, FileError>? in
                    // A directory listed before its contents is proven to exist by opening it for them.
                    if check.expected == nil, index + 1 < checks.count {
                        let isParent = checks[index + 1].path.utf8.starts(with: utf8) && checks[index + 1].path.utf8.dropFirst(utf8.count).first == 0x2F
                        if isParent, directories.isDirectory(bytes.baseAddress!, bytes.count) { return nil }
                    }
                    return directories.lstat(bytes.baseAddress!, bytes.count)
                }
            }
            guard let outcome else { continue }
            let status: Platform.FileStatus
            switch outcome {
            case .success(let found): status = found
            case .failure(let error):
                record(error, check, into: &result)
                continue
            }
            guard !status.isDirectory, let expected = check.expected else { continue }
            if let previous = check.previous, previous.expected == expected {
                let target = status.isSymlink ? followed(check.path, &directories) : status
                if let target, target.identity == previous.identity {
                    result.checked += 1
                    result.fromCache += 1
                    digests[index] = previous
                    if previous.actual != expected { result.modified.append(modified(check)) }
                    continue
                }
            }
            let request = HashRequest(index: index, check: check, expected: expected, size: Int(status.size))
            if deferringLarge, status.isRegular, status.size >= LargeFiles.threshold {
                large.append(request)
            } else {
                toHash.append(request)
            }
        }
        for (index, digest) in hash(toHash, into: &result) { digests[index] = digest }
        return (result, digests, large)
    }

    /// Checks a run of a package's stored chunks, in `.list` order. A chunk with files that changed
    /// gets a replacement section with their new digests.
    func verifyStored(
        _ chunks: ArraySlice<IntegrityCache.Chunk>, package: String, cache: IntegrityCache,
        collectOwned: Bool
    ) -> StoredOutcome {
        var outcome = StoredOutcome()
        // The run's chunks are read into one buffer (a few hundred kilobytes) and decoded in place.
        var buffer: [UInt8] = []
        var layout: [StoredEntries.Chunk] = []
        for chunk in chunks {
            let start = buffer.count
            guard cache.file.append(chunk.entries, to: &buffer) else {
                outcome.malformed = true
                return outcome
            }
            layout.append(.init(bytes: start..<buffer.count, count: chunk.count))
        }
        var toHash: [HashRequest] = []
        var chunkOf: [Int: Int] = [:]
        var directories = DirectoryStack(root: root)
        defer { directories.close() }
        buffer.withUnsafeBytes { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            var stored = StoredEntries(raw: raw, chunks: layout)
            var upcoming = stored.next()
            var index = 0
            while let (entry, chunk) = upcoming {
                upcoming = stored.next()
                defer { index += 1 }
                let path = base + entry.path.lowerBound
                let length = entry.path.count
                let conffile = entry.flags.contains(.conffile)
                if collectOwned {
                    if let digest = directories.canonicalDigest(path, length) {
                        outcome.owned.append(digest)
                    } else {
                        outcome.ownedUnresolved.append(entry.pathString(raw))
                    }
                }
                if entry.flags.contains(.diverted) {
                    outcome.diverted.append(
                        FileCheck(
                            path: entry.pathString(raw), package: package, expected: nil,
                            conffile: conffile, diverted: true))
                    continue
                }
                // A directory listed before its contents is proven to exist by opening it for them.
                if entry.expected == nil, let next = upcoming?.0.path,
                    DirectoryStack.contains(path, length, base + next.lowerBound, next.count), directories.isDirectory(path, length)
                {
                    continue
                }
                let status: Platform.FileStatus
                switch directories.lstat(path, length) {
                case .success(let found): status = found
                case .failure(let error):
                    record(
                        error, FileCheck(path: entry.pathString(raw), package: package, expected: nil, conffile: conffile),
                        into: &outcome.files)
                    continue
                }
                guard !status.isDirectory, let expected = entry.expected else { continue }
                if let digest = entry.digest {
                    let target: Platform.FileStatus?
                    if status.isSymlink, case .success(let followed) = directories.stat(path, length) { target = followed } else { target = status }
                    if target?.identity == digest.identity {
                        outcome.files.checked += 1
                        outcome.files.fromCache += 1
                        if digest.actual != expected {
                            outcome.files.modified.append(
                                .init(
                                    path: entry.pathString(raw), package: package,
                                    kind: conffile ? "conffile" : "file"))
                        }
                        continue
                    }
                }
                chunkOf[index] = chunk
                toHash.append(
                    HashRequest(
                        index: index,
                        check: FileCheck(
                            path: entry.pathString(raw), package: package,
                            expected: expected, conffile: conffile), expected: expected, size: Int(status.size)))
            }
            if stored.malformed { outcome.malformed = true }
        }
        outcome.owned.sort()
        guard !toHash.isEmpty, !outcome.malformed else { return outcome }
        var rehashed: [Int: CachedDigest?] = [:]
        for (index, digest) in hash(toHash, into: &outcome.files) { rehashed[index] = .some(digest) }
        guard let sink else { return outcome }
        // Each chunk that had a file re-hashed is written anew; its other entries are copied.
        buffer.withUnsafeBytes { raw in
            let affected = Set(chunkOf.values)
            var stored = StoredEntries(raw: raw, chunks: layout)
            var sections: [Int: [UInt8]] = [:]
            var index = 0
            while let (entry, number) = stored.next() {
                defer { index += 1 }
                guard affected.contains(number) else { continue }
                let chunk = chunks[chunks.startIndex + number]
                if sections[number] == nil {
                    sections[number] = CacheSection.chunkHeader(package: chunk.package, sequence: chunk.sequence, count: chunk.count)
                }
                if let digest = rehashed[index] {
                    CacheEntry.encode(
                        into: &sections[number]!, path: entry.pathString(raw), conffile: entry.flags.contains(.conffile),
                        diverted: false, expected: entry.expected, digest: digest)
                } else {
                    sections[number]! += raw[entry.range]
                }
            }
            for (number, var section) in sections {
                CacheSection.finish(&section)
                sink.replace(chunks[chunks.startIndex + number].section.lowerBound, with: section)
            }
        }
        return outcome
    }

    private func record(_ error: FileError, _ check: FileCheck, into result: inout ChunkResult) {
        if error.isNotFound {
            result.missing.append(.init(path: check.path, package: check.package, kind: check.conffile ? "conffile" : "file"))
        } else {
            result.unreadable.append(check.path)
        }
    }

    private func followed(_ path: String, _ directories: inout DirectoryStack) -> Platform.FileStatus? {
        var path = path
        return path.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { bytes in
                if case .success(let status) = directories.stat(bytes.baseAddress!, bytes.count) { return status }
                return nil
            }
        }
    }

    /// A file to hash: which check it is (an index the caller chose) and the MD5 it should have.
    struct HashRequest: Sendable {
        var index: Int
        var check: FileCheck
        var expected: MD5Digest
        /// The size found before hashing, to share large files out evenly.
        var size: Int
    }

    /// Hashes the files, several reads in flight; returns each request's index and digest (nil when unreadable).
    private func hash(_ requests: [HashRequest], into result: inout ChunkResult) -> [(Int, CachedDigest?)] {
        guard !requests.isEmpty else { return [] }
        if requests.count > 1, let hashers { return hashInLanes(requests, pool: hashers, into: &result) }
        var digests: [(Int, CachedDigest?)] = []
        digests.reserveCapacity(requests.count)
        let buffer = buffers.borrow()
        defer { buffers.giveBack(buffer) }
        var opened: [Int: (fd: Int32, status: Platform.FileStatus)] = [:]
        func open(_ index: Int) -> (fd: Int32, status: Platform.FileStatus)? {
            if let file = opened[index] { return file }
            guard case .success(let file) = root.openFile(requests[index].check.path) else { return nil }
            Platform.prefetch(file.fd)
            opened[index] = file
            return file
        }
        for index in requests.indices {
            for ahead in (index + 1)..<min(index + 1 + Self.lookahead, requests.count) where opened[ahead] == nil {
                _ = open(ahead)
            }
            let request = requests[index]
            guard let (fd, before) = open(index) else {
                result.unreadable.append(request.check.path)
                digests.append((request.index, nil))
                continue
            }
            defer {
                Platform.closeFile(fd)
                opened[index] = nil
            }
            Platform.adviseSequential(fd)
            guard let actual = md5(fd, buffer) else {
                result.unreadable.append(request.check.path)
                digests.append((request.index, nil))
                continue
            }
            if evict { Platform.evictFromCache(fd) }
            result.checked += 1
            digests.append((request.index, CachedDigest(settled: before.identity, expected: request.expected, actual: actual)))
            if actual != request.expected { result.modified.append(modified(request.check)) }
        }
        for file in opened.values { Platform.closeFile(file.fd) }
        return digests
    }

    func modified(_ check: FileCheck) -> IntegrityEvidence.ModifiedFile {
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
