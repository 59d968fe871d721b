import Foundation
import PostureModel

extension CheckRegistry {
    /// Unmodified system files, no unowned executables, no interception: the `integrity` probe.
    static let integrity: [CheckDefinition] = [
        CheckDefinition(.integrityNoModifiedSystemFiles, probe: .integrity, parameters: ModifiedFilesParameters.self) {
            Verdicts.modifiedFiles($0.evidence, $1)
        },
        CheckDefinition(.integrityNoUnownedExecutables, probe: .integrity) { Verdicts.unownedExecutables($0.evidence) },
        CheckDefinition(.integrityNoInterception, probe: .integrity, parameters: InterceptionParameters.self) {
            Verdicts.interception($0.evidence, $1.domains)
        }
    ]
}

/// `integrity.no_modified_system_files`: whether changed configuration files and missing files count.
struct ModifiedFilesParameters: CheckParameterSet {
    var includeConffiles = false
    var includeMissing = true
    static let fields: [ParameterField<Self>] = [.field("include_conffiles", \.includeConffiles), .field("include_missing", \.includeMissing)]
}

/// `integrity.no_interception`: the bank's domains a proxy or hosts entry must not redirect.
struct InterceptionParameters: CheckParameterSet {
    var domains: [String] = []
    static let fields: [ParameterField<Self>] = [.field("domains", \.domains)]
}

extension Verdicts {
    static let integrityRemedy = LocalizedText(
        en: "Reinstall the affected packages (`sudo apt-get install --reinstall PACKAGE`) and find out who changed them.",
        ja: "該当パッケージを再インストールし(`sudo apt-get install --reinstall パッケージ`)、変更した者を調査してください。")

    static func modifiedFiles(_ evidence: Evidence, _ p: ModifiedFilesParameters) -> Verdict {
        guard let integrity = evidence.integrity else { return .notCollected(.integrity, evidence) }
        let includeConffiles = p.includeConffiles
        var problems = integrity.modified.filter { $0.kind == "file" || includeConffiles }.map { "\($0.path) (\($0.package))" }
        if p.includeMissing {
            problems += integrity.missing.filter { $0.kind == "file" || includeConffiles }.map { "missing \($0.path) (\($0.package))" }
        }
        if !problems.isEmpty {
            return .fail(
                "\(problems.count) system file(s) differ from their packages: \(abbreviated(problems))",
                "\(problems.count) 件のシステムファイルがパッケージと一致しません: \(abbreviated(problems, ja: true))", remedy: integrityRemedy)
        }
        if !integrity.unreadable.isEmpty {
            let list = integrity.unreadable
            return .unknown(
                "\(list.count) package file(s) could not be read, so were not verified: \(abbreviated(list))",
                "\(list.count) 件のパッケージファイルを読めず検証できません: \(abbreviated(list, ja: true))")
        }
        if !integrity.unverifiablePackages.isEmpty {
            let list = integrity.unverifiablePackages
            return .unknown(
                "\(list.count) installed package(s) ship no checksums (md5sums), so their files cannot be verified: \(abbreviated(list))",
                "\(list.count) 件のパッケージにチェックサム(md5sums)がなく、ファイルを検証できません: \(abbreviated(list, ja: true))",
                remedy: .init(
                    en: "Reinstall these packages (`sudo apt-get install --reinstall PACKAGE`) so dpkg records their checksums.",
                    ja: "これらのパッケージを再インストールし(`sudo apt-get install --reinstall パッケージ`)、チェックサムを記録させてください。"))
        }
        return .pass(
            "\(integrity.checked) package files checked, none modified",
            "\(integrity.checked) 件のパッケージファイルを検査し、改変はありません")
    }

    static func unownedExecutables(_ evidence: Evidence) -> Verdict {
        guard let integrity = evidence.integrity else { return .notCollected(.integrity, evidence) }
        if !integrity.unownedExecutables.isEmpty {
            let pathsList = integrity.unownedExecutables.map(\.path)
            return .fail(
                "Executables in system directories that no package installed: \(abbreviated(pathsList))",
                "どのパッケージにも属さない実行ファイルがシステムディレクトリにあります: \(abbreviated(pathsList, ja: true))",
                remedy: .init(
                    en: "Identify and remove these files, or install them from a package.",
                    ja: "これらのファイルの出所を確認し、削除するかパッケージから導入してください。"))
        }
        if !integrity.unownedSearchIncomplete.isEmpty {
            let list = integrity.unownedSearchIncomplete
            return .unknown(
                "The search of system directories for unowned executables was incomplete: \(abbreviated(list))",
                "システムディレクトリの所有者不明の実行ファイルの検索が不完全です: \(abbreviated(list, ja: true))")
        }
        return .pass("No unowned executables in system directories", "所有者不明の実行ファイルはありません")
    }

    static func interception(_ evidence: Evidence, _ domains: [String]) -> Verdict {
        guard let integrity = evidence.integrity else { return .notCollected(.integrity, evidence) }
        let domains = domains.map { $0.lowercased() }
        var problems: [String] = integrity.ldSoPreload.map { "ld.so.preload: \($0)" }
        let overrides = integrity.hostsOverrides.filter { entry in
            domains.isEmpty || domains.contains { host(entry.name.lowercased(), isIn: $0) }
        }
        problems += overrides.map { "hosts: \($0.name) → \($0.address)" }
        problems += integrity.extraCaCertificates.map { "CA: \($0.subject) (\($0.path))" }
        if !problems.isEmpty {
            // The remedy names only what was found.
            let found: [(en: String, ja: String)] = [
                integrity.ldSoPreload.isEmpty ? nil : ("the /etc/ld.so.preload entries", "/etc/ld.so.preload の設定"),
                overrides.isEmpty ? nil : ("the hosts overrides", "hosts の上書き"),
                integrity.extraCaCertificates.isEmpty ? nil : ("the added certificate authorities", "追加された認証局")
            ].compactMap { $0 }
            let en = found.count > 1 ? found.dropLast().map(\.en).joined(separator: ", ") + " and " + found.last!.en : found[0].en
            return .fail(
                "Traffic or code could be intercepted: \(abbreviated(problems))",
                "通信やプログラムが横取りされる設定があります: \(abbreviated(problems, ja: true))",
                remedy: .init(
                    en: "Remove \(en) unless IT put them there on purpose.",
                    ja: "IT 部門が意図して設定したものでなければ、\(found.map(\.ja).joined(separator: "・"))を削除してください。"))
        }
        if !domains.isEmpty, let unseen = leftOut(evidence, "integrity.hosts_overrides", coveringAll: domains) {
            return .unknown(
                "\(unseen) hosts override(s) were left out of the report, so one for \(abbreviated(domains, limit: 3)) cannot be ruled out",
                "\(unseen) 件の hosts 上書きがレポートから省かれたため、\(abbreviated(domains, limit: 3, ja: true)) の上書きがないとは言えません")
        }
        if !integrity.unreadableCertificateStores.isEmpty {
            let stores = integrity.unreadableCertificateStores.map { "\($0.path) (\($0.reason))" }
            return .unknown(
                "Browser certificate stores that could not be read may trust an added authority: \(abbreviated(stores))",
                "読み取れないブラウザの証明書ストアに追加の認証局があるかもしれません: \(abbreviated(stores, ja: true))")
        }
        return .pass(
            "No preloaded libraries, bank host overrides or added certificate authorities",
            "ライブラリの事前読み込み、銀行ドメインの hosts 上書き、追加の認証局はありません")
    }
}
