package import ArgumentParser
package import Foundation
package import PostureAssessment
package import PostureEvidence
package import PostureModel
package import PosturePolicy
package import PostureReference

/// Options shared by verbs that read profiles.
package struct ReferenceOptions: ParsableArguments {
    @Option(
        name: .customLong("profiles"),
        help: ArgumentHelp(
            "A directory of profiles searched before /etc/posture/profiles, /usr/share/posture/profiles and the bundled ones (repeatable).",
            valueName: "DIR"))
    package var profileDirectories: [String] = []

    @Option(help: ArgumentHelp("Language of text and HTML output: en or ja (default: from LANG).", valueName: "LANG"))
    package var lang: OutputLanguage?

    package init() {}

    package var paths: ReferencePaths { .standard(extra: profileDirectories) }
    package var language: Language { lang?.language ?? Language.fromEnvironment(ProcessInfo.processInfo.environment) }
}

/// `--lang` values.
package enum OutputLanguage: String, ExpressibleByArgument, CaseIterable, Sendable {
    case en, ja
    package var language: Language { self == .ja ? .ja : .en }
}

/// What names a claim: the bank's profile, the transfers and the day the bank was notified.
/// `posture claim`, `posture assess` and `posture-collector assess` read it alike.
package struct ClaimOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The profile id or a path to a profile YAML file.", valueName: "ID"), completion: .profileIDs)
    package var profile: String

    @Option(
        name: .customLong("incident"),
        help: ArgumentHelp(
            "A fraudulent transfer: YYYY-MM-DD (that whole day in the profile's time zone) or an RFC 3339 time. "
                + "Repeat it for each transfer.", valueName: "DATE"))
    package var incidents: [String]

    @Option(
        help: ArgumentHelp(
            "The day the bank was notified of (accepted) the claim: YYYY-MM-DD or RFC 3339. "
                + "The claim period is judged on it; without it the deadline is unknown.", valueName: "DATE"))
    package var notified: String?

    /// `--filed` judged the deadline on the wrong day and is gone; naming it is a usage error.
    @Option(help: .hidden)
    package var filed: String?

    package init() {}

    package func validate() throws {
        if incidents.isEmpty { throw ValidationError("name the fraudulent transfer with --incident DATE (repeat it for each transfer)") }
        if filed != nil {
            throw ValidationError("--filed is no longer accepted: the claim period is judged on the day the bank was notified; give --notified DATE")
        }
    }

    package func loadProfile(_ reference: ReferenceOptions) throws -> Profile {
        try ProfileRepository(paths: reference.paths).load(profile)
    }

    /// The claim judged on `evidence`, written in `format` and `language` to `output` (stdout
    /// when nil); ends with the assessment's exit status. Both `assess` verbs finish here.
    package func assess(
        _ profile: Profile, key: ClaimAssessment.Key, reports: [ChainVerifier.Item], attestations: [Data],
        reference: ReferenceOptions, format: AssessmentFormat, output: String?, log: LogInclusion? = nil
    ) throws {
        let assessment = try ClaimAssessment.assess(
            profile: profile, incidents: incidents, notified: notified, key: key,
            reports: reports, attestations: attestations, reference: reference.paths, log: log)
        try emit(try format.render(assessment, language: reference.language), to: output)
        if assessment.exitStatus != 0 { throw ExitCode(assessment.exitStatus) }
    }
}

/// A claim date or time in the profile's time zone, as a usage error when malformed.
package func claimTime(_ text: String, profile: Profile) throws -> Date {
    do { return try Assessor.time(text, timezone: profile.claim.timezone) } catch { throw ValidationError("\(error)") }
}

extension CompletionKind {
    /// The profile ids on the standard search path, for `--profile <TAB>`.
    package static var profileIDs: CompletionKind {
        .custom { _, _, prefix in
            let ids = (try? ProfileRepository(paths: ReferencePaths.standard(extra: [])).loadAll().map(\.id)) ?? []
            return ids.filter { $0.hasPrefix(prefix) }.sorted()
        }
    }
}

extension AssessmentFormat: ExpressibleByArgument {}
