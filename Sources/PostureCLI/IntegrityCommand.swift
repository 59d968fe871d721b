import ArgumentParser
import Foundation
import PostureCommandLine
import PostureEvidence
import PostureIntegrity
import PostureModel
import PostureProbes

/// Options for verbs that keep agent state (caches, keys, journal).
struct StateOptions: ParsableArguments {
    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp(
            "Agent state directory (default: $POSTURE_STATE_DIR, else /var/lib/posture).", valueName: "DIR"))
    var stateDirectory: String?

    static let standard = "/var/lib/posture"

    /// The state directory for verbs that must keep state (keys, journal): created when missing.
    func required(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let directory = stateDirectory ?? environment["POSTURE_STATE_DIR"] ?? Self.standard
        try StateDirectory.prepare(directory)
        return directory
    }

    /// The state directory to use, or nil when none was named and the default does not exist
    /// (so a plain `posture scan` never creates /var/lib/posture).
    func resolved(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let explicit = stateDirectory ?? environment["POSTURE_STATE_DIR"] {
            try StateDirectory.prepare(explicit)
            return explicit
        }
        guard FileManager.default.isWritableFile(atPath: Self.standard) else { return nil }
        try StateDirectory.check(Self.standard)
        return Self.standard
    }

    /// The state directory named (or the default), without creating anything: for verbs that only read it.
    func named(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        stateDirectory ?? environment["POSTURE_STATE_DIR"] ?? Self.standard
    }
}

/// `posture integrity`: verify package files like `dpkg --verify`, fast and incrementally.
struct IntegrityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integrity",
        abstract: "Verify installed package files against the package database (like dpkg --verify).",
        discussion: """
            Hashes every file the dpkg database lists (md5sums and conffiles, diversions honoured) \
            on all cores, and prints what differs in dpkg --verify's format: '??5?????? c PATH' for a \
            changed file ('c' marks a conffile), 'missing     PATH' for a missing one.

            With a state directory the digests of unchanged files (same inode, size, mtime and ctime) \
            are kept in a sealed cache, so a rescan re-hashes only what changed, and every file of a \
            package whose database entry changed; a full re-hash runs weekly and with --full. \
            `posture scan` runs the same verification for the integrity checks.

            Exit status: 0 nothing differs, 1 something differs or is missing, 3 some files could not be read.
            """
    )

    @Option(help: ArgumentHelp("Verify the system mounted at DIR.", valueName: "DIR"))
    var root: String = "/"

    @Flag(help: "Hash every file even when the cache says it is unchanged.")
    var full = false

    @Option(help: "Output: dpkg (dpkg --verify lines) or json.")
    var format: Format = .dpkg

    @Flag(name: .customLong("evict-page-cache"), help: .hidden)
    var evictPageCache = false

    @OptionGroup var state: StateOptions

    enum Format: String, ExpressibleByArgument, CaseIterable { case dpkg, json }

    func run() async throws {
        try await ErrorReporter.posture.run {
            let scanRoot = try scanRoot(root)
            let verifier = PackageVerifier(
                root: scanRoot, stateDirectory: try state.resolved(), forceFull: full,
                evictAfterReading: evictPageCache)
            let started = Date()
            let result = try await verifier.verify()
            var out = ""
            switch format {
            case .dpkg:
                var lines: [(String, String)] = result.modified.map { ($0.path, "??5?????? \($0.kind == "conffile" ? "c" : " ") \($0.path)") }
                lines += result.missing.map { ($0.path, "missing   \($0.kind == "conffile" ? "c" : " ") \($0.path)") }
                for line in lines.sorted(by: { $0.0 < $1.0 }) { out += line.1 + "\n" }
            case .json:
                let evidence = IntegrityEvidence(
                    checked: result.checked, modified: result.modified, missing: result.missing,
                    unownedExecutables: [], hostsOverrides: [], extraCaCertificates: [], ldSoPreload: [])
                out = String(decoding: try PostureJSON.encoder(pretty: true).encode(evidence), as: UTF8.self) + "\n"
            }
            try emit(Data(out.utf8), to: nil)
            let elapsed = String(format: "%.2f", Date().timeIntervalSince(started))
            printError(
                "\(result.checked) files checked (\(result.fromCache) unchanged per cache, \(result.full ? "full" : "incremental")) in \(elapsed) s; "
                    + "\(result.modified.count) modified, \(result.missing.count) missing, \(result.unreadable.count) unreadable"
                    + (result.cacheNote.map { "; \($0)" } ?? ""))
            if !result.modified.isEmpty || !result.missing.isEmpty { throw ExitCode(ExitStatus.failed) }
            if !result.unreadable.isEmpty { throw ExitCode(ExitStatus.unknown) }
        }
    }
}
