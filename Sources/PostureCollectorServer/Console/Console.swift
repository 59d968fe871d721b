import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostureAssessment
import PostureCollector
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureReference

/// The web console under `/console/`: a bank's fraud desk sees which customers' PCs would lose
/// their cover today, a customer's IT (a `contract:ID` token) sees its own PCs and what to fix,
/// and a claim is assessed from a form with the same code as `posture assess`.
///
/// Server-rendered HTML, no script, no asset from elsewhere, a Content-Security-Policy that
/// allows only this origin's stylesheet (and an assessment page's own inline style by its hash).
/// Sessions are `HttpOnly`, `SameSite=Strict` cookies (`Secure` under TLS) that end at sign-out,
/// at expiry, or when the staff token is revoked; every form carries a CSRF token. A device out
/// of the session's scope is answered as if it did not exist.
struct Console: Sendable {
    let collector: Collector
    let staffTokens: StaffTokens
    let profiles: [Profile]
    let reference: ReferencePaths
    let sessions: ConsoleSessions
    let secureCookies: Bool
    let admission: Admission
    let logger: Logger
    static let pageSize = 50
    /// Contracts counted on the overview: those that need attention first (the rest are one filter away).
    static let contractsShown = 50
    /// Reports listed on a device page, newest first (all of them: the NDJSON download).
    static let reportsShown = 100

    /// Why a console request ends other than with its page.
    enum Outcome: Error {
        case signIn
        case notFound
        case badRequest(String)
    }

    func register(on router: Router<CollectorRequestContext>) {
        let console = self
        router.get("/console") { _, _ in Self.redirect("/console/overview") }
        router.get("/console/console.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: ConsoleTemplates.stylesheet)))
        }
        router.get("/console/language/:lang") { request, context in
            let language = context.parameters.get("lang") == "ja" ? "ja" : "en"
            var response = Self.redirect("/console/overview")
            response.headers[.setCookie] = console.cookie(ConsoleSessions.languageCookie, language, maxAge: 365 * 86400)
            return response
        }
        router.get("/console/sign-in") { request, _ in console.signInPage(request, error: nil, status: .ok) }
        router.post("/console/sign-in") { request, context in await console.signIn(request, context) }
        router.post("/console/sign-out") { request, _ in
            await console.page(request) { session in
                let form = try await console.form(request)
                try console.checkCSRF(form, session)
                console.sessions.close(cookie: Self.cookies(request)[ConsoleSessions.cookie])
                var response = Self.redirect("/console/sign-in")
                response.headers[.setCookie] = console.cookie(ConsoleSessions.cookie, "", maxAge: 0)
                return response
            }
        }
        router.get("/console/overview") { request, _ in
            await console.page(request) { session in try await console.overview(request, session) }
        }
        router.get("/console/devices/:key_id") { request, context in
            await console.page(request) { session in try await console.devicePage(request, session, keyID: context.parameters.get("key_id") ?? "") }
        }
        router.get("/console/devices/:key_id/envelopes.ndjson") { request, context in
            await console.page(request) { session in
                let device = try await console.device(context.parameters.get("key_id") ?? "", session)
                let query = request.uri.queryParameters
                let zone = console.zone
                func day(_ name: String, end: Bool) throws -> Date? {
                    guard let text = query.get(name), !text.isEmpty else { return nil }
                    guard let day = Day(text) else { throw Outcome.badRequest("'\(name)' must be a date (YYYY-MM-DD), not '\(text)'") }
                    return day.start(in: zone).addingTimeInterval(end ? 86400 - 0.001 : 0)
                }
                var response = try await CollectorServer.stream(
                    console.collector.storage, keyID: device.keyID, from: try day("from", end: false), to: try day("to", end: true),
                    after: nil, limit: nil)
                response.headers[.contentDisposition] = "attachment; filename=\"\(device.keyID.prefix(16)).ndjson\""
                return response
            }
        }
        router.get("/console/devices/:key_id/receipts/:report_id") { request, context in
            await console.page(request) { session in
                let device = try await console.device(context.parameters.get("key_id") ?? "", session)
                let id = context.parameters.get("report_id") ?? ""
                guard let report = try await console.collector.storage.reports(keyID: device.keyID, limit: Int.max).first(where: { $0.reportID == id })
                else { throw Outcome.notFound }
                return Response(
                    status: .ok,
                    headers: [.contentType: "application/json", .contentDisposition: "attachment; filename=\"receipt-\(report.sequence).json\""],
                    body: .init(byteBuffer: ByteBuffer(bytes: report.receipt)))
            }
        }
        router.get("/console/devices/:key_id/claim") { request, context in
            await console.page(request) { session in
                let device = try await console.device(context.parameters.get("key_id") ?? "", session)
                return console.claimForm(request, session, device, form: [:], error: nil, status: .ok)
            }
        }
        router.post("/console/devices/:key_id/claim") { request, context in
            await console.page(request) { session in
                let device = try await console.device(context.parameters.get("key_id") ?? "", session)
                return try await console.assess(request, session, device)
            }
        }
        router.get("/console/assessments/:id/assessment.json") { request, context in
            await console.page(request) { session in
                let kept = try await console.kept(context.parameters.get("id"), session)
                return Response(
                    status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(bytes: kept.assessment)))
            }
        }
        router.get("/console/assessments/:id") { request, context in
            await console.page(request) { session in
                let kept = try await console.kept(context.parameters.get("id"), session)
                return Self.assessmentPage(String(decoding: kept.html, as: UTF8.self))
            }
        }
    }

    // MARK: Pages

    func overview(_ request: Request, _ session: ConsoleSession) async throws -> Response {
        let language = Self.language(request)
        let t = ConsoleTemplates.labels(language)
        let query = request.uri.queryParameters
        let scope: String? =
            switch session.scope {
            case .bank: query.get("contract").flatMap { $0.isEmpty ? nil : $0 }
            case .contract(let id): id
            }
        guard let profile = query.get("profile").flatMap({ id in profiles.first { $0.id == id } }) ?? profiles.first else {
            throw Outcome.badRequest("the console watches no profile: set console.profiles in the collector's config")
        }
        var fleet = FleetQuery(profile: profile, contract: scope, now: Date())
        fleet.filter = query.get("standing").flatMap(FleetQuery.Filter.init(rawValue:)) ?? .all
        fleet.sort = query.get("sort").flatMap(FleetQuery.Sort.init(rawValue:)) ?? .standing
        fleet.search = query.get("q") ?? ""
        // Only a requirement of the profile: any other text would match nothing.
        fleet.failingRequirement = query.get("fails").flatMap { id in profile.requirements.first { $0.id == id }?.id }
        fleet.contractsShown = Self.contractsShown
        fleet.limit = Self.pageSize
        let pageNumber = min(max(1, Int(query.get("page") ?? "1") ?? 1), Int.max / Self.pageSize)
        fleet.offset = (pageNumber - 1) * Self.pageSize
        let page = try await collector.storage.fleetPage(fleet)
        func link(page: Int) -> String {
            var items = [URLQueryItem(name: "profile", value: profile.id), URLQueryItem(name: "standing", value: fleet.filter.rawValue)]
            if case .bank = session.scope { items.append(URLQueryItem(name: "contract", value: scope ?? "")) }
            items += [
                URLQueryItem(name: "fails", value: fleet.failingRequirement ?? ""), URLQueryItem(name: "q", value: fleet.search),
                URLQueryItem(name: "sort", value: fleet.sort.rawValue), URLQueryItem(name: "page", value: "\(page)")
            ]
            var components = URLComponents()
            components.path = "/console/overview"
            components.queryItems = items
            return components.string ?? "/console/overview"
        }
        func counts(_ tally: FleetPage.Tally) -> [String: Any] {
            [
                "contract": tally.contract, "profile": profile.id, "devices": tally.devices, "failing": tally.failing,
                "unknown": tally.unknown, "silent": tally.silent, "withEvents": tally.withEvents, "flagged": tally.withEvents > 0
            ]
        }
        let bank: Bool = if case .bank = session.scope { true } else { false }
        let ja = language == .ja
        let context: [String: Any] = [
            "t": t, "bank": bank, "contract": scope ?? "", "q": fleet.search, "profile": profile.id, "total": page.matching,
            "contractsShown": page.tallies.count, "contractsTotal": page.contracts, "totals": counts(page.totals),
            "tallies": page.tallies.map(counts),
            "profiles": profiles.map { ["id": $0.id, "selected": $0.id == profile.id] as [String: Any] },
            "standings": FleetQuery.Filter.allCases.map { value in
                [
                    "value": value.rawValue, "label": t[value == .events ? "chainEvents" : value.rawValue] ?? value.rawValue,
                    "selected": value == fleet.filter
                ] as [String: Any]
            },
            "requirements": profile.requirements.map { requirement in
                [
                    "id": requirement.id, "selected": requirement.id == fleet.failingRequirement,
                    "label": (ja ? requirement.clause : (requirement.clauseEn ?? requirement.clause)) + ": " + requirement.title.text(for: language)
                ] as [String: Any]
            },
            "sorts": FleetQuery.Sort.allCases.map { value in
                let label = ["standing": "sortStanding", "last": "sortLast", "host": "sortHost", "contract": "sortContract"][value.rawValue]!
                return ["value": value.rawValue, "label": t[label] ?? value.rawValue, "selected": value == fleet.sort] as [String: Any]
            },
            "rows": page.rows.map { row -> [String: Any] in
                [
                    "keyID": row.keyID, "hostname": row.hostname ?? row.keyID.prefix(16) + "…",
                    "contract": row.contract, "lastReport": row.collectedAt.map(local) ?? "—",
                    "standing": row.standing.rawValue, "standingLabel": t[row.standing.rawValue] ?? row.standing.rawValue,
                    "failing": row.failing, "unknown": row.unknown, "events": row.events, "flagged": row.events > 0
                ]
            },
            "previous": pageNumber > 1 ? link(page: pageNumber - 1) : false,
            "next": fleet.offset + Self.pageSize < page.matching ? link(page: pageNumber + 1) : false
        ]
        return html(.ok, title: t["overview"]!, template: "overview", context, session: session, language: language)
    }

    func devicePage(_ request: Request, _ session: ConsoleSession, keyID: String) async throws -> Response {
        let device = try await device(keyID, session)
        let language = Self.language(request)
        let t = ConsoleTemplates.labels(language)
        let storage = collector.storage
        async let verdictList = storage.verdicts(keyID: keyID)
        async let eventList = storage.events(keyID: keyID)
        async let keptList = storage.keptAssessments(keyID: keyID)
        async let reportList = storage.reports(keyID: keyID, limit: Self.reportsShown)
        let verdicts = try await verdictList, events = try await eventList, kept = try await keptList, reports = try await reportList
        let now = Date()
        let ja = language == .ja
        let days = request.uri.queryParameters.get("days") == "90" ? 90 : 30
        let windowStart = now.addingTimeInterval(-Double(days) * 86400)
        var timelines: [String: String] = [:]
        for verdict in verdicts {
            let changes = try await storage.verdictChanges(keyID: keyID, profile: verdict.profile, from: windowStart)
            timelines[verdict.profile] =
                ConsoleTimeline(
                    findings: verdict.decodedFindings(), changes: changes, lastReport: verdict.collectedAt, from: windowStart, to: now,
                    timezone: profiles.first { $0.id == verdict.profile }?.claim.timezone ?? "Asia/Tokyo", language: language
                ).svg()
        }
        let context: [String: Any] = [
            "t": t, "hostname": device.hostname ?? "—", "keyID": device.keyID, "contract": device.contract,
            "enrolled": local(device.enrolledAt), "lastReport": verdicts.map(\.collectedAt).max().map(local) ?? "—",
            "hasEvents": !events.isEmpty, "days": days, "otherDays": days == 30 ? 90 : 30,
            "events": events.map { ["at": local($0.at), "kind": $0.kind, "detail": $0.detail] },
            "profiles": profiles.compactMap { profile -> [String: Any]? in
                guard let verdict = verdicts.first(where: { $0.profile == profile.id }) else { return nil }
                let own = DeviceStanding(
                    collectedAt: verdict.collectedAt, failing: verdict.failing, unknown: verdict.unknown, profile: profile, now: now)
                return [
                    "id": profile.id, "name": profile.name.text(for: language), "standing": own.rawValue,
                    "standingLabel": t[own.rawValue] ?? own.rawValue, "collected": local(verdict.collectedAt),
                    "timeline": timelines[profile.id] ?? "",
                    "findings": verdict.decodedFindings().map { finding -> [String: Any] in
                        var row: [String: Any] = [
                            "title": ja ? finding.ja.title : finding.title, "clause": ja ? finding.clause : (finding.clauseEn ?? finding.clause),
                            "status": finding.status.rawValue, "statusLabel": t[finding.status.rawValue] ?? finding.status.rawValue,
                            "summaryHTML": HTMLReport.withCode(ja ? finding.ja.summary : finding.summary)
                        ]
                        if let remedy = ja ? finding.ja.remedy : finding.remedy { row["remedyHTML"] = HTMLReport.withCode(remedy) }
                        return row
                    }
                ]
            },
            "reports": reports.map { report -> [String: Any] in
                [
                    "sequence": report.sequence, "reportID": report.reportID, "collected": local(report.collectedAt),
                    "received": local(report.receivedAt), "chain": report.chain, "irregular": report.chain != "ok",
                    "receiptSha256": sha256Hex(report.receipt).prefix(16)
                ]
            },
            "reportsShown": Self.reportsShown,
            "hasKept": !kept.isEmpty,
            "kept": kept.map { ["id": $0.id, "at": local($0.at), "profile": $0.profile, "staff": $0.staff] as [String: Any] }
        ]
        return html(.ok, title: device.hostname ?? device.keyID, template: "device", context, session: session, language: language)
    }

    func claimForm(
        _ request: Request, _ session: ConsoleSession, _ device: Device, form: [String: [String]], error: String?, status: HTTPResponse.Status
    ) -> Response {
        let language = Self.language(request)
        let t = ConsoleTemplates.labels(language)
        let chosen = form["profile"]?.first
        var context: [String: Any] = [
            "t": t, "hostname": device.hostname ?? "—", "keyID": device.keyID, "csrf": session.csrf,
            "incidents": form["incidents"]?.first ?? "", "notified": form["notified"]?.first ?? "",
            "profiles": profiles.map { ["id": $0.id, "name": $0.name.text(for: language), "selected": $0.id == chosen] as [String: Any] }
        ]
        if let error { context["error"] = error }
        return html(status, title: t["assessClaim"]!, template: "claim", context, session: session, language: language)
    }

    /// Runs the claim on the device's stored envelopes (the enrolled key pinned), keeps the inputs
    /// and the result, and shows the kept page.
    func assess(_ request: Request, _ session: ConsoleSession, _ device: Device) async throws -> Response {
        let form = try await form(request)
        try checkCSRF(form, session)
        let language = Self.language(request)
        guard let profile = form["profile"]?.first.flatMap({ id in profiles.first { $0.id == id } }) else {
            return claimForm(request, session, device, form: form, error: "choose a profile", status: .badRequest)
        }
        let incidents = (form["incidents"]?.first ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let notified = form["notified"]?.first.flatMap { $0.isEmpty ? nil : $0 }
        guard let key = DeviceKey.publicKey(base64: device.publicKey) else { throw Outcome.notFound }
        let envelopes = try await collector.storage.envelopes(keyID: device.keyID, from: nil, to: nil)
        let items = envelopes.enumerated().map { ChainVerifier.Item(source: "collector:\(device.keyID.prefix(16)):\($0.offset + 1)", bytes: $0.element) }
        let reference = self.reference
        let assessment: Assessment
        do {
            assessment = try await collector.checks.run {
                try ClaimAssessment.assess(
                    profile: profile, incidents: incidents, notified: notified,
                    key: .init(key, pinned: true, source: "enrolled for contract \(device.contract)"), reports: items, attestations: [],
                    reference: reference)
            }
        } catch let error as AssessmentError {
            return claimForm(request, session, device, form: form, error: error.description, status: .badRequest)
        } catch let error as LocatedError {
            return claimForm(request, session, device, form: form, error: error.description, status: .badRequest)
        }
        let page = HTMLReport.assessment(assessment, language: language)
        let inputs = try JSONSerialization.data(
            withJSONObject: ["profile": profile.id, "incidents": incidents, "notified": notified ?? NSNull(), "language": language.rawValue] as [String: Any],
            options: [.sortedKeys])
        let id = try await collector.storage.keep(
            KeptAssessment(
                contract: device.contract, keyID: device.keyID, profile: profile.id, staff: session.staffLabel, at: assessment.assessedAt,
                inputs: inputs, assessment: try PostureJSON.encoder().encode(assessment), html: Data(page.utf8)))
        logger.info("claim assessed", metadata: ["key_id": "\(device.keyID)", "profile": "\(profile.id)", "staff": "\(session.staffLabel)", "kept": "\(id)"])
        return Self.redirect("/console/assessments/\(id)")
    }

    // MARK: Sign-in

    func signInPage(_ request: Request, error: String?, status: HTTPResponse.Status) -> Response {
        let language = Self.language(request)
        let t = ConsoleTemplates.labels(language)
        let csrf = ConsoleSessions.random()
        var context: [String: Any] = ["t": t, "csrf": csrf]
        if let error { context["error"] = error }
        var response = html(status, title: t["signIn"]!, template: "sign-in", context, session: nil, language: language)
        response.headers[.setCookie] = cookie(ConsoleSessions.signInCookie, csrf, maxAge: 3600)
        return response
    }

    func signIn(_ request: Request, _ context: CollectorRequestContext) async -> Response {
        do {
            try admission.enter(address: context.address)
        } catch {
            return signInPage(request, error: "\(error)", status: .tooManyRequests)
        }
        let t = ConsoleTemplates.labels(Self.language(request))
        do {
            let form = try await self.form(request)
            guard let expected = Self.cookies(request)[ConsoleSessions.signInCookie], let given = form["csrf"]?.first,
                ConsoleSessions.same(expected, given)
            else {
                admission.leave(address: context.address, charged: true)
                return signInPage(request, error: "the form expired; sign in again", status: .forbidden)
            }
            let staff = try staffTokens.authenticate(token: (form["token"]?.first ?? "").trimmingCharacters(in: .whitespaces))
            admission.leave(address: context.address, charged: false)
            let (value, session) = sessions.open(staff: staff)
            logger.info("console sign-in", metadata: ["staff": "\(session.staffLabel)", "scope": "\(session.scope)"])
            var response = Self.redirect("/console/overview")
            response.headers[.setCookie] = cookie(ConsoleSessions.cookie, value, maxAge: Int(session.expires.timeIntervalSinceNow))
            return response
        } catch let error as RequestError {
            admission.leave(address: context.address, charged: true)
            logger.notice("console sign-in refused", metadata: ["reason": "\(error.description)"])
            return signInPage(request, error: "\(t["signIn"]!): \(error.description)", status: .unauthorized)
        } catch {
            admission.leave(address: context.address, charged: true)
            return signInPage(request, error: "\(error)", status: .badRequest)
        }
    }

    // MARK: Plumbing

    /// Runs a page for a signed-in session: no session redirects to the sign-in page, a device out
    /// of scope is 404, a store that fails is 503.
    func page(_ request: Request, _ body: (ConsoleSession) async throws -> Response) async -> Response {
        let language = Self.language(request)
        let t = ConsoleTemplates.labels(language)
        guard let session = sessions.session(cookie: Self.cookies(request)[ConsoleSessions.cookie], tokens: staffTokens) else {
            return Self.redirect("/console/sign-in")
        }
        do {
            return try await body(session)
        } catch Outcome.signIn {
            return Self.redirect("/console/sign-in")
        } catch Outcome.notFound {
            return message(.notFound, t["notFound"]!, t["notFound"]!, session: session, language: language)
        } catch Outcome.badRequest(let reason) {
            return message(.badRequest, "400", reason, session: session, language: language)
        } catch let error as RequestError {
            return message(.init(code: error.status), "\(error.status)", error.description, session: session, language: language)
        } catch {
            logger.error("console request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            return message(.serviceUnavailable, "503", "the collector cannot read its store right now; retry later", session: session, language: language)
        }
    }

    /// The device when the session may see it; otherwise as if it did not exist.
    func device(_ keyID: String, _ session: ConsoleSession) async throws -> Device {
        guard let device = try await collector.storage.device(keyID: keyID), session.scope.allows(contract: device.contract) else {
            throw Outcome.notFound
        }
        return device
    }

    /// A kept assessment when the session may see its contract; otherwise as if it did not exist.
    func kept(_ id: String?, _ session: ConsoleSession) async throws -> KeptAssessment {
        guard let id = id.flatMap(Int64.init), let kept = try await collector.storage.keptAssessment(id: id),
            session.scope.allows(contract: kept.contract)
        else { throw Outcome.notFound }
        return kept
    }

    func form(_ request: Request) async throws -> [String: [String]] {
        ConsoleRequestParsing.form(try await CollectorServer.collect(request, limit: 64 << 10, timeout: 30))
    }

    func checkCSRF(_ form: [String: [String]], _ session: ConsoleSession) throws {
        guard let given = form["csrf"]?.first, ConsoleSessions.same(given, session.csrf) else {
            throw RequestError.forbidden("the form's CSRF token is missing or wrong: reload the page and try again")
        }
    }

    func message(_ status: HTTPResponse.Status, _ title: String, _ text: String, session: ConsoleSession?, language: Language) -> Response {
        html(status, title: title, template: "message", ["t": ConsoleTemplates.labels(language), "message": text], session: session, language: language)
    }

    var zone: TimeZone { profiles.first?.claim.zone ?? TimeZone.named("Asia/Tokyo")! }

    func local(_ date: Date) -> String { AssessmentTime.local(date, profiles.first?.claim.timezone ?? "Asia/Tokyo") }

    func html(
        _ status: HTTPResponse.Status, title: String, template: String, _ context: [String: Any], session: ConsoleSession?, language: Language
    ) -> Response {
        let t = ConsoleTemplates.labels(language)
        let body = ConsoleTemplates.render(template, context)
        var page: [String: Any] = ["t": t, "lang": language.rawValue, "otherLang": language == .ja ? "en" : "ja", "title": title, "body": body]
        if let session { page["session"] = ["who": "\(session.scope) · \(session.staffLabel)", "csrf": session.csrf] }
        return Self.htmlResponse(status, ConsoleTemplates.render("layout", page), styleHash: nil)
    }

    /// A kept assessment page, byte for byte as first shown; its inline style is allowed by hash.
    static func assessmentPage(_ page: String) -> Response {
        var hash: String?
        if let open = page.range(of: "<style>"), let close = page.range(of: "</style>", range: open.upperBound..<page.endIndex) {
            hash = Data(SHA256.hash(data: Data(page[open.upperBound..<close.lowerBound].utf8))).base64EncodedString()
        }
        return htmlResponse(.ok, page, styleHash: hash)
    }

    static func htmlResponse(_ status: HTTPResponse.Status, _ text: String, styleHash: String?) -> Response {
        let style = "'self'" + (styleHash.map { " 'sha256-\($0)'" } ?? "")
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy:
                "default-src 'none'; style-src \(style); img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ]
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/console; Max-Age=\(max(0, maxAge)); HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")
    }

    static func cookies(_ request: Request) -> [String: String] {
        ConsoleRequestParsing.cookies(request.headers[values: .cookie].joined(separator: "; "))
    }

    /// The language cookie, else the browser's first choice.
    static func language(_ request: Request) -> Language {
        if let chosen = cookies(request)[ConsoleSessions.languageCookie] { return chosen == "ja" ? .ja : .en }
        return (request.headers[.acceptLanguage] ?? "").lowercased().hasPrefix("ja") ? .ja : .en
    }
}
