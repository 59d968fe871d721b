import Foundation
import PostureModel

/// What a check's judge reads: the requirement with its validated parameters (defaults filled
/// in), the profile, the evidence, and when it was collected (that day in the profile's zone).
struct CheckInput {
    var requirement: Requirement
    var profile: Profile
    var evidence: Evidence
    var context: EvaluationContext
    var today: Day

    var parameters: CheckParameters { requirement.parameters }
    var now: Date { context.collectedAt }
}

/// One check, defined once: the probe whose evidence it judges, the parameters a profile may
/// give it (names, types, defaults; `profiles validate`, `profiles show` and Profiles/README's
/// table follow them) and its judge.
struct CheckDefinition: Sendable {
    var check: Check
    var probe: ProbeName?
    var parameters: [ParameterSpec]
    var judge: @Sendable (CheckInput) -> Verdict

    /// A check whose judge reads the typed parameter set `Parameters`.
    init<Parameters: CheckParameterSet>(
        _ check: Check, probe: ProbeName?, parameters: Parameters.Type, judge: @escaping @Sendable (CheckInput, Parameters) -> Verdict
    ) {
        self.check = check
        self.probe = probe
        self.parameters = Parameters.fields.map(\.spec)
        self.judge = { input in judge(input, Parameters(input.parameters)) }
    }

    /// A check that takes no parameters.
    init(_ check: Check, probe: ProbeName?, judge: @escaping @Sendable (CheckInput) -> Verdict) {
        self.init(check, probe: probe, parameters: NoParameters.self) { input, _ in judge(input) }
    }
}

/// Every check by id, from the family files under `Checks/`. A new check is a case of `Check`
/// and one definition in its family's list.
enum CheckRegistry {
    static let definitions: [Check: CheckDefinition] = {
        let all = osAndUpdates + browsers + securitySoftware + accounts + integrity + host + environment + declarations
        let byCheck = Dictionary(
            all.map { ($0.check, $0) },
            uniquingKeysWith: { first, _ in
                preconditionFailure("check \(first.check.rawValue) is defined twice")
            })
        precondition(byCheck.count == Check.allCases.count, "checks without a definition: \(Set(Check.allCases).subtracting(byCheck.keys))")
        return byCheck
    }()

    static func definition(_ check: Check) -> CheckDefinition { definitions[check]! }
}
