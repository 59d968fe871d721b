import Foundation
import NIOCore
import NIOPosix

/// What an untrusted request may cost before anything about it is trusted: a bound on requests in
/// flight (over it: 503, retried by agents) and on refusals per source address (over it: 429),
/// both decided before the body is read, a signature checked or the store asked.
///
/// Only refusals and repeats count against an address, so the PCs of one company behind one NAT
/// address never limit each other by uploading; a flood of bad envelopes from an address is
/// refused at once after its first `refusalsPerMinute`.
public final class Admission: @unchecked Sendable {
    let refusalsPerMinute: Int
    let maxInFlight: Int
    private let lock = NSLock()
    private var inFlight = 0
    private var refusals: [String: (start: TimeInterval, count: Int)] = [:]

    public init(refusalsPerMinute: Int, maxInFlight: Int) {
        self.refusalsPerMinute = refusalsPerMinute
        self.maxInFlight = maxInFlight
    }

    /// Admits one request from `address` (nil: unknown, never limited per address) or throws
    /// `rateLimited` / `busy`; every admitted request must `leave`.
    public func enter(address: String?, now: Date = Date()) throws(RequestError) {
        let time = now.timeIntervalSince1970
        lock.lock()
        defer { lock.unlock() }
        if let address, let window = refusals[address], time - window.start < 60, window.count >= refusalsPerMinute {
            throw RequestError.rateLimited(retryAfter: max(1, Int((window.start + 60 - time).rounded(.up))),
                                           reason: "too many refused requests from this address; retry in")
        }
        guard inFlight < maxInFlight else { throw RequestError.busy(retryAfter: 1) }
        inFlight += 1
    }

    /// Ends an admitted request; `charged` (a refusal or a repeat) counts against its address.
    public func leave(address: String?, charged: Bool, now: Date = Date()) {
        let time = now.timeIntervalSince1970
        lock.withLock {
            inFlight -= 1
            guard charged, let address else { return }
            var window = refusals[address] ?? (time, 0)
            if time - window.start >= 60 { window = (time, 0) }
            window.count += 1
            refusals[address] = window
            if refusals.count > 100_000 { refusals = refusals.filter { time - $0.value.start < 60 } }
        }
    }
}

/// A few threads of their own for JSON decoding and signature checks, so CPU-bound work on
/// untrusted bytes never occupies the threads that answer other requests.
public final class CheckPool: Sendable {
    /// One pool for the process: every collector in it shares the same few threads.
    public static let shared = CheckPool()

    let pool: NIOThreadPool

    public init(threads: Int = max(1, System.coreCount)) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    /// Runs `body` on the pool.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    public func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}
