import ArgumentParser
import Foundation
import PostureAgent
import PostureCommandLine
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureProbes
import PostureReference

/// `posture key`: the device's signing key.
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Create or show the device's Ed25519 signing key.",
        discussion: """
            The private key is STATE_DIR/device.key (mode 0600; a key readable by group or others is \
            refused); the public key is STATE_DIR/device.pub (base64 of the 32 raw bytes), which is \
            what a bank needs to verify this device's reports.
            """,
        subcommands: [Generate.self, Show.self, Benchmark.self]
    )

    /// Measures what signing adds to a scan (`scripts/bench-sign` runs it).
    struct Benchmark: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "benchmark", abstract: "Time signing and journaling of a real report.", shouldDisplay: false)

        @Option var count = 200
        @OptionGroup var state: StateOptions

        func run() async throws {
            try await ErrorReporter.posture.run {
                let directory = try state.required()
                let (key, _) = try DeviceKey.loadOrCreate(stateDirectory: directory)
                let paths = ReferencePaths.standard()
                let profiles = try ProfileRepository(paths: paths).loadAll()
                let report = await Scanner(root: try ScanRoot("/"), paths: paths, probes: []).scan(profiles: profiles)
                var encoding: [Double] = []
                var signing: [Double] = []
                var body = Data()
                for _ in 0..<count {
                    let start = DispatchTime.now().uptimeNanoseconds
                    body = try PostureJSON.encoder().encode(report)
                    let encoded = DispatchTime.now().uptimeNanoseconds
                    _ = try Envelope.sign(body: body, key: key).encoded()
                    encoding.append(Double(encoded - start) / 1e6)
                    signing.append(Double(DispatchTime.now().uptimeNanoseconds - encoded) / 1e6)
                }
                let journal = try Journal(stateDirectory: directory)
                var appending: [Double] = []
                for _ in 0..<min(count, 50) {
                    var copy = report
                    copy.id = UUID().uuidString.lowercased()
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = try journal.append(copy, key: key)
                    appending.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                }
                func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
                print(String(format: "report %d bytes; JSON encoding (done for unsigned JSON output too): median %.3f ms", body.count, median(encoding)))
                print(String(format: "signing (PAE, Ed25519, envelope bytes): median %.3f ms (n=%d)", median(signing), signing.count))
                print(String(format: "journal append (chain, sign, SQLite insert, fsync): median %.3f ms (n=%d)", median(appending), appending.count))
            }
        }
    }

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the device key (never replaces one without --force).")

        @Flag(help: "Replace an existing key. Reports signed with the old key stay verifiable only with its device.pub.")
        var force = false

        @OptionGroup var state: StateOptions

        func run() async throws {
            try await ErrorReporter.posture.run {
                let key = try DeviceKey.generate(stateDirectory: try state.required(), force: force)
                print("\(key.publicLine)\nkey id: \(key.keyID)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print device.pub and the key id (hex SHA-256 of the public key).")

        @OptionGroup var state: StateOptions

        func run() async throws {
            try await ErrorReporter.posture.run {
                let key = try DeviceKey.load(stateDirectory: try state.required())
                print("\(key.publicLine)\nkey id: \(key.keyID)")
            }
        }
    }
}

/// `posture verify`: check signatures and the chain of envelopes, journal exports or bundles.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify signed reports: signatures, key id, payload type, schema and chain continuity.",
        discussion: """
            Takes envelope files (as `posture scan --sign` writes them), journal exports (one \
            envelope a line) and claim bundles (`posture claim`), in any order: they are ordered by \
            chain.sequence. Prints one verdict per envelope and attestation and names gaps, \
            duplicates, forks, broken links and time running backwards. A bundle is also checked \
            against its own manifest of hashes.

            The public key comes from --key, else the one inside a bundle, else STATE_DIR/device.pub. \
            A bundle's key is the sender's word: compare its key id with the one the device enrolled.
            Exit status: 0 everything verifies, 65 something does not (reasons printed), 66 a file is missing.
            """
    )

    @Argument(help: ArgumentHelp("Envelope files, journal exports or claim bundles.", valueName: "ENVELOPE_OR_BUNDLE"))
    var files: [String]

    @Option(help: ArgumentHelp("The device's public key file (device.pub).", valueName: "PUBKEY_FILE"))
    var key: String?

    @OptionGroup var state: StateOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one envelope or export file to verify") }
    }

    func run() async throws {
        try await ErrorReporter.posture.run {
            let evidence = try EvidenceFiles.load(files)
            let publicKey =
                try key.map { try DeviceKey.publicKey(file: $0) } ?? evidence.bundleKey
                ?? DeviceKey.publicKey(file: "\(state.required())/\(DeviceKey.publicName)")
            let verifier = ChainVerifier(key: publicKey)
            let outcome = verifier.verify(evidence.reports)
            for verdict in outcome.verdicts {
                let position = verdict.sequence.map { "sequence \($0)" } ?? "sequence ?"
                if verdict.ok {
                    print("\(verdict.source): ok (\(position), report \(verdict.reportID ?? "?"))")
                } else {
                    print("\(verdict.source): FAILED (\(position)): \(verdict.problems.joined(separator: "; "))")
                }
            }
            var attestationsOK = true
            for (index, bytes) in evidence.attestations.enumerated() {
                switch verifier.attestation(bytes, source: "attestation \(index + 1)") {
                case .success(let attestation):
                    print("attestation \(index + 1): ok (\(attestation.profile) \(attestation.requirement), \(RFC3339.string(from: attestation.recordedAt)))")
                case .failure(let failure):
                    attestationsOK = false
                    print("\(failure.description): FAILED")
                }
            }
            for problem in outcome.chainProblems { print("chain: \(problem)") }
            // The log part of a bundle is the collector's signed word, checked offline: a proof
            // that does not verify fails the bundle as an altered envelope would.
            if let log = evidence.log {
                print(ControlCharacters.escaped(log.summary(in: .en)))
                for problem in log.problems { print("collector log: FAILED: \(ControlCharacters.escaped(problem))") }
            }
            let ok = outcome.ok && attestationsOK && evidence.log?.problems.isEmpty != false
            print(
                ok
                    ? "verified: \(evidence.reports.count) envelope(s), \(evidence.attestations.count) attestation(s), key \(DeviceKey.keyID(of: publicKey))"
                    : "verification FAILED")
            if !ok { throw ExitCode(ExitStatus.dataError) }
        }
    }
}

/// `posture journal`: the local history of signed reports.
struct JournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "List or export the signed reports kept in the state directory.",
        subcommands: [List.self, Export.self]
    )

    struct Range: ParsableArguments {
        @Option(help: ArgumentHelp("Only reports collected at or after this date or RFC 3339 time.", valueName: "TIME"))
        var from: String?

        @Option(help: ArgumentHelp("Only reports collected at or before this date or RFC 3339 time.", valueName: "TIME"))
        var to: String?

        func bounds() throws -> (Date?, Date?) {
            (try from.map { try TimeArgument.parse($0, endOfDay: false) }, try to.map { try TimeArgument.parse($0, endOfDay: true) })
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per report: sequence, collected at, report id, envelope SHA-256.")
        @OptionGroup var range: Range
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await ErrorReporter.posture.run {
                let (from, to) = try range.bounds()
                let state = try options.stateDirectory(try options.load())
                for entry in try Journal(stateDirectory: state).entries(from: from, to: to) {
                    print("\(entry.sequence)\t\(RFC3339.string(from: entry.collectedAt))\t\(entry.reportID)\t\(entry.sha256)")
                }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the envelopes, one a line, byte for byte as signed (input for `posture verify`).")
        @OptionGroup var range: Range
        @Option(help: ArgumentHelp("Write to FILE instead of standard output.", valueName: "FILE"))
        var output: String?
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await ErrorReporter.posture.run {
                let (from, to) = try range.bounds()
                var data = Data()
                let state = try options.stateDirectory(try options.load())
                for entry in try Journal(stateDirectory: state).entries(from: from, to: to) {
                    data.append(entry.envelope)
                    data.append(UInt8(ascii: "\n"))
                }
                try emit(data, to: output)
            }
        }
    }
}

/// Dates and times given on the command line: `YYYY-MM-DD` (a whole day, UTC here) or RFC 3339.
enum TimeArgument {
    static func parse(_ text: String, endOfDay: Bool) throws -> Date {
        if let day = Day(text) {
            let start = day.start(in: Day.utc)
            return endOfDay ? start.addingTimeInterval(86399) : start
        }
        if let date = RFC3339.date(from: text) { return date }
        throw ValidationError("'\(text)' is not a date (YYYY-MM-DD) or an RFC 3339 time")
    }
}
