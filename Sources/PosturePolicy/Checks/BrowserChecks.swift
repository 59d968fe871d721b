import Foundation
import PostureModel

extension CheckRegistry {
    /// Browsers on a supported release line and at the newest version: the `browsers` probe.
    static let browsers: [CheckDefinition] = [
        CheckDefinition(.browserSupported, probe: .browsers, parameters: BrowserSupportedParameters.self) {
            Verdicts.browserSupported($0.evidence, $1, $0.today, $0.now)
        },
        CheckDefinition(.browserUpdated, probe: .browsers, parameters: IndexAgeParameters.self) {
            Verdicts.browserUpdated($0.evidence, $1.maxIndexAgeDays, $0.now)
        }
    ]
}

/// `browser.supported`: how old the vendors' release data and the package index may be, and how
/// many release lines a distribution may trail the vendor.
struct BrowserSupportedParameters: CheckParameterSet {
    var referenceMaxAgeDays = 180
    var distributionLagLines = 2
    var maxIndexAgeDays = 7
    static let fields: [ParameterField<Self>] = [
        .field("reference_max_age_days", \.referenceMaxAgeDays, minimum: 1),
        .field("distribution_lag_lines", \.distributionLagLines, minimum: 0),
        .field("max_index_age_days", \.maxIndexAgeDays, minimum: 1)
    ]
}

/// `browser.updated`: how old the package index may be for "nothing newer" to count.
struct IndexAgeParameters: CheckParameterSet {
    var maxIndexAgeDays = 7
    static let fields: [ParameterField<Self>] = [.field("max_index_age_days", \.maxIndexAgeDays, minimum: 1)]
}

extension Verdicts {
    /// A packaged browser at the newest build its package source offers (a fresh index shows no
    /// newer candidate) that is at most `distribution_lag_lines` release lines past the vendor's
    /// supported lines: its distribution (or the vendor's own repository) still ships it, a few
    /// days behind the vendor, and the customer has nothing newer to install. Further behind, the
    /// source has stopped following the vendor, and the browser is unsupported.
    static func heldBySource(_ browser: BrowserEvidence, _ evidence: Evidence, _ p: BrowserSupportedParameters, _ now: Date) -> Bool {
        guard browser.source.hasPrefix("dpkg:"), browser.eol == nil, let candidate = browser.candidate, candidate == browser.version,
            let past = browser.linesPastSupport, past <= p.distributionLagLines
        else { return false }
        return indexIsFresh(evidence, maxAgeDays: p.maxIndexAgeDays, now)
    }

    /// Whether the package index was fetched within the profile's `max_index_age_days` (default 7).
    static func indexIsFresh(_ evidence: Evidence, maxAgeDays: Int, _ now: Date) -> Bool {
        guard let fetched = evidence.packages?.indexUpdatedAt else { return false }
        return Int(now.timeIntervalSince(fetched) / 86400) <= maxAgeDays
    }

    static func browserSupported(_ evidence: Evidence, _ p: BrowserSupportedParameters, _ today: Day, _ now: Date) -> Verdict {
        guard let browsers = evidence.browsers else { return .notCollected(.browsers, evidence) }
        guard !browsers.isEmpty else {
            return .unknown("No web browser was found on this system", "ブラウザが見つかりませんでした")
        }
        let held = browsers.filter { $0.supported == false && heldBySource($0, evidence, p, now) }
        let unsupported = browsers.filter { $0.supported == false && !held.contains($0) }
        if !unsupported.isEmpty {
            func names(ja: Bool) -> [String] {
                unsupported.map { browser in
                    let asOf = browser.catalogAsOf?.description ?? "?"
                    return "\(browser.name) \(browser.version) [\(browser.source)]"
                        + (browser.eol.map { ja ? "(サポート終了 \($0))" : " (support ended \($0))" } ?? "")
                        + (browser.supportSource.map { ja ? "(リリース情報: \($0)、\(asOf) 時点)" : " (release data: \($0), as of \(asOf))" } ?? "")
                }
            }
            return .fail(
                "Unsupported browser release: \(abbreviated(names(ja: false)))",
                "サポート切れのブラウザ: \(abbreviated(names(ja: true), ja: true))",
                remedy: .init(
                    en: "Update these browsers to a supported release, or remove them.",
                    ja: "これらのブラウザをサポート中の版へ更新するか、削除してください。"))
        }
        let unknown = browsers.filter { $0.supported == nil }
        if !unknown.isEmpty {
            let namesList = unknown.map { "\($0.name) \($0.version) [\($0.source)]" }
            return .unknown("Support status unknown for: \(abbreviated(namesList))", "サポート状況が不明なブラウザ: \(abbreviated(namesList, ja: true))")
        }
        let maxAge = p.referenceMaxAgeDays
        if let stale = browsers.compactMap(\.catalogAsOf).min(), stale.days(until: today) > maxAge {
            return .unknown(
                "Browser release data is from \(stale), older than \(maxAge) days: update posture's catalogs",
                "ブラウザのリリース情報(\(stale))が \(maxAge) 日より古いため判定できません。posture のカタログを更新してください",
                remedy: .init(
                    en: "Install a newer posture package (its browser catalog is out of date).",
                    ja: "新しい posture パッケージを導入してください(ブラウザのカタログが古くなっています)。"))
        }
        let namesList = browsers.map { "\($0.name) \($0.version)" }
        let heldEN =
            held.isEmpty
            ? ""
            : "; at the newest build their package source offers, \(held.map { "\($0.linesPastSupport ?? 0)" }.joined(separator: ", ")) release line(s) behind the vendor: "
                + abbreviated(held.map { "\($0.name) \($0.version) [\($0.source)]" })
        let heldJA =
            held.isEmpty
            ? ""
            : "。パッケージ提供元の最新版(ベンダーより \(held.map { "\($0.linesPastSupport ?? 0)" }.joined(separator: "、")) 系列遅れ): "
                + abbreviated(held.map { "\($0.name) \($0.version) [\($0.source)]" }, ja: true)
        return .pass("Supported browsers: \(abbreviated(namesList))\(heldEN)", "サポート中のブラウザ: \(abbreviated(namesList, ja: true))\(heldJA)")
    }

    static func browserUpdated(_ evidence: Evidence, _ maxIndexAgeDays: Int, _ now: Date) -> Verdict {
        guard let browsers = evidence.browsers else { return .notCollected(.browsers, evidence) }
        guard !browsers.isEmpty else { return .unknown("No web browser was found on this system", "ブラウザが見つかりませんでした") }
        let outdated = browsers.filter { $0.candidate != nil && $0.candidate != $0.version }
        if !outdated.isEmpty {
            let namesList = outdated.map { "\($0.name) \($0.version) → \($0.candidate!)" }
            return .fail(
                "Browser update available: \(abbreviated(namesList))", "ブラウザの更新があります: \(abbreviated(namesList, ja: true))",
                remedy: .init(
                    en: "Update the browser (`sudo apt-get upgrade` for packaged browsers).",
                    ja: "ブラウザを更新してください(パッケージ版は `sudo apt-get upgrade`)。"))
        }
        let unknownCandidate = browsers.filter { $0.candidate == nil }
        if !unknownCandidate.isEmpty {
            let namesList = unknownCandidate.map { "\($0.name) \($0.version) [\($0.source)]" }
            return .unknown(
                "No package index entry tells whether a newer version exists for: \(abbreviated(namesList))",
                "新しい版の有無をパッケージ索引で確認できないブラウザ: \(abbreviated(namesList, ja: true))",
                remedy: .init(
                    en: "Keep these browsers on automatic updates (snap refresh, flatpak update, the browser's own updater).",
                    ja: "これらのブラウザの自動更新を有効にしてください(snap refresh、flatpak update、ブラウザ自身の更新機能)。"))
        }
        let maxAge = maxIndexAgeDays
        if indexIsFresh(evidence, maxAgeDays: maxAge, now) {
            let namesList = browsers.map { "\($0.name) \($0.version)" }
            return .pass(
                "Browsers are at the newest version the package index offers: \(abbreviated(namesList))",
                "ブラウザはパッケージ索引の最新版です: \(abbreviated(namesList, ja: true))")
        }
        return .unknown(
            "The package index is missing or older than \(maxAge) days, so newer browser versions may exist",
            "パッケージ索引がないか \(maxAge) 日より古いため、ブラウザの新しい版の有無が分かりません")
    }
}
