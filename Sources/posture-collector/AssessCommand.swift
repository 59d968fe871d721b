import ArgumentParser
import Foundation
import Logging
import PostureAssessment
import PostureCollector
import PostureCommandLine
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

    @OptionGroup var claim: ClaimOptions

    @Option(help: "Output format: text (default), json or html.")
    var format: AssessmentFormat = .text

    @OptionGroup var reference: ReferenceOptions

    @Option(help: ArgumentHelp("Write to FILE instead of standard output.", valueName: "FILE"))
    var output: String?

    @Option(help: ArgumentHelp("A staff token whose scope covers the contract (default: $POSTURE_COLLECTOR_TOKEN).", valueName: "TOKEN"))
    var token: String?

    func run() async throws {
        try await ErrorReporter.collector.run {
            let config = try options.load()
            try authorize(config)
            let profile = try claim.loadProfile(reference)
            let storage = try await openStorage(config, logger: Logger(label: "posture-collector"))
            defer { Task { try? await storage.close() } }
            let devices = try await storage.evidence(contract: contract).filter { device == nil || $0.device.keyID == device }
            guard let chosen = devices.first else {
                throw CommandFailure("no device enrolled for contract '\(contract)'\(device.map { " with key id \($0)" } ?? "")", status: ExitStatus.noInput)
            }
            guard devices.count == 1 else {
                throw CommandFailure(
                    "contract '\(contract)' has \(devices.count) devices; choose one with --device: "
                        + devices.map { "\($0.device.keyID) (\($0.device.hostname ?? "?"))" }.joined(separator: ", "), status: ExitStatus.usage)
            }
            try claim.assess(
                profile, key: .init(chosen.key, pinned: true, source: "enrolled for contract \(contract)"),
                reports: chosen.items, attestations: [], reference: reference, format: format, output: output)
        }
    }
}
