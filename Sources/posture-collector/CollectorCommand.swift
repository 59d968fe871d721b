import ArgumentParser
import Foundation
import Logging
import PostureCollector
import PostureCollectorServer
import PostureEvidence
import PostureReference

/// `posture-collector`: the bank's side. Receives, verifies and keeps the evidence agents upload.
@main
struct CollectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "posture-collector",
        abstract: "Receive, verify and keep the signed posture reports that agents upload.",
        discussion: "Exit status: 0 ok, 64 usage, 65 bad config, 66 missing file, 69 storage unavailable, 77 permission, 70 internal error.",
        subcommands: [ServeCommand.self, TokenCommand.self, AssessCommand.self]
    )
}

/// `--config FILE`, shared by every verb.
struct ConfigOption: ParsableArguments {
    static let defaultPath = "/etc/posture-collector/collector.yaml"

    @Option(help: ArgumentHelp("The collector config (YAML).", valueName: "FILE"))
    var config: String = ConfigOption.defaultPath

    func load() throws -> CollectorConfig { try CollectorConfig.parse(path: config) }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the collector API until SIGTERM or SIGINT (then finish requests in flight and stop).",
        discussion: "Prints `listening URL` on stdout once the socket is bound; logs go to stderr."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        try await withExitStatus {
            let config = try options.load()
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = Logger.Level(rawValue: config.logLevel == "warning" ? "warning" : config.logLevel) ?? .info
                return handler
            }
            let logger = Logger(label: "posture-collector")
            let staffTokens = try config.staffTokensFile.map { try StaffTokens(file: $0) }
            let (receiptKey, created) = try DeviceKey.loadOrCreate(file: config.receiptKey)
            if created { logger.notice("created the receipt key", metadata: ["path": "\(config.receiptKey)", "key_id": "\(receiptKey.keyID)"]) }
            let storage = try await openStorage(config, logger: logger)
            let collector = Collector(storage: storage, receiptKey: receiptKey, limits: config.limits)
            let server = CollectorServer(config: config, collector: collector, staffTokens: staffTokens, logger: logger)
            let scheme = config.tlsCertificate == nil ? "http" : "https"
            let host = config.host
            do {
                try await server.run { port in
                    FileHandle.standardOutput.write(Data("listening \(scheme)://\(host):\(port)\n".utf8))
                }
            } catch {
                try? await storage.close()
                throw error
            }
            try await storage.close()
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Enrollment tokens.",
        subcommands: [IssueCommand.self]
    )

    struct IssueCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue",
            abstract: "Print a one-time enrollment token that binds one device to a contract.",
            discussion: "Only the token's SHA-256 is stored; it works once, until it expires."
        )

        @OptionGroup var options: ConfigOption

        @Option(help: ArgumentHelp("The customer contract the device will belong to.", valueName: "ID"))
        var contract: String

        @Option(help: ArgumentHelp("How long the token stays valid: a number with s, m, h or d.", valueName: "DURATION"))
        var expires: String = "7d"

        func validate() throws {
            guard !contract.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--contract must not be empty") }
            guard let seconds = DurationText.seconds(expires), seconds > 0 else {
                throw ValidationError("--expires must be a duration such as 7d, 12h or 30m, not '\(expires)'")
            }
        }

        func run() async throws {
            try await withExitStatus {
                let config = try options.load()
                let storage = try await openStorage(config, logger: Logger(label: "posture-collector"))
                let collector = Collector(storage: storage, receiptKey: try DeviceKey.loadOrCreate(file: config.receiptKey).key,
                                          limits: config.limits)
                let token = try await collector.issueToken(contract: contract, lifetime: TimeInterval(DurationText.seconds(expires) ?? 0))
                try await storage.close()
                print(token)
            }
        }
    }
}

/// Opens the configured store; a store that cannot be reached exits 69.
func openStorage(_ config: CollectorConfig, logger: Logger) async throws -> any CollectorStorage {
    do {
        switch config.storage {
        case .sqlite(let path): return try SQLiteStorage(path: path)
        case .postgres(let url): return try await PostgresStorage(url: url, logger: logger)
        }
    } catch {
        throw Failure(message: "cannot open the storage: \(error)", status: 69)
    }
}

/// An error already phrased for the user, with its exit status.
struct Failure: Error {
    var message: String
    var status: Int32
}

/// Runs a verb, turning known errors into `posture-collector: message` on stderr and a sysexits status.
func withExitStatus(_ body: () async throws -> Void) async throws {
    func fail(_ message: String, _ status: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("posture-collector: \(message)\n".utf8))
        return ExitCode(status)
    }
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as LocatedError {
        switch error.kind {
        case .malformed: throw fail(error.description, 65)
        case .missing: throw fail(error.description, 66)
        case .permissionDenied: throw fail(error.description, 77)
        }
    } catch let error as KeyError {
        switch error {
        case .missing: throw fail(error.description, 66)
        case .unwritable(let failure): throw fail(error.description, failure.isNoSpace ? 74 : 77)
        case .tooOpen: throw fail(error.description, 77)
        case .exists: throw fail(error.description, 64)
        case .malformed: throw fail(error.description, 65)
        }
    } catch let error as Failure {
        throw fail(error.message, error.status)
    } catch let error as StorageError {
        throw fail(error.description, 66)
    } catch let error as ServerError {
        throw fail(error.description, 65)
    } catch {
        throw fail("\(error)", 70)
    }
}
