package import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// What an untrusted request may cost before anything about it is trusted: a bound on requests in
/// flight (over it: 503, retried by agents) and on refusals per source address (over it: 429),
/// both decided before the body is read, a signature checked or the store asked.
///
/// Only refusals and repeats count against an address, so the PCs of one company behind one NAT
/// address never limit each other by uploading; a flood of bad envelopes from an address is
/// refused at once after its first `refusalsPerMinute`.
package final class Admission: Sendable {
    let refusalsPerMinute: Int
    let maxInFlight: Int
    /// Requests in flight, and refusals per address in their one-minute window.
    private struct Counts {
        var inFlight = 0
        var refusals: [String: (start: TimeInterval, count: Int)] = [:]
    }
    private let counts = Mutex(Counts())

    package init(refusalsPerMinute: Int, maxInFlight: Int) {
        self.refusalsPerMinute = refusalsPerMinute
        self.maxInFlight = maxInFlight
    }

    /// Admits one request from `address` (nil: unknown, never limited per address) or throws
    /// `rateLimited` / `busy`; every admitted request must `leave`.
    package func enter(address: String?, now: Date = Date()) throws(RequestError) {
        let time = now.timeIntervalSince1970
        let refusal = counts.withLock { counts -> RequestError? in
            if let address, let window = counts.refusals[address], time - window.start < 60, window.count >= refusalsPerMinute {
                return RequestError.rateLimited(
                    retryAfter: max(1, Int((window.start + 60 - time).rounded(.up))),
                    reason: "too many refused requests from this address; retry in")
            }
            guard counts.inFlight < maxInFlight else { return RequestError.busy(retryAfter: 1) }
            counts.inFlight += 1
            return nil
        }
        if let refusal { throw refusal }
    }

    /// Ends an admitted request; `charged` (a refusal or a repeat) counts against its address.
    package func leave(address: String?, charged: Bool, now: Date = Date()) {
        let time = now.timeIntervalSince1970
        counts.withLock { counts in
            counts.inFlight -= 1
            guard charged, let address else { return }
            var window = counts.refusals[address] ?? (time, 0)
            if time - window.start >= 60 { window = (time, 0) }
            window.count += 1
            counts.refusals[address] = window
            if counts.refusals.count > 100_000 { counts.refusals = counts.refusals.filter { time - $0.value.start < 60 } }
        }
    }
}

/// A few threads of their own for JSON decoding and signature checks, so CPU-bound work on
/// untrusted bytes never occupies the threads that answer other requests.
package final class CheckPool: Sendable {
    /// One pool for the process: every collector in it shares the same few threads.
    package static let shared = CheckPool()

    let pool: NIOThreadPool

    package init(threads: Int = max(1, System.coreCount)) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    /// Runs `body` on the pool.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    package func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}
