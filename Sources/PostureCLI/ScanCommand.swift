import ArgumentParser
import Foundation
import PostureAgent
import PostureAssessment
import PostureCommandLine
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureProbes
import PostureReference

/// `posture scan`: one local check with plain answers.
struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan this PC (or a mounted disk) and judge it against bank profiles.",
        discussion: """
            Reads the system under --root (default /), evaluates each requirement of the chosen \
            profiles (default: those the agent config names, else every bundled profile) and prints, \
            per bank, which requirement \
            passes, fails or cannot be seen, with the clause of the bank's rule and how to fix it.

            Run it as root for a complete answer: without root some files (for example /etc/shadow) \
            cannot be read and their requirements are reported as unknown, never as passed.

            Exit status: 0 all pass, 1 at least one fails, 3 nothing fails but something is unknown.

            Examples:
              sudo posture scan
              posture scan --profile iyogin-internet-eb --format json --output report.json
              sudo posture scan --root /mnt/evidence-disk
            """
    )

    @Option(help: ArgumentHelp("Scan the system mounted at DIR instead of the running one.", valueName: "DIR"))
    var root: String = "/"

    @Option(
        name: .customLong("profile"),
        help: ArgumentHelp(
            "A profile id or a path to a profile YAML file (repeatable; default: the agent config's profiles, else all bundled ones).",
            valueName: "ID"), completion: .profileIDs)
    var profiles: [String] = []

    @Option(help: "Output format: text (for a person, the default), json (the report contract), html (one printable, self-contained file for a claim).")
    var format: OutputFormat?

    @Option(help: ArgumentHelp("Write the output to FILE instead of standard output.", valueName: "FILE"))
    var output: String?

    @Flag(help: "Sign the report with the device key (created if missing) and add it to the journal; the output is the DSSE envelope.")
    var sign = false

    @Flag(
        help:
            "Re-verify every system file and re-read every package list instead of trusting the integrity and scan caches (kept in the state directory, keyed by file identity)."
    )
    var full = false

    @OptionGroup var reference: ReferenceOptions

    @Option(
        help: ArgumentHelp(
            "Agent configuration whose profiles are used when no --profile is given (default: /etc/posture/agent.yaml when it exists).", valueName: "FILE"))
    var config: String?

    @OptionGroup var state: StateOptions

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json, html
    }

    func validate() throws {
        if sign, let format, format != .json {
            throw ValidationError("--sign writes a DSSE envelope (JSON): drop --format \(format.rawValue) or use --format json")
        }
    }

    func run() async throws {
        try await ErrorReporter.posture.run {
            let paths = reference.paths
            // No --profile: the agent config's profiles when it names some, else every bundled profile.
            let chosen = try ProfileRepository(paths: paths)
                .chosen(profiles.isEmpty ? try AgentConfig.load(explicit: config).profiles : profiles)
            let root = try scanRoot(self.root)
            // Only the probes the chosen profiles judge run, so a quick check stays quick.
            let probes = Set(chosen.flatMap { $0.requirements.compactMap(\.check.probe) })
            let stateDirectory = sign ? try state.required() : try state.resolved()
            let scanner = Scanner(root: root, paths: paths, stateDirectory: stateDirectory, fullIntegrity: full, probes: probes)
            let now = Date()
            if let stateDirectory, sign {
                let signed = try await SignedScan(scanner: scanner, profiles: chosen).run(stateDirectory: stateDirectory, now: now)
                if let key = signed.createdKey {
                    printError("created the device key \(stateDirectory)/\(DeviceKey.privateName) (key id \(key.keyID))")
                }
                // The envelope bytes exactly as signed and journaled; stdout adds one newline.
                do throws(CommandFailure) {
                    try emit(output == nil ? signed.envelope + Data("\n".utf8) : signed.envelope, to: output)
                } catch var error {
                    error.description +=
                        "; the signed report is kept in the journal (sequence \(signed.report.chain?.sequence ?? 0)):"
                        + " `posture journal export` writes it"
                    throw error
                }
                announce(signed.report, signed: true)
                let status = ExitStatus.of(signed.report.findings)
                if status != 0 { throw ExitCode(status) }
                return
            }
            let attestations = try stateDirectory.flatMap { try Journal.existing(stateDirectory: $0) }?.attestationsInForce(at: now) ?? []
            let report = await scanner.scan(profiles: chosen, attestations: attestations, now: now)
            let data: Data
            switch format ?? .text {
            case .json:
                data = try PostureJSON.encoder(pretty: true).encode(report) + Data("\n".utf8)
            case .html:
                let keyID = try stateDirectory.flatMap { directory -> String? in
                    FileManager.default.fileExists(atPath: "\(directory)/\(DeviceKey.publicName)")
                        ? DeviceKey.keyID(of: try DeviceKey.publicKey(file: "\(directory)/\(DeviceKey.publicName)")) : nil
                }
                data = Data(HTMLReport.scan(report, profiles: chosen, keyID: keyID, envelopeSHA256: nil, language: reference.language).utf8)
            case .text:
                let style = TextStyle(colour: output == nil && TextStyle.stdoutIsColourTerminal())
                data = Data(
                    TextReport(report: report, profiles: chosen, language: reference.language, style: style)
                        .render().utf8)
            }
            try emit(data, to: output)
            announce(report, signed: false)
            let status = ExitStatus.of(report.findings)
            if status != 0 { throw ExitCode(status) }
        }
    }

    /// With `--output`, says on stderr where the report went and what it found, so a run that
    /// prints nothing else (and exits 1 for a failing requirement) does not read as a crash.
    func announce(_ report: Report, signed: Bool) {
        guard let output else { return }
        let order: [(FindingStatus, String)] = [
            (.fail, "fail"), (.unknown, "unknown"), (.attested, "declared by the customer"),
            (.pass, "pass"), (.notApplicable, "not applicable")
        ]
        let counts = order.compactMap { status, label -> String? in
            let count = report.findings.filter { $0.status == status }.count
            return count == 0 ? nil : "\(count) \(label)"
        }
        let profiles = Set(report.findings.map(\.profile)).count
        printError(
            "wrote \(signed ? "the signed report" : "the report") to \(ControlCharacters.escaped(output)): "
                + "\(counts.joined(separator: ", ")) across \(profiles) profile(s)")
    }
}
