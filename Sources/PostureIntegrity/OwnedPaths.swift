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
    /// Canonical form of each directory seen while inserting (a few thousand entries).
    private var directories: [Substring: String] = [:]

    package init() {}

    package var count: Int { digests.count }

    package mutating func reserveCapacity(_ count: Int) { digests.reserveCapacity(count) }

    /// Adds a listed path (absolute inside `root`), resolving its directory once per directory.
    package mutating func insert(_ path: String, in root: ScanRoot) {
        guard let slash = path.lastIndex(of: "/") else { return }
        let parent = path[..<slash]
        let resolved: String
        if let known = directories[parent] {
            resolved = known
        } else {
            resolved = parent.isEmpty ? "" : (root.canonical(String(parent)) ?? String(parent))
            directories[parent] = resolved
        }
        digests.append(Self.digest(resolved + path[slash...]))
        sorted = false
    }

    package mutating func insert(contentsOf paths: some Sequence<String>, in root: ScanRoot) {
        for path in paths { insert(path, in: root) }
    }

    /// Sorts the digests and drops the directory cache: call once, after the last insert.
    package mutating func seal() {
        digests.sort()
        var kept = 0
        for index in digests.indices where kept == 0 || digests[kept - 1] != digests[index] {
            digests[kept] = digests[index]
            kept += 1
        }
        digests.removeLast(digests.count - kept)
        sorted = true
        directories = [:]
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
        let parent = path[..<slash]
        let resolved = parent.isEmpty ? "" : (root.canonical(String(parent)) ?? String(parent))
        return contains(canonical: resolved + path[slash...])
    }

    static func digest(_ path: String) -> Digest {
        var path = path
        let hash = path.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return hash.withUnsafeBytes { bytes in
            Digest(high: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), low: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
    }
}

/// Owned paths gathered from the verifier's concurrent tasks as they are read: each batch a task
/// hands over becomes digests at once, so the paths of a large package are never all held as strings.
final class OwnedPathsCollector: Sendable {
    private let paths: Mutex<OwnedPaths>
    private let root: ScanRoot

    /// `expected`: how many paths will come, when known, so the digests are allocated once.
    init(root: ScanRoot, expected: Int = 0) {
        self.root = root
        var owned = OwnedPaths()
        owned.reserveCapacity(expected)
        paths = Mutex(owned)
    }

    func insert(contentsOf batch: [String]) {
        guard !batch.isEmpty else { return }
        paths.withLock { $0.insert(contentsOf: batch, in: root) }
    }

    /// The paths, sorted and unique; call once, after the last insert.
    func sealed() -> OwnedPaths {
        paths.withLock { owned in
            owned.seal()
            return owned
        }
    }
}
