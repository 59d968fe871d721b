import Crypto
import Foundation
import PostureCollector
import PostureEvidence
import PostureModel
import PostureTestSupport
import PostureTransport

/// Which store a collector under test uses.
enum StoreKind: String, Sendable, CustomStringConvertible {
    case sqlite, postgres

    /// `POSTURE_TEST_POSTGRES_URL` (CI sets it; `.ci/run` starts the server).
    static let postgresURL = ProcessInfo.processInfo.environment["POSTURE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    var description: String { rawValue }

    /// SQLite, and PostgreSQL when the test server is set.
    static var available: [StoreKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    func storageURL(in root: TemporaryRoot) -> String {
        switch self {
        case .sqlite: return "sqlite://\(root.url("collector.db").path)"
        case .postgres: return StoreKind.postgresURL ?? "postgres://unset"
        }
    }
}

/// A PostgreSQL database of its own, empty, on the test server (for tests of schema creation);
/// dropped by `drop()`.
struct ScratchDatabase {
    let name = "posture_scratch_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
    let url: String

    init() throws {
        guard let base = StoreKind.postgresURL, let range = base.range(of: "/posture_test?") else {
            throw NSError(domain: "scratch", code: 1, userInfo: [NSLocalizedDescriptionKey: "POSTURE_TEST_POSTGRES_URL is not the test server's"])
        }
        url = base.replacingCharacters(in: range, with: "/\(name)?")
        try Self.psql(base, "CREATE DATABASE \(name)")
    }

    func drop() throws {
        guard let base = StoreKind.postgresURL else { return }
        try Self.psql(base, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    static func psql(_ url: String, _ sql: String) throws {
        let result = try Fixtures.run("/usr/bin/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        guard result.status == 0 else {
            throw NSError(domain: "psql", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: "psql: \(sql): \(result.stderr)"])
        }
    }
}

/// A real `posture-collector serve` on loopback TLS with a test CA, its config in a temporary root.
final class CollectorProcess: @unchecked Sendable {
    static let binary = Fixtures.product("posture-collector")
    static let pki = Result { try TestPKI() }

    let root: TemporaryRoot
    let config: String
    let port: Int
    /// A `bank`-scoped staff token in the collector's staff tokens file.
    let staffToken: String
    private let process: Process
    private let errors: URL

    let scheme: String
    var base: String { "\(scheme)://127.0.0.1:\(port)" }
    var pki: TestPKI { (try? Self.pki.get())! }

    /// - Parameter storageURL: the store's URL instead of `store`'s (a scratch PostgreSQL database).
    /// - Parameter receiptKey: another collector's receipt key file to sign with (one key, two logs).
    /// - Parameter extraConfig: more lines of the config file.
    init(
        store: StoreKind, limits: String = "{max_body: 64KiB, per_device_per_minute: 1000}", idle: String = "2s", tls: Bool = true,
        storageURL: String? = nil, receiptKey: URL? = nil, extraConfig: String = ""
    ) throws {
        let pki = try Self.pki.get()
        root = try TemporaryRoot("collector")
        if let receiptKey {
            try FileManager.default.copyItem(at: receiptKey, to: root.url("receipt.key"))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: root.url("receipt.key").path)
        }
        scheme = tls ? "https" : "http"
        staffToken = try StaffTokens.issue(file: root.url("staff-tokens").path, scope: .bank, lifetime: 3600, name: "test").token
        config = try root.write(
            "collector.yaml",
            """
            listen: 127.0.0.1:0
            \(tls ? "tls: {cert: \(pki.serverCertificate), key: \(pki.serverKey)}" : "")
            storage: \(storageURL ?? store.storageURL(in: root))
            receipt_key: receipt.key
            staff_tokens_file: staff-tokens
            limits: \(limits)
            timeouts: {idle: \(idle), request: 5s}
            log_level: debug
            \(extraConfig)
            """
        ).path
        errors = root.url("stderr.log")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--config", config]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let text = Fixtures.firstLine(of: output)
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            throw NSError(
                domain: "collector", code: 1,
                userInfo: [NSLocalizedDescriptionKey: "collector did not start: \(text) \((try? String(contentsOf: errors, encoding: .utf8)) ?? "")"])
        }
        self.port = port
    }

    /// What the server logged so far.
    var log: String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }

    /// `posture-collector token issue` against the same store.
    func issueToken(contract: String, expires: String = "1h") throws -> String {
        let result = try Fixtures.run(Self.binary, ["token", "issue", "--config", config, "--contract", contract, "--expires", expires])
        guard result.status == 0 else { throw NSError(domain: "token", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: result.stderr]) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func send(_ path: String, method: String = "POST", headers: [(name: String, value: String)] = [], body: Data = Data()) throws -> HTTPResponse {
        var options = TransportOptions(caFile: pki.caCertificate, totalTimeout: 120)
        options.maxResponseBytes = 256 << 20
        let transport = CurlTransport(options: options)
        return try transport.send(HTTPRequest(url: base + path, method: method, headers: headers, body: body))
    }

    /// Enrolls `key` with a fresh token for `contract` over the API.
    @discardableResult
    func enroll(_ key: DeviceKey, contract: String = "C-1001") throws -> HTTPResponse {
        try enroll(key, token: try issueToken(contract: contract))
    }

    /// Enrolls `key` with `token` as `posture enroll` does: a nonce from the challenge, signed by
    /// `signer` (the key itself unless a test says otherwise).
    func enroll(_ key: DeviceKey, token: String, signer: DeviceKey? = nil, hostname: String = "pc-1") throws -> HTTPResponse {
        let challenge = try JSONSerialization.jsonObject(with: try send("/v1/enroll/challenge", method: "GET").body) as? [String: Any]
        let nonce = challenge?["nonce"] as? String ?? ""
        let signature = try (signer ?? key).privateKey.signature(for: EnrollmentProof.message(token: token, publicKey: key.publicLine, nonce: nonce))
        let body = try JSONSerialization.data(withJSONObject: [
            "token": token, "public_key": key.publicLine, "hostname": hostname,
            "nonce": nonce, "signature": signature.base64EncodedString()
        ])
        return try send("/v1/enroll", headers: [("Content-Type", "application/json")], body: body)
    }

    /// Peak resident memory of the server process (VmHWM), in bytes.
    var peakMemory: Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    func upload(_ envelope: Data, id: String?) throws -> HTTPResponse {
        var headers = [("Content-Type", "application/json")]
        if let id { headers.append(("Idempotency-Key", id)) }
        return try send("/v1/reports", headers: headers.map { (name: $0.0, value: $0.1) }, body: envelope)
    }

    /// The stored envelopes of `keyID` as the staff API returns them.
    func stored(_ keyID: String, query: String = "") throws -> [Data] {
        let response = try send("/v1/devices/\(keyID)/reports\(query)", method: "GET", headers: [("Authorization", "Bearer \(staffToken)")])
        guard response.status == 200 else { throw NSError(domain: "stored", code: response.status) }
        return response.body.split(separator: UInt8(ascii: "\n")).map { Data($0) }
    }

    func receiptKey() throws -> Curve25519.Signing.PublicKey {
        let line = String(decoding: try send("/v1/receipt-key", method: "GET").body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return try Curve25519.Signing.PublicKey(rawRepresentation: Data(base64Encoded: line) ?? Data())
    }

    /// SIGTERM, then the exit status (the server finishes in-flight requests and stops).
    func stop() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A device key and the reports it signs, with chain links chosen by the test.
struct TestDevice {
    let key = DeviceKey(privateKey: Curve25519.Signing.PrivateKey())
    var keyID: String { key.keyID }

    /// A signed report at `sequence` linking to `previous` (envelope bytes).
    func envelope(sequence: Int, previous: Data?, id: String = UUID().uuidString.lowercased(), payloadType: String = Envelope.reportType) throws -> (
        id: String, bytes: Data
    ) {
        var report = Report(
            id: id, collectedAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(sequence) * 3600),
            agent: AgentInfo(version: "test"), host: HostInfo(hostname: "pc-1", machineIdSha256: nil, root: "/"),
            evidence: Evidence())
        report.chain = ChainLink(sequence: sequence, previous: previous.map(sha256Hex), bootId: nil)
        if payloadType == Envelope.reportType { return (id, try Envelope.signedReport(report, key: key)) }
        return (id, try Envelope.sign(body: try PostureJSON.encoder().encode(report), type: payloadType, key: key).encoded())
    }

    /// `count` reports chained from sequence 1.
    func chain(_ count: Int) throws -> [(id: String, bytes: Data)] {
        var out: [(id: String, bytes: Data)] = []
        for sequence in 1...count { out.append(try envelope(sequence: sequence, previous: out.last?.bytes)) }
        return out
    }
}

/// A receipt as the agent keeps it: checked against the collector's key.
struct CheckedReceipt {
    var reportID: String
    var keyID: String
    var envelopeSha256: String
    var chain: String
    var sequence: Int
    var receivedAt: String

    init(_ data: Data, key: Curve25519.Signing.PublicKey) throws {
        let envelope = try Envelope.decode(data)
        guard envelope.payloadType == "application/vnd.posture.receipt+json", envelope.isSigned(by: key), let body = envelope.body,
            let payload = try JSONSerialization.jsonObject(with: body) as? [String: Any]
        else {
            throw NSError(domain: "receipt", code: 1, userInfo: [NSLocalizedDescriptionKey: "not a receipt signed by the collector"])
        }
        reportID = payload["report_id"] as? String ?? ""
        keyID = payload["key_id"] as? String ?? ""
        envelopeSha256 = payload["envelope_sha256"] as? String ?? ""
        chain = payload["chain"] as? String ?? ""
        sequence = payload["sequence"] as? Int ?? 0
        receivedAt = payload["received_at"] as? String ?? ""
    }
}
