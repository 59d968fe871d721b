import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which of some files were opened (inotify `IN_OPEN`; an `O_PATH` handle is not an open), or,
/// watching `IN_ACCESS`, read (a directory: listed). Only events on the watched paths themselves
/// count, not those a watched directory reports for the files in it.
package final class OpenWatch {
    private let fd: Int32
    private var names: [Int32: String] = [:]

    package init(_ paths: [String], events: UInt32 = UInt32(IN_OPEN)) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        for path in paths {
            let watch = inotify_add_watch(fd, path, events)
            guard watch >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            names[watch] = path
        }
    }

    deinit { close(fd) }

    /// The paths opened (or read) since the watch began, or since the last call.
    package func opened() -> Set<String> {
        var found = Set<String>()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            guard count > 0 else { return found }
            var offset = 0
            while offset + 16 <= count {
                let watch = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int32.self) }
                let length = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self) }
                if length == 0, let name = names[watch] { found.insert(name) }
                offset += 16 + Int(length)
            }
        }
    }
}
