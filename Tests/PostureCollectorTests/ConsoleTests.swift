import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostureCollector
import PostureCollectorServer
import PostureEvidence
import PostureModel
import PosturePolicy
import PostureTestSupport
import Testing

/// The web console in process (Hummingbird's test client over the collector's own router): the
/// verdicts kept at ingest against the planted fleet's known facts, sign-in and its cookie,
/// CSRF, scope, and a session that ends when its token is revoked. `ConsoleBrowserTests` drives
/// the real binary in Chromium.
@Suite struct ConsoleTests {
    struct Fixture {
        let root: TemporaryRoot
        let collector: Collector
        let router: Router<CollectorRequestContext>
        let staffFile: String
        let bankToken: String
        let contractToken: String
        let fleet = ConsoleFleet()

        init() async throws {
            root = try TemporaryRoot()
            let profiles = try ConsoleFleet.profiles()
            var limits = CollectorConfig.Limits()
            limits.perDevicePerMinute = 10_000
            let storage = try SQLiteStorage(path: root.url("collector.db").path)
            collector = Collector(
                storage: storage, receiptKey: DeviceKey(privateKey: .init()), limits: limits, verdictKeeper: VerdictKeeper(profiles: profiles))
            staffFile = root.url("staff-tokens").path
            bankToken = try StaffTokens.issue(file: staffFile, scope: .bank, lifetime: 3600, name: "desk").token
            contractToken = try StaffTokens.issue(file: staffFile, scope: .contract("C-A"), lifetime: 3600, name: "it-a").token
            var config = CollectorConfig()
            config.tlsCertificate = "served-over-tls.pem"
            router = CollectorServer(
                config: config, collector: collector, staffTokens: try StaffTokens(file: staffFile), logger: Logger(label: "test"),
                profiles: profiles
            ).router()
            try await fleet.plant(into: collector)
        }
    }

    /// The overview's counts are the planted facts, from verdicts kept at ingest. In process on
    /// SQLite; PostgreSQL is driven through the real server in `ConsoleBrowserTests`, so its
    /// client never waits on the test runner's threads.
    @Test func keptVerdictsGiveThePlantedCounts() async throws {
        let fixture = try await Fixture()
        let storage = fixture.collector.storage
        let profile = try #require(try ConsoleFleet.profiles().first { $0.id == ConsoleFleet.profile })
        let page = try await storage.fleetPage(FleetQuery(profile: profile, contract: nil, now: Date()))
        let a = try #require(page.tallies.first { $0.contract == "C-A" })
        #expect((a.devices, a.failing, a.unknown, a.silent, a.withEvents) == (4, 1, 2, 1, 1))
        let b = try #require(page.tallies.first { $0.contract == "C-B" })
        #expect((b.devices, b.failing, b.unknown, b.silent, b.withEvents) == (1, 0, 1, 0, 0))
        #expect(page.tallies.map(\.contract) == ["C-A", "C-B"], "the contract needing attention first")
        #expect((page.totals.devices, page.totals.failing, page.totals.unknown, page.totals.silent, page.totals.withEvents) == (5, 1, 3, 1, 1))
        #expect((page.contracts, page.matching) == (2, 5))
        // Scoped reads see one contract only.
        #expect(try await storage.fleetPage(FleetQuery(profile: profile, contract: "C-B", now: Date())).rows.map(\.hostname) == ["pc-b"])
        var other = profile
        other.id = "no-such-profile"
        #expect(
            try await storage.fleetPage(FleetQuery(profile: other, contract: "C-B", now: Date())).rows.map(\.collectedAt) == [nil],
            "a device never judged is listed")
        #expect(page.rows.first { $0.hostname == "pc-silent" }?.standing == .silent)
        let failing = try await storage.verdicts(keyID: fixture.fleet.pc("pc-fail").device.keyID)
        let findings = try #require(failing.first { $0.profile == ConsoleFleet.profile }).decodedFindings()
        #expect(findings.contains { $0.check == "security_software.installed" && $0.status == .fail && $0.remedy != nil })
        // An older report arriving late does not replace the newer verdict.
        let fork = fixture.fleet.pc("pc-fork")
        let kept = try await storage.verdicts(keyID: fork.device.keyID)
        #expect(kept.allSatisfy { abs($0.collectedAt.timeIntervalSince(fixture.fleet.now.addingTimeInterval(-4 * 3600))) < 1 })
        // The timeline keeps change points only: pc-fork's three reports say the same.
        let changes = try await storage.verdictChanges(keyID: fork.device.keyID, profile: profile.id, from: .distantPast)
        #expect(changes.count == 1)
        let failingChanges = try await storage.verdictChanges(keyID: fixture.fleet.pc("pc-fail").device.keyID, profile: profile.id, from: Date())
        #expect(failingChanges.count == 1, "the state a window opens in is the last change before it")
        #expect(failingChanges.first?.byRequirement.values.contains("fail") == true)
        try await storage.close()
    }

    static func csrf(_ page: String) -> String? {
        guard let range = page.range(of: #"name="csrf" value="([^"]+)""#, options: .regularExpression) else { return nil }
        return String(page[range].split(separator: "\"")[3])
    }

    static func cookie(_ response: TestResponse, _ name: String) -> String? {
        response.headers[values: .setCookie].first { $0.hasPrefix("\(name)=") }
    }

    static func value(_ setCookie: String?) -> String {
        String(setCookie?.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last ?? "")
    }

    /// Signs in with `token`; returns the session cookie's value (empty when refused) and the response.
    static func signIn(_ client: some TestClientProtocol, token: String) async throws -> (session: String, status: HTTPResponse.Status) {
        let (preCookie, csrf) = try await client.execute(uri: "/console/sign-in", method: .get) { response in
            (Self.value(Self.cookie(response, "posture_signin")), Self.csrf(String(buffer: response.body)) ?? "")
        }
        let body = "csrf=\(csrf)&token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        return try await client.execute(
            uri: "/console/sign-in", method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded", .cookie: "posture_signin=\(preCookie)"], body: ByteBuffer(string: body)
        ) { response in (value(cookie(response, "posture_session")), response.status) }
    }

    /// One overview query and the hostnames it must list, in order, from the planted facts.
    struct ListCase: Sendable, CustomTestStringConvertible {
        var name: String
        var filter = FleetQuery.Filter.all
        var fails = false
        var search = ""
        var keyPrefixOf: String?
        var sort = FleetQuery.Sort.standing
        var offset = 0
        var limit = 50
        var hosts: [String]
        var testDescription: String { name }
    }

    static let listCases: [ListCase] = [
        ListCase(name: "by standing", hosts: ["pc-silent", "pc-fail", "pc-b", "pc-fork", "pc-unknown"]),
        ListCase(name: "failing", filter: .failing, hosts: ["pc-fail"]),
        ListCase(name: "silent", filter: .silent, hosts: ["pc-silent"]),
        ListCase(name: "unknown", filter: .unknown, hosts: ["pc-b", "pc-fork", "pc-unknown"]),
        ListCase(name: "ok", filter: .ok, hosts: []),
        ListCase(name: "chain events", filter: .events, hosts: ["pc-fork"]),
        ListCase(name: "fails the security-software requirement", fails: true, hosts: ["pc-fail"]),
        ListCase(name: "fails it and unknown", filter: .unknown, fails: true, hosts: []),
        ListCase(name: "hostname, any case", search: "PC-F", hosts: ["pc-fail", "pc-fork"]),
        ListCase(name: "key id prefix", keyPrefixOf: "pc-b", hosts: ["pc-b"]),
        ListCase(name: "a search matching nothing", search: "%", hosts: []),
        ListCase(name: "oldest report first", sort: .last, hosts: ["pc-silent", "pc-fork", "pc-unknown", "pc-fail", "pc-b"]),
        ListCase(name: "by contract", sort: .contract, hosts: ["pc-fail", "pc-fork", "pc-silent", "pc-unknown", "pc-b"]),
        ListCase(name: "second page of two", sort: .host, offset: 2, limit: 2, hosts: ["pc-fork", "pc-silent"]),
        ListCase(name: "past the last page", sort: .host, offset: 50, limit: 50, hosts: [])
    ]

    /// The store filters, sorts and pages the overview's list; tallies and totals ignore the filters.
    @Test(arguments: listCases) func theStoreListsWhatTheFiltersSelect(_ list: ListCase) async throws {
        let fixture = try await Fixture()
        let profile = try #require(try ConsoleFleet.profiles().first { $0.id == ConsoleFleet.profile })
        var query = FleetQuery(profile: profile, contract: nil, now: Date())
        query.filter = list.filter
        query.sort = list.sort
        query.offset = list.offset
        query.limit = list.limit
        query.search = list.keyPrefixOf.map { String(fixture.fleet.pc($0).device.keyID.prefix(10)) } ?? list.search
        if list.fails {
            query.failingRequirement = try #require(profile.requirements.first { $0.check == .securitySoftwareInstalled }).id
        }
        let page = try await fixture.collector.storage.fleetPage(query)
        #expect(page.rows.map(\.hostname) == list.hosts)
        if list.offset == 0 { #expect(page.matching == list.hosts.count) }
        #expect(page.totals.devices == 5)
    }

    @Test func signInCookieCSRFAndSignOut() async throws {
        let fixture = try await Fixture()
        let bankToken = fixture.bankToken
        try await Application(router: fixture.router).test(.router) { client in
            try await client.execute(uri: "/console/overview", method: .get) { response in
                #expect(response.status == .seeOther && response.headers[.location] == "/console/sign-in")
            }
            // The sign-in form's own CSRF token is required.
            try await client.execute(
                uri: "/console/sign-in", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "token=\(bankToken)")
            ) { response in
                #expect(response.status == .forbidden)
                #expect(Self.cookie(response, "posture_session") == nil)
            }
            let wrong = try await Self.signIn(client, token: "pst_staff_wrong")
            #expect(wrong.status == .unauthorized && wrong.session.isEmpty)

            let (preCookie, csrf) = try await client.execute(uri: "/console/sign-in", method: .get) { response in
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
                return (Self.value(Self.cookie(response, "posture_signin")), Self.csrf(String(buffer: response.body)) ?? "")
            }
            let session = try await client.execute(
                uri: "/console/sign-in", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .cookie: "posture_signin=\(preCookie)"],
                body: ByteBuffer(string: "csrf=\(csrf)&token=\(bankToken)")
            ) { response in
                #expect(response.status == .seeOther)
                let cookie = try #require(Self.cookie(response, "posture_session"))
                for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/console", "Max-Age="] {
                    #expect(cookie.contains(flag), "the session cookie has \(flag): \(cookie)")
                }
                return Self.value(cookie)
            }
            let signedIn: HTTPFields = [.cookie: "posture_session=\(session)"]
            let page = try await client.execute(uri: "/console/overview", method: .get, headers: signedIn) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentSecurityPolicy]?.contains("style-src 'self'") == true)
                return String(buffer: response.body)
            }
            #expect(page.contains("data-contract=\"C-A\"") && page.contains("data-contract=\"C-B\""))
            let sessionCSRF = try #require(Self.csrf(page))
            var form: HTTPFields = signedIn
            form[.contentType] = "application/x-www-form-urlencoded"
            try await client.execute(uri: "/console/sign-out", method: .post, headers: form, body: ByteBuffer(string: "csrf=wrong")) { response in
                #expect(response.status == .forbidden, "a form without the session's CSRF token is refused")
            }
            try await client.execute(uri: "/console/overview", method: .get, headers: signedIn) { #expect($0.status == .ok) }
            try await client.execute(uri: "/console/sign-out", method: .post, headers: form, body: ByteBuffer(string: "csrf=\(sessionCSRF)")) {
                response in
                #expect(response.status == .seeOther)
                #expect(Self.cookie(response, "posture_session")?.contains("Max-Age=0") == true)
            }
            try await client.execute(uri: "/console/overview", method: .get, headers: signedIn) { response in
                #expect(response.status == .seeOther, "the session ended at sign-out")
            }
        }
    }

    @Test func aContractSessionSeesItsOwnContractOnly() async throws {
        let fixture = try await Fixture()
        let own = fixture.fleet.pc("pc-fail").device.keyID, other = fixture.fleet.pc("pc-b").device.keyID
        let contractToken = fixture.contractToken, staffFile = fixture.staffFile
        try await Application(router: fixture.router).test(.router) { client in
            let session = try await Self.signIn(client, token: contractToken).session
            let signedIn: HTTPFields = [.cookie: "posture_session=\(session)"]
            try await client.execute(uri: "/console/overview?contract=C-B", method: .get, headers: signedIn) { response in
                let page = String(buffer: response.body)
                #expect(page.contains("data-contract=\"C-A\"") && !page.contains("C-B"), "the contract filter cannot widen the scope")
            }
            try await client.execute(uri: "/console/devices/\(own)", method: .get, headers: signedIn) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("security_software") || String(buffer: response.body).contains("pc-fail"))
            }
            for path in ["/console/devices/\(other)", "/console/devices/\(other)/claim", "/console/devices/\(other)/envelopes.ndjson"] {
                try await client.execute(uri: path, method: .get, headers: signedIn) { response in
                    #expect(response.status == .notFound, "\(path) of contract C-B is answered as if it did not exist")
                }
            }
            // Revoking the token ends the session at its next request.
            _ = try StaffTokens.revoke(file: staffFile, id: String(sha256Hex(Data(contractToken.utf8)).prefix(12)))
            try await client.execute(uri: "/console/overview", method: .get, headers: signedIn) { response in
                #expect(response.status == .seeOther && response.headers[.location] == "/console/sign-in")
            }
        }
    }

    /// A claim from the form: refused without the session's CSRF token, a malformed transfer shown
    /// back as an error, and a kept assessment shown again byte for byte, with who ran it.
    @Test func aClaimIsAssessedKeptAndShownAgainUnchanged() async throws {
        let fixture = try await Fixture()
        let key = fixture.fleet.pc("pc-fail").device.keyID
        let bankToken = fixture.bankToken
        let transfer = RFC3339.string(from: fixture.fleet.now.addingTimeInterval(-3600))
        let receiptKey = fixture.collector.receiptKey.publicKey
        try await Application(router: fixture.router).test(.router) { client in
            let session = try await Self.signIn(client, token: bankToken).session
            let signedIn: HTTPFields = [.cookie: "posture_session=\(session)"]
            let csrf = try await client.execute(uri: "/console/devices/\(key)/claim", method: .get, headers: signedIn) { response in
                #expect(response.status == .ok)
                return Self.csrf(String(buffer: response.body)) ?? ""
            }
            var form = signedIn
            form[.contentType] = "application/x-www-form-urlencoded"
            let fields = "profile=\(ConsoleFleet.profile)&incidents=\(transfer.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
            try await client.execute(uri: "/console/devices/\(key)/claim", method: .post, headers: form, body: ByteBuffer(string: fields)) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(
                uri: "/console/devices/\(key)/claim", method: .post, headers: form,
                body: ByteBuffer(string: "csrf=\(csrf)&profile=\(ConsoleFleet.profile)&incidents=yesterday")
            ) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("yesterday"))
            }
            let location = try await client.execute(
                uri: "/console/devices/\(key)/claim", method: .post, headers: form, body: ByteBuffer(string: "csrf=\(csrf)&\(fields)")
            ) { response in
                #expect(response.status == .seeOther)
                return response.headers[.location] ?? ""
            }
            #expect(location.hasPrefix("/console/assessments/"))
            let first = try await client.execute(uri: location, method: .get, headers: signedIn) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentSecurityPolicy]?.contains("'sha256-") == true, "the page's own style is allowed by its hash")
                return String(buffer: response.body)
            }
            let again = try await client.execute(uri: location, method: .get, headers: signedIn) { String(buffer: $0.body) }
            #expect(first == again && first.contains("iyogin-internet-eb"))
            try await client.execute(uri: location + "/assessment.json", method: .get, headers: signedIn) { response in
                let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                #expect((json?["outcome"] as? [String: Any])?["verdict"] != nil)
            }
            let receiptLink = try await client.execute(uri: "/console/devices/\(key)", method: .get, headers: signedIn) { response in
                let page = String(buffer: response.body)
                #expect(page.contains("(desk)"), "the device page lists who ran the kept assessment")
                #expect(page.contains("<svg class=\"timeline\"") && page.contains("fill=\"#d32f2f\"><title>fail</title>"), "a timeline shows the failing span")
                let range = page.range(of: #"/console/devices/[0-9a-f]+/receipts/[0-9a-f-]+"#, options: .regularExpression)
                return range.map { String(page[$0]) } ?? ""
            }
            let reportID = String(receiptLink.split(separator: "/").last ?? "")
            try await client.execute(uri: receiptLink, method: .get, headers: signedIn) { response in
                #expect(response.status == .ok)
                let receipt = try CheckedReceipt(Data(response.body.readableBytesView), key: receiptKey)
                #expect(receipt.reportID == reportID && receipt.keyID == key, "the receipt listed is the collector's, signed, for that report")
            }
        }
    }
}
