import ArgumentParser
import Foundation
import Logging
import PostureCollector
import PostureCollectorServer
import PostureCommandLine
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureReference
import PostureTransparency

/// `posture-collector`: the bank's side. Receives, verifies and keeps the evidence agents upload.
@main
struct CollectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "posture-collector",
        abstract: "Receive, verify and keep the signed posture reports that agents upload.",
        discussion: "Exit status: 0 ok, 64 usage, 65 bad config, 66 missing file, 69 storage unavailable, 77 permission, 70 internal error.",
        subcommands: [ServeCommand.self, TokenCommand.self, AssessCommand.self, WitnessCommand.self]
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
        try await ErrorReporter.collector.run {
            let config = try options.load()
            LoggingSystem.bootstrap { label in
                var handler = EscapingLogHandler(StreamLogHandler.standardError(label: label))
                handler.logLevel = Logger.Level(rawValue: config.logLevel == "warning" ? "warning" : config.logLevel) ?? .info
                return handler
            }
            let logger = Logger(label: "posture-collector")
            let staffTokens = try config.staffTokensFile.map { try StaffTokens(file: $0) }
            let (receiptKey, created) = try DeviceKey.loadOrCreate(file: config.receiptKey)
            if created { logger.notice("created the receipt key", metadata: ["path": "\(config.receiptKey)", "key_id": "\(receiptKey.keyID)"]) }
            let repository = ProfileRepository(paths: .standard())
            let profiles = try config.console.profiles.isEmpty ? repository.loadAll() : repository.chosen(config.console.profiles)
            let storage = try await openStorage(config, logger: logger)
            let collector = Collector(
                storage: storage, receiptKey: receiptKey, limits: config.limits,
                verdictKeeper: staffTokens == nil ? nil : VerdictKeeper(profiles: profiles),
                witnesses: try config.witnesses.map { try CosignatureVerifier(verifierKey: $0) }, logger: logger)
            let server = CollectorServer(config: config, collector: collector, staffTokens: staffTokens, logger: logger, profiles: profiles)
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
        abstract: "Enrollment tokens for devices, staff tokens for reads and assessments.",
        subcommands: [IssueCommand.self, IssueStaffCommand.self, RevokeCommand.self, ListCommand.self]
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
            try await ErrorReporter.collector.run {
                let config = try options.load()
                let storage = try await openStorage(config, logger: Logger(label: "posture-collector"))
                let collector = Collector(
                    storage: storage, receiptKey: try DeviceKey.loadOrCreate(file: config.receiptKey).key,
                    limits: config.limits)
                let token = try await collector.issueToken(contract: contract, lifetime: TimeInterval(DurationText.seconds(expires) ?? 0))
                try await storage.close()
                print(token)
            }
        }
    }
}

extension TokenCommand {
    /// The staff tokens file named by the config, or a usage error.
    static func staffFile(_ config: CollectorConfig) throws -> String {
        guard let file = config.staffTokensFile else { throw CommandFailure("the config sets no staff_tokens_file", status: ExitStatus.usage) }
        return file
    }

    struct IssueStaffCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue-staff",
            abstract: "Print a staff token (pst_staff_…) for reads and assessments, and add its digest to staff_tokens_file.",
            discussion: "The file keeps only the SHA-256 (mode 0600); the token is shown once. A running collector picks it up without a restart."
        )

        @OptionGroup var options: ConfigOption

        @Option(help: ArgumentHelp("What it may read: bank (every contract) or contract:ID (that contract's devices only).", valueName: "SCOPE"))
        var scope: String

        @Option(help: ArgumentHelp("How long the token stays valid: a number with s, m, h or d.", valueName: "DURATION"))
        var expires: String = "90d"

        @Option(help: ArgumentHelp("A label for `token list` (no spaces).", valueName: "NAME"))
        var name: String?

        func validate() throws {
            guard StaffToken.Scope(scope) != nil else { throw ValidationError("--scope must be bank or contract:ID, not '\(scope)'") }
            guard let seconds = DurationText.seconds(expires), seconds > 0 else {
                throw ValidationError("--expires must be a duration such as 90d, 12h or 30m, not '\(expires)'")
            }
            if let name, name.isEmpty || name.contains(where: { $0.isWhitespace || $0 == "=" }) {
                throw ValidationError("--name must be one word without '='")
            }
        }

        func run() async throws {
            try await ErrorReporter.collector.run {
                let config = try options.load()
                let (token, entry) = try StaffTokens.issue(
                    file: try TokenCommand.staffFile(config), scope: StaffToken.Scope(scope) ?? .bank,
                    lifetime: TimeInterval(DurationText.seconds(expires) ?? 0), name: name)
                FileHandle.standardError.write(Data("staff token \(entry.id): scope \(entry.scope), expires \(RFC3339.string(from: entry.expires))\n".utf8))
                print(token)
            }
        }
    }

    struct RevokeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Revoke a staff token by its id (from `token list`) or the token itself.",
            discussion: "A running collector refuses it from its next request. Exit 66 when no token matches."
        )

        @OptionGroup var options: ConfigOption

        @Argument(help: ArgumentHelp("The token's id (at least 8 hex digits) or the token.", valueName: "ID"))
        var id: String

        func run() async throws {
            try await ErrorReporter.collector.run {
                let config = try options.load()
                let removed = try StaffTokens.revoke(file: try TokenCommand.staffFile(config), id: id)
                guard removed > 0 else { throw CommandFailure("no staff token matches '\(id)'", status: ExitStatus.noInput) }
                print("revoked \(removed) staff token(s)")
            }
        }
    }

    struct ListCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List staff tokens: id, scope, expiry, name.")

        @OptionGroup var options: ConfigOption

        func run() async throws {
            try await ErrorReporter.collector.run {
                let config = try options.load()
                for token in try StaffTokens.list(file: try TokenCommand.staffFile(config)) {
                    print("\(token.id)  \(token.scope)  \(RFC3339.string(from: token.expires))  \(token.name ?? "")")
                }
            }
        }
    }
}

extension AssessCommand {
    /// The staff token (scope `bank` or `contract:ID` of this contract) every assessment needs; exit 77 otherwise.
    func authorize(_ config: CollectorConfig) throws {
        guard let token = token ?? ProcessInfo.processInfo.environment["POSTURE_COLLECTOR_TOKEN"] else {
            throw CommandFailure(
                "a staff token is required: --token TOKEN or POSTURE_COLLECTOR_TOKEN (posture-collector token issue-staff)", status: ExitStatus.permission)
        }
        let staff: StaffToken
        do { staff = try StaffTokens(file: try TokenCommand.staffFile(config)).authenticate(token: token) } catch let error as RequestError {
            throw CommandFailure(error.description, status: ExitStatus.permission)
        }
        guard staff.allows(contract: contract) else {
            throw CommandFailure("staff token \(staff.id) (scope \(staff.scope)) may not assess contract '\(contract)'", status: ExitStatus.permission)
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
        throw CommandFailure("cannot open the storage: \(error)", status: ExitStatus.unavailable)
    }
}
