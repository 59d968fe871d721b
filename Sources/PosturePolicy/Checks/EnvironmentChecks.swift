import PostureModel

/// Requirements a Linux PC is held to honestly: the bank's published recommended environment, and
/// tools the rule requires that do not exist for Linux. Neither is ever left to an attestation.
extension CheckRegistry {
    /// The bank's recommended environment and tools a rule demands that Linux does not have.
    static let environment: [CheckDefinition] = [
        CheckDefinition(.environmentRecommended, probe: .os, parameters: RecommendedEnvironmentParameters.self) {
            Verdicts.recommendedEnvironment($0.requirement, $0.evidence, $1)
        },
        CheckDefinition(.toolUnavailableOnLinux, probe: nil, parameters: UnavailableToolParameters.self) {
            Verdicts.unavailableOnLinux($0.evidence, $1.tool)
        }
    ]
}

/// `environment.recommended`: the bank's published list, as of a date, from an address.
struct RecommendedEnvironmentParameters: CheckParameterSet {
    var os: [String]?
    var browsers: [String]?
    var asOf: String?
    var source: String?
    static let fields: [ParameterField<Self>] = [
        .field("os", \.os), .field("browsers", \.browsers), .field("as_of", \.asOf), .field("source", \.source)
    ]
}

/// `tool.unavailable_on_linux`: the tool the rule names.
struct UnavailableToolParameters: CheckParameterSet {
    var tool = ""
    static let fields: [ParameterField<Self>] = [.field("tool", \.tool, required: true)]
}

extension Verdicts {
    /// `environment.recommended`: the OS and browsers against the list the bank publishes, kept in
    /// the profile (`os`, `browsers`, `as_of`, `source`). OS entries are `ID` or `ID VERSION` as in
    /// os-release (`debian`, `ubuntu 24.04`); browsers are names as the browser probe reports them.
    static func recommendedEnvironment(_ requirement: Requirement, _ evidence: Evidence, _ p: RecommendedEnvironmentParameters) -> Verdict {
        let listed = p.os ?? []
        let browsersListed = p.browsers ?? []
        let source = p.source.map { " (\($0)" + (p.asOf.map { ", as of \($0))" } ?? ")") } ?? ""
        guard !listed.isEmpty || !browsersListed.isEmpty else {
            let remedy = LocalizedText(
                en:
                    "Copy the bank's published recommended environment (OS and browsers, with its as_of date and source address) into `with: {os: […], browsers: […], as_of: …, source: …}` of requirement '\(requirement.id)' in the profile.",
                ja: "銀行が公表している推奨環境(OSとブラウザ、確認日と掲載URL)を、プロファイルの要件 '\(requirement.id)' の `with: {os: […], browsers: […], as_of: …, source: …}` に記載してください。")
            return .unknown(
                "The bank's recommended environment is not in the profile, so this PC cannot be compared with it",
                "銀行の推奨環境がプロファイルに記載されていないため、この端末と比較できません", remedy: remedy)
        }
        guard let os = evidence.os else { return .notCollected(.os, evidence) }
        let name = os.prettyName ?? "\(os.id) \(os.versionId ?? "")"
        let remedy = LocalizedText(
            en: "Use the bank's service from an OS and browser on its recommended list\(source).",
            ja: "銀行の推奨環境\(source)に含まれるOSとブラウザで利用してください。")
        if !listed.isEmpty {
            let matches = listed.contains { entry in
                let parts = entry.lowercased().split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.first == os.id.lowercased() else { return false }
                return parts.count == 1 || (os.versionId.map { $0 == parts[1] || $0.hasPrefix(parts[1] + ".") } ?? false)
            }
            if !matches {
                return .fail(
                    "\(name) is not in the bank's recommended environment\(source): \(abbreviated(listed))",
                    "\(name) は銀行の推奨環境\(source)に含まれません: \(abbreviated(listed, ja: true))", remedy: remedy)
            }
        }
        guard !browsersListed.isEmpty else {
            return .pass("\(name) is in the bank's recommended environment\(source)", "\(name) は銀行の推奨環境\(source)に含まれます")
        }
        guard let browsers = evidence.browsers else { return .notCollected(.browsers, evidence) }
        let recommended = browsers.filter { browsersListed.contains($0.name) }.map(\.name)
        let others = browsers.filter { !browsersListed.contains($0.name) }.map(\.name)
        if recommended.isEmpty {
            return .fail(
                "No browser of the bank's recommended environment\(source) is installed (installed: \(abbreviated(others)))",
                "銀行の推奨環境\(source)のブラウザが導入されていません(導入済み: \(abbreviated(others, ja: true)))", remedy: remedy)
        }
        if !others.isEmpty {
            return .unknown(
                "Recommended browsers (\(abbreviated(recommended))) and others (\(abbreviated(others))) are installed; which one was used for banking cannot be seen",
                "推奨ブラウザ(\(abbreviated(recommended, ja: true)))以外(\(abbreviated(others, ja: true)))も導入されており、どれで利用したかは分かりません")
        }
        return .pass(
            "\(name) and \(abbreviated(recommended)) are in the bank's recommended environment\(source)",
            "\(name) と \(abbreviated(recommended, ja: true)) は銀行の推奨環境\(source)に含まれます")
    }

    /// `tool.unavailable_on_linux`: a tool the rule requires that is not made for Linux. posture
    /// runs only on Linux, so the requirement is not met; saying so is the honest answer, never an
    /// invitation to attest it.
    static func unavailableOnLinux(_ evidence: Evidence, _ tool: String) -> Verdict {
        let name = evidence.os.map { $0.prettyName ?? $0.id } ?? "Linux"
        return .fail(
            "The rule requires \(tool), which is not available for Linux; this PC runs \(name), so the requirement cannot be met on it",
            "規定は \(tool) の利用を求めていますが、Linux 版はありません。この端末は \(name) のため、この要件を満たせません",
            remedy: .init(
                en: "Use the bank's service from a PC that \(tool) supports, or ask the bank in writing how this PC is to meet the requirement.",
                ja: "\(tool) に対応した端末で利用するか、この端末でこの要件をどう満たすかを銀行に書面で確認してください。"))
    }
}
