import Crypto
import Foundation
import PostureEvidence
import PostureModel

/// Why the collector refused a request: each case is a 4xx with a reason the client can act on.
public enum RequestError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case notEnrolled(String)
    case tokenRefused
    case alreadyEnrolled(contract: String)
    case badSignature(String)
    case tooLarge(limit: Int)
    case rateLimited(retryAfter: Int)
    case unauthorized(String)
    case notFound(String)
    case timedOut(seconds: Int)

    public var status: Int {
        switch self {
        case .malformed: return 400
        case .notEnrolled, .tokenRefused, .unauthorized: return 401
        case .notFound: return 404
        case .timedOut: return 408
        case .alreadyEnrolled: return 409
        case .tooLarge: return 413
        case .badSignature: return 422
        case .rateLimited: return 429
        }
    }

    public var description: String {
        switch self {
        case .malformed(let reason): return reason
        case .notEnrolled(let keyID): return "key \(keyID) is not enrolled: run `posture enroll` with a token from the bank"
        case .tokenRefused: return "enrollment token used, expired or unknown"
        case .alreadyEnrolled(let contract): return "this key is already enrolled to contract \(contract)"
        case .badSignature(let reason): return reason
        case .tooLarge(let limit): return "body larger than the limit of \(limit) bytes"
        case .rateLimited(let seconds): return "more reports than this device may send per minute; retry in \(seconds)s"
        case .unauthorized(let reason): return reason
        case .notFound(let what): return what
        case .timedOut(let seconds): return "the request body did not arrive within \(seconds)s"
        }
    }
}

/// The signed acknowledgement the collector returns for a stored report: the time of record is
/// `received_at` (the collector's clock), not the PC's.
public struct Receipt: Codable, Sendable, Equatable {
    public static let payloadType = "application/vnd.posture.receipt+json"

    public var reportId: String
    public var keyId: String
    public var envelopeSha256: String
    public var receivedAt: Date
    public var chain: ChainStatus
    /// The report's `chain.sequence` on its device.
    public var sequence: Int
}

/// The collector's behaviour independent of HTTP: enrollment, verification, deduplication,
/// chain bookkeeping and receipts over a store.
public final class Collector: Sendable {
    public let storage: any CollectorStorage
    public let receiptKey: DeviceKey
    public let limits: CollectorConfig.Limits
    let keys = LockedDictionary<String, Curve25519.Signing.PublicKey>()
    let rate: RateLimiter

    public init(storage: any CollectorStorage, receiptKey: DeviceKey, limits: CollectorConfig.Limits) {
        self.storage = storage
        self.receiptKey = receiptKey
        self.limits = limits
        rate = RateLimiter(perMinute: limits.perDevicePerMinute)
    }

    // MARK: Enrollment

    /// Makes a one-time enrollment token for `contract`; only its SHA-256 is stored.
    public func issueToken(contract: String, lifetime: TimeInterval, now: Date = Date()) async throws -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let token = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        try await storage.issueToken(sha256: sha256Hex(Data(token.utf8)), contract: contract, issuedAt: now,
                                     expiresAt: now.addingTimeInterval(lifetime))
        return token
    }

    /// `POST /v1/enroll`: binds the public key in `body` to the token's contract.
    public func enroll(body: Data, now: Date = Date()) async throws -> (keyID: String, contract: String) {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw RequestError.malformed("body is not a JSON object")
        }
        guard let token = object["token"] as? String, !token.isEmpty else { throw RequestError.malformed("'token' is missing") }
        guard let line = object["public_key"] as? String, let raw = Data(base64Encoded: line),
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw RequestError.malformed("'public_key' must be base64 of the 32 raw Ed25519 public-key bytes")
        }
        for field in ["hostname", "machine_id_sha256"] where !(object[field] == nil || object[field] is String || object[field] is NSNull) {
            throw RequestError.malformed("'\(field)' must be a string")
        }
        let device = Device(keyID: DeviceKey.keyID(of: key), publicKey: raw.base64EncodedString(), contract: "",
                            hostname: object["hostname"] as? String, machineIdSha256: object["machine_id_sha256"] as? String, enrolledAt: now)
        switch try await storage.enroll(tokenSha256: sha256Hex(Data(token.utf8)), device: device, now: now) {
        case .enrolled(let contract):
            keys[device.keyID] = key
            return (device.keyID, contract)
        case .refused: throw RequestError.tokenRefused
        case .conflict(let contract): throw RequestError.alreadyEnrolled(contract: contract)
        }
    }

    // MARK: Ingest

    /// The HTTP status and body for a stored report.
    public struct Accepted: Sendable {
        /// 201 the first time, 200 for a repeat.
        public var status: Int
        public var receipt: Data
        public var chain: ChainStatus?
        public var keyID: String
        public var reportID: String
    }

    /// `POST /v1/reports`: verifies the envelope from an enrolled key and stores it verbatim.
    public func ingest(body: Data, idempotencyKey: String?, now: Date = Date()) async throws -> Accepted {
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(body)
        } catch {
            throw RequestError.malformed("body is not a DSSE envelope (JSON with payloadType, payload, signatures)")
        }
        guard !envelope.signatures.isEmpty else { throw RequestError.malformed("the envelope has no signature") }
        var signer: (keyID: String, key: Curve25519.Signing.PublicKey)?
        for signature in envelope.signatures where signer == nil {
            if let key = try await publicKey(keyID: signature.keyid) { signer = (signature.keyid, key) }
        }
        guard let signer else { throw RequestError.notEnrolled(envelope.signatures[0].keyid) }
        guard let payload = envelope.body else { throw RequestError.malformed("payload is not base64") }
        guard envelope.isSigned(by: signer.key) else {
            throw RequestError.badSignature("the signature of key \(signer.keyID) does not verify: the envelope was modified or signed by another key")
        }
        // After the signature, so forgeries under a device's key id cannot spend its allowance.
        if let seconds = rate.admit(signer.keyID, now: now) { throw RequestError.rateLimited(retryAfter: seconds) }
        guard envelope.payloadType == Envelope.reportType else {
            throw RequestError.malformed("payload type is \(envelope.payloadType), not \(Envelope.reportType)")
        }
        let report: Report
        do {
            report = try PostureJSON.decoder().decode(Report.self, from: payload)
        } catch {
            throw RequestError.malformed("payload is not a \(Report.schemaIdentifier) report: \(Self.reason(error))")
        }
        guard report.schema == Report.schemaIdentifier else {
            throw RequestError.malformed("schema is \(report.schema), not \(Report.schemaIdentifier)")
        }
        guard let chain = report.chain, chain.sequence >= 1 else { throw RequestError.malformed("the report has no chain position (chain.sequence)") }
        if let idempotencyKey, idempotencyKey != report.id {
            throw RequestError.malformed("Idempotency-Key \(idempotencyKey) is not the report id \(report.id)")
        }
        let submission = Submission(keyID: signer.keyID, reportID: report.id, sequence: chain.sequence, previous: chain.previous,
                                    envelopeSha256: sha256Hex(body), collectedAt: report.collectedAt, envelope: body)
        let receiptKey = self.receiptKey
        switch try await storage.ingest(submission, now: now, sign: { submission, chain, receivedAt in
            let receipt = Receipt(reportId: submission.reportID, keyId: submission.keyID, envelopeSha256: submission.envelopeSha256,
                                  receivedAt: receivedAt, chain: chain, sequence: submission.sequence)
            return try Envelope.sign(body: try PostureJSON.encoder().encode(receipt), type: Receipt.payloadType, key: receiptKey).encoded()
        }) {
        case .stored(let receipt, let chain):
            return Accepted(status: 201, receipt: receipt, chain: chain, keyID: signer.keyID, reportID: report.id)
        case .repeated(let receipt):
            return Accepted(status: 200, receipt: receipt, chain: nil, keyID: signer.keyID, reportID: report.id)
        }
    }

    /// An enrolled key by id (cached once found).
    func publicKey(keyID: String) async throws -> Curve25519.Signing.PublicKey? {
        if let key = keys[keyID] { return key }
        guard let device = try await storage.device(keyID: keyID), let raw = Data(base64Encoded: device.publicKey),
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return nil }
        keys[keyID] = key
        return key
    }

    /// A decoding error in a sentence, naming the field.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing '\(key.stringValue)' at '\(path(context))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(context.debugDescription) at '\(path(context))'"
        @unknown default: return "\(error)"
        }
    }

    // MARK: Reading

    /// Every device enrolled to `contract` with everything it delivered: what `posture-collector assess`
    /// hands to the same assessment code as `posture assess`.
    public func evidence(contract: String) async throws -> [DeviceEvidence] {
        try await storage.evidence(contract: contract)
    }

    /// `GET /v1/devices/{key_id}/reports`: the stored envelopes, byte for byte, one a line, in chain order.
    public func ndjson(keyID: String, from: Date?, to: Date?) async throws -> Data {
        guard try await storage.device(keyID: keyID) != nil else { throw RequestError.notFound("no device with key id \(keyID)") }
        var out = Data()
        for envelope in try await storage.envelopes(keyID: keyID, from: from, to: to) {
            out.append(envelope)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }
}

/// Counts each device's requests in fixed one-minute windows.
final class RateLimiter: @unchecked Sendable {
    let perMinute: Int
    private let lock = NSLock()
    private var windows: [String: (start: TimeInterval, count: Int)] = [:]

    init(perMinute: Int) { self.perMinute = perMinute }

    /// nil when the request may proceed, else the seconds until it may.
    func admit(_ key: String, now: Date) -> Int? {
        let time = now.timeIntervalSince1970
        return lock.withLock {
            var window = windows[key] ?? (time, 0)
            if time - window.start >= 60 { window = (time, 0) }
            guard window.count < perMinute else { return max(1, Int((window.start + 60 - time).rounded(.up))) }
            window.count += 1
            windows[key] = window
            if windows.count > 100_000 { windows = windows.filter { time - $0.value.start < 60 } }
            return nil
        }
    }
}

/// A dictionary behind a lock, for caches shared by request handlers.
final class LockedDictionary<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Key: Value] = [:]

    subscript(key: Key) -> Value? {
        get { lock.withLock { storage[key] } }
        set { lock.withLock { storage[key] = newValue } }
    }
}

/// Staff bearer tokens, one a line (blank lines and `#` comments ignored), compared by SHA-256.
public struct StaffTokens: Sendable {
    let hashes: Set<String>

    public init(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw StorageError(description: "cannot read the staff tokens file \(file)")
        }
        hashes = Set(String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            .map { sha256Hex(Data($0.utf8)) })
    }

    public func accepts(authorization: String?) -> Bool {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return false }
        let token = authorization.dropFirst("Bearer ".count).trimmingCharacters(in: .whitespaces)
        return !token.isEmpty && hashes.contains(sha256Hex(Data(token.utf8)))
    }
}

/// One device of a contract with its stored envelopes, ready for chain verification and assessment.
public struct DeviceEvidence {
    public var device: Device
    public var key: Curve25519.Signing.PublicKey
    /// Envelopes byte for byte, in chain order; sources read `collector:KEYID:N`.
    public var items: [ChainVerifier.Item]
}

extension CollectorStorage {
    /// Every device enrolled to `contract` (with a usable public key) and its stored envelopes.
    public func evidence(contract: String) async throws -> [DeviceEvidence] {
        var out: [DeviceEvidence] = []
        for device in try await devices(contract: contract) {
            guard let key = DeviceKey.publicKey(base64: device.publicKey) else { continue }
            let envelopes = try await envelopes(keyID: device.keyID, from: nil, to: nil)
            out.append(DeviceEvidence(device: device, key: key, items: envelopes.enumerated().map { index, bytes in
                ChainVerifier.Item(source: "collector:\(device.keyID.prefix(16)):\(index + 1)", bytes: bytes)
            }))
        }
        return out
    }
}
