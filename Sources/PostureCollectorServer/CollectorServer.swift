import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import PostureCollector
import PostureEvidence
import PostureModel

/// The collector's HTTP API (DESIGN.md "Collector"): HTTPS, or plain HTTP on loopback behind a
/// reverse proxy. Every refusal is a 4xx with `{"error": reason}`; a store that fails answers 503
/// so agents retry, never 500. Connections that send nothing for `timeouts.idle` (a slowloris
/// dribbling its headers counts: no request is read) are closed, and a request body must arrive
/// within `timeouts.request`. SIGTERM/SIGINT stop accepting, finish requests in flight, then return.
public struct CollectorServer: Sendable {
    public let config: CollectorConfig
    public let collector: Collector
    public let staffTokens: StaffTokens?
    public let logger: Logger

    public init(config: CollectorConfig, collector: Collector, staffTokens: StaffTokens?, logger: Logger) {
        self.config = config
        self.collector = collector
        self.staffTokens = staffTokens
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT; `onListening` gets the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
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
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain,
                                                               privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            tls.minimumTLSVersion = .tlsv12
            return tls
        } catch {
            throw ServerError(description: "cannot load the TLS certificate \(certificate) or key \(key): \(error)")
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let collector = self.collector
        let limits = config.limits
        let requestTimeout = config.timeouts.request
        let logger = self.logger
        let staffTokens = self.staffTokens

        router.post("/v1/enroll") { request, _ in
            await Self.answer(logger, request) {
                let body = try await Self.collect(request, limit: 64 << 10, timeout: requestTimeout)
                let (keyID, contract) = try await collector.enroll(body: body)
                logger.info("enrolled", metadata: ["key_id": "\(keyID)", "contract": "\(contract)"])
                return Self.json(.created, ["key_id": keyID, "contract": contract])
            }
        }

        router.post("/v1/reports") { request, _ in
            await Self.answer(logger, request) {
                let body = try await Self.collect(request, limit: limits.maxBody, timeout: requestTimeout)
                let accepted = try await collector.ingest(body: body, idempotencyKey: request.headers[Self.idempotencyKey])
                logger.info(accepted.status == 201 ? "report stored" : "report repeated", metadata: [
                    "key_id": "\(accepted.keyID)", "report_id": "\(accepted.reportID)", "chain": "\(accepted.chain?.rawValue ?? "repeat")",
                ])
                return Response(status: .init(code: accepted.status), headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(bytes: accepted.receipt)))
            }
        }

        router.get("/v1/devices/:key_id/reports") { request, context in
            await Self.answer(logger, request) {
                guard let staffTokens, staffTokens.accepts(authorization: request.headers[.authorization]) else {
                    throw RequestError.unauthorized("a staff token is required: Authorization: Bearer TOKEN")
                }
                let keyID = try context.parameters.require("key_id")
                let from = try Self.time(request.uri.queryParameters.get("from"), "from")
                let to = try Self.time(request.uri.queryParameters.get("to"), "to")
                let body = try await collector.ndjson(keyID: keyID, from: from, to: to)
                return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
        }

        router.get("/v1/receipt-key") { request, _ in
            await Self.answer(logger, request) {
                Response(status: .ok, headers: [.contentType: "text/plain"],
                         body: .init(byteBuffer: ByteBuffer(string: collector.receiptKey.publicLine + "\n")))
            }
        }
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
            if case .rateLimited(let seconds) = error { response.headers[.retryAfter] = "\(seconds)" }
            return response
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            return json(.serviceUnavailable, ["error": "the collector cannot store or read evidence right now; retry later"])
        }
    }

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
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        throw RequestError.malformed("'\(name)' must be an RFC 3339 time (2026-11-24T09:00:00+09:00), not '\(text)'")
    }
}

/// The server could not start.
public struct ServerError: Error, CustomStringConvertible {
    public var description: String
}
