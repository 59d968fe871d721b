// Load generator for scripts/bench-collector: enrolls N simulated devices with tokens issued
// straight into the collector's store, pre-signs a chain of distinct reports per device from a
// template report, then POSTs them over C keep-alive TLS connections (each device's reports in
// chain order on one connection) and prints throughput and latency percentiles.
//
// usage: posture-collector-bench --url https://127.0.0.1:PORT --ca CA.pem --config collector.yaml
//            --template report.json [--devices 500] [--connections 64] [--reports 30000] [--warmup 2000]
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PostureCollector
import PostureEvidence
import PostureModel

struct Options {
    var url = ""
    var ca = ""
    var config = ""
    var template = ""
    var devices = 500
    var connections = 64
    var reports = 30_000
    var warmup = 2_000

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            let value = iterator.next() ?? ""
            switch flag {
            case "--url": url = value
            case "--ca": ca = value
            case "--config": config = value
            case "--template": template = value
            case "--devices": devices = Int(value) ?? devices
            case "--connections": connections = Int(value) ?? connections
            case "--reports": reports = Int(value) ?? reports
            case "--warmup": warmup = Int(value) ?? warmup
            default: fatalError("unknown option \(flag)")
            }
        }
    }
}

/// One POST to make: path, headers, body.
struct Upload: Sendable {
    var path: String
    var idempotencyKey: String?
    var body: ByteBuffer
}

/// Sends `uploads` in order over one keep-alive connection; returns each latency and status.
func drive(_ uploads: [Upload], host: String, port: Int, tls: NIOSSLContext, group: any EventLoopGroup) async throws -> [(Duration, Int)] {
    let channel = try await ClientBootstrap(group: group).connect(host: host, port: port) { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil))
            try channel.pipeline.syncOperations.addHTTPClientHandlers()
            return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
        }
    }
    return try await channel.executeThenClose { inbound, outbound in
        var responses = inbound.makeAsyncIterator()
        var results: [(Duration, Int)] = []
        results.reserveCapacity(uploads.count)
        let clock = ContinuousClock()
        for upload in uploads {
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: upload.path)
            head.headers.add(name: "Host", value: host)
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(upload.body.readableBytes)")
            if let key = upload.idempotencyKey { head.headers.add(name: "Idempotency-Key", value: key) }
            let start = clock.now
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(upload.body)), .end(nil)])
            var status = 0
            reading: while let part = try await responses.next() {
                switch part {
                case .head(let response): status = Int(response.status.code)
                case .body: continue
                case .end: break reading
                }
            }
            results.append((clock.now - start, status))
        }
        return results
    }
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

let options = Options(CommandLine.arguments)
guard let components = URLComponents(string: options.url), let host = components.host, let port = components.port else {
    fatalError("--url https://HOST:PORT is required")
}
var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
tlsConfiguration.trustRoots = .file(options.ca)
tlsConfiguration.certificateVerification = .noHostnameVerification
let tls = try NIOSSLContext(configuration: tlsConfiguration)
let eventLoops = MultiThreadedEventLoopGroup.singleton

// 1. Devices: keys, tokens straight into the store, enrollment over the API.
let config = try CollectorConfig.parse(path: options.config)
let storage: any CollectorStorage
switch config.storage {
case .sqlite(let path): storage = try SQLiteStorage(path: path)
case .postgres(let url): storage = try await PostgresStorage(url: url, logger: Logger(label: "bench"))
}
let issuer = Collector(storage: storage, receiptKey: DeviceKey(privateKey: .init()), limits: config.limits)
// The server's receipt key makes nonces it accepts, so enrollment needs no extra round trip.
let nonces = NonceIssuer(receiptKey: try DeviceKey.loadOrCreate(file: config.receiptKey).key)
let keys = (0..<options.devices).map { _ in DeviceKey(privateKey: Curve25519.Signing.PrivateKey()) }
var enrollments: [Upload] = []
for key in keys {
    let token = try await issuer.issueToken(contract: "BENCH-\(key.keyID.prefix(4))", lifetime: 3600)
    let nonce = nonces.issue()
    let body = try JSONSerialization.data(withJSONObject: [
        "token": token, "public_key": key.publicLine, "nonce": nonce,
        "signature": try EnrollmentProof.sign(token: token, nonce: nonce, key: key)
    ])
    enrollments.append(Upload(path: "/v1/enroll", idempotencyKey: nil, body: ByteBuffer(bytes: body)))
}
try await storage.close()
let enrolled = try await drive(enrollments, host: host, port: port, tls: tls, group: eventLoops)
guard enrolled.allSatisfy({ $0.1 == 201 }) else { fatalError("enrollment failed: \(Set(enrolled.map(\.1)))") }

// 2. Distinct signed reports: a chain per device, made from the template in parallel.
let template = try PostureJSON.decoder().decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: options.template)))
let perDevice = (options.reports + options.warmup + options.devices - 1) / options.devices
let signStart = Date()
let chains: [[Upload]] = await withTaskGroup(of: (Int, [Upload]).self) { group in
    for (index, key) in keys.enumerated() {
        group.addTask {
            var previous: Data?
            var uploads: [Upload] = []
            for sequence in 1...perDevice {
                var report = template
                report.id = UUID().uuidString.lowercased()
                report.collectedAt = template.collectedAt.addingTimeInterval(Double(sequence) * 60)
                report.chain = ChainLink(sequence: sequence, previous: previous.map(sha256Hex), bootId: nil)
                let envelope = try! Envelope.signedReport(report, key: key)
                previous = envelope
                uploads.append(Upload(path: "/v1/reports", idempotencyKey: report.id, body: ByteBuffer(bytes: envelope)))
            }
            return (index, uploads)
        }
    }
    var chains = [[Upload]](repeating: [], count: keys.count)
    for await (index, uploads) in group { chains[index] = uploads }
    return chains
}
let envelopeBytes = chains.first?.first?.body.readableBytes ?? 0
FileHandle.standardError.write(
    Data("signed \(perDevice * keys.count) reports (\(envelopeBytes) bytes each) in \(String(format: "%.1f", Date().timeIntervalSince(signStart)))s\n".utf8))

// 3. Load: connection c carries devices c, c+C, c+2C … round-robin, so each chain stays in order.
func plan(_ rounds: Range<Int>) -> [[Upload]] {
    (0..<options.connections).map { connection in
        var uploads: [Upload] = []
        for round in rounds {
            for device in stride(from: connection, to: keys.count, by: options.connections) where round < chains[device].count {
                uploads.append(chains[device][round])
            }
        }
        return uploads
    }
}
let warmupRounds = (options.warmup + options.devices - 1) / options.devices
func run(_ plans: [[Upload]]) async throws -> (results: [(Duration, Int)], seconds: Double) {
    let start = ContinuousClock.now
    let results = try await withThrowingTaskGroup(of: [(Duration, Int)].self) { group in
        for uploads in plans where !uploads.isEmpty {
            group.addTask { try await drive(uploads, host: host, port: port, tls: tls, group: eventLoops) }
        }
        return try await group.reduce(into: []) { $0 += $1 }
    }
    let elapsed = ContinuousClock.now - start
    return (results, milliseconds(elapsed) / 1000)
}
_ = try await run(plan(0..<warmupRounds))
let (results, seconds) = try await run(plan(warmupRounds..<perDevice))
let latencies = results.map { milliseconds($0.0) }.sorted()
func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
var statuses: [Int: Int] = [:]
for (_, status) in results { statuses[status, default: 0] += 1 }
let summary: [String: Any] = [
    "devices": keys.count, "connections": options.connections, "reports": results.count, "envelope_bytes": envelopeBytes,
    "seconds": (seconds * 100).rounded() / 100, "reports_per_second": (Double(results.count) / seconds).rounded(),
    "p50_ms": (percentile(0.5) * 10).rounded() / 10, "p99_ms": (percentile(0.99) * 10).rounded() / 10,
    "max_ms": ((latencies.last ?? 0) * 10).rounded() / 10,
    "statuses": Dictionary(uniqueKeysWithValues: statuses.map { ("\($0.key)", $0.value) })
]
print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
