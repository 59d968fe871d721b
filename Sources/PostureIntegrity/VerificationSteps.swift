import Foundation
import PostureModel
import PostureProbes

/// Whether the sealed cache of the last run may stand in for reading files: not when a full
/// re-hash is due, when the diversions changed what every package's paths mean, or when the
/// cache was rejected (the reason goes into the result).
struct CachePolicy {
    var cache: IntegrityCache?
    var note: String?

    init(loaded: IntegrityCache.LoadOutcome, now: Date, fullInterval: TimeInterval, diversionsDigest: [UInt8]) {
        switch loaded {
        case .loaded(let cache):
            if now.timeIntervalSince(cache.lastFullRun) < fullInterval, cache.diversionsDigest == diversionsDigest {
                self.cache = cache
            }
        case .absent: break
        case .rejected(let why): note = "integrity cache discarded, everything re-hashed: \(why)"
        }
    }
}

/// Every installed package as a task, at most `concurrency * 2` in flight, so memory follows
/// the work in progress, not the number of files. Each task checks its stored records, or
/// reads its own file list and hashes in chunks (a large package fans out into child tasks).
struct PackageScheduler {
    var concurrency: Int

    /// What the packages' tasks found, merged.
    struct Outcome {
        var found = ChunkResult()
        /// Files whose path is diverted: compared once every package's sums are known.
        var diverted: [FileCheck] = []
        var divertedHashes: [String: MD5Digest] = [:]
        var unverifiable: [String] = []
        /// Packages checked from their stored records, whose cache sections are kept.
        var reused = Set<UInt64>()
        var firstError: ProbeError?
    }

    func run(
        _ packages: [DpkgDatabase.Package], files: PackageFiles, cache: IntegrityCache?, worker: ChunkWorker,
        owned: OwnedPathsCollector?
    ) async -> Outcome {
        let concurrency = self.concurrency
        return await withTaskGroup(of: PackageOutcome.self) { group in
            var outcome = Outcome()
            func collect(_ package: PackageOutcome) {
                outcome.found.merge(package.files)
                outcome.diverted += package.diverted
                outcome.divertedHashes.merge(package.divertedHashes) { first, _ in first }
                if let name = package.unverifiable { outcome.unverifiable.append(name) }
                if let key = package.reused { outcome.reused.insert(key) }
                if let error = package.error, outcome.firstError == nil { outcome.firstError = error }
            }
            var inFlight = 0
            for package in packages {
                if inFlight >= concurrency * 2, let done = await group.next() {
                    collect(done)
                    inFlight -= 1
                }
                group.addTask {
                    await PackageVerifier.verify(
                        package: package, files: files, cache: cache, worker: worker, concurrency: concurrency, owned: owned)
                }
                inFlight += 1
            }
            for await done in group { collect(done) }
            return outcome
        }
    }
}

/// Diverted files are compared with whatever package lists the diverted-to path, once every
/// package's sums are known; their digests form the cache's diverted section.
struct DiversionResolver {
    var worker: ChunkWorker

    func resolve(_ diverted: [FileCheck], hashes: [String: MD5Digest], cache: IntegrityCache?) -> (found: ChunkResult, section: [UInt8]) {
        var section = CacheSection.start(.diverted)
        var found = ChunkResult()
        let resolved = diverted.sorted { ($0.path, $0.package) < ($1.path, $1.package) }.map { check -> FileCheck in
            var check = check
            check.expected = hashes[check.path]
            check.previous = cache?.diverted[check.path]
            return check
        }
        if !resolved.isEmpty {
            let (checked, digests) = worker.run(resolved)
            found = checked
            section.appendLE(UInt32(truncatingIfNeeded: resolved.count))
            for (check, digest) in zip(resolved, digests) {
                CacheEntry.encode(
                    into: &section, path: check.path, conffile: check.conffile, diverted: true, expected: check.expected, digest: digest)
            }
        } else {
            section.appendLE(UInt32(0))
        }
        CacheSection.finish(&section)
        return (found, section)
    }
}

/// Writes the cache back: a full run streams every section into a new file as it goes; an
/// incremental run keeps what changed and rewrites the file at the end only if anything did,
/// unchanged packages keeping their sections in the order they had.
struct CacheRewrite {
    var directory: String
    var root: ScanRoot
    var diversionsDigest: [UInt8]

    /// Where the tasks put their sections: straight into a new cache file when `fullRunAt` is
    /// given (a full run), else kept until `save`.
    func sink(fullRunAt: Date?) throws(ProbeError) -> CacheSink {
        guard let fullRunAt else { return CacheSink(writer: nil) }
        return CacheSink(
            writer: try IntegrityCacheWriter(directory: directory, root: root, lastFullRun: fullRunAt, diversionsDigest: diversionsDigest))
    }

    func save(_ sections: CacheSink.Sections, previous cache: IntegrityCache?, reused: Set<UInt64>, diverted: [UInt8]) throws(ProbeError) {
        if var writer = sections.writer {
            writer.add(diverted)
            try writer.finish()
            return
        }
        guard let cache,
            sections.changed || reused.count != cache.packages.count || (try? cache.bytes(cache.divertedSection)) != diverted
        else { return }
        var writer = try IntegrityCacheWriter(
            directory: directory, root: root, lastFullRun: cache.lastFullRun, diversionsDigest: diversionsDigest)
        do throws(ProbeError) {
            for package in reused.compactMap({ cache.packages[$0] }).sorted(by: { $0.section.lowerBound < $1.section.lowerBound }) {
                writer.add(try cache.bytes(package.section))
                for chunk in package.chunks {
                    if let replacement = sections.replaced[chunk.section.lowerBound] {
                        writer.add(replacement)
                    } else {
                        writer.add(try cache.bytes(chunk.section))
                    }
                }
            }
        } catch {
            writer.discard()
            throw error
        }
        for section in sections.pending { writer.add(section) }
        writer.add(diverted)
        try writer.finish()
    }
}
