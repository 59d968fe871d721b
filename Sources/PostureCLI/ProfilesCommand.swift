import ArgumentParser
import Foundation
import PostureCommandLine
import PostureModel
import PosturePolicy
import PostureReference

/// `posture profiles`: list, show and validate bank profiles.
struct ProfilesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List, show and validate bank profiles.",
        subcommands: [List.self, Show.self, Validate.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one profile a line: its id, a tab, then its name.")

        @OptionGroup var reference: ReferenceOptions

        func run() async throws {
            try await ErrorReporter.posture.run {
                let repository = ProfileRepository(paths: reference.paths)
                var lines = ""
                for profile in try repository.loadAll() {
                    lines += "\(profile.id)\t\(profile.name.text(for: reference.language))\n"
                }
                try emit(Data(lines.utf8), to: nil)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a profile's requirements: clause, consequence, check and parameters.")

        @Argument(help: ArgumentHelp("A profile id or a path to a profile file.", valueName: "ID"), completion: .profileIDs)
        var profile: String

        @OptionGroup var reference: ReferenceOptions

        func run() async throws {
            try await ErrorReporter.posture.run {
                let repository = ProfileRepository(paths: reference.paths)
                let loaded = try repository.load(profile)
                try emit(Data(ProfileDescription(profile: loaded, language: reference.language).render().utf8), to: nil)
            }
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check profile files strictly; problems are printed as FILE:LINE: message.",
            discussion: "Exit status: 0 all files are valid, 65 a file has errors, 66 a file is missing.")

        @Argument(help: ArgumentHelp("Profile files to check.", valueName: "FILE"))
        var files: [String]

        func validate() throws {
            if files.isEmpty { throw ValidationError("name at least one profile FILE to validate") }
        }

        func run() async throws {
            var worst: Int32 = 0
            for file in files {
                do {
                    let profile = try ProfileLoader.load(path: file)
                    print("\(file): ok (\(profile.id), \(profile.requirements.count) requirements)")
                } catch let error as LocatedError {
                    printError(error.description)
                    worst = max(worst, error.exitStatus)
                }
            }
            if worst != 0 { throw ExitCode(worst) }
        }
    }
}
