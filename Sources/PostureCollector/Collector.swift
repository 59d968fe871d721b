package import Crypto
package import Foundation
package import Logging
package import PostureEvidence
import PostureModel
package import PostureTransparency
import Synchronization

/// Why the collector refused a request: each case is a 4xx (503 for `busy`) with a reason the client can act on.
package enum RequestError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case notEnrolled(String)
    case tokenRefused
    case alreadyEnrolled(contract: String)
    case badSignature(String)
    case tooLarge(limit: Int)
    case rateLimited(retryAfter: Int, reason: String)
    case unauthorized(String)
    /// Refused whoever asks: a console form without its CSRF proof, a cosignature by no known witness.
    case forbidden(String)
    case notFound(String)
    case timedOut(seconds: Int)
    case busy(retryAfter: Int)

    package var status: Int {
        switch self {
        case .malformed: return 400
        case .notEnrolled, .tokenRefused, .unauthorized: return 401
        case .forbidden: return 403
        case .notFound: return 404
        case .timedOut: return 408
        case .alreadyEnrolled: return 409
        case .tooLarge: return 413
        case .badSignature: return 422
        case .rateLimited: return 429
        case .busy: return 503
        }
    }

    /// Seconds for a `Retry-After` header.
    package var retryAfter: Int? {
        switch self {
        case .rateLimited(let seconds, _), .busy(let seconds): return seconds
        default: return nil
        }
    }

    package var description: String {
        switch self {
        case .malformed(let reason): return reason
        case .notEnrolled(let keyID): return "key \(keyID) is not enrolled: run `posture enroll` with a token from the bank"
        case .tokenRefused: return "enrollment token used, expired or unknown"
        case .alreadyEnrolled(let contract): return "this key is already enrolled to contract \(contract)"
        case .badSignature(let reason): return reason
        case .tooLarge(let limit): return "body larger than the limit of \(limit) bytes"
        case .rateLimited(let seconds, let reason): return "\(reason) \(seconds)s"
        case .unauthorized(let reason): return reason
        case .forbidden(let reason): return reason
        case .notFound(let what): return what
        case .timedOut(let seconds): return "the request body did not arrive within \(seconds)s"
        case .busy(let seconds): return "the collector is busy; retry in \(seconds)s"
        }
    }

    static func deviceRate(_ seconds: Int) -> RequestError {
        .rateLimited(retryAfter: seconds, reason: "more reports than this device may send per minute; retry in")
    }
}

/// The collector's behaviour independent of HTTP: enrollment, verification, deduplication,
/// chain bookkeeping and receipts over a store.
///
/// Work on untrusted bytes is bounded before anything is trusted: one signature per envelope, a
/// well-formed key id before the store is asked, and JSON decoding and signature checks on
/// `checks`, threads of their own.
package final class Collector: Sendable {
    package let storage: any CollectorStorage
    package let receiptKey: DeviceKey
    package let limits: CollectorConfig.Limits
    package let checks: CheckPool
    package let nonces: NonceIssuer
    let keys = LockedDictionary<String, Curve25519.Signing.PublicKey>()
    let rate: RateLimiter

    /// Judges each stored report for the console; nil keeps no verdicts.
    package let verdictKeeper: VerdictKeeper?
    /// The witnesses whose cosignatures of the log's checkpoints are kept and served.
    package let witnesses: [CosignatureVerifier]
    let logger: Logger
    /// The largest log size this instance has read from the store: the log never shrinks, so a
    /// proof within it needs no query for the size.
    private let knownLogSize = Mutex(0)

    package init(
        storage: any CollectorStorage, receiptKey: DeviceKey, limits: CollectorConfig.Limits, checks: CheckPool = .shared,
        verdictKeeper: VerdictKeeper? = nil, witnesses: [CosignatureVerifier] = [], logger: Logger = Logger(label: "posture-collector")
    ) {
        self.witnesses = witnesses
        self.storage = storage
        self.receiptKey = receiptKey
        self.limits = limits
        self.checks = checks
        self.verdictKeeper = verdictKeeper
        self.logger = logger
        nonces = NonceIssuer(receiptKey: receiptKey)
        rate = RateLimiter(perMinute: limits.perDevicePerMinute)
    }

    // MARK: Enrollment

    /// Makes a one-time enrollment token (`pst_enroll_…`) for `contract`; only its SHA-256 is stored.
    package func issueToken(contract: String, lifetime: TimeInterval, now: Date = Date()) async throws -> String {
        let token = Secrets.token(prefix: Secrets.enrollmentPrefix)
        try await storage.issueToken(
            sha256: sha256Hex(Data(token.utf8)), contract: contract, issuedAt: now,
            expiresAt: now.addingTimeInterval(lifetime))
        return token
    }

    /// `GET /v1/enroll/challenge`: a nonce the device signs with the key it enrolls.
    package func enrollmentChallenge(now: Date = Date()) -> String { nonces.issue(now: now) }

    /// `POST /v1/enroll`: binds the public key in `body` to the token's contract, once the request
    /// proves it was signed by that key over the token and a nonce from `enrollmentChallenge`.
    package func enroll(body: Data, now: Date = Date()) async throws -> (keyID: String, contract: String) {
        let nonces = self.nonces
        let (raw, key, token, object) = try await checks.run { () throws -> (Data, Curve25519.Signing.PublicKey, String, [String: String]) in
            guard let parsed = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw RequestError.malformed("body is not a JSON object")
            }
            guard let token = parsed["token"] as? String, !token.isEmpty else { throw RequestError.malformed("'token' is missing") }
            guard let line = parsed["public_key"] as? String, let raw = Data(base64Encoded: line),
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
            else {
                throw RequestError.malformed("'public_key' must be base64 of the 32 raw Ed25519 public-key bytes")
            }
            var strings: [String: String] = [:]
            for field in ["hostname", "machine_id_sha256", "nonce", "signature"] {
                switch parsed[field] {
                case nil, is NSNull: continue
                case let text as String: strings[field] = text
                default: throw RequestError.malformed("'\(field)' must be a string")
                }
            }
            guard let nonce = strings["nonce"], let signature = strings["signature"] else {
                throw RequestError.malformed(
                    """
                    the enrollment must prove possession of the key: 'nonce' (from GET /v1/enroll/challenge) and 'signature' \
                    are missing; this agent is too old for this collector: update posture and run posture enroll again
                    """)
            }
            guard nonces.isValid(nonce, now: now) else {
                throw RequestError.badSignature("the nonce is not this collector's or has expired: fetch a new one from GET /v1/enroll/challenge")
            }
            guard EnrollmentProof.verify(signature, token: token, publicKey: line, nonce: nonce, key: key) else {
                throw RequestError.badSignature("the signature does not prove possession of the private key of 'public_key'")
            }
            return (raw, key, token, strings)
        }
        let device = Device(
            keyID: DeviceKey.keyID(of: key), publicKey: raw.base64EncodedString(), contract: "",
            hostname: object["hostname"], machineIdSha256: object["machine_id_sha256"], enrolledAt: now)
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
    package struct Accepted: Sendable {
        /// 201 the first time, 200 for a repeat.
        package var status: Int
        package var receipt: Data
        package var chain: ChainStatus?
        package var keyID: String
        package var reportID: String
    }

    /// `POST /v1/reports`: verifies the envelope from an enrolled key and stores it verbatim.
    package func ingest(body: Data, idempotencyKey: String?, now: Date = Date()) async throws -> Accepted {
        guard let idempotencyKey, !idempotencyKey.isEmpty else {
            throw RequestError.malformed("the Idempotency-Key header (the report id) is required")
        }
        let envelope = try await checks.run { () throws -> Envelope in
            let envelope: Envelope
            do {
                envelope = try Envelope.decode(body)
            } catch {
                throw RequestError.malformed("body is not a DSSE envelope (JSON with payloadType, payload, signatures)")
            }
            guard envelope.signatures.count == 1 else {
                throw RequestError.malformed("an envelope carries exactly one signature, not \(envelope.signatures.count)")
            }
            let keyID = envelope.signatures[0].keyid
            guard keyID.isSHA256Hex else {
                throw RequestError.malformed("the signature's keyid must be 64 lowercase hex digits (SHA-256 of the public key)")
            }
            return envelope
        }
        let keyID = envelope.signatures[0].keyid
        guard let key = try await publicKey(keyID: keyID) else { throw RequestError.notEnrolled(keyID) }
        let (report, payload) = try await checks.run { () throws -> (ReportHeader, Data) in
            guard let payload = envelope.body else { throw RequestError.malformed("payload is not base64") }
            guard envelope.isSigned(by: key, body: payload) else {
                throw RequestError.badSignature("the signature of key \(keyID) does not verify: the envelope was modified or signed by another key")
            }
            guard envelope.payloadType == Envelope.reportType else {
                throw RequestError.malformed("payload type is \(envelope.payloadType), not \(Envelope.reportType)")
            }
            do {
                return (try PostureJSON.decoder().decode(ReportHeader.self, from: payload), payload)
            } catch {
                throw RequestError.malformed("payload is not a \(Report.schemaIdentifier) report: \(Self.reason(error))")
            }
        }
        guard report.schema == Report.schemaIdentifier else {
            throw RequestError.malformed("schema is \(report.schema), not \(Report.schemaIdentifier)")
        }
        guard let chain = report.chain, chain.sequence >= 1 else { throw RequestError.malformed("the report has no chain position (chain.sequence)") }
        guard idempotencyKey == report.id else {
            throw RequestError.malformed("Idempotency-Key \(idempotencyKey) is not the report id \(report.id)")
        }
        // After the signature, so forgeries under a device's key id cannot spend its allowance;
        // a repeat gives its share back, so replays of a captured envelope cannot either.
        if let seconds = rate.admit(keyID, now: now) { throw RequestError.deviceRate(seconds) }
        var submission = Submission(
            keyID: keyID, reportID: report.id, sequence: chain.sequence, previous: chain.previous,
            envelopeSha256: sha256Hex(body), collectedAt: report.collectedAt, envelope: body)
        submission.verdicts = await verdicts(payload: payload, keyID: keyID)
        let receiptKey = self.receiptKey
        let outcome: IngestOutcome
        do {
            outcome = try await storage.ingest(
                submission, now: now,
                sign: { submission, chain, receivedAt, logIndex in
                    let receipt = Receipt(
                        reportId: submission.reportID, keyId: submission.keyID, envelopeSha256: submission.envelopeSha256,
                        receivedAt: receivedAt, chain: chain, sequence: submission.sequence, logIndex: logIndex)
                    return try Envelope.sign(body: try PostureJSON.encoder().encode(receipt), type: Receipt.payloadType, key: receiptKey).encoded()
                })
        } catch {
            rate.refund(keyID, now: now)
            throw error
        }
        switch outcome {
        case .stored(let receipt, let chain):
            return Accepted(status: 201, receipt: receipt, chain: chain, keyID: keyID, reportID: report.id)
        case .repeated(let receipt):
            rate.refund(keyID, now: now)
            return Accepted(status: 200, receipt: receipt, chain: nil, keyID: keyID, reportID: report.id)
        }
    }

    /// The console's verdicts of a verified report, stored with it. A report the policy cannot
    /// judge is stored all the same (evidence is never refused for the console's sake): the
    /// failure is logged, and the console shows the device's previous verdict.
    func verdicts(payload: Data, keyID: String) async -> [DeviceVerdict] {
        guard let keeper = verdictKeeper, !keeper.profiles.isEmpty else { return [] }
        do {
            return try await checks.run { () throws -> [DeviceVerdict] in
                let report = try PostureJSON.decoder().decode(Report.self, from: payload)
                return try keeper.verdicts(of: report, keyID: keyID)
            }
        } catch {
            logger.warning("verdict not kept", metadata: ["key_id": "\(keyID)", "error": "\(Self.reason(error))"])
            return []
        }
    }

    /// An enrolled key by id (cached once found).
    func publicKey(keyID: String) async throws -> Curve25519.Signing.PublicKey? {
        if let key = keys[keyID] { return key }
        guard let device = try await storage.device(keyID: keyID), let raw = Data(base64Encoded: device.publicKey),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { return nil }
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

    // MARK: The audit log

    /// The log's name in its checkpoints (C2SP tlog-checkpoint origin): this collector's receipt key.
    package var logOrigin: String { CollectorLog.origin(receiptKeyID: receiptKey.keyID) }

    /// `GET /v1/log/checkpoint`: the log's size and root as a C2SP checkpoint, a signed note by the
    /// receipt key under `logOrigin` (the verifier key is `logVerifierKey`).
    package func checkpoint() async throws -> String {
        try await signed(try await checkpoint(size: try await logSize(atLeast: .max))).serialized
    }

    /// The log's size when it may be below `size`; otherwise the size known to be reached.
    func logSize(atLeast size: Int) async throws -> Int {
        let known = knownLogSize.withLock { $0 }
        guard size > known else { return known }
        let current = try await storage.logSize()
        return knownLogSize.withLock { known in
            known = max(known, current)
            return current
        }
    }

    /// The note verifier key of the log's checkpoints: `NAME+KEYHASH+BASE64`.
    package var logVerifierKey: String {
        CollectorLog(receiptKey: receiptKey.publicKey).verifier.verifierKey
    }

    /// The log's checkpoint of `size` leaves (`size` at most the log's).
    func checkpoint(size: Int) async throws -> Checkpoint {
        let root = try MerkleTree.root(treeSize: size, nodes: try await storage.logNodes(try MerkleTree.nodesForRoot(treeSize: size)))
        return try Checkpoint(origin: logOrigin, size: size, root: root)
    }

    /// `checkpoint` signed by the receipt key, now.
    func signed(_ checkpoint: Checkpoint) throws -> SignedNote {
        try NoteSigner(name: logOrigin, privateKey: receiptKey.privateKey).sign(checkpoint)
    }

    /// `POST /v1/log/cosignature`: a checkpoint of this log cosigned by a configured witness. The
    /// log's own signature and root must be this log's (a checkpoint it could have served), and at
    /// least one `cosignature/v1` line must verify against a configured witness key; those are
    /// kept. Returns the names of the witnesses whose cosignatures were kept.
    package func acceptCosignature(_ body: Data, now: Date = Date()) async throws -> [String] {
        guard !witnesses.isEmpty else { throw RequestError.forbidden("this collector has no witnesses configured (witnesses: in its config)") }
        guard body.count <= 16 << 10, let text = String(data: body, encoding: .utf8), let note = try? SignedNote(parsing: text) else {
            throw RequestError.malformed("the body must be a signed note (a cosigned checkpoint), at most 16 KiB")
        }
        let offered: Checkpoint
        do {
            offered = try Checkpoint.open(note, logVerifier: CollectorLog(receiptKey: receiptKey.publicKey).verifier, expectedOrigin: logOrigin)
        } catch {
            throw RequestError.malformed("not a checkpoint of this log: \(error)")
        }
        let size = try await logSize(atLeast: offered.size)
        guard offered.size <= size, try await checkpoint(size: offered.size).body == note.text else {
            throw RequestError.malformed("this log never had root \(offered.root.hex) at size \(offered.size)")
        }
        var kept: [String] = []
        for witness in witnesses {
            guard (try? witness.verifyCosignature(in: note)) != nil,
                let signature = note.signatures.first(where: { $0.name == witness.name && $0.keyHash == witness.keyHash })
            else { continue }
            try await storage.keepCosignature(witness: witness.name, size: offered.size, signature: signature.line, at: now)
            kept.append(witness.name)
        }
        guard !kept.isEmpty else { throw RequestError.forbidden("no cosignature in the note verifies against a witness this collector knows") }
        return kept
    }

    /// `GET /v1/log/checkpoint/cosigned`: the largest checkpoint witnesses cosigned, signed by the
    /// log with every kept cosignature of it; nil before any.
    package func cosignedCheckpoint() async throws -> String? {
        guard let (size, signatures) = try await storage.newestCosignatures() else { return nil }
        return try signed(try await checkpoint(size: size)).serialized + signatures.joined()
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves (at most the log's size).
    package func inclusionProof(index: Int, size: Int) async throws -> [Hash] {
        let current = try await logSize(atLeast: size)
        guard size >= 1, size <= current, index >= 0, index < size else {
            throw RequestError.malformed("'index' must be below 'size', and 'size' from 1 to the log's size (\(current))")
        }
        return try MerkleTree.inclusionProof(
            index: index, treeSize: size, nodes: try await storage.logNodes(try MerkleTree.nodesForInclusionProof(index: index, treeSize: size)))
    }

    /// The consistency proof from the tree of `from` leaves to the tree of `to` leaves.
    package func consistencyProof(from: Int, to: Int) async throws -> [Hash] {
        let current = try await logSize(atLeast: to)
        guard from >= 1, from <= to, to <= current else {
            throw RequestError.malformed("'from' must be from 1 to 'to', and 'to' at most the log's size (\(current))")
        }
        return try MerkleTree.consistencyProof(
            oldSize: from, newSize: to, nodes: try await storage.logNodes(try MerkleTree.nodesForConsistencyProof(oldSize: from, newSize: to)))
    }

    // MARK: Reading

    /// Every device enrolled to `contract` with everything it delivered: what `posture-collector assess`
    /// hands to the same assessment code as `posture assess`.
    package func evidence(contract: String) async throws -> [DeviceEvidence] {
        try await storage.evidence(contract: contract)
    }

    /// The device behind `GET /v1/devices/{key_id}/reports` when `staff` may read it; a device out
    /// of the token's scope is answered as if it did not exist.
    package func readableDevice(keyID: String, staff: StaffToken) async throws -> Device {
        guard let device = try await storage.device(keyID: keyID), staff.allows(contract: device.contract) else {
            throw RequestError.notFound("no device with key id \(keyID)")
        }
        return device
    }
}

/// Counts each device's requests in fixed one-minute windows.
final class RateLimiter: Sendable {
    let perMinute: Int
    private let windows = Mutex<[String: (start: TimeInterval, count: Int)]>([:])

    init(perMinute: Int) { self.perMinute = perMinute }

    /// nil when the request may proceed, else the seconds until it may.
    func admit(_ key: String, now: Date) -> Int? {
        let time = now.timeIntervalSince1970
        return windows.withLock { windows in
            var window = windows[key] ?? (time, 0)
            if time - window.start >= 60 { window = (time, 0) }
            guard window.count < perMinute else { return max(1, Int((window.start + 60 - time).rounded(.up))) }
            window.count += 1
            windows[key] = window
            if windows.count > 100_000 { windows = windows.filter { time - $0.value.start < 60 } }
            return nil
        }
    }

    /// Gives back the share of a request that stored nothing new (a repeat).
    func refund(_ key: String, now: Date) {
        let time = now.timeIntervalSince1970
        windows.withLock { windows in
            guard var window = windows[key], time - window.start < 60, window.count > 0 else { return }
            window.count -= 1
            windows[key] = window
        }
    }
}

/// A dictionary behind a lock, for caches shared by request handlers.
final class LockedDictionary<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let storage = Mutex<[Key: Value]>([:])

    subscript(key: Key) -> Value? {
        get { storage.withLock { $0[key] } }
        set { storage.withLock { $0[key] = newValue } }
    }
}

/// One device of a contract with its stored envelopes, ready for chain verification and assessment.
package struct DeviceEvidence {
    package var device: Device
    package var key: Curve25519.Signing.PublicKey
    /// Envelopes byte for byte, in chain order; sources read `collector:KEYID:N`.
    package var items: [ChainVerifier.Item]
}

extension CollectorStorage {
    /// Every device enrolled to `contract` (with a usable public key) and its stored envelopes.
    package func evidence(contract: String) async throws -> [DeviceEvidence] {
        var out: [DeviceEvidence] = []
        for device in try await devices(contract: contract) {
            guard let key = DeviceKey.publicKey(base64: device.publicKey) else { continue }
            let envelopes = try await envelopes(keyID: device.keyID, from: nil, to: nil)
            out.append(
                DeviceEvidence(
                    device: device, key: key,
                    items: envelopes.enumerated().map { index, bytes in
                        ChainVerifier.Item(source: "collector:\(device.keyID.prefix(16)):\(index + 1)", bytes: bytes)
                    }))
        }
        return out
    }
}
