package import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a file could not be written. A full file system is its own case, so callers can say so
/// and what was kept.
package enum FileWriteError: Error, CustomStringConvertible, Equatable, Sendable {
    /// ENOSPC or EDQUOT: the file system holding `path` is full (or the quota is used up).
    case noSpace(path: String)
    case permissionDenied(path: String, reason: String)
    case failed(path: String, reason: String)

    /// Classifies an errno from writing `path`.
    package init(path: String, errno code: Int32) {
        switch code {
        case ENOSPC, EDQUOT: self = .noSpace(path: path)
        case EACCES, EPERM: self = .permissionDenied(path: path, reason: String(cString: strerror(code)))
        default: self = .failed(path: path, reason: String(cString: strerror(code)))
        }
    }

    /// Classifies an error Foundation threw while writing `path`.
    package init(path: String, error: any Error) {
        let nsError = error as NSError
        if let posix = (nsError.userInfo[NSUnderlyingErrorKey] as? NSError) ?? (nsError.domain == NSPOSIXErrorDomain ? nsError : nil),
            posix.domain == NSPOSIXErrorDomain
        {
            self.init(path: path, errno: Int32(posix.code))
        } else if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileWriteOutOfSpaceError {
            self = .noSpace(path: path)
        } else if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileWriteNoPermissionError {
            self = .permissionDenied(path: path, reason: error.localizedDescription)
        } else {
            self = .failed(path: path, reason: error.localizedDescription)
        }
    }

    package var path: String {
        switch self {
        case .noSpace(let path), .permissionDenied(let path, _), .failed(let path, _): return path
        }
    }

    package var isNoSpace: Bool {
        if case .noSpace = self { return true }
        return false
    }

    package var description: String {
        switch self {
        case .noSpace(let path):
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            return "cannot write \(path): no space left on device in \(directory); free space there and run again"
                + " (an existing \(URL(fileURLWithPath: path).lastPathComponent) was left as it was)"
        case .permissionDenied(let path, let reason), .failed(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }
}

/// Whole-file writes that a full disk or a crash cannot leave half done: the bytes go to a new
/// temporary file in the same directory, are synced, and only then renamed over the destination,
/// so a reader finds the old file (or none) or the new one, never a part of it.
package enum AtomicFile {
    /// Writes `data` to `path`. `mode` is the new file's exact mode; nil gives 0666 less the umask.
    package static func write(_ data: Data, to path: String, mode: mode_t? = nil) throws(FileWriteError) {
        try Staged(data, for: path, mode: mode).commit()
    }

    /// A complete, synced temporary file waiting to replace its destination. Stage every file of
    /// a set first and commit them after, so running out of space while writing any of them
    /// changes none.
    package struct Staged: Sendable {
        package let path: String
        let temporary: String

        package init(_ data: Data, for path: String, mode: mode_t? = nil) throws(FileWriteError) {
            self.path = path
            temporary = "\(path).tmp-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode ?? 0o666)
            guard fd >= 0 else { throw FileWriteError(path: path, errno: errno) }
            var failure: Int32?
            if let mode, fchmod(fd, mode) != 0 { failure = errno }
            data.withUnsafeBytes { raw in
                var written = 0
                while failure == nil, written < raw.count {
                    let n = Self.write(fd, raw.baseAddress! + written, raw.count - written)
                    if n < 0, errno != EINTR { failure = errno } else if n > 0 { written += n }
                }
            }
            // A file system may report a full disk only when the data reaches it.
            if failure == nil, fsync(fd) != 0 { failure = errno }
            if close(fd) != 0, failure == nil { failure = errno }
            if let failure {
                unlink(temporary)
                throw FileWriteError(path: path, errno: failure)
            }
        }

        /// Links the temporary file in as the destination only when nothing is there yet (`link(2)`
        /// fails on an existing name, so of two processes publishing at once exactly one wins).
        /// - Returns: false when the destination already existed; it is left as it was.
        package func publish() throws(FileWriteError) -> Bool {
            defer { discard() }
            guard link(temporary, path) == 0 else {
                if errno == EEXIST { return false }
                throw FileWriteError(path: path, errno: errno)
            }
            let directory = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directory >= 0 {
                _ = fsync(directory)
                close(directory)
            }
            return true
        }

        /// Renames the temporary file over the destination and syncs the directory entry.
        package func commit() throws(FileWriteError) {
            guard rename(temporary, path) == 0 else {
                let code = errno
                discard()
                throw FileWriteError(path: path, errno: code)
            }
            let directory = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directory >= 0 {
                _ = fsync(directory)
                close(directory)
            }
        }

        /// Removes the temporary file; the destination stays as it was.
        package func discard() { unlink(temporary) }

        private static func write(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
            #if canImport(Glibc)
                return Glibc.write(fd, bytes, count)
            #elseif canImport(Musl)
                return Musl.write(fd, bytes, count)
            #else
                return Darwin.write(fd, bytes, count)
            #endif
        }
    }
}
