import Foundation
import PostureModel

/// What a requirement is judged against besides the evidence: when, attestations, the claim.
public struct EvaluationContext: Sendable {
    /// One transfer of the claim being assessed (`posture assess`); nil for a scan.
    public struct Claim: Sendable {
        /// When the transfer happened (00:00 of its day when only the day is known).
        public var transfer: Date
        /// Only the day of the transfer is known, not its time.
        public var transferIsDay: Bool
        /// The day the bank was notified of (accepted) the claim; nil when not given.
        public var notified: Day?
        /// The bank calendar the profile's cut-off needs, when it names one and it was found.
        public var calendar: BankCalendar?
        public init(transfer: Date, transferIsDay: Bool, notified: Day?, calendar: BankCalendar? = nil) {
            self.transfer = transfer
            self.transferIsDay = transferIsDay
            self.notified = notified
            self.calendar = calendar
        }
    }

    public var collectedAt: Date
    public var attestations: [Attestation]
    public var claim: Claim?

    public init(collectedAt: Date, attestations: [Attestation] = [], claim: Claim? = nil) {
        self.collectedAt = collectedAt
        self.attestations = attestations
        self.claim = claim
    }
}

/// Evidence + profile → findings. Pure: the same code judges on the PC (`scan`) and at the bank (`assess`).
public enum PolicyEngine {
    public static func evaluate(_ profile: Profile, evidence: Evidence, context: EvaluationContext) -> [Finding] {
        profile.requirements.map { requirement in
            let verdict = Verdicts.judge(requirement, profile: profile, evidence: evidence, context: context)
                .withheld(for: requirement.check, evidence)
            let remedy = verdict.status == .fail || verdict.status == .unknown
                ? (requirement.remedy ?? verdict.remedy) : nil
            var summary = verdict.summary
            if verdict.status != .notApplicable, !requirement.toolDefaults.isEmpty {
                let periods = requirement.toolDefaults.sorted { $0.key < $1.key }
                summary.en += " [" + periods.map { "\($0.value) days (\($0.key)): posture's default, the rule states no period" }.joined(separator: "; ") + "]"
                summary.ja += "[" + periods.map { "\($0.value)日(\($0.key)): 規定に期間の定めがないため posture の既定値" }.joined(separator: "、") + "]"
            }
            return Finding(profile: profile.id, requirement: requirement.id, clause: requirement.clause,
                           status: verdict.status, consequence: requirement.consequence,
                           check: requirement.check.rawValue, title: requirement.title,
                           summary: summary, remedy: remedy, clauseEn: requirement.clauseEn)
        }
    }
}

/// A check's verdict before it becomes a finding.
struct Verdict {
    var status: FindingStatus
    var summary: LocalizedText
    var remedy: LocalizedText?
    /// A fail concluded from what was *not* found (no antivirus among the packages seen), which
    /// stands only when the probe saw everything it looked at.
    var restsOnAbsence = false

    static func pass(_ en: String, _ ja: String) -> Verdict { Verdict(status: .pass, summary: .init(en: en, ja: ja)) }
    static func fail(_ en: String, _ ja: String, remedy: LocalizedText?) -> Verdict {
        Verdict(status: .fail, summary: .init(en: en, ja: ja), remedy: remedy)
    }
    /// A fail that concludes from something not being found (see `restsOnAbsence`).
    static func absent(_ en: String, _ ja: String, remedy: LocalizedText?) -> Verdict {
        Verdict(status: .fail, summary: .init(en: en, ja: ja), remedy: remedy, restsOnAbsence: true)
    }
    static func unknown(_ en: String, _ ja: String, remedy: LocalizedText? = nil) -> Verdict {
        Verdict(status: .unknown, summary: .init(en: en, ja: ja), remedy: remedy)
    }
    static func notCollected(_ probe: ProbeName, _ evidence: Evidence) -> Verdict {
        let reason = evidence.reasonUnavailable(probe)
        return .unknown("Not collected: \(reason)", "収集できませんでした: \(reason)")
    }

    /// This verdict, or `unknown` when it rests on evidence the probe could not see in full.
    ///
    /// A probe that saw only part of its input (a damaged package database, an unreadable
    /// directory, a walk cut short) records why in `evidence.unavailable` beside what it did see.
    /// What it found still counts (a file-sharing client that is there is there), but a pass, and
    /// a fail concluded from absence, would be a guess about the part it could not read.
    func withheld(for check: Check, _ evidence: Evidence) -> Verdict {
        guard let probe = check.probe, let reason = evidence.unavailable[probe.rawValue] else { return self }
        if status == .unknown, !summary.en.contains(reason) {
            var annotated = self
            annotated.summary = .init(en: "\(summary.en) (the \(probe.rawValue) evidence is incomplete: \(reason))",
                                      ja: "\(summary.ja)(\(probe.rawValue) の証拠が不完全です: \(reason))")
            return annotated
        }
        guard status == .pass || (status == .fail && restsOnAbsence) else { return self }
        return Verdict(status: .unknown,
                       summary: .init(en: "Cannot be judged: the \(probe.rawValue) evidence is incomplete (\(reason)); what was seen: \(summary.en)",
                                      ja: "判定できません: \(probe.rawValue) の証拠が不完全です(\(reason))。確認できた内容: \(summary.ja)"),
                       remedy: .init(en: "Make the unreadable input readable (or repair it), then scan again.",
                                     ja: "読めない入力を読めるように(または修復)して、再度スキャンしてください。"))
    }
}

/// Short lists for summaries: the first few names and how many more.
func abbreviated(_ items: [String], limit: Int = 5, ja: Bool = false) -> String {
    let shown = items.prefix(limit).joined(separator: ja ? "、" : ", ")
    guard items.count > limit else { return shown }
    return ja ? "\(shown)(他 \(items.count - limit) 件)" : "\(shown) (+\(items.count - limit) more)"
}

enum Verdicts {
    static func judge(_ requirement: Requirement, profile: Profile, evidence: Evidence,
                      context: EvaluationContext) -> Verdict {
        let p = requirement.parameters
        let today = Day(context.collectedAt, in: profile.claim.zone)
        switch requirement.check {
        case .osSupported: return osSupported(evidence, p, today)
        case .updatesNonePending: return updatesNonePending(evidence, p, context.collectedAt)
        case .browserSupported: return browserSupported(evidence, p, today, context.collectedAt)
        case .browserUpdated: return browserUpdated(evidence, p, context.collectedAt)
        case .securitySoftwareInstalled: return securityInstalled(evidence, p)
        case .securitySoftwareRunning: return securityRunning(evidence, p)
        case .securitySoftwareSignaturesFresh: return signaturesFresh(evidence, p, context.collectedAt)
        case .accountsPasswordAge: return passwordAge(evidence, p, today)
        case .credentialsNoSavedBankLogins: return savedLogins(evidence, p)
        case .integrityNoModifiedSystemFiles: return modifiedFiles(evidence, p)
        case .integrityNoUnownedExecutables: return unownedExecutables(evidence)
        case .integrityNoInterception: return interception(evidence, p)
        case .fileSharingNoneInstalled: return fileSharing(evidence)
        case .clockSynchronized: return clock(evidence)
        case .accessNoAutologin: return autologin(evidence)
        case .accessScreenLock:
            return localAccessFlag(evidence, \.screenLock, what: ("screen lock when idle", "アイドル時の画面ロック"),
                                   remedy: .init(en: "Turn on automatic screen lock in the desktop settings.",
                                                 ja: "デスクトップ設定で画面の自動ロックを有効にしてください。"))
        case .accessDiskEncrypted:
            return localAccessFlag(evidence, \.diskEncrypted, what: ("full-disk encryption", "ディスク全体の暗号化"),
                                   remedy: .init(en: "Encrypt the system disk (LUKS) when the PC is next reinstalled.",
                                                 ja: "次回の再インストール時にシステムディスクを暗号化(LUKS)してください。"))
        case .accessFirewallActive:
            return localAccessFlag(evidence, \.firewallActive, what: ("host firewall", "ホストファイアウォール"),
                                   remedy: .init(en: "Enable a firewall (for example `sudo ufw enable`).",
                                                 ja: "ファイアウォールを有効にしてください(例: `sudo ufw enable`)。"))
        case .environmentRecommended: return recommendedEnvironment(requirement, evidence, p)
        case .toolUnavailableOnLinux: return unavailableOnLinux(evidence, p)
        case .attestation: return attestation(requirement, profile, p, context)
        case .claimDeadline: return claimDeadline(profile, context)
        }
    }

    // MARK: OS and updates

    static func osSupported(_ evidence: Evidence, _ p: CheckParameters, _ today: Day) -> Verdict {
        guard let os = evidence.os else { return .notCollected(.os, evidence) }
        let name = os.prettyName ?? "\(os.id) \(os.versionId ?? "")"
        let remedy = LocalizedText(en: "Upgrade to a release of \(os.id) that its vendor still supports.",
                                   ja: "ベンダーのサポートが続いている \(os.id) のリリースへアップグレードしてください。")
        let limit: Day?
        if let phase = p.string("phase") {
            guard let date = os.supportEnd(phase) else {
                return .unknown("No '\(phase)' support date is known for \(name) (known phases: \(os.support.keys.sorted().joined(separator: ", ")))",
                                "\(name) のサポート段階 '\(phase)' の終了日が不明です")
            }
            limit = date
        } else {
            limit = os.eol
        }
        guard let limit else {
            return .unknown("End of support for \(name) is not known (no distro-info-data row and no catalog entry)",
                            "\(name) のサポート終了日が不明です(distro-info-data にもカタログにもありません)")
        }
        let left = today.days(until: limit)
        if left < 0 {
            return .fail("\(name) reached end of support on \(limit) (\(-left) days ago)",
                         "\(name) は \(limit) にサポートが終了しています(\(-left) 日前)", remedy: remedy)
        }
        let minimum = p.int("min_days_left") ?? 0
        if left < minimum {
            return .fail("\(name) support ends on \(limit), in \(left) days (the profile asks for \(minimum))",
                         "\(name) のサポートは \(limit) に終了します(残り \(left) 日、必要 \(minimum) 日)", remedy: remedy)
        }
        let source = os.eolSource.map { " (\($0))" } ?? ""
        return .pass("\(name) is supported until \(limit)\(source)", "\(name) は \(limit) までサポートされます\(source)")
    }

    static func updatesNonePending(_ evidence: Evidence, _ p: CheckParameters, _ now: Date) -> Verdict {
        guard let packages = evidence.packages else { return .notCollected(.packages, evidence) }
        let remedy = LocalizedText(en: "Run `sudo apt-get update && sudo apt-get upgrade`, then scan again.",
                                   ja: "`sudo apt-get update && sudo apt-get upgrade` を実行してから再度スキャンしてください。")
        let securityOnly = p.bool("security_only")
        // A phased update apt holds back on this machine is not pending: `apt-get upgrade` will not install it yet.
        let phased = packages.pendingUpdates?.filter(\.phased) ?? []
        if let pending = packages.pendingUpdates?.filter({ !$0.phased }) {
            let relevant = securityOnly ? pending.filter(\.security) : pending
            if !relevant.isEmpty {
                let security = relevant.filter(\.security).count
                let namesList = relevant.map { "\($0.name) \($0.installed) → \($0.candidate)" }
                return .fail("\(relevant.count) update(s) pending, \(security) of them security: \(abbreviated(namesList))",
                             "未適用の更新が \(relevant.count) 件(うちセキュリティ更新 \(security) 件): \(abbreviated(namesList, ja: true))", remedy: remedy)
            }
        }
        let refresh = LocalizedText(en: "Run `sudo apt-get update` (and keep it scheduled), then scan again.",
                                    ja: "`sudo apt-get update` を実行し(定期実行を設定し)、再度スキャンしてください。")
        guard let fetched = packages.indexUpdatedAt else {
            return .unknown("The package index has never been fetched, so pending updates cannot be known",
                            "パッケージ索引が一度も取得されていないため、未適用の更新が分かりません", remedy: refresh)
        }
        let maxAge = p.int("max_index_age_days") ?? 7
        let age = Int(now.timeIntervalSince(fetched) / 86400)
        if age > maxAge {
            return .unknown("The package index was last fetched \(age) days ago (limit \(maxAge)), so newer updates may exist",
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
        return .pass("No \(scope)updates pending for \(packages.installed) packages (index fetched \(Day(fetched)))\(heldEN)",
                     "\(packages.installed) パッケージに未適用の\(securityOnly ? "セキュリティ" : "")更新はありません(索引取得日 \(Day(fetched)))\(heldJA)")
    }

    // MARK: Browsers

    /// A packaged browser at the newest build its package source offers (a fresh index shows no
    /// newer candidate) that is at most `distribution_lag_lines` release lines past the vendor's
    /// supported lines: its distribution (or the vendor's own repository) still ships it, a few
    /// days behind the vendor, and the customer has nothing newer to install. Further behind, the
    /// source has stopped following the vendor, and the browser is unsupported.
    static func heldBySource(_ browser: BrowserEvidence, _ evidence: Evidence, _ p: CheckParameters, _ now: Date) -> Bool {
        guard browser.source.hasPrefix("dpkg:"), browser.eol == nil, let candidate = browser.candidate, candidate == browser.version,
              let past = browser.linesPastSupport, past <= p.int("distribution_lag_lines") ?? 2 else { return false }
        return indexIsFresh(evidence, p, now)
    }

    /// Whether the package index was fetched within the profile's `max_index_age_days` (default 7).
    static func indexIsFresh(_ evidence: Evidence, _ p: CheckParameters, _ now: Date) -> Bool {
        guard let fetched = evidence.packages?.indexUpdatedAt else { return false }
        return Int(now.timeIntervalSince(fetched) / 86400) <= p.int("max_index_age_days") ?? 7
    }

    static func browserSupported(_ evidence: Evidence, _ p: CheckParameters, _ today: Day, _ now: Date) -> Verdict {
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
            return .fail("Unsupported browser release: \(abbreviated(names(ja: false)))",
                         "サポート切れのブラウザ: \(abbreviated(names(ja: true), ja: true))",
                         remedy: .init(en: "Update these browsers to a supported release, or remove them.",
                                       ja: "これらのブラウザをサポート中の版へ更新するか、削除してください。"))
        }
        let unknown = browsers.filter { $0.supported == nil }
        if !unknown.isEmpty {
            let namesList = unknown.map { "\($0.name) \($0.version) [\($0.source)]" }
            return .unknown("Support status unknown for: \(abbreviated(namesList))", "サポート状況が不明なブラウザ: \(abbreviated(namesList, ja: true))")
        }
        let maxAge = p.int("reference_max_age_days") ?? 180
        if let stale = browsers.compactMap(\.catalogAsOf).min(), stale.days(until: today) > maxAge {
            return .unknown("Browser release data is from \(stale), older than \(maxAge) days: update posture's catalogs",
                            "ブラウザのリリース情報(\(stale))が \(maxAge) 日より古いため判定できません。posture のカタログを更新してください",
                            remedy: .init(en: "Install a newer posture package (its browser catalog is out of date).",
                                          ja: "新しい posture パッケージを導入してください(ブラウザのカタログが古くなっています)。"))
        }
        let namesList = browsers.map { "\($0.name) \($0.version)" }
        let heldEN = held.isEmpty ? "" : "; at the newest build their package source offers, \(held.map { "\($0.linesPastSupport ?? 0)" }.joined(separator: ", ")) release line(s) behind the vendor: "
            + abbreviated(held.map { "\($0.name) \($0.version) [\($0.source)]" })
        let heldJA = held.isEmpty ? "" : "。パッケージ提供元の最新版(ベンダーより \(held.map { "\($0.linesPastSupport ?? 0)" }.joined(separator: "、")) 系列遅れ): "
            + abbreviated(held.map { "\($0.name) \($0.version) [\($0.source)]" }, ja: true)
        return .pass("Supported browsers: \(abbreviated(namesList))\(heldEN)", "サポート中のブラウザ: \(abbreviated(namesList, ja: true))\(heldJA)")
    }

    static func browserUpdated(_ evidence: Evidence, _ p: CheckParameters, _ now: Date) -> Verdict {
        guard let browsers = evidence.browsers else { return .notCollected(.browsers, evidence) }
        guard !browsers.isEmpty else { return .unknown("No web browser was found on this system", "ブラウザが見つかりませんでした") }
        let outdated = browsers.filter { $0.candidate != nil && $0.candidate != $0.version }
        if !outdated.isEmpty {
            let namesList = outdated.map { "\($0.name) \($0.version) → \($0.candidate!)" }
            return .fail("Browser update available: \(abbreviated(namesList))", "ブラウザの更新があります: \(abbreviated(namesList, ja: true))",
                         remedy: .init(en: "Update the browser (`sudo apt-get upgrade` for packaged browsers).",
                                       ja: "ブラウザを更新してください(パッケージ版は `sudo apt-get upgrade`)。"))
        }
        let unknownCandidate = browsers.filter { $0.candidate == nil }
        if !unknownCandidate.isEmpty {
            let namesList = unknownCandidate.map { "\($0.name) \($0.version) [\($0.source)]" }
            return .unknown("No package index entry tells whether a newer version exists for: \(abbreviated(namesList))",
                            "新しい版の有無をパッケージ索引で確認できないブラウザ: \(abbreviated(namesList, ja: true))",
                            remedy: .init(en: "Keep these browsers on automatic updates (snap refresh, flatpak update, the browser's own updater).",
                                          ja: "これらのブラウザの自動更新を有効にしてください(snap refresh、flatpak update、ブラウザ自身の更新機能)。"))
        }
        let maxAge = p.int("max_index_age_days") ?? 7
        if indexIsFresh(evidence, p, now) {
            let namesList = browsers.map { "\($0.name) \($0.version)" }
            return .pass("Browsers are at the newest version the package index offers: \(abbreviated(namesList))",
                         "ブラウザはパッケージ索引の最新版です: \(abbreviated(namesList, ja: true))")
        }
        return .unknown("The package index is missing or older than \(maxAge) days, so newer browser versions may exist",
                        "パッケージ索引がないか \(maxAge) 日より古いため、ブラウザの新しい版の有無が分かりません")
    }

    // MARK: Security software

    static let securityRemedy = LocalizedText(
        en: "Install an antivirus product (for example `sudo apt-get install clamav clamav-daemon`) and keep it running.",
        ja: "ウイルス対策ソフトを導入し(例: `sudo apt-get install clamav clamav-daemon`)、常時稼働させてください。")

    /// The installed products a requirement counts: every one, or with `commercial_only` (a rule
    /// that demands 市販, commercially sold, software) only those the catalog marks commercial.
    /// The verdict, when none counts: nothing installed, only free software, or a report that
    /// does not say which products are commercial.
    enum Counted { case products([SecuritySoftwareEvidence]), verdict(Verdict) }

    static func countedProducts(_ products: [SecuritySoftwareEvidence], _ p: CheckParameters) -> Counted {
        let installed = products.filter(\.installed)
        guard p.bool("commercial_only") else {
            return installed.isEmpty
                ? .verdict(.absent("No antivirus or EDR product is installed", "ウイルス対策ソフト(EDR を含む)が導入されていません",
                                   remedy: securityRemedy))
                : .products(installed)
        }
        let commercial = installed.filter { $0.commercial == true }
        if !commercial.isEmpty { return .products(commercial) }
        let undetermined = installed.filter { $0.commercial == nil }.map(\.product)
        if !undetermined.isEmpty {
            return .verdict(.unknown("Whether \(undetermined.joined(separator: ", ")) is sold commercially is not in this report (made by an older agent)",
                                     "\(undetermined.joined(separator: ", ")) が市販品かどうかがこのレポートにありません(旧版のエージェント)"))
        }
        let free = installed.map(\.product)
        let en = free.isEmpty ? "No commercially sold antivirus product is installed"
            : "Only free antivirus software is installed (\(free.joined(separator: ", "))); the rule requires commercially sold (市販) antivirus"
        let ja = free.isEmpty ? "市販のウイルス対策ソフトが導入されていません"
            : "無償のウイルス対策ソフトのみ導入されています(\(free.joined(separator: ", ")))。市販のウイルス対策ソフトが必要です"
        return .verdict(.absent(en, ja, remedy: .init(en: "Install a commercially sold antivirus or EDR product and keep it running and current.",
                                                      ja: "市販のウイルス対策ソフト(EDR を含む)を導入し、常に稼働・最新の状態にしてください。")))
    }

    static func securityInstalled(_ evidence: Evidence, _ p: CheckParameters) -> Verdict {
        guard let products = evidence.securitySoftware else { return .notCollected(.securitySoftware, evidence) }
        let installed: [String]
        switch countedProducts(products, p) {
        case .products(let counted): installed = counted.map(\.product)
        case .verdict(let verdict): return verdict
        }
        return .pass("Installed: \(installed.joined(separator: ", "))", "導入済み: \(installed.joined(separator: ", "))")
    }

    static func securityRunning(_ evidence: Evidence, _ p: CheckParameters) -> Verdict {
        guard let products = evidence.securitySoftware else { return .notCollected(.securitySoftware, evidence) }
        let installed: [SecuritySoftwareEvidence]
        switch countedProducts(products, p) {
        case .products(let counted): installed = counted
        case .verdict(let verdict): return verdict
        }
        if let running = installed.first(where: { $0.running == true }) {
            return .pass("\(running.product) is running", "\(running.product) は稼働中です")
        }
        if installed.allSatisfy({ $0.running == false }) {
            let names = installed.map(\.product).joined(separator: ", ")
            return .absent("Installed but not running: \(names)", "導入済みですが稼働していません: \(names)",
                         remedy: .init(en: "Start the antivirus service and enable it at boot (systemctl enable --now …).",
                                       ja: "ウイルス対策サービスを起動し、起動時に有効化してください(systemctl enable --now …)。"))
        }
        return .unknown("Whether the antivirus is running cannot be seen (offline disk image or no access to /proc)",
                        "ウイルス対策ソフトの稼働状況を確認できません(オフラインのディスクイメージ、または /proc に権限なし)")
    }

    static func signaturesFresh(_ evidence: Evidence, _ p: CheckParameters, _ now: Date) -> Verdict {
        guard let products = evidence.securitySoftware else { return .notCollected(.securitySoftware, evidence) }
        let installed: [SecuritySoftwareEvidence]
        switch countedProducts(products, p) {
        case .products(let counted): installed = counted
        case .verdict(let verdict): return verdict
        }
        let maxAge = p.int("max_age_days") ?? 7
        let dated = installed.compactMap { product in product.signaturesUpdatedAt.map { (product.product, $0) } }
        // A date after the scan is a wrong clock on one side or a forged file: it proves nothing.
        let (future, past) = (dated.filter { $0.1 > now }, dated.filter { $0.1 <= now })
        if let fresh = past.first(where: { now.timeIntervalSince($0.1) <= Double(maxAge) * 86400 }) {
            return .pass("\(fresh.0) signatures updated \(Day(fresh.1))", "\(fresh.0) の定義ファイル更新日 \(Day(fresh.1))")
        }
        if let ahead = future.min(by: { $0.1 < $1.1 }) {
            let when = RFC3339.string(from: ahead.1)
            return .unknown("\(ahead.0) signatures are dated \(when), in the future of this scan: check the clock of this PC",
                            "\(ahead.0) の定義ファイルの日付 \(when) がスキャン時刻より未来です。この PC の時計を確認してください")
        }
        if let newest = past.max(by: { $0.1 < $1.1 }) {
            let age = Int(now.timeIntervalSince(newest.1) / 86400)
            return .absent("\(newest.0) signatures are \(age) days old (updated \(Day(newest.1)); limit \(maxAge) days)",
                         "\(newest.0) の定義ファイルが \(age) 日前のままです(更新日 \(Day(newest.1))、上限 \(maxAge) 日)",
                         remedy: .init(en: "Update the signatures (ClamAV: `sudo freshclam`) and check the updater runs daily.",
                                       ja: "定義ファイルを更新し(ClamAV: `sudo freshclam`)、自動更新が毎日動くことを確認してください。"))
        }
        return .unknown("The signature date of \(installed.map(\.product).joined(separator: ", ")) cannot be read",
                        "\(installed.map(\.product).joined(separator: ", ")) の定義ファイル日付を読めません")
    }

    // MARK: Accounts and credentials

    static func passwordAge(_ evidence: Evidence, _ p: CheckParameters, _ today: Day) -> Verdict {
        guard let accounts = evidence.accounts else { return .notCollected(.accounts, evidence) }
        let maxDays = p.int("max_days") ?? 90
        let relevant = accounts.filter { !$0.locked && ($0.uid != 0 || p.bool("include_root")) }
        guard !relevant.isEmpty else {
            return Verdict(status: .notApplicable, summary: .init(en: "No login account with a password",
                                                                  ja: "パスワードでログインできるアカウントはありません"))
        }
        let remedy = LocalizedText(en: "Change the password (`passwd USER`) and set a maximum age (`sudo chage -M \(maxDays) USER`).",
                                   ja: "パスワードを変更し(`passwd ユーザー`)、有効期限を設定してください(`sudo chage -M \(maxDays) ユーザー`)。")
        var stale: [String] = []
        var unknown: [String] = []
        for account in relevant {
            guard let changed = account.passwordLastChanged else { unknown.append(account.user); continue }
            let age = changed.days(until: today)
            if age > maxDays { stale.append("\(account.user) (\(age) days)") }
        }
        if !stale.isEmpty {
            return .fail("Password older than \(maxDays) days: \(abbreviated(stale))",
                         "パスワードが \(maxDays) 日以上変更されていません: \(abbreviated(stale, ja: true))", remedy: remedy)
        }
        if !unknown.isEmpty {
            let reason = evidence.unavailable[ProbeName.accounts.rawValue].map { " (\($0))" } ?? ""
            return .unknown("Password age unknown for: \(abbreviated(unknown))\(reason)",
                            "パスワードの変更日が不明: \(abbreviated(unknown, ja: true))\(reason)")
        }
        return .pass("All \(relevant.count) account password(s) changed within \(maxDays) days",
                     "\(relevant.count) 件のアカウントのパスワードは \(maxDays) 日以内に変更されています")
    }

    static func savedLogins(_ evidence: Evidence, _ p: CheckParameters) -> Verdict {
        guard let credentials = evidence.credentials else { return .notCollected(.credentials, evidence) }
        let domains = p.strings("domains").map { $0.lowercased() }
        let matches = credentials.savedLogins.filter { login in
            let host = hostName(of: login.origin)
            return domains.contains { Self.host(host, isIn: $0) }
        }
        var found = matches.map { "\($0.browser): \($0.origin)" }
        found += credentials.passwordNotes
        if !found.isEmpty {
            return .fail("Bank passwords stored on the PC: \(abbreviated(found))",
                         "銀行のパスワードがPCに保存されています: \(abbreviated(found, ja: true))",
                         remedy: .init(en: "Delete the saved logins in the browser's password manager and remove password notes, then change the bank password.",
                                       ja: "ブラウザに保存されたログイン情報とパスワードのメモを削除し、銀行のパスワードを変更してください。"))
        }
        if let problem = evidence.unavailable[ProbeName.credentials.rawValue] {
            return .unknown("Not every browser profile could be read: \(problem)", "読み取れないブラウザ設定があります: \(problem)")
        }
        if let unseen = leftOut(evidence, "credentials.saved_logins", coveringAll: domains) {
            return .unknown("\(unseen) saved login(s) were left out of the report, so one for \(abbreviated(domains, limit: 3)) cannot be ruled out",
                            "\(unseen) 件の保存ログインがレポートから省かれたため、\(abbreviated(domains, limit: 3, ja: true)) の保存ログインがないとは言えません")
        }
        return .pass("No saved login for \(abbreviated(domains, limit: 3)) and no password notes",
                     "\(abbreviated(domains, limit: 3, ja: true)) の保存ログインやパスワードのメモはありません")
    }

    /// Entries left out of the list at `path` that could concern `domains`: nil when none were, or
    /// when the agent kept every entry of each of them (`truncation.kept_domains`).
    static func leftOut(_ evidence: Evidence, _ path: String, coveringAll domains: [String]) -> Int? {
        guard let truncation = evidence.truncation, truncation.count(path) > 0 else { return nil }
        let covered = domains.allSatisfy { domain in truncation.keptDomains.contains { host(domain, isIn: $0) } }
        return covered ? nil : truncation.count(path)
    }

    /// Whether `host` is `domain` or a name under it.
    static func host(_ host: String, isIn domain: String) -> Bool {
        host == domain || host.hasSuffix("." + domain)
    }

    static func hostName(of origin: String) -> String {
        var text = Substring(origin.lowercased())
        if let scheme = text.range(of: "://") { text = text[scheme.upperBound...] }
        if let slash = text.firstIndex(of: "/") { text = text[..<slash] }
        if let at = text.lastIndex(of: "@") { text = text[text.index(after: at)...] }
        if let colon = text.lastIndex(of: ":") { text = text[..<colon] }
        return String(text)
    }

    // MARK: Integrity

    static let integrityRemedy = LocalizedText(
        en: "Reinstall the affected packages (`sudo apt-get install --reinstall PACKAGE`) and find out who changed them.",
        ja: "該当パッケージを再インストールし(`sudo apt-get install --reinstall パッケージ`)、変更した者を調査してください。")

    static func modifiedFiles(_ evidence: Evidence, _ p: CheckParameters) -> Verdict {
        guard let integrity = evidence.integrity else { return .notCollected(.integrity, evidence) }
        let includeConffiles = p.bool("include_conffiles")
        var problems = integrity.modified.filter { $0.kind == "file" || includeConffiles }.map { "\($0.path) (\($0.package))" }
        if p.bool("include_missing") {
            problems += integrity.missing.filter { $0.kind == "file" || includeConffiles }.map { "missing \($0.path) (\($0.package))" }
        }
        if !problems.isEmpty {
            return .fail("\(problems.count) system file(s) differ from their packages: \(abbreviated(problems))",
                         "\(problems.count) 件のシステムファイルがパッケージと一致しません: \(abbreviated(problems, ja: true))", remedy: integrityRemedy)
        }
        if !integrity.unreadable.isEmpty {
            let list = integrity.unreadable
            return .unknown("\(list.count) package file(s) could not be read, so were not verified: \(abbreviated(list))",
                            "\(list.count) 件のパッケージファイルを読めず検証できません: \(abbreviated(list, ja: true))")
        }
        if !integrity.unverifiablePackages.isEmpty {
            let list = integrity.unverifiablePackages
            return .unknown("\(list.count) installed package(s) ship no checksums (md5sums), so their files cannot be verified: \(abbreviated(list))",
                            "\(list.count) 件のパッケージにチェックサム(md5sums)がなく、ファイルを検証できません: \(abbreviated(list, ja: true))",
                            remedy: .init(en: "Reinstall these packages (`sudo apt-get install --reinstall PACKAGE`) so dpkg records their checksums.",
                                          ja: "これらのパッケージを再インストールし(`sudo apt-get install --reinstall パッケージ`)、チェックサムを記録させてください。"))
        }
        return .pass("\(integrity.checked) package files checked, none modified",
                     "\(integrity.checked) 件のパッケージファイルを検査し、改変はありません")
    }

    static func unownedExecutables(_ evidence: Evidence) -> Verdict {
        guard let integrity = evidence.integrity else { return .notCollected(.integrity, evidence) }
        if !integrity.unownedExecutables.isEmpty {
            let pathsList = integrity.unownedExecutables.map(\.path)
            return .fail("Executables in system directories that no package installed: \(abbreviated(pathsList))",
                         "どのパッケージにも属さない実行ファイルがシステムディレクトリにあります: \(abbreviated(pathsList, ja: true))",
                         remedy: .init(en: "Identify and remove these files, or install them from a package.",
                                       ja: "これらのファイルの出所を確認し、削除するかパッケージから導入してください。"))
        }
        if !integrity.unownedSearchIncomplete.isEmpty {
            let list = integrity.unownedSearchIncomplete
            return .unknown("The search of system directories for unowned executables was incomplete: \(abbreviated(list))",
                            "システムディレクトリの所有者不明の実行ファイルの検索が不完全です: \(abbreviated(list, ja: true))")
        }
        return .pass("No unowned executables in system directories", "所有者不明の実行ファイルはありません")
    }

    static func interception(_ evidence: Evidence, _ p: CheckParameters) -> Verdict {
        guard let integrity = evidence.integrity else { return .notCollected(.integrity, evidence) }
        let domains = p.strings("domains").map { $0.lowercased() }
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
                integrity.extraCaCertificates.isEmpty ? nil : ("the added certificate authorities", "追加された認証局"),
            ].compactMap { $0 }
            let en = found.count > 1 ? found.dropLast().map(\.en).joined(separator: ", ") + " and " + found.last!.en : found[0].en
            return .fail("Traffic or code could be intercepted: \(abbreviated(problems))",
                         "通信やプログラムが横取りされる設定があります: \(abbreviated(problems, ja: true))",
                         remedy: .init(en: "Remove \(en) unless IT put them there on purpose.",
                                       ja: "IT 部門が意図して設定したものでなければ、\(found.map(\.ja).joined(separator: "・"))を削除してください。"))
        }
        if !domains.isEmpty, let unseen = leftOut(evidence, "integrity.hosts_overrides", coveringAll: domains) {
            return .unknown("\(unseen) hosts override(s) were left out of the report, so one for \(abbreviated(domains, limit: 3)) cannot be ruled out",
                            "\(unseen) 件の hosts 上書きがレポートから省かれたため、\(abbreviated(domains, limit: 3, ja: true)) の上書きがないとは言えません")
        }
        if !integrity.unreadableCertificateStores.isEmpty {
            let stores = integrity.unreadableCertificateStores.map { "\($0.path) (\($0.reason))" }
            return .unknown("Browser certificate stores that could not be read may trust an added authority: \(abbreviated(stores))",
                            "読み取れないブラウザの証明書ストアに追加の認証局があるかもしれません: \(abbreviated(stores, ja: true))")
        }
        return .pass("No preloaded libraries, bank host overrides or added certificate authorities",
                     "ライブラリの事前読み込み、銀行ドメインの hosts 上書き、追加の認証局はありません")
    }

    // MARK: Other probes

    static func fileSharing(_ evidence: Evidence) -> Verdict {
        guard let found = evidence.fileSharing else { return .notCollected(.fileSharing, evidence) }
        if !found.isEmpty {
            let namesList = found.map { $0.name + ($0.version.map { " \($0)" } ?? "") }
            return .fail("File-sharing software installed: \(abbreviated(namesList))", "ファイル共有ソフトが導入されています: \(abbreviated(namesList, ja: true))",
                         remedy: .init(en: "Uninstall it (`sudo apt-get purge PACKAGE`).", ja: "アンインストールしてください(`sudo apt-get purge パッケージ`)。"))
        }
        return .pass("No file-sharing software found", "ファイル共有ソフトは見つかりません")
    }

    static func clock(_ evidence: Evidence) -> Verdict {
        guard let clock = evidence.clock else { return .notCollected(.clock, evidence) }
        let source = clock.source.map { " (\($0))" } ?? ""
        switch clock.synchronized {
        case true?: return .pass("The clock is synchronised\(source)", "時刻は同期しています\(source)")
        case false?:
            return .fail("The clock is not synchronised\(source)", "時刻が同期していません\(source)",
                         remedy: .init(en: "Enable time synchronisation (`sudo timedatectl set-ntp true`).",
                                       ja: "時刻同期を有効にしてください(`sudo timedatectl set-ntp true`)。"))
        case nil:
            return .unknown("Clock synchronisation cannot be seen\(source)", "時刻同期の状態を確認できません\(source)")
        }
    }

    static func autologin(_ evidence: Evidence) -> Verdict {
        guard let access = evidence.localAccess else { return .notCollected(.localAccess, evidence) }
        var problems = access.autologin ?? []
        if access.guestSession == true { problems.append("guest session") }
        if !problems.isEmpty {
            return .fail("Anyone at the PC can log in: \(problems.joined(separator: ", "))",
                         "誰でもログインできる設定です: \(problems.joined(separator: ", "))",
                         remedy: .init(en: "Turn off automatic login and the guest session in the display manager.",
                                       ja: "ディスプレイマネージャーの自動ログインとゲストセッションを無効にしてください。"))
        }
        if access.autologin == nil || access.guestSession == nil {
            return .unknown("The login manager configuration cannot be read", "ログイン設定を読み取れません")
        }
        return .pass("No automatic login or guest session", "自動ログインやゲストセッションはありません")
    }

    static func localAccessFlag(_ evidence: Evidence, _ flag: KeyPath<LocalAccessEvidence, Bool?>,
                                what: (en: String, ja: String), remedy: LocalizedText) -> Verdict {
        guard let access = evidence.localAccess else { return .notCollected(.localAccess, evidence) }
        switch access[keyPath: flag] {
        case true?: return .pass("\(what.en): on", "\(what.ja): 有効")
        case false?: return .fail("\(what.en): off", "\(what.ja): 無効", remedy: remedy)
        case nil: return .unknown("\(what.en): cannot be seen", "\(what.ja): 確認できません")
        }
    }

    // MARK: Attestations and claims

    static func attestation(_ requirement: Requirement, _ profile: Profile, _ p: CheckParameters,
                            _ context: EvaluationContext) -> Verdict {
        let command = "posture attest \(requirement.id) --profile \(profile.id) --note \"…\""
        let remedy = LocalizedText(en: "Confirm it, then record it: `\(command)`", ja: "確認のうえ記録してください: `\(command)`")
        let latest = context.attestations
            .filter { $0.profile == profile.id && $0.requirement == requirement.id && $0.recordedAt <= context.collectedAt }
            .max { $0.recordedAt < $1.recordedAt }
        guard let latest else {
            return .unknown("No probe can see this; no attestation has been recorded",
                            "機械的に確認できない項目で、申告が記録されていません", remedy: remedy)
        }
        // Days in the profile's time zone; a limit of N days is N×24 hours from the attestation.
        let recorded = Day(latest.recordedAt, in: profile.claim.zone)
        let elapsed = context.collectedAt.timeIntervalSince(latest.recordedAt)
        let age = Int(elapsed / 86400)
        var validity = (en: "", ja: "")
        if let valid = p.int("valid_days") {
            let until = AssessmentTime.local(latest.recordedAt.addingTimeInterval(Double(valid) * 86400), profile.claim.timezone)
            if elapsed > Double(valid) * 86400 {
                return .unknown("The attestation of \(recorded) expired after \(valid) days (at \(until))",
                                "\(recorded) の申告は有効期間 \(valid) 日(\(until) まで)を過ぎています", remedy: remedy)
            }
            validity = (", valid until \(until)", "、\(until) まで有効")
        }
        let by = latest.by.map { (" by \($0)", "(\($0))") } ?? ("", "")
        let note = latest.note.map { ": \($0)" } ?? ""
        return Verdict(status: .attested,
                       summary: .init(en: "Attested on \(recorded)\(by.0), \(age) days ago\(validity.en)\(note)",
                                      ja: "\(recorded) に申告済み\(by.1)、\(age) 日前\(validity.ja)\(note)"))
    }

    static func claimDeadline(_ profile: Profile, _ context: EvaluationContext) -> Verdict {
        guard let claim = context.claim else {
            let rule = profile.claim.counting?.text ?? ""
            return Verdict(status: .notApplicable,
                           summary: .init(en: "Judged when a claim is assessed, by the rule: \(rule)",
                                          ja: "請求の判定時に規定にしたがって判定します: \(rule)"))
        }
        let judged = ClaimPeriod.judge(profile.claim, transfer: claim.transfer, transferIsDay: claim.transferIsDay,
                                       notified: claim.notified, calendar: claim.calendar)
        let remedy = judged.status == .fail ? LocalizedText(en: "Contact the bank at once; transfers outside the rule's period are not compensated by it.",
                                                             ja: "直ちに銀行へ連絡してください。規定の期間外の取引は規定による補償の対象外です。") : nil
        return Verdict(status: judged.status, summary: judged.summary, remedy: remedy)
    }
}
