import Crypto
package import PostureProbes
import Synchronization

/// Every path the package database lists, in canonical form (its directory resolved inside the
/// scan root, so `/bin/ls` and `/usr/bin/ls` are one), kept as 128-bit digests in a sorted array:
/// a system's ~150,000 owned paths take 2.4 MiB instead of the ~30 MiB of a set of strings.
/// The digest is truncated SHA-256, not a checksum, so nobody can name an unowned executable
/// whose digest matches an owned path's.
package struct OwnedPaths: Sendable {
    struct Digest: Hashable, Comparable, Sendable {
        var high: UInt64
        var low: UInt64
        static func < (a: Digest, b: Digest) -> Bool { (a.high, a.low) < (b.high, b.low) }
    }

    private var digests: [Digest] = []
    private var sorted = true

    package init() {}

    package var count: Int { digests.count }

    package mutating func reserveCapacity(_ count: Int) { digests.reserveCapacity(count) }

    /// Adds digests of paths already in canonical form.
    mutating func append(_ more: [Digest]) {
        digests += more
        sorted = false
    }

    /// A listed path's directory as it is compared: resolved inside `root`, or as listed when it
    /// cannot be resolved.
    static func canonicalDirectory(_ parent: Substring, in root: ScanRoot) -> String {
        parent.isEmpty ? "" : (root.canonical(String(parent)) ?? String(parent))
    }

    /// Sorts the digests and drops duplicates: call once, after the last insert.
    package mutating func seal() {
        digests.sort()
        var kept = 0
        for index in digests.indices where kept == 0 || digests[kept - 1] != digests[index] {
            digests[kept] = digests[index]
            kept += 1
        }
        digests.removeLast(digests.count - kept)
        sorted = true
    }

    /// Whether a package lists `path`, whose directory part is already canonical (as a walk that
    /// does not follow links produces it).
    package func contains(canonical path: String) -> Bool {
        let target = Self.digest(path)
        guard sorted else { return digests.contains(target) }
        var low = 0, high = digests.count
        while low < high {
            let middle = (low + high) / 2
            if digests[middle] < target { low = middle + 1 } else { high = middle }
        }
        return low < digests.count && digests[low] == target
    }

    /// Whether a package lists `path` (absolute inside `root`), resolving its directory first.
    package func contains(_ path: String, in root: ScanRoot) -> Bool {
        guard let slash = path.lastIndex(of: "/") else { return false }
        return contains(canonical: Self.canonicalDirectory(path[..<slash], in: root) + path[slash...])
    }

    /// SHA-256 of the sealed digests: equal fingerprints mean the same owned paths.
    package var fingerprint: [UInt8] { digests.withUnsafeBytes { Array(SHA256.hash(data: $0)) } }

    static func digest(_ path: String) -> Digest {
        var path = path
        return path.withUTF8 { digest(UnsafeRawBufferPointer($0)) }
    }

    /// The digest of the path whose bytes are `prefix` followed by `rest`.
    static func digest(prefix: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0), _ rest: UnsafeRawBufferPointer) -> Digest {
        var hasher = SHA256()
        if !prefix.isEmpty { hasher.update(bufferPointer: prefix) }
        hasher.update(bufferPointer: rest)
        return hasher.finalize().withUnsafeBytes { bytes in
            Digest(high: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), low: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
    }
}

/// Owned paths gathered from the verifier's concurrent tasks as they are read: each batch a task
/// hands over becomes digests at once, so the paths of a large package are never all held as
/// strings. Directories are resolved and paths digested by the task handing them over; the lock
/// is held only to append the digests.
final class OwnedPathsCollector: Sendable {
    private let paths: Mutex<OwnedPaths>
    /// Canonical form of each directory resolved so far, shared by the tasks.
    private let directories = Mutex<[String: String]>([:])
    private let root: ScanRoot

    /// `expected`: how many paths will come, when known, so the digests are allocated once.
    init(root: ScanRoot, expected: Int = 0) {
        self.root = root
        var owned = OwnedPaths()
        owned.reserveCapacity(expected)
        paths = Mutex(owned)
    }

    /// Adds listed paths (absolute inside the root), resolving their directories.
    func insert(contentsOf batch: [String]) {
        guard !batch.isEmpty else { return }
        var resolved: [String] = []
        resolved.reserveCapacity(batch.count)
        var last: (parent: Substring, directory: String)?
        for path in batch {
            guard let slash = path.lastIndex(of: "/") else { continue }
            let parent = path[..<slash]
            if last?.parent != parent {
                let key = String(parent)
                let directory =
                    directories.withLock { $0[key] }
                    ?? {
                        let found = OwnedPaths.canonicalDirectory(parent, in: root)
                        directories.withLock { $0[key] = found }
                        return found
                    }()
                last = (parent, directory)
            }
            resolved.append(last!.directory + path[slash...])
        }
        insert(canonical: resolved)
    }

    /// Adds paths whose directories are already in canonical form.
    func insert(canonical batch: [String]) {
        insert(digests: batch.map(OwnedPaths.digest).sorted())
    }

    /// Adds digests of canonical paths (`OwnedPaths.digest`), best sorted: sealing merges sorted runs.
    func insert(digests: [OwnedPaths.Digest]) {
        guard !digests.isEmpty else { return }
        paths.withLock { $0.append(digests) }
    }

    /// The paths, sorted and unique; call once, after the last insert.
    func sealed() -> OwnedPaths {
        paths.withLock { owned in
            owned.seal()
            return owned
        }
    }
}
