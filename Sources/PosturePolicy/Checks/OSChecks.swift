import Foundation
import PostureModel

extension CheckRegistry {
    /// OS support and pending updates: the `os` and `packages` probes.
    static let osAndUpdates: [CheckDefinition] = [
        CheckDefinition(.osSupported, probe: .os, parameters: OSSupportedParameters.self) {
            Verdicts.osSupported($0.evidence, $1, $0.today)
        },
        CheckDefinition(.updatesNonePending, probe: .packages, parameters: PendingUpdatesParameters.self) {
            Verdicts.updatesNonePending($0.evidence, $1, $0.now)
        }
    ]
}

/// `os.supported`: which support phase counts (none: the latest the vendor publishes) and how
/// many days of it must be left.
struct OSSupportedParameters: CheckParameterSet {
    var phase: String?
    var minDaysLeft = 0
    static let fields: [ParameterField<Self>] = [.field("phase", \.phase), .field("min_days_left", \.minDaysLeft, minimum: 0)]
}

/// `updates.none_pending`: how old the package index may be, and whether only security updates count.
struct PendingUpdatesParameters: CheckParameterSet {
    var maxIndexAgeDays = 7
    var securityOnly = false
    static let fields: [ParameterField<Self>] = [.field("max_index_age_days", \.maxIndexAgeDays, minimum: 1), .field("security_only", \.securityOnly)]
}

extension Verdicts {
    static func osSupported(_ evidence: Evidence, _ p: OSSupportedParameters, _ today: Day) -> Verdict {
        guard let os = evidence.os else { return .notCollected(.os, evidence) }
        let name = os.prettyName ?? "\(os.id) \(os.versionId ?? "")"
        let remedy = LocalizedText(
            en: "Upgrade to a release of \(os.id) that its vendor still supports.",
            ja: "ベンダーのサポートが続いている \(os.id) のリリースへアップグレードしてください。")
        let limit: Day?
        if let phase = p.phase {
            guard let date = os.supportEnd(phase) else {
                return .unknown(
                    "No '\(phase)' support date is known for \(name) (known phases: \(os.support.keys.sorted().joined(separator: ", ")))",
                    "\(name) のサポート段階 '\(phase)' の終了日が不明です")
            }
            limit = date
        } else {
            limit = os.eol
        }
        guard let limit else {
            return .unknown(
                "End of support for \(name) is not known (no distro-info-data row and no catalog entry)",
                "\(name) のサポート終了日が不明です(distro-info-data にもカタログにもありません)")
        }
        let left = today.days(until: limit)
        if left < 0 {
            return .fail(
                "\(name) reached end of support on \(limit) (\(-left) days ago)",
                "\(name) は \(limit) にサポートが終了しています(\(-left) 日前)", remedy: remedy)
        }
        let minimum = p.minDaysLeft
        if left < minimum {
            return .fail(
                "\(name) support ends on \(limit), in \(left) days (the profile asks for \(minimum))",
                "\(name) のサポートは \(limit) に終了します(残り \(left) 日、必要 \(minimum) 日)", remedy: remedy)
        }
        let source = os.eolSource.map { " (\($0))" } ?? ""
        return .pass("\(name) is supported until \(limit)\(source)", "\(name) は \(limit) までサポートされます\(source)")
    }

    static func updatesNonePending(_ evidence: Evidence, _ p: PendingUpdatesParameters, _ now: Date) -> Verdict {
        guard let packages = evidence.packages else { return .notCollected(.packages, evidence) }
        let remedy = LocalizedText(
            en: "Run `sudo apt-get update && sudo apt-get upgrade`, then scan again.",
            ja: "`sudo apt-get update && sudo apt-get upgrade` を実行してから再度スキャンしてください。")
        let securityOnly = p.securityOnly
        // A phased update apt holds back on this machine is not pending: `apt-get upgrade` will not install it yet.
        let phased = packages.pendingUpdates?.filter(\.phased) ?? []
        if let pending = packages.pendingUpdates?.filter({ !$0.phased }) {
            let relevant = securityOnly ? pending.filter(\.security) : pending
            if !relevant.isEmpty {
                let security = relevant.filter(\.security).count
                let namesList = relevant.map { "\($0.name) \($0.installed) → \($0.candidate)" }
                return .fail(
                    "\(relevant.count) update(s) pending, \(security) of them security: \(abbreviated(namesList))",
                    "未適用の更新が \(relevant.count) 件(うちセキュリティ更新 \(security) 件): \(abbreviated(namesList, ja: true))", remedy: remedy)
            }
        }
        let refresh = LocalizedText(
            en: "Run `sudo apt-get update` (and keep it scheduled), then scan again.",
            ja: "`sudo apt-get update` を実行し(定期実行を設定し)、再度スキャンしてください。")
        guard let fetched = packages.indexUpdatedAt else {
            return .unknown(
                "The package index has never been fetched, so pending updates cannot be known",
                "パッケージ索引が一度も取得されていないため、未適用の更新が分かりません", remedy: refresh)
        }
        let maxAge = p.maxIndexAgeDays
        let age = Int(now.timeIntervalSince(fetched) / 86400)
        if age > maxAge {
            return .unknown(
                "The package index was last fetched \(age) days ago (limit \(maxAge)), so newer updates may exist",
                "パッケージ索引の最終取得が \(age) 日前(上限 \(maxAge) 日)のため、新しい更新の有無が分かりません",
                remedy: refresh)
        }
        if packages.pendingUpdates == nil || packages.indexError != nil {
            let reason = packages.indexError ?? "the package lists could not be read"
            return .unknown("Pending updates cannot be fully known: \(reason)", "未適用の更新を確認できません: \(reason)", remedy: refresh)
        }
        let scope = securityOnly ? "security " : ""
        let held = phased.map { "\($0.name) \($0.candidate)" + ($0.phasedUpdatePercentage.map { " (\($0)%)" } ?? "") }
        let heldEN = held.isEmpty ? "" : "; phased updates not yet offered to this machine: \(abbreviated(held))"
        let heldJA = held.isEmpty ? "" : "。段階的配信でこの端末にはまだ提供されていない更新: \(abbreviated(held, ja: true))"
        return .pass(
            "No \(scope)updates pending for \(packages.installed) packages (index fetched \(Day(fetched)))\(heldEN)",
            "\(packages.installed) パッケージに未適用の\(securityOnly ? "セキュリティ" : "")更新はありません(索引取得日 \(Day(fetched)))\(heldJA)")
    }
}
