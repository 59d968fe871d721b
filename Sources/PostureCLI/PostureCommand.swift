package import ArgumentParser
import Foundation
import PostureAgent
import PostureModel

/// The `posture` command: audit this PC against the banks' compensation rules.
package struct PostureCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "posture",
        abstract: "Audit a Linux PC against Japanese banks' internet-banking compensation rules.",
        discussion: """
            posture reads the endpoint (OS and its end of support, pending updates, and more), \
            judges it against bank profiles, and says which requirement of which bank fails, why, \
            and how to fix it.

            Exit status of scan: 0 every requirement passes (or is attested or not applicable), \
            1 at least one fails, 3 nothing fails but something is unknown. Errors: 64 usage, \
            65 bad data (with FILE:LINE), 66 input missing, 70 internal error, 77 permission denied.
            """,
        version: PostureVersion.current,
        subcommands: [
            ScanCommand.self, ProfilesCommand.self, VerifyCommand.self, KeyCommand.self, JournalCommand.self,
            AgentCommand.self, UploadCommand.self, StatusCommand.self, EnrollCommand.self, IntegrityCommand.self,
            AttestCommand.self, ClaimCommand.self, AssessCommand.self
        ]
    )

    package init() {}
}
