package import Foundation

/// A scratch directory laid out like a root filesystem, for probes to scan. Removed on `remove()`.
package final class TemporaryRoot: @unchecked Sendable {
    package let path: String

    package init(_ label: String = "root") throws {
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("posture-tests-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Host path of `relative` inside the root.
    package func url(_ relative: String) -> URL { URL(fileURLWithPath: path).appendingPathComponent(relative) }

    @discardableResult
    package func write(_ relative: String, _ contents: String, modified: Date? = nil) throws -> URL {
        try write(relative, Data(contents.utf8), modified: modified)
    }

    @discardableResult
    package func write(_ relative: String, _ data: Data, modified: Date? = nil) throws -> URL {
        let url = url(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        if let modified { try setModified(relative, modified) }
        return url
    }

    package func setModified(_ relative: String, _ date: Date) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: url(relative).path)
    }

    package func symlink(_ relative: String, to target: String) throws {
        let url = url(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
    }

    package func makeDirectory(_ relative: String) throws {
        try FileManager.default.createDirectory(at: url(relative), withIntermediateDirectories: true)
    }
}

/// Builders for the real file formats the probes read.
package enum Fixtures {
    /// Longer than `FileIdentity.settlingSeconds`: what is read from a file changed more recently
    /// than that is not kept in the caches.
    package static let settlingWait: TimeInterval = 2.2

    /// Waits until the files written so far are settled, so that the next scan keeps what it reads
    /// from them: a rescan's cache hits are then the same on a fast machine and a loaded one.
    package static func letFilesSettle() {
        Thread.sleep(forTimeInterval: settlingWait)
    }

    /// A package as it appears in dpkg's status file.
    package struct StatusEntry {
        package var name: String
        package var version: String
        package var architecture: String
        package var state: String
        package var conffiles: [(path: String, md5: String)]

        package init(
            _ name: String, _ version: String, architecture: String = "amd64", state: String = "installed",
            conffiles: [(path: String, md5: String)] = []
        ) {
            self.name = name
            self.version = version
            self.architecture = architecture
            self.state = state
            self.conffiles = conffiles
        }
    }

    /// `var/lib/dpkg/status` text, with the fields dpkg writes.
    package static func dpkgStatus(_ entries: [StatusEntry]) -> String {
        entries.map { entry in
            var stanza = """
                Package: \(entry.name)
                Status: install ok \(entry.state)
                Priority: optional
                Section: misc
                Installed-Size: 120
                Maintainer: Debian Developers <debian-devel@lists.debian.org>
                Architecture: \(entry.architecture)
                Version: \(entry.version)
                Depends: libc6 (>= 2.34)
                """
            if !entry.conffiles.isEmpty {
                stanza += "\nConffiles:\n" + entry.conffiles.map { " \($0.path) \($0.md5)" }.joined(separator: "\n")
            }
            stanza += "\nDescription: test package \(entry.name)\n multi-line description\n .\n second paragraph"
            return stanza
        }.joined(separator: "\n\n") + "\n"
    }

    /// An apt `Packages` list.
    package static func packagesList(_ entries: [(name: String, version: String, architecture: String)]) -> String {
        entries.map { entry in
            """
            Package: \(entry.name)
            Source: \(entry.name)-src
            Version: \(entry.version)
            Installed-Size: 64
            Maintainer: Someone <someone@example.org>
            Architecture: \(entry.architecture)
            Depends: libc6
            Description: \(entry.name) package
            Multi-Arch: foreign
            Homepage: https://example.org/\(entry.name)
            Description-md5: 0123456789abcdef0123456789abcdef
            Section: utils
            Priority: optional
            Filename: pool/main/\(entry.name.prefix(1))/\(entry.name)/\(entry.name)_\(entry.version)_\(entry.architecture).deb
            Size: 1000
            SHA256: 0000000000000000000000000000000000000000000000000000000000000000
            """
        }.joined(separator: "\n\n") + "\n"
    }

    /// An `InRelease` file, clear-signed as the archive publishes it.
    package static func inRelease(
        suite: String, codename: String, notAutomatic: Bool = false,
        butAutomaticUpgrades: Bool = false
    ) -> String {
        var fields = """
            Origin: Debian
            Label: Debian
            Suite: \(suite)
            Codename: \(codename)
            Date: Sat, 10 Jun 2023 08:00:00 UTC
            Architectures: all amd64 arm64
            Components: main contrib non-free-firmware
            """
        if notAutomatic { fields += "\nNotAutomatic: yes" }
        if butAutomaticUpgrades { fields += "\nButAutomaticUpgrades: yes" }
        return """
            -----BEGIN PGP SIGNED MESSAGE-----
            Hash: SHA512

            \(fields)
            Description: Debian test archive
            SHA256:
             0000000000000000000000000000000000000000000000000000000000000000   1234 main/binary-amd64/Packages
            -----BEGIN PGP SIGNATURE-----

            iQIzBAEBCgAdFiEE
            -----END PGP SIGNATURE-----
            """
    }

    /// Runs a program and returns its standard output and exit status.
    @discardableResult
    package static func run(
        _ executable: String, _ arguments: [String], input: Data? = nil,
        environment: [String: String]? = nil
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let input {
            let inPipe = Pipe()
            process.standardInput = inPipe
            try process.run()
            inPipe.fileHandleForWriting.write(input)
            try inPipe.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// `run` on a thread of its own: for long subprocesses in async tests, which would otherwise
    /// hold one of the runner's few cooperative threads for their whole run.
    package static func runDetached(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) async throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try run(executable, arguments, environment: environment) }) }
        }
    }

    /// The first of `candidates` that exists and is executable.
    package static func tool(_ candidates: String...) -> String? {
        candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

extension Fixtures {
    /// Starts `executable` and kills it with SIGKILL after a random delay in `window` (nanoseconds):
    /// how crash-safety tests interrupt writers at arbitrary points.
    package static func runAndKill(_ executable: String, _ arguments: [String], window: ClosedRange<UInt64>) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(nanoseconds: UInt64.random(in: window))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

extension Fixtures {
    /// The path of a built executable of this package (`posture`, `posture-collector` …): found next
    /// to the test bundle, else in `.build/debug`.
    package static func product(_ name: String) -> String {
        let fm = FileManager.default
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            if fm.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build/debug/\(name)").standardized.path
    }
}

extension Fixtures {
    /// Runs `work` on every item from `width` threads of its own, and returns the results in item
    /// order. Blocking calls (a subprocess, a synchronous HTTP request) belong here rather than in a
    /// task group: on the test process's cooperative pool (one thread per core) they stall every
    /// other test's async work, and a PostgreSQL row lock held by a stalled task then stalls the rest.
    package static func onThreads<Item: Sendable, Output: Sendable>(
        _ items: [Item], width: Int,
        _ work: @escaping @Sendable (Item) throws -> Output
    ) -> [Result<Output, any Error>] {
        let shared = ThreadWork<Output>(items.count)
        let done = DispatchGroup()
        for _ in 0..<max(1, min(width, items.count)) {
            done.enter()
            Thread.detachNewThread {
                while let index = shared.take() { shared.put(index, Result { try work(items[index]) }) }
                done.leave()
            }
        }
        done.wait()
        return shared.results.map { $0! }
    }
}

/// The shared queue and results of `Fixtures.onThreads`.
private final class ThreadWork<Output>: @unchecked Sendable {
    let lock = NSLock()
    var next = 0
    var results: [Result<Output, any Error>?]
    init(_ count: Int) { results = Array(repeating: nil, count: count) }
    func take() -> Int? {
        lock.withLock {
            defer { next += 1 }
            return next < results.count ? next : nil
        }
    }
    func put(_ index: Int, _ result: Result<Output, any Error>) { lock.withLock { results[index] = result } }
}
