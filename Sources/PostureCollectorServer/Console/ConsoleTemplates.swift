import Mustache
import PostureModel

/// The console's pages as Mustache templates, compiled into the binary (no files to install, no
/// assets from elsewhere). `{{…}}` escapes HTML; only `{{{body}}}` (a rendered page) is raw.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in [("layout", layout), ("sign-in", signIn), ("overview", overview), ("device", device), ("claim", claim), ("message", message)] {
            // The templates are constants of this file; one that does not parse is a programming error.
            try! library.register(text, named: name)
        }
        return library
    }()

    static func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }

    static let stylesheet = """
        body { font-family: "Noto Sans CJK JP", "Noto Sans JP", sans-serif; font-size: 10pt; color: #111; margin: 0; }
        header { display: flex; gap: 1em; align-items: center; padding: 0.5em 1em; background: #1f3a5f; color: #fff; }
        header a { color: #fff; } header .brand { font-weight: bold; text-decoration: none; } header .who { margin-left: auto; }
        header form { display: inline; } main { padding: 1em; max-width: 1200px; }
        table { border-collapse: collapse; margin: 0.5em 0 1em; } th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
        thead th { background: #eee; } td.num { text-align: right; } .error { color: #b00000; font-weight: bold; }
        td.failing, td.fail, span.failing { color: #b00000; font-weight: bold; } td.unknown, span.unknown { color: #8a5a00; font-weight: bold; }
        td.silent, span.silent { color: #555; font-weight: bold; } td.ok, td.pass, td.attested, span.ok { color: #116611; font-weight: bold; }
        td.flagged, td.events-kind { color: #b00000; font-weight: bold; } form.filter label { margin-right: 0.8em; }
        div.timeline svg { width: 100%; max-width: 900px; height: auto; } .remedy { color: #333; } code { background: #f2f2f2; } .pages a { margin-right: 1em; }
        @media print { header form, form.filter, .pages { display: none; } }
        """

    static let layout = """
        <!DOCTYPE html>
        <html lang="{{lang}}">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} — posture</title>
        <link rel="stylesheet" href="/console/console.css">
        </head>
        <body>
        <header>
        <a class="brand" href="/console/overview">posture</a>
        <a href="/console/language/{{otherLang}}" id="language">{{t.otherLanguage}}</a>
        {{#session}}<span class="who" id="who">{{session.who}}</span>
        <form method="post" action="/console/sign-out"><input type="hidden" name="csrf" value="{{session.csrf}}"><button type="submit" id="sign-out">{{t.signOut}}</button></form>{{/session}}
        </header>
        <main>
        <h1>{{title}}</h1>
        {{{body}}}
        </main>
        </body>
        </html>

        """

    static let signIn = """
        {{#error}}<p class="error" id="error">{{error}}</p>{{/error}}
        <form method="post" action="/console/sign-in">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="token">{{t.staffToken}}</label><br><input type="password" id="token" name="token" size="60" autocomplete="off" required></p>
        <p><button type="submit" id="sign-in">{{t.signIn}}</button></p>
        </form>
        <p>{{t.signInHelp}}</p>

        """

    static let overview = """
        <h2>{{t.contracts}}</h2>
        <table id="tallies">
        <thead><tr><th>{{t.contract}}</th><th>{{t.profile}}</th><th>{{t.devices}}</th><th>{{t.failing}}</th><th>{{t.unknown}}</th><th>{{t.silent}}</th><th>{{t.chainEvents}}</th></tr></thead>
        <tbody>
        <tr id="totals"><th>{{t.allContracts}}</th><td>{{profile}}</td><td class="num">{{totals.devices}}</td><td class="num">{{totals.failing}}</td><td class="num">{{totals.unknown}}</td><td class="num">{{totals.silent}}</td><td class="num">{{totals.withEvents}}</td></tr>
        {{#tallies}}<tr data-contract="{{contract}}" data-profile="{{profile}}"><td>{{contract}}</td><td>{{profile}}</td><td class="num devices">{{devices}}</td><td class="num failing">{{failing}}</td><td class="num unknown">{{unknown}}</td><td class="num silent">{{silent}}</td><td class="num events{{#flagged}} flagged{{/flagged}}">{{withEvents}}</td></tr>
        {{/tallies}}
        </tbody>
        </table>
        <p id="contracts-shown">{{t.contractsShown}}: {{contractsShown}} / {{contractsTotal}}</p>
        <h2>{{t.devices}}</h2>
        <form class="filter" method="get" action="/console/overview">
        <label>{{t.profile}} <select name="profile" id="filter-profile">{{#profiles}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{id}}</option>{{/profiles}}</select></label>
        <label>{{t.standing}} <select name="standing" id="filter-standing">{{#standings}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/standings}}</select></label>
        <label>{{t.failsRequirement}} <select name="fails" id="filter-fails"><option value="">—</option>{{#requirements}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/requirements}}</select></label>
        {{#bank}}<label>{{t.contract}} <input name="contract" id="filter-contract" value="{{contract}}" size="12"></label>{{/bank}}
        <label>{{t.hostname}} <input name="q" id="filter-q" value="{{q}}" size="16"></label>
        <label>{{t.sort}} <select name="sort" id="filter-sort">{{#sorts}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/sorts}}</select></label>
        <button type="submit" id="filter">{{t.filter}}</button>
        </form>
        <p id="count">{{t.shown}}: {{total}}</p>
        <table id="devices">
        <thead><tr><th>{{t.hostname}}</th><th>{{t.contract}}</th><th>{{t.lastReport}}</th><th>{{t.standing}} ({{profile}})</th><th>{{t.failing}}</th><th>{{t.unknown}}</th><th>{{t.chainEvents}}</th></tr></thead>
        <tbody>
        {{#rows}}<tr class="device" data-key="{{keyID}}"><td><a href="/console/devices/{{keyID}}">{{hostname}}</a></td><td>{{contract}}</td><td>{{lastReport}}</td><td class="{{standing}} standing">{{standingLabel}}</td><td class="num">{{failing}}</td><td class="num">{{unknown}}</td><td class="num{{#flagged}} flagged{{/flagged}}">{{events}}</td></tr>
        {{/rows}}
        </tbody>
        </table>
        <p class="pages">{{#previous}}<a href="{{previous}}" id="previous">{{t.previous}}</a>{{/previous}}{{#next}}<a href="{{next}}" id="next">{{t.next}}</a>{{/next}}</p>

        """

    static let device = """
        <table id="facts">
        <tr><th>{{t.hostname}}</th><td>{{hostname}}</td></tr>
        <tr><th>{{t.keyID}}</th><td><code>{{keyID}}</code></td></tr>
        <tr><th>{{t.contract}}</th><td>{{contract}}</td></tr>
        <tr><th>{{t.enrolled}}</th><td>{{enrolled}}</td></tr>
        <tr><th>{{t.lastReport}}</th><td>{{lastReport}}</td></tr>
        </table>
        <p><a href="/console/devices/{{keyID}}/claim" id="claim">{{t.assessClaim}}</a></p>
        {{#hasEvents}}<h2>{{t.chainEvents}}</h2>
        <table id="events"><thead><tr><th>{{t.when}}</th><th>{{t.kind}}</th><th>{{t.detail}}</th></tr></thead><tbody>
        {{#events}}<tr><td>{{at}}</td><td class="events-kind">{{kind}}</td><td>{{detail}}</td></tr>
        {{/events}}</tbody></table>{{/hasEvents}}
        {{#profiles}}<h2 id="profile-{{id}}">{{name}} <small>({{id}}) — <span class="{{standing}}">{{standingLabel}}</span></small></h2>
        <p>{{t.reportOf}} {{collected}}</p>
        <div class="timeline" id="timeline-{{id}}">{{{timeline}}}</div>
        <p class="days">{{t.timelineOf}} {{days}} {{t.daysUnit}} — <a href="?days={{otherDays}}">{{otherDays}} {{t.daysUnit}}</a></p>
        <table class="findings"><thead><tr><th>{{t.requirement}}</th><th>{{t.clause}}</th><th>{{t.status}}</th><th>{{t.finding}}</th></tr></thead><tbody>
        {{#findings}}<tr class="{{status}}"><td>{{title}}</td><td>{{clause}}</td><td class="status {{status}}">{{statusLabel}}</td><td>{{{summaryHTML}}}{{#remedyHTML}}<div class="remedy">{{t.remedy}}: {{{remedyHTML}}}</div>{{/remedyHTML}}</td></tr>
        {{/findings}}</tbody></table>
        {{/profiles}}
        {{^profiles}}<p>{{t.noVerdict}}</p>{{/profiles}}
        <h2>{{t.download}}</h2>
        <form method="get" action="/console/devices/{{keyID}}/envelopes.ndjson">
        <label>{{t.from}} <input type="date" name="from"></label> <label>{{t.to}} <input type="date" name="to"></label>
        <button type="submit" id="download">{{t.downloadButton}}</button>
        </form>
        <h2>{{t.reports}}</h2>
        <p>{{t.reportsHelp}}</p>
        <table id="reports"><thead><tr><th>{{t.sequence}}</th><th>{{t.reportID}}</th><th>{{t.collected}}</th><th>{{t.received}}</th><th>{{t.chain}}</th><th>{{t.receipt}}</th></tr></thead><tbody>
        {{#reports}}<tr><td class="num">{{sequence}}</td><td><code>{{reportID}}</code></td><td>{{collected}}</td><td>{{received}}</td><td class="{{#irregular}}flagged{{/irregular}}">{{chain}}</td><td><a href="/console/devices/{{keyID}}/receipts/{{reportID}}">{{receiptSha256}}…</a></td></tr>
        {{/reports}}</tbody></table>
        {{#hasKept}}<h2>{{t.keptAssessments}}</h2>
        <table id="kept"><thead><tr><th>{{t.when}}</th><th>{{t.profile}}</th><th>{{t.ranBy}}</th></tr></thead><tbody>
        {{#kept}}<tr><td><a href="/console/assessments/{{id}}">{{at}}</a></td><td>{{profile}}</td><td>{{staff}}</td></tr>
        {{/kept}}</tbody></table>{{/hasKept}}

        """

    static let claim = """
        <p>{{hostname}} — <code>{{keyID}}</code></p>
        {{#error}}<p class="error" id="error">{{error}}</p>{{/error}}
        <form method="post" action="/console/devices/{{keyID}}/claim">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label>{{t.profile}}<br><select name="profile" id="claim-profile">{{#profiles}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}} ({{id}})</option>{{/profiles}}</select></label></p>
        <p><label>{{t.transfers}}<br><textarea name="incidents" id="claim-incidents" rows="4" cols="40" required>{{incidents}}</textarea></label><br><small>{{t.transfersHelp}}</small></p>
        <p><label>{{t.notified}}<br><input type="date" name="notified" id="claim-notified" value="{{notified}}"></label><br><small>{{t.notifiedHelp}}</small></p>
        <p><button type="submit" id="assess">{{t.assess}}</button></p>
        </form>

        """

    static let message = """
        <p id="message">{{message}}</p>
        <p><a href="/console/overview">{{t.overview}}</a></p>

        """

    /// The console's words in English and Japanese.
    static func labels(_ language: Language) -> [String: String] {
        let ja = language == .ja
        return Dictionary(uniqueKeysWithValues: words.map { ($0.key, ja ? $0.value.1 : $0.value.0) })
    }

    static let words: [String: (String, String)] = [
        "otherLanguage": ("日本語", "English"),
        "signIn": ("Sign in", "サインイン"), "signOut": ("Sign out", "サインアウト"),
        "staffToken": ("Staff token (pst_staff_…)", "スタッフトークン (pst_staff_…)"),
        "signInHelp": (
            "Tokens are issued with `posture-collector token issue-staff`. A contract token sees that contract's devices only.",
            "トークンは `posture-collector token issue-staff` で発行します。契約用トークンではその契約の端末だけが見えます。"
        ),
        "overview": ("Overview", "概要"), "allContracts": ("All contracts", "全契約"),
        "contractsShown": (
            "Contracts shown (those with failing, silent or unknown PCs first; filter by contract for one)",
            "表示中の契約 (不適合・報告なし・不明の端末がある契約から順に。個別の契約は絞り込みで表示)"
        ), "contracts": ("Contracts", "契約"), "contract": ("Contract", "契約"),
        "profile": ("Profile", "プロファイル"), "devices": ("Devices", "端末"), "failing": ("Failing", "不適合"),
        "unknown": ("Unknown", "不明"), "silent": ("Silent", "報告なし"), "ok": ("OK", "適合"), "all": ("All", "すべて"),
        "chainEvents": ("Chain events", "チェーン異常"), "standing": ("Standing", "状態"), "hostname": ("Host", "ホスト名"),
        "sort": ("Sort", "並べ替え"), "filter": ("Filter", "絞り込み"), "shown": ("Devices shown", "該当端末数"),
        "lastReport": ("Last report", "最終報告"), "previous": ("Previous", "前へ"), "next": ("Next", "次へ"),
        "keyID": ("Key id", "鍵ID"), "enrolled": ("Enrolled", "登録日時"), "assessClaim": ("Assess a claim", "補償請求を判定"),
        "when": ("When", "日時"), "kind": ("Kind", "種類"), "detail": ("Detail", "内容"), "reportOf": ("From the report of", "判定元の報告:"),
        "requirement": ("Requirement", "要件"), "clause": ("Clause", "条項"), "status": ("Status", "結果"), "finding": ("Finding", "所見"),
        "remedy": ("What to do", "対処"), "noVerdict": ("No report judged yet.", "判定済みの報告はまだありません。"),
        "download": ("Download evidence", "証跡のダウンロード"), "from": ("From", "開始日"), "to": ("To", "終了日"),
        "downloadButton": ("Download envelopes (NDJSON)", "エンベロープをダウンロード (NDJSON)"),
        "timelineOf": ("Each requirement over the last", "各要件の推移: 直近"), "daysUnit": ("days", "日"),
        "keptAssessments": ("Assessments", "判定履歴"), "ranBy": ("Run by", "実行者"),
        "reports": ("Reports and receipts", "報告と受領証"),
        "reportsHelp": (
            "The newest 100, by arrival; every report is in the download above. A receipt is the collector's signed acknowledgement (DSSE).",
            "到着順に新しい100件。すべての報告は上のダウンロードにあります。受領証はコレクターが署名した受領の証明 (DSSE) です。"
        ),
        "sequence": ("Sequence", "連番"), "reportID": ("Report id", "報告ID"), "collected": ("Collected", "収集日時"),
        "received": ("Received", "受領日時"), "chain": ("Chain", "チェーン"), "receipt": ("Receipt", "受領証"),
        "transfers": ("Fraudulent transfers, one per line", "不正送金 (1行に1件)"),
        "transfersHelp": (
            "A date (2026-11-20) or a time (2026-11-20T14:03:00+09:00), in the profile's time zone.",
            "日付 (2026-11-20) または日時 (2026-11-20T14:03:00+09:00)。プロファイルのタイムゾーンで読みます。"
        ),
        "notified": ("Day the bank was notified", "銀行への通知日"),
        "notifiedHelp": ("Without it, the claim deadline is unknown.", "未入力の場合、請求期限は判定できません。"),
        "assess": ("Assess", "判定する"), "notFound": ("Not found", "見つかりません"),
        "pass": ("Pass", "適合"), "fail": ("Fail", "不適合"), "attested": ("Attested", "申告"), "not_applicable": ("Not applicable", "対象外"),
        "sortStanding": ("Standing", "状態"), "sortLast": ("Last report (oldest first)", "最終報告 (古い順)"),
        "sortHost": ("Host", "ホスト名"), "sortContract": ("Contract", "契約"), "failsRequirement": ("Fails requirement", "満たさない要件")
    ]
}
