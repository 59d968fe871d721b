import Foundation
import PostureModel

extension CheckRegistry {
    /// Antivirus and EDR products installed, running and current: the `security_software` probe.
    static let securitySoftware: [CheckDefinition] = [
        CheckDefinition(.securitySoftwareInstalled, probe: .securitySoftware, parameters: SecurityProductParameters.self) {
            Verdicts.securityInstalled($0.evidence, commercialOnly: $1.commercialOnly)
        },
        CheckDefinition(.securitySoftwareRunning, probe: .securitySoftware, parameters: SecurityProductParameters.self) {
            Verdicts.securityRunning($0.evidence, commercialOnly: $1.commercialOnly)
        },
        CheckDefinition(.securitySoftwareSignaturesFresh, probe: .securitySoftware, parameters: SignatureAgeParameters.self) {
            Verdicts.signaturesFresh($0.evidence, $1, $0.now)
        }
    ]
}

/// `security_software.installed` and `.running`: whether only commercial products count.
struct SecurityProductParameters: CheckParameterSet {
    var commercialOnly = false
    static let fields: [ParameterField<Self>] = [.field("commercial_only", \.commercialOnly)]
}

/// `security_software.signatures_fresh`: how old the newest signatures may be, and whether only
/// commercial products count.
struct SignatureAgeParameters: CheckParameterSet {
    var maxAgeDays = 7
    var commercialOnly = false
    static let fields: [ParameterField<Self>] = [.field("max_age_days", \.maxAgeDays, minimum: 1), .field("commercial_only", \.commercialOnly)]
}

extension Verdicts {
    static let securityRemedy = LocalizedText(
        en: "Install an antivirus product (for example `sudo apt-get install clamav clamav-daemon`) and keep it running.",
        ja: "ウイルス対策ソフトを導入し(例: `sudo apt-get install clamav clamav-daemon`)、常時稼働させてください。")

    /// The installed products a requirement counts: every one, or with `commercial_only` (a rule
    /// that demands 市販, commercially sold, software) only those the catalog marks commercial.
    /// The verdict, when none counts: nothing installed, only free software, or a report that
    /// does not say which products are commercial.
    enum Counted { case products([SecuritySoftwareEvidence]), verdict(Verdict) }

    static func countedProducts(_ products: [SecuritySoftwareEvidence], commercialOnly: Bool) -> Counted {
        let installed = products.filter(\.installed)
        guard commercialOnly else {
            return installed.isEmpty
                ? .verdict(
                    .absent(
                        "No antivirus or EDR product is installed", "ウイルス対策ソフト(EDR を含む)が導入されていません",
                        remedy: securityRemedy))
                : .products(installed)
        }
        let commercial = installed.filter { $0.commercial == true }
        if !commercial.isEmpty { return .products(commercial) }
        let undetermined = installed.filter { $0.commercial == nil }.map(\.product)
        if !undetermined.isEmpty {
            return .verdict(
                .unknown(
                    "Whether \(undetermined.joined(separator: ", ")) is sold commercially is not in this report (made by an older agent)",
                    "\(undetermined.joined(separator: ", ")) が市販品かどうかがこのレポートにありません(旧版のエージェント)"))
        }
        let free = installed.map(\.product)
        let en =
            free.isEmpty
            ? "No commercially sold antivirus product is installed"
            : "Only free antivirus software is installed (\(free.joined(separator: ", "))); the rule requires commercially sold (市販) antivirus"
        let ja =
            free.isEmpty
            ? "市販のウイルス対策ソフトが導入されていません"
            : "無償のウイルス対策ソフトのみ導入されています(\(free.joined(separator: ", ")))。市販のウイルス対策ソフトが必要です"
        return .verdict(
            .absent(
                en, ja,
                remedy: .init(
                    en: "Install a commercially sold antivirus or EDR product and keep it running and current.",
                    ja: "市販のウイルス対策ソフト(EDR を含む)を導入し、常に稼働・最新の状態にしてください。")))
    }

    static func securityInstalled(_ evidence: Evidence, commercialOnly: Bool) -> Verdict {
        guard let products = evidence.securitySoftware else { return .notCollected(.securitySoftware, evidence) }
        let installed: [String]
        switch countedProducts(products, commercialOnly: commercialOnly) {
        case .products(let counted): installed = counted.map(\.product)
        case .verdict(let verdict): return verdict
        }
        return .pass("Installed: \(installed.joined(separator: ", "))", "導入済み: \(installed.joined(separator: ", "))")
    }

    static func securityRunning(_ evidence: Evidence, commercialOnly: Bool) -> Verdict {
        guard let products = evidence.securitySoftware else { return .notCollected(.securitySoftware, evidence) }
        let installed: [SecuritySoftwareEvidence]
        switch countedProducts(products, commercialOnly: commercialOnly) {
        case .products(let counted): installed = counted
        case .verdict(let verdict): return verdict
        }
        if let running = installed.first(where: { $0.running == true }) {
            return .pass("\(running.product) is running", "\(running.product) は稼働中です")
        }
        if installed.allSatisfy({ $0.running == false }) {
            let names = installed.map(\.product).joined(separator: ", ")
            return .absent(
                "Installed but not running: \(names)", "導入済みですが稼働していません: \(names)",
                remedy: .init(
                    en: "Start the antivirus service and enable it at boot (systemctl enable --now …).",
                    ja: "ウイルス対策サービスを起動し、起動時に有効化してください(systemctl enable --now …)。"))
        }
        return .unknown(
            "Whether the antivirus is running cannot be seen (offline disk image or no access to /proc)",
            "ウイルス対策ソフトの稼働状況を確認できません(オフラインのディスクイメージ、または /proc に権限なし)")
    }

    static func signaturesFresh(_ evidence: Evidence, _ p: SignatureAgeParameters, _ now: Date) -> Verdict {
        guard let products = evidence.securitySoftware else { return .notCollected(.securitySoftware, evidence) }
        let installed: [SecuritySoftwareEvidence]
        switch countedProducts(products, commercialOnly: p.commercialOnly) {
        case .products(let counted): installed = counted
        case .verdict(let verdict): return verdict
        }
        let maxAge = p.maxAgeDays
        let dated = installed.compactMap { product in product.signaturesUpdatedAt.map { (product.product, $0) } }
        // A date after the scan is a wrong clock on one side or a forged file: it proves nothing.
        let (future, past) = (dated.filter { $0.1 > now }, dated.filter { $0.1 <= now })
        if let fresh = past.first(where: { now.timeIntervalSince($0.1) <= Double(maxAge) * 86400 }) {
            return .pass("\(fresh.0) signatures updated \(Day(fresh.1))", "\(fresh.0) の定義ファイル更新日 \(Day(fresh.1))")
        }
        if let ahead = future.min(by: { $0.1 < $1.1 }) {
            let when = RFC3339.string(from: ahead.1)
            return .unknown(
                "\(ahead.0) signatures are dated \(when), in the future of this scan: check the clock of this PC",
                "\(ahead.0) の定義ファイルの日付 \(when) がスキャン時刻より未来です。この PC の時計を確認してください")
        }
        if let newest = past.max(by: { $0.1 < $1.1 }) {
            let age = Int(now.timeIntervalSince(newest.1) / 86400)
            return .absent(
                "\(newest.0) signatures are \(age) days old (updated \(Day(newest.1)); limit \(maxAge) days)",
                "\(newest.0) の定義ファイルが \(age) 日前のままです(更新日 \(Day(newest.1))、上限 \(maxAge) 日)",
                remedy: .init(
                    en: "Update the signatures (ClamAV: `sudo freshclam`) and check the updater runs daily.",
                    ja: "定義ファイルを更新し(ClamAV: `sudo freshclam`)、自動更新が毎日動くことを確認してください。"))
        }
        return .unknown(
            "The signature date of \(installed.map(\.product).joined(separator: ", ")) cannot be read",
            "\(installed.map(\.product).joined(separator: ", ")) の定義ファイル日付を読めません")
    }
}
