import Foundation
import PostureModel

extension CheckRegistry {
    /// File sharing, the clock and local access (autologin, screen lock, disk encryption, firewall).
    static let host: [CheckDefinition] = [
        CheckDefinition(.fileSharingNoneInstalled, probe: .fileSharing) { Verdicts.fileSharing($0.evidence) },
        CheckDefinition(.clockSynchronized, probe: .clock) { Verdicts.clock($0.evidence) },
        CheckDefinition(.accessNoAutologin, probe: .localAccess) { Verdicts.autologin($0.evidence) },
        CheckDefinition(.accessScreenLock, probe: .localAccess) {
            Verdicts.localAccessFlag(
                $0.evidence, \.screenLock, what: ("screen lock when idle", "アイドル時の画面ロック"),
                remedy: .init(
                    en: "Turn on automatic screen lock in the desktop settings.",
                    ja: "デスクトップ設定で画面の自動ロックを有効にしてください。"))
        },
        CheckDefinition(.accessDiskEncrypted, probe: .localAccess) {
            Verdicts.localAccessFlag(
                $0.evidence, \.diskEncrypted, what: ("full-disk encryption", "ディスク全体の暗号化"),
                remedy: .init(
                    en: "Encrypt the system disk (LUKS) when the PC is next reinstalled.",
                    ja: "次回の再インストール時にシステムディスクを暗号化(LUKS)してください。"))
        },
        CheckDefinition(.accessFirewallActive, probe: .localAccess) {
            Verdicts.localAccessFlag(
                $0.evidence, \.firewallActive, what: ("host firewall", "ホストファイアウォール"),
                remedy: .init(
                    en: "Enable a firewall (for example `sudo ufw enable`).",
                    ja: "ファイアウォールを有効にしてください(例: `sudo ufw enable`)。"))
        }
    ]
}

extension Verdicts {
    static func fileSharing(_ evidence: Evidence) -> Verdict {
        guard let found = evidence.fileSharing else { return .notCollected(.fileSharing, evidence) }
        if !found.isEmpty {
            let namesList = found.map { $0.name + ($0.version.map { " \($0)" } ?? "") }
            return .fail(
                "File-sharing software installed: \(abbreviated(namesList))", "ファイル共有ソフトが導入されています: \(abbreviated(namesList, ja: true))",
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
            return .fail(
                "The clock is not synchronised\(source)", "時刻が同期していません\(source)",
                remedy: .init(
                    en: "Enable time synchronisation (`sudo timedatectl set-ntp true`).",
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
            return .fail(
                "Anyone at the PC can log in: \(problems.joined(separator: ", "))",
                "誰でもログインできる設定です: \(problems.joined(separator: ", "))",
                remedy: .init(
                    en: "Turn off automatic login and the guest session in the display manager.",
                    ja: "ディスプレイマネージャーの自動ログインとゲストセッションを無効にしてください。"))
        }
        if access.autologin == nil || access.guestSession == nil {
            return .unknown("The login manager configuration cannot be read", "ログイン設定を読み取れません")
        }
        return .pass("No automatic login or guest session", "自動ログインやゲストセッションはありません")
    }

    static func localAccessFlag(
        _ evidence: Evidence, _ flag: KeyPath<LocalAccessEvidence, Bool?>,
        what: (en: String, ja: String), remedy: LocalizedText
    ) -> Verdict {
        guard let access = evidence.localAccess else { return .notCollected(.localAccess, evidence) }
        switch access[keyPath: flag] {
        case true?: return .pass("\(what.en): on", "\(what.ja): 有効")
        case false?: return .fail("\(what.en): off", "\(what.ja): 無効", remedy: remedy)
        case nil: return .unknown("\(what.en): cannot be seen", "\(what.ja): 確認できません")
        }
    }
}
