import ArgumentParser
import Foundation
import Logging
import PostureAssessment
import PostureCollector
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureReference

/// `posture-collector assess`: `posture assess` over the evidence stored for a contract.
struct AssessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assess",
        abstract: "Assess a claim from the evidence stored for a contract, as `posture assess` does.",
        discussion: """
        Reads every envelope stored for the contract's device, byte for byte as received, and \
        runs the same verification and policy code as `posture assess`: the same outcome, the \
        same text, JSON (posture.assessment/v1) and HTML. The key is the one enrolled for the \
        contract (pinned). A contract with more than one device needs --device KEY_ID. Repeat \
        --incident for each fraudulent transfer; the claim period is judged on --notified (the day \
        the bank was notified of the claim), never on the day this runs; without it the deadline \
        is unknown.

        Exit status: 0 no exclusion or reduction and everything assessed; 1 a requirement fails \
        or the claim deadline is missed; 3 not assessable or something unassessed; 65 evidence \
        fails verification; 66 no such contract or device; 69 storage unavailable; 77 no staff \
        token, or one whose scope does not cover the contract.
        """
    )

    @OptionGroup var options: ConfigOption

    @Option(help: ArgumentHelp("The customer contract.", valueName: "ID"))
    var contract: String

    @Option(help: ArgumentHelp("The device (key id) when the contract has several.", valueName: "KEY_ID"))
    var device: String?

    @Option(help: ArgumentHelp("The profile id or a path to a profile YAML file.", valueName: "ID"))
    var profile: String

    @Option(name: .customLong("profiles"), help: ArgumentHelp("A directory of profiles searched first (repeatable).", valueName: "DIR"))
    var profileDirectories: [String] = []

    @Option(name: .customLong("incident"),
            help: ArgumentHelp("A fraudulent transfer: YYYY-MM-DD (that whole day in the profile's time zone) or RFC 3339. "
                               + "Repeat it for each transfer.", valueName: "DATE"))
    var incidents: [String]

    @Option(help: ArgumentHelp("The day the bank was notified of (accepted) the claim: YYYY-MM-DD or RFC 3339.", valueName: "DATE"))
    var notified: String?

    /// `--filed` judged the deadline on the wrong day and is gone; naming it is a usage error.
    @Option(help: .hidden)
    var filed: String?

    @Option(help: "Output format: text (default), json or html.")
    var format: AssessmentFormat = .text

    @Option(help: ArgumentHelp("Language of text and HTML output: en or ja (default: from LANG).", valueName: "LANG"))
    var lang: String?

    @Option(help: ArgumentHelp("Write to FILE instead of standard output.", valueName: "FILE"))
    var output: String?

    @Option(help: ArgumentHelp("A staff token whose scope covers the contract (default: $POSTURE_COLLECTOR_TOKEN).", valueName: "TOKEN"))
    var token: String?

    func validate() throws {
        if incidents.isEmpty { throw ValidationError("name the fraudulent transfer with --incident DATE (repeat it for each transfer)") }
        if filed != nil {
            throw ValidationError("--filed is no longer accepted: the claim period is judged on the day the bank was notified; give --notified DATE")
        }
    }

    func run() async throws {
        try await withExitStatus {
            let config = try options.load()
            try authorize(config)
            let profile: Profile
            do {
                profile = try ProfileRepository(paths: .standard(extra: profileDirectories)).load(self.profile)
            } catch let error as ProfileRepository.LookupError {
                throw Failure(message: error.description, status: ExitStatus.noInput)
            }
            let storage = try await openStorage(config, logger: Logger(label: "posture-collector"))
            defer { Task { try? await storage.close() } }
            let devices = try await storage.evidence(contract: contract).filter { device == nil || $0.device.keyID == device }
            guard let chosen = devices.first else {
                throw Failure(message: "no device enrolled for contract '\(contract)'\(device.map { " with key id \($0)" } ?? "")", status: ExitStatus.noInput)
            }
            guard devices.count == 1 else {
                throw Failure(message: "contract '\(contract)' has \(devices.count) devices; choose one with --device: "
                              + devices.map { "\($0.device.keyID) (\($0.device.hostname ?? "?"))" }.joined(separator: ", "), status: ExitStatus.usage)
            }
            let assessment: Assessment
            do {
                assessment = try ClaimAssessment.assess(profile: profile, incidents: incidents, notified: notified,
                                                        key: .init(chosen.key, pinned: true, source: "enrolled for contract \(contract)"),
                                                        reports: chosen.items, attestations: [],
                                                        reference: .standard(extra: profileDirectories))
            } catch let error as AssessmentError {
                throw ValidationError(error.description)
            }
            let language = lang.map { $0.hasPrefix("ja") ? Language.ja : Language.en } ?? Language.fromEnvironment(ProcessInfo.processInfo.environment)
            let data = try format.render(assessment, language: language)
            if let output {
                do throws(FileWriteError) { try AtomicFile.write(data, to: output) } catch {
                    throw Failure(message: error.description, status: ExitStatus.cannotCreate)
                }
            } else {
                FileHandle.standardOutput.write(data)
            }
            if assessment.exitStatus != 0 { throw ExitCode(assessment.exitStatus) }
        }
    }
}

extension AssessmentFormat: ExpressibleByArgument {}
