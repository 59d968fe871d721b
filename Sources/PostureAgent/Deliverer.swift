package import Foundation
package import PostureEvidence
import PostureTransport

/// Uploads queued reports in order: a report leaves the queue only after a 2xx whose receipt is
/// signed by the collector key pinned at enrollment and acknowledges that very report; 3xx, 408,
/// 425, 429, 5xx, transport failures and receipts that do not verify are retried with capped
/// exponential backoff and jitter (honouring Retry-After); any other 4xx moves the report to the
/// dead letters (413 as "refused as too large"), never silently dropped.
package struct Deliverer: Sendable {
    /// What a delivery run did.
    package struct Summary: Sendable {
        package var delivered = 0
        package var deadLettered = 0
        /// Reports the collector refused as too large (413), among the dead letters.
        package var tooLarge = 0
        package var remaining = 0
        package var lastError: String?
        /// When the next queued report may be tried, if one waits.
        package var nextAttempt: Date?
    }

    package var journal: Journal
    package var upload: AgentConfig.Upload
    /// Pause between consecutive uploads while draining a backlog.
    package var pace: TimeInterval
    package var maxBackoff: TimeInterval

    package init(journal: Journal, upload: AgentConfig.Upload, pace: TimeInterval = 0.2, maxBackoff: TimeInterval = 3600) {
        self.journal = journal
        self.upload = upload
        self.pace = pace
        self.maxBackoff = maxBackoff
    }

    /// Delivers what is due now, stopping at the first report that must wait (order is kept).
    /// - Parameter ignoreSchedule: try the head of the queue even if its retry time has not come (`posture upload`).
    package func run(ignoreSchedule: Bool = false, now: () -> Date = Date.init) async throws -> Summary {
        var summary = Summary()
        let transport = CurlTransport(options: upload.transport)
        let pinned = try journal.meta()[Journal.receiptKeyMeta].flatMap(DeviceKey.publicKey(base64:))
        let origin = pinned.map { CollectorLog(receiptKey: $0).origin }
        var first = true
        while let pending = try journal.nextQueued() {
            if !ignoreSchedule, pending.nextAttemptAt > now() {
                summary.nextAttempt = pending.nextAttemptAt
                break
            }
            if !first && pace > 0 { try? await Task.sleep(nanoseconds: UInt64(pace * 1e9)) }
            first = false
            let request = HTTPRequest(
                url: upload.url,
                headers: [
                    ("Content-Type", "application/json"),
                    ("Idempotency-Key", pending.reportID)
                ], body: pending.envelope)
            let outcome = await transport.exchange(request)
            switch outcome {
            case .success(let response) where (200..<300).contains(response.status):
                var logIndex: (origin: String, index: Int)?
                if let pinned, let origin {
                    do throws(Receipt.Invalid) {
                        logIndex = try Receipt.verified(response.body, key: pinned, reportID: pending.reportID, envelope: pending.envelope).logIndex
                            .map { (origin, $0) }
                    } catch {
                        let error = "HTTP \(response.status) from \(upload.url), but not delivered: \(error)"
                        return try retry(pending, error: error, retryAfter: nil, now: now, summary: &summary)
                    }
                }
                try journal.markDelivered(pending.id, receipt: response.body.isEmpty ? nil : response.body, logIndex: logIndex, at: now())
                summary.delivered += 1
            case .success(let response) where response.status == 413:
                let error = "refused as too large (HTTP 413, \(pending.envelope.count) bytes) by \(upload.url)"
                try journal.markDeadLetter(pending.id, error: error, at: now())
                summary.deadLettered += 1
                summary.tooLarge += 1
                summary.lastError = error
            case .success(let response)
            where [408, 425, 429].contains(response.status) || (300..<400).contains(response.status)
                || response.status >= 500:
                return try retry(
                    pending, error: "HTTP \(response.status) from \(upload.url)", retryAfter: response.headers["retry-after"],
                    now: now, summary: &summary)
            case .success(let response):
                let text = String(decoding: response.body.prefix(300), as: UTF8.self)
                let error = "HTTP \(response.status) from \(upload.url): \(text)"
                try journal.markDeadLetter(pending.id, error: error, at: now())
                summary.deadLettered += 1
                summary.lastError = error
            case .failure(let error):
                return try retry(pending, error: error.message, retryAfter: nil, now: now, summary: &summary)
            }
        }
        summary.remaining = try journal.deliveryCounts()["queued"] ?? 0
        return summary
    }

    /// Keeps `pending` queued for a later attempt and ends this run (order is kept).
    private func retry(_ pending: Journal.Pending, error: String, retryAfter: String?, now: () -> Date, summary: inout Summary) throws -> Summary {
        let next = now().addingTimeInterval(retryDelay(attempts: pending.attempts, retryAfter: retryAfter))
        try journal.scheduleRetry(pending.id, error: error, next: next, at: now())
        summary.lastError = error
        summary.nextAttempt = next
        summary.remaining = try journal.deliveryCounts()["queued"] ?? 0
        return summary
    }

    /// 2^attempts × 30 s with ±20% jitter, capped; a server's Retry-After (seconds or HTTP date) wins when longer.
    func retryDelay(attempts: Int, retryAfter: String?) -> TimeInterval {
        let base = min(maxBackoff, 30 * pow(2, Double(min(attempts, 20))))
        var delay = base * Double.random(in: 0.8...1.2)
        if let retryAfter {
            if let seconds = TimeInterval(retryAfter.trimmingCharacters(in: .whitespaces)) {
                delay = max(delay, seconds)
            } else if let date = Self.httpDate(retryAfter) {
                delay = max(delay, date.timeIntervalSinceNow)
            }
        }
        return min(delay, maxBackoff)
    }

    /// An HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`), or nil. HTTP-dates are printable ASCII, and
    /// only that reaches DateFormatter: it traps on some non-ASCII text, and a header is whatever
    /// the other end sent.
    static func httpDate(_ text: String) -> Date? {
        guard text.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
