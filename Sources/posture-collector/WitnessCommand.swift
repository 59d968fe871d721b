import ArgumentParser
import Foundation
import PostureCommandLine
import PostureEvidence
import PostureModel
import PostureReference
import PostureTransparency
import PostureTransport

/// `posture-collector witness`: a third party's check on a collector's audit log (an insurer, an
/// auditor, another bank). It cosigns a checkpoint only when a consistency proof links it to the
/// last one it cosigned, so a log that forks, shrinks or rewrites history cannot collect its
/// signature, and everyone who trusts the witness sees one history.
struct WitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Follow a collector's audit log and cosign each checkpoint that extends the last one cosigned.",
        discussion: """
            `witness key` makes the witness's signing key and prints its verifier key, which the \
            collector lists under `witnesses:` in its config. `witness run` then follows the log: each \
            round it fetches the checkpoint, checks the log's signature, fetches a consistency proof \
            from the size it last cosigned, and only if it verifies (C2SP tlog-witness rules) saves \
            the new size and root in its state file (atomically, before anything is published) and \
            posts a cosignature/v1 signature to the collector, which serves it at \
            GET /v1/log/checkpoint/cosigned.
            """,
        subcommands: [KeyCommand.self, RunCommand.self]
    )

    /// `witness key`: the signing key, made once.
    struct KeyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "key",
            abstract: "Create the witness key if missing and print its verifier key (NAME+KEYHASH+BASE64).")

        @Option(help: ArgumentHelp("The witness's key file (mode 0600; created if missing).", valueName: "FILE"))
        var key: String

        @Option(help: ArgumentHelp("The witness's name in cosignatures, e.g. witness.example.jp (no spaces or '+').", valueName: "NAME"))
        var name: String

        func run() async throws {
            try await ErrorReporter.collector.run {
                let signer = try Witness.signer(key: key, name: name, create: true)
                print(signer.verifier.verifierKey)
            }
        }
    }

    /// `witness run`: follow one log.
    struct RunCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Cosign the collector's checkpoints that extend the last one cosigned, every --interval.",
            discussion: """
                Exit status (with --once): 0 after a round that cosigned, 65 when the log's checkpoint \
                does not extend the one cosigned before (a fork, a rollback or a bad signature: the \
                state file is left as it was), 69 when the collector cannot be reached. Without \
                --once it runs until stopped, logging each round on stderr.
                """)

        @Option(help: ArgumentHelp("The collector's base URL (https://host:port).", valueName: "URL"))
        var url: String

        @Option(help: ArgumentHelp("The log's verifier key, from GET /v1/log/key, given out of band.", valueName: "VKEY"))
        var logKey: String

        @Option(help: ArgumentHelp("The witness's key file (from witness key).", valueName: "FILE"))
        var key: String

        @Option(help: ArgumentHelp("The witness's name, as given to witness key.", valueName: "NAME"))
        var name: String

        @Option(help: ArgumentHelp("Where the last cosigned size and root are kept.", valueName: "FILE"))
        var state: String

        @Option(help: ArgumentHelp("CA certificates to verify the collector's TLS certificate (default: the system's).", valueName: "FILE"))
        var ca: String?

        @Option(help: ArgumentHelp("Time between rounds (30s, 5m, 1h).", valueName: "DURATION"))
        var interval: String = "1m"

        @Flag(help: "Run one round and exit with its status.")
        var once = false

        func run() async throws {
            try await ErrorReporter.collector.run {
                let logVerifier: NoteVerifier
                do { logVerifier = try NoteVerifier(verifierKey: logKey) } catch {
                    throw CommandFailure("--log-key is not a note verifier key (NAME+KEYHASH+BASE64): \(error)", status: ExitStatus.usage)
                }
                guard let seconds = DurationText.seconds(interval), seconds >= 1 else {
                    throw CommandFailure("--interval must be a duration of at least 1s, like 30s, 5m or 1h", status: ExitStatus.usage)
                }
                let witness = Witness(
                    base: url.hasSuffix("/") ? String(url.dropLast()) : url, logVerifier: logVerifier,
                    signer: try Witness.signer(key: key, name: name, create: false), statePath: state,
                    transport: CurlTransport(options: TransportOptions(caFile: ca, totalTimeout: 30)))
                while true {
                    let outcome = try await witness.round()
                    FileHandle.standardError.write(Data("posture-collector witness: \(ControlCharacters.escaped(outcome.description))\n".utf8))
                    if once { if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) } else { return } }
                    try await Task.sleep(nanoseconds: UInt64(seconds) * 1_000_000_000)
                }
            }
        }
    }
}

/// One witness of one log: its key, its state file and the log's address.
struct Witness {
    /// What one round did.
    enum Outcome: CustomStringConvertible {
        case cosigned(size: Int, kept: String)
        case refused(String)
        case unreachable(String)

        var description: String {
            switch self {
            case .cosigned(let size, let kept): "cosigned the checkpoint of \(size) entries (the collector kept: \(kept))"
            case .refused(let reason): "REFUSED to cosign: \(reason)"
            case .unreachable(let reason): "the collector could not be asked: \(reason)"
            }
        }

        var exitStatus: Int32 {
            switch self {
            case .cosigned: 0
            case .refused: ExitStatus.dataError
            case .unreachable: ExitStatus.unavailable
            }
        }
    }

    /// The saved state: the last cosigned checkpoint's origin, size and root.
    struct Saved: Codable {
        var origin: String
        var size: Int
        var root: String
    }

    let base: String
    let logVerifier: NoteVerifier
    let signer: CosignatureSigner
    let statePath: String
    let transport: CurlTransport

    static func signer(key path: String, name: String, create: Bool) throws -> CosignatureSigner {
        let key = create ? try DeviceKey.loadOrCreate(file: path).key : try DeviceKey.load(file: path)
        do { return try CosignatureSigner(name: name, privateKey: key.privateKey) } catch {
            throw CommandFailure("--name \(name) cannot name a witness key: \(error)", status: ExitStatus.usage)
        }
    }

    /// The state file's content, or the empty tree of the log's origin when there is none yet.
    func load() throws -> WitnessState {
        guard FileManager.default.fileExists(atPath: statePath) else { return .initial(origin: logVerifier.name) }
        guard let data = FileManager.default.contents(atPath: statePath), let saved = try? JSONDecoder().decode(Saved.self, from: data),
            saved.size >= 0, let root = try? Hash(base64: saved.root)
        else {
            throw CommandFailure("\(statePath) is not a witness state file; it was damaged (move it aside only if you know why)", status: ExitStatus.dataError)
        }
        return WitnessState(origin: saved.origin, size: saved.size, root: root)
    }

    func save(_ state: WitnessState) throws {
        let data = try JSONEncoder().encode(Saved(origin: state.origin, size: state.size, root: state.root.base64))
        try AtomicFile.write(data + Data("\n".utf8), to: statePath, mode: 0o644)
    }

    /// Why the collector gave no answer to use.
    struct Unanswered: Error {
        var reason: String
    }

    func get(_ path: String) async -> Result<Data, Unanswered> {
        switch await transport.exchange(HTTPRequest(url: base + path, method: "GET")) {
        case .success(let response) where response.status == 200: return .success(response.body)
        case .success(let response): return .failure(Unanswered(reason: "HTTP \(response.status) from \(path)"))
        case .failure(let error): return .failure(Unanswered(reason: error.message))
        }
    }

    func round(now: Date = Date()) async throws -> Outcome {
        let state = try load()
        let text: String
        switch await get("/v1/log/checkpoint") {
        case .success(let body): text = String(decoding: body.prefix(64 << 10), as: UTF8.self)
        case .failure(let failure): return .unreachable(failure.reason)
        }
        let note: SignedNote
        let checkpoint: Checkpoint
        do {
            note = try SignedNote(parsing: text)
            checkpoint = try Checkpoint.open(note, logVerifier: logVerifier)
        } catch {
            return .refused("the checkpoint is not signed by the log's key: \(error)")
        }
        var proof: [Hash] = []
        if state.size > 0, checkpoint.size > state.size {
            switch await get("/v1/log/consistency?from=\(state.size)&to=\(checkpoint.size)") {
            case .success(let body):
                do throws(LogProblem) { proof = try CollectorLog.proof(answer: body) } catch { return .refused(error.description) }
            case .failure(let failure): return .unreachable(failure.reason)
            }
        }
        switch state.decide(checkpoint, consistencyProof: proof) {
        case .refuse(let refusal): return .refused(refusal.description)
        case .cosign(let next):
            // Saved before the signature leaves: after a crash the witness never cosigns a
            // checkpoint that conflicts with one it already published.
            try save(next)
            let cosigned = try signer.cosign(note, timestamp: UInt64(now.timeIntervalSince1970))
            let request = HTTPRequest(
                url: base + "/v1/log/cosignature", headers: [("Content-Type", "text/plain; charset=utf-8")], body: Data(cosigned.serialized.utf8))
            switch await transport.exchange(request) {
            case .success(let response) where response.status == 200:
                let kept = (try? JSONSerialization.jsonObject(with: response.body) as? [String: String])?["kept"] ?? ""
                return .cosigned(size: checkpoint.size, kept: kept)
            case .success(let response):
                return .unreachable(
                    "the collector refused the cosignature (HTTP \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self)))")
            case .failure(let error): return .unreachable(error.message)
            }
        }
    }
}
