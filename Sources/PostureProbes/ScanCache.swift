package import Crypto
package import Foundation
package import PostureModel
import Synchronization

/// What slow reads of the last scan produced, kept for the next so that a rescan reads only what
/// changed. Each value is stored under a key that names exactly what it was made from (the file
/// identities it read: device, inode, size, mtime and ctime, plus any other input), so a value is
/// only ever used for the same inputs, never guessed from a path.
///
/// One file in the state directory (`scan-cache.bin`), rewritten whole by renaming after a scan,
/// sealed with HMAC-SHA256 under the state directory's cache key. A cache that fails its seal
/// (modified, truncated, another key) or was made for another root is ignored: every read is done
/// again and the cache is rebuilt. Values a scan did not ask for are dropped when it saves, so the
/// cache holds one scan's worth.
///
/// Layout: magic, root path length u32 and path, then entries `key length u32, key, value length
/// u32, value`, then the 32-byte seal (little-endian).
package final class ScanCache: Sendable {
    package static let fileName = "scan-cache.bin"
    static let magic = Array("POSTURE-SC1\n".utf8)
    /// A cache larger than this is not read (one scan's values are a few hundred kilobytes).
    static let sizeLimit = 64 << 20

    private struct State {
        var stored: [String: [UInt8]]
        var kept: [String: [UInt8]] = [:]
        var changed = false
        var hits = 0
        /// Hits by kind: a key's text before its first NUL.
        var hitsByKind: [Substring: Int] = [:]
    }

    private let directory: String
    private let root: String
    private let state: Mutex<State>
    /// Why the cache of the last scan was not used, when one was there.
    package let note: String?

    /// The cache in `directory` for scans of `root`; with `reuse` false (a full scan) nothing
    /// stored is used, and the values this scan makes replace it.
    package init(directory: String, root: ScanRoot, reuse: Bool = true) {
        self.directory = directory
        self.root = root.path
        guard reuse else {
            state = Mutex(State(stored: [:], changed: true))
            note = nil
            return
        }
        switch Self.load(directory: directory, root: root.path) {
        case .success(let stored):
            state = Mutex(State(stored: stored))
            note = nil
        case .failure(let reason):
            state = Mutex(State(stored: [:], changed: true))
            note = reason.text.isEmpty ? nil : "the scan cache was not used: \(reason.text)"
        }
    }

    /// The value stored under `key` by the last scan, kept for the next.
    package func value(_ key: String) -> [UInt8]? {
        state.withLock { state in
            guard let value = state.stored[key] else { return nil }
            state.kept[key] = value
            state.hits += 1
            state.hitsByKind[key.prefix { $0 != "\u{0}" }, default: 0] += 1
            return value
        }
    }

    /// Keeps `value` under `key` for the next scan (the file is rewritten only if a value differs).
    package func store(_ key: String, _ value: [UInt8]) {
        state.withLock { state in
            state.kept[key] = value
            if state.stored[key] != value { state.changed = true }
        }
    }

    /// Values found this scan.
    package var hits: Int { state.withLock { $0.hits } }

    /// Values found this scan whose key starts with `kind` and a NUL byte (`sha256`, `apt-list` …).
    package func hits(of kind: String) -> Int { state.withLock { $0.hitsByKind[Substring(kind)] ?? 0 } }

    /// Writes the values this scan used or made, unless they are the stored ones already.
    package func save() throws(ProbeError) {
        let (kept, changed) = state.withLock { ($0.kept, $0.changed || $0.kept.count != $0.stored.count) }
        guard changed else { return }
        let key = try CacheKey.load(directory: directory, create: true)
        // Built once at its final size: the walk's memory alone can be megabytes.
        let size = Self.magic.count + 4 + root.utf8.count + kept.reduce(0) { $0 + 8 + $1.key.utf8.count + $1.value.count } + 32
        var bytes = Data(capacity: size)
        func appendLE(_ value: UInt32) { Swift.withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        bytes += Self.magic
        appendLE(UInt32(root.utf8.count))
        bytes += root.utf8
        for name in kept.keys.sorted() {
            appendLE(UInt32(name.utf8.count))
            bytes += name.utf8
            appendLE(UInt32(kept[name]!.count))
            bytes += kept[name]!
        }
        bytes += HMAC<SHA256>.authenticationCode(for: bytes, using: key)
        let path = "\(directory)/\(Self.fileName)"
        do throws(FileWriteError) {
            try AtomicFile.write(bytes, to: path, mode: 0o600)
        } catch {
            throw ProbeError.unreadable(path: path, reason: "cannot write: \(error)")
        }
    }

    /// The stored values, or why they cannot be used (empty when there is no cache yet).
    private static func load(directory: String, root: String) -> Result<[String: [UInt8]], Reason> {
        let path = "\(directory)/\(fileName)"
        guard Platform.lstatus(path) != nil else { return .failure(Reason("")) }
        guard let key = try? CacheKey.load(directory: directory, create: false) else { return .failure(Reason("its key is missing")) }
        guard let status = Platform.lstatus(path), status.isRegular, status.size <= sizeLimit else {
            return .failure(Reason("it is not a regular file under \(sizeLimit >> 20) MiB"))
        }
        guard let bytes = try? Platform.readFile(path, limit: sizeLimit), bytes.count >= magic.count + 4 + 32 else {
            return .failure(Reason("it is truncated"))
        }
        let body = bytes[..<(bytes.count - 32)]
        guard HMAC<SHA256>.isValidAuthenticationCode(bytes[(bytes.count - 32)...], authenticating: body, using: key) else {
            return .failure(Reason("its seal does not match (modified or corrupt)"))
        }
        guard body.starts(with: magic) else { return .failure(Reason("it has an older or unknown format")) }
        var reader = Reader(bytes: body, position: magic.count)
        guard let stored = reader.string(), stored == root else { return .failure(Reason("it was made for another root")) }
        var values: [String: [UInt8]] = [:]
        while !reader.atEnd {
            guard let name = reader.string(), let value = reader.field() else { return .failure(Reason("it is malformed")) }
            values[name] = Array(value)
        }
        return .success(values)
    }

    private struct Reason: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }

    /// Length-prefixed fields of a sealed cache.
    private struct Reader {
        let bytes: ArraySlice<UInt8>
        var position: Int

        var atEnd: Bool { position == bytes.endIndex }

        mutating func field() -> ArraySlice<UInt8>? {
            guard bytes.endIndex - position >= 4 else { return nil }
            let length = bytes[position..<(position + 4)].reversed().reduce(0) { $0 << 8 | Int($1) }
            guard bytes.endIndex - position - 4 >= length else { return nil }
            defer { position += 4 + length }
            return bytes[(position + 4)..<(position + 4 + length)]
        }

        mutating func string() -> String? { field().map { String(decoding: $0, as: UTF8.self) } }
    }
}

/// The state directory's key for sealing caches (32 random bytes, mode 0600), made on first use.
/// Named for the integrity cache, its first user.
package enum CacheKey {
    package static let fileName = "integrity-cache.key"

    package static func load(directory: String, create: Bool) throws(ProbeError) -> SymmetricKey {
        let path = "\(directory)/\(fileName)"
        if let data = try? Platform.readFile(path), data.count == 32 { return SymmetricKey(data: data) }
        guard create else { throw ProbeError.missing(path: path) }
        let key = SymmetricKey(size: .bits256)
        do throws(FileWriteError) {
            try AtomicFile.write(key.withUnsafeBytes { Data($0) }, to: path, mode: 0o600)
        } catch {
            throw ProbeError.unreadable(path: path, reason: "cannot write: \(error)")
        }
        return key
    }
}

extension [UInt8] {
    package mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
