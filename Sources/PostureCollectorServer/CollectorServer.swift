import Foundation
import HTTPTypes
package import Hummingbird
import HummingbirdCore
import HummingbirdTLS
package import Logging
package import NIOCore
import NIOSSL
package import PostureCollector
import PostureEvidence
import PostureModel
package import PosturePolicy
package import PostureReference
import PostureTransparency

/// The collector's HTTP API (DESIGN.md "Collector"): HTTPS, or plain HTTP on loopback behind a
/// reverse proxy. Every refusal is a 4xx with `{"error": reason}`; a store that fails answers 503
/// so agents retry, never 500. Connections that send nothing for `timeouts.idle` (a slowloris
/// dribbling its headers counts: no request is read) are closed, and a request body must arrive
/// within `timeouts.request`. SIGTERM/SIGINT stop accepting, finish requests in flight, then return.
package struct CollectorServer: Sendable {
    package let config: CollectorConfig
    package let collector: Collector
    package let staffTokens: StaffTokens?
    package let logger: Logger
    package let admission: Admission
    /// The web console; nil without staff tokens (nobody could sign in).
    let console: Console?

    /// - Parameter profiles: the profiles the console shows verdicts for (those the collector's
    ///   `VerdictKeeper` judges), and offers for claims.
    package init(
        config: CollectorConfig, collector: Collector, staffTokens: StaffTokens?, logger: Logger, profiles: [Profile] = [],
        reference: ReferencePaths = .standard()
    ) {
        self.config = config
        self.collector = collector
        self.staffTokens = staffTokens
        self.logger = logger
        let admission = Admission(refusalsPerMinute: config.limits.perAddressRefusalsPerMinute, maxInFlight: config.limits.maxInFlight)
        self.admission = admission
        console = staffTokens.map { tokens in
            Console(
                collector: collector, staffTokens: tokens, profiles: profiles, reference: reference,
                sessions: ConsoleSessions(lifetime: config.console.session), secureCookies: config.tlsCertificate != nil,
                admission: admission, logger: logger)
        }
    }

    /// Serves until SIGTERM or SIGINT; `onListening` gets the bound port (useful with port 0).
    package func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .milliseconds(Int64(config.timeouts.idle * 1000))))
        let server: HTTPServerBuilder
        if let certificate = config.tlsCertificate, let key = config.tlsKey {
            server = try .tls(http1, tlsConfiguration: try Self.tlsConfiguration(certificate: certificate, key: key))
        } else {
            guard CollectorConfig.isLoopback(config.host) else {
                throw ServerError(description: "plain HTTP is for loopback only: configure tls {cert, key}")
            }
            server = http1
        }
        let logger = self.logger
        let scheme = config.tlsCertificate == nil ? "http" : "https"
        let host = config.host
        let app = Application(
            router: router(),
            server: server,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "posture-collector"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("listening", metadata: ["url": "\(scheme)://\(host):\(port)"])
                onListening(port)
            },
            logger: logger
        )
        try await app.runService()
        logger.info("stopped")
    }

    static func tlsConfiguration(certificate: String, key: String) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain,
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            tls.minimumTLSVersion = .tlsv12
            // TLS 1.3 suites are all AEAD; for TLS 1.2 only forward-secret AEAD ones (no CBC, no SHA-1 MACs).
            tls.cipherSuites = Self.tls12CipherSuites
            return tls
        } catch {
            throw ServerError(description: "cannot load the TLS certificate \(certificate) or key \(key): \(error)")
        }
    }

    static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"
    ].joined(separator: ":")

    /// Rows read from the store per query while a read streams.
    static let streamPage = 64

    package func router() -> Router<CollectorRequestContext> {
        let router = Router(context: CollectorRequestContext.self)
        let admission = self.admission
        let collector = self.collector
        let limits = config.limits
        let requestTimeout = config.timeouts.request
        let logger = self.logger
        let staffTokens = self.staffTokens

        router.get("/v1/enroll/challenge") { request, _ in
            await Self.answer(logger, request) {
                Self.json(.ok, ["nonce": collector.enrollmentChallenge()])
            }
        }

        router.post("/v1/enroll") { request, context in
            await Self.answer(logger, request) {
                try await Self.admitted(admission, context.address) {
                    let body = try await Self.collect(request, limit: 64 << 10, timeout: requestTimeout)
                    let (keyID, contract) = try await collector.enroll(body: body)
                    logger.info("enrolled", metadata: ["key_id": "\(keyID)", "contract": "\(contract)"])
                    return (Self.json(.created, ["key_id": keyID, "contract": contract]), false)
                }
            }
        }

        router.post("/v1/reports") { request, context in
            await Self.answer(logger, request) {
                try await Self.admitted(admission, context.address) {
                    let idempotencyKey = request.headers[Self.idempotencyKey]
                    guard idempotencyKey?.isEmpty == false else {
                        throw RequestError.malformed("the Idempotency-Key header (the report id) is required")
                    }
                    let body = try await Self.collect(request, limit: limits.maxBody, timeout: requestTimeout)
                    let accepted = try await collector.ingest(body: body, idempotencyKey: idempotencyKey)
                    logger.info(
                        accepted.status == 201 ? "report stored" : "report repeated",
                        metadata: [
                            "key_id": "\(accepted.keyID)", "report_id": "\(accepted.reportID)", "chain": "\(accepted.chain?.rawValue ?? "repeat")"
                        ])
                    return (
                        Response(
                            status: .init(code: accepted.status), headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: accepted.receipt))), accepted.status == 200
                    )
                }
            }
        }

        router.get("/v1/devices/:key_id/reports") { request, context in
            await Self.answer(logger, request) {
                try await Self.admitted(admission, context.address) {
                    guard let staffTokens else { throw RequestError.unauthorized("this collector has no staff_tokens_file: reads are off") }
                    let staff = try staffTokens.authenticate(authorization: request.headers[.authorization])
                    let keyID = try context.parameters.require("key_id")
                    let query = request.uri.queryParameters
                    let from = try Self.time(query.get("from"), "from")
                    let to = try Self.time(query.get("to"), "to")
                    let limit = try query.get("limit").map { text in
                        guard let limit = Int(text), (1...10_000).contains(limit) else {
                            throw RequestError.malformed("'limit' must be a number from 1 to 10000, not '\(text)'")
                        }
                        return limit
                    }
                    let cursor = try query.get("cursor").map { text in
                        guard let cursor = ReadCursor(text) else { throw RequestError.malformed("'cursor' is not one this collector gave") }
                        return cursor
                    }
                    _ = try await collector.readableDevice(keyID: keyID, staff: staff)
                    return (try await Self.stream(collector.storage, keyID: keyID, from: from, to: to, after: cursor, limit: limit), false)
                }
            }
        }

        router.get("/v1/log/checkpoint") { request, _ in
            await Self.answer(logger, request) {
                Response(
                    status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(string: try await collector.checkpoint())))
            }
        }
        router.get("/v1/log/inclusion") { request, _ in
            await Self.answer(logger, request) {
                let query = request.uri.queryParameters
                let index = try Self.count(query.get("index"), "index"), size = try Self.count(query.get("size"), "size")
                let started = ContinuousClock.now
                let proof = try await collector.inclusionProof(index: index, size: size)
                return Self.proof(["index": index, "size": size], proof, since: started)
            }
        }
        router.get("/v1/log/consistency") { request, _ in
            await Self.answer(logger, request) {
                let query = request.uri.queryParameters
                let from = try Self.count(query.get("from"), "from"), to = try Self.count(query.get("to"), "to")
                let started = ContinuousClock.now
                let proof = try await collector.consistencyProof(from: from, to: to)
                return Self.proof(["from": from, "to": to], proof, since: started)
            }
        }
        router.get("/v1/log/checkpoint/cosigned") { request, _ in
            await Self.answer(logger, request) {
                guard let note = try await collector.cosignedCheckpoint() else { throw RequestError.notFound("no witness has cosigned a checkpoint yet") }
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(string: note)))
            }
        }
        router.post("/v1/log/cosignature") { request, context in
            await Self.answer(logger, request) {
                try await Self.admitted(admission, context.address) {
                    let body = try await Self.collect(request, limit: 16 << 10, timeout: requestTimeout)
                    let witnesses = try await collector.acceptCosignature(body)
                    logger.info("checkpoint cosigned", metadata: ["witnesses": "\(witnesses.joined(separator: ","))"])
                    return (Self.json(.ok, ["kept": witnesses.joined(separator: ",")]), false)
                }
            }
        }
        router.get("/v1/log/key") { request, _ in
            await Self.answer(logger, request) {
                Response(
                    status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: collector.logVerifierKey + "\n")))
            }
        }

        router.get("/v1/receipt-key") { request, _ in
            await Self.answer(logger, request) {
                Response(
                    status: .ok, headers: [.contentType: "text/plain"],
                    body: .init(byteBuffer: ByteBuffer(string: collector.receiptKey.publicLine + "\n")))
            }
        }
        console?.register(on: router)
        return router
    }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    /// Runs a handler and turns what it throws into a 4xx with a reason (or 503 for a failing store).
    static func answer(_ logger: Logger, _ request: Request, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as RequestError {
            logger.notice("refused", metadata: ["path": "\(request.uri.path)", "status": "\(error.status)", "reason": "\(error.description)"])
            var response = json(.init(code: error.status), ["error": error.description])
            if let seconds = error.retryAfter { response.headers[.retryAfter] = "\(seconds)" }
            return response
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            return json(.serviceUnavailable, ["error": "the collector cannot store or read evidence right now; retry later"])
        }
    }

    /// Runs an untrusted request under `admission`: refused at once when its address has been
    /// refused too often or too much is in flight; a refusal, or a repeat (`charged`), counts
    /// against the address.
    static func admitted(
        _ admission: Admission, _ address: String?,
        _ body: () async throws -> (Response, charged: Bool)
    ) async throws -> Response {
        try admission.enter(address: address)
        do {
            let (response, charged) = try await body()
            admission.leave(address: address, charged: charged)
            return response
        } catch {
            admission.leave(address: address, charged: error is RequestError)
            throw error
        }
    }

    /// NDJSON of a device's envelopes, streamed a page of rows at a time (memory stays bounded
    /// whatever the device stored). With `limit`, at most that many, and `Next-Cursor` names where
    /// the next page starts when there is more.
    static func stream(
        _ storage: any CollectorStorage, keyID: String, from: Date?, to: Date?, after cursor: ReadCursor?,
        limit: Int?
    ) async throws -> Response {
        var headers: HTTPFields = [.contentType: "application/x-ndjson"]
        var last: ReadCursor?
        if let limit {
            let positions = try await storage.envelopePage(keyID: keyID, from: from, to: to, after: cursor, limit: limit + 1, withEnvelopes: false)
            if positions.count > limit { headers[nextCursor] = "\(positions[limit - 1].cursor)" }
            guard let end = positions.prefix(limit).last?.cursor else { return Response(status: .ok, headers: headers) }
            last = end
        }
        let first = try await storage.envelopePage(keyID: keyID, from: from, to: to, after: cursor, limit: streamPage, withEnvelopes: true)
        let end = last
        @Sendable func within(_ page: [StoredEnvelope]) -> [StoredEnvelope] {
            guard let end else { return page }
            return page.filter { ($0.cursor.sequence, $0.cursor.arrival) <= (end.sequence, end.arrival) }
        }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                var page = within(first)
                var done = page.count < first.count || first.count < streamPage
                while !page.isEmpty {
                    var buffer = ByteBuffer()
                    for stored in page {
                        buffer.writeBytes(stored.envelope)
                        buffer.writeInteger(UInt8(ascii: "\n"))
                    }
                    try await writer.write(buffer)
                    guard !done, let next = page.last?.cursor else { break }
                    let fetched = try await storage.envelopePage(keyID: keyID, from: from, to: to, after: next, limit: streamPage, withEnvelopes: true)
                    page = within(fetched)
                    done = page.count < fetched.count || fetched.count < streamPage
                }
                try await writer.finish(nil)
            })
    }

    static let nextCursor = HTTPField.Name("Next-Cursor")!

    /// A whole, non-negative number from the query.
    static func count(_ text: String?, _ name: String) throws -> Int {
        guard let text, let value = Int(text), value >= 0, text.utf8.count <= 19 else {
            throw RequestError.malformed("'\(name)' must be a whole number, not '\(text ?? "")'")
        }
        return value
    }

    /// A proof as JSON: the fields naming it and `proof`, the hashes in base64, in RFC 9162 order.
    /// A proof's JSON answer, with the collector's own time to make it (reading the log's nodes
    /// and encoding, from `started`) as a `Server-Timing` header, apart from TLS and HTTP.
    static func proof(_ fields: [String: Int], _ hashes: [Hash], since started: ContinuousClock.Instant) -> Response {
        var object: [String: Any] = fields
        object["proof"] = hashes.map(\.base64)
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        let took = ContinuousClock.now - started
        let milliseconds = Double(took.components.seconds) * 1e3 + Double(took.components.attoseconds) / 1e15
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[serverTiming] = "proof;dur=\(String(format: "%.3f", milliseconds))"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static let serverTiming = HTTPField.Name("Server-Timing")!

    static func json(_ status: HTTPResponse.Status, _ object: [String: String]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The request body, refused past `limit` bytes (413) or when it takes longer than `timeout` to arrive (408).
    static func collect(_ request: Request, limit: Int, timeout: TimeInterval) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw RequestError.tooLarge(limit: limit) }
        let body = request.body
        do {
            let buffer = try await withDeadline(timeout, timeout: { RequestError.timedOut(seconds: Int(timeout)) }) {
                try await body.collect(upTo: limit)
            }
            return Data(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw RequestError.tooLarge(limit: limit)
        }
    }

    static func time(_ text: String?, _ name: String) throws -> Date? {
        guard let text else { return nil }
        if let date = RFC3339.date(from: text) { return date }
        throw RequestError.malformed("'\(name)' must be an RFC 3339 time (2026-11-24T09:00:00+09:00), not '\(text)'")
    }
}

/// Hummingbird's basic context plus the peer's address, which per-address limits key on.
package struct CollectorRequestContext: RequestContext, RemoteAddressRequestContext {
    package var coreContext: CoreRequestContextStorage
    package let remoteAddress: SocketAddress?

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address (nil when unknown).
    var address: String? { remoteAddress?.ipAddress }
}

/// The server could not start.
package struct ServerError: Error, CustomStringConvertible {
    package var description: String
}

extension ServerError: ExitStatusError {
    /// The configuration cannot be served as written.
    package var exitStatus: Int32 { ExitStatus.dataError }
}
