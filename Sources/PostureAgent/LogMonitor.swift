package import Foundation
package import PostureEvidence
import PostureModel
import PostureTransparency
import PostureTransport

/// The customer as a monitor of the collector's audit log. Each run fetches the log's checkpoint,
/// checks its signature by the receipt key pinned at enrollment and that it extends the newest one
/// kept (same size, same root; larger, a consistency proof), then proves the inclusion of delivered
/// reports whose leaves it covers and keeps the proofs for claim bundles. A log that shrinks, shows
/// two roots for one size, or leaves out a report it acknowledged raises an alarm, kept in the
/// journal as evidence; the unverified checkpoint is not kept. A collector that cannot be reached
/// is not an alarm: the next run tries again.
package struct LogMonitor: Sendable {
    /// What a run found.
    package struct Summary: Sendable {
        /// The newest verified checkpoint's size.
        package var checkpointSize: Int?
        package var proven = 0
        /// Delivered reports still to prove.
        package var waiting = 0
        /// Set when the log misbehaved; also recorded in the journal.
        package var alarm: String?
        /// Set when the collector could not be asked (not an alarm).
        package var error: String?
    }

    package var journal: Journal
    package var upload: AgentConfig.Upload
    /// Inclusion proofs fetched per run at most (a backlog is proven over several runs).
    package var batch: Int

    package init(journal: Journal, upload: AgentConfig.Upload, batch: Int = 200) {
        self.journal = journal
        self.upload = upload
        self.batch = batch
    }

    package func run(now: () -> Date = Date.init) async throws -> Summary {
        var summary = Summary()
        guard let key = try journal.meta()[Journal.receiptKeyMeta].flatMap(DeviceKey.publicKey(base64:)) else { return summary }
        let log = CollectorLog(receiptKey: key)
        let transport = CurlTransport(options: upload.transport)
        func get(_ path: String) async -> Result<HTTPResponse, TransportError> {
            await transport.exchange(HTTPRequest(url: Self.url(upload.url, path: path), method: "GET"))
        }
        /// The body of a 200, or nil with `summary.error` set.
        func fetch(_ path: String) async -> Data? {
            switch await get(path) {
            case .success(let response) where response.status == 200: return response.body
            case .success(let response):
                summary.error = "HTTP \(response.status) from the collector's \(path.split(separator: "?")[0])"
            case .failure(let error): summary.error = error.message
            }
            return nil
        }
        func alarm(_ message: String, note: String?) throws -> Summary {
            try journal.recordLogAlarm(message, note: note, at: now())
            summary.alarm = message
            summary.waiting = try journal.unprovenCount(origin: log.origin)
            return summary
        }

        let kept = try journal.newestCheckpoint(origin: log.origin)
        summary.checkpointSize = kept?.size
        guard let body = await fetch("/v1/log/checkpoint") else {
            summary.waiting = try journal.unprovenCount(origin: log.origin)
            return summary
        }
        let note = String(decoding: body.prefix(64 << 10), as: UTF8.self)
        let checkpoint: Checkpoint
        do throws(LogProblem) {
            checkpoint = try log.open(note)
        } catch {
            return try alarm(error.description, note: note)
        }
        // The agent holds the log to a witness's rule: the new checkpoint must extend the last one.
        if let kept, let old = try? log.open(kept.note) {
            var proof: [Hash] = []
            if checkpoint.size > old.size {
                guard let data = await fetch("/v1/log/consistency?from=\(old.size)&to=\(checkpoint.size)") else {
                    summary.waiting = try journal.unprovenCount(origin: log.origin)
                    return summary
                }
                do throws(LogProblem) { proof = try CollectorLog.proof(answer: data) } catch {
                    return try alarm("the collector's log is not consistent with the checkpoint of \(old.size) entries: \(error)", note: note)
                }
            }
            if case .refuse(let refusal) = WitnessState(origin: old.origin, size: old.size, root: old.root).decide(checkpoint, consistencyProof: proof) {
                return try alarm(Self.alarm(refusal, since: old.size), note: note)
            }
        }
        try journal.keepCheckpoint(origin: log.origin, size: checkpoint.size, note: note, at: now())
        summary.checkpointSize = checkpoint.size
        for report in try journal.unproven(origin: log.origin, below: checkpoint.size, limit: batch) {
            guard let data = await fetch("/v1/log/inclusion?index=\(report.logIndex)&size=\(checkpoint.size)") else { break }
            let proof: [Hash]
            do {
                proof = try CollectorLog.proof(answer: data)
                try MerkleTree.verifyInclusion(
                    leafHash: CollectorLog.leaf(report.envelope), index: report.logIndex, treeSize: checkpoint.size, proof: proof,
                    root: checkpoint.root)
            } catch {
                return try alarm(
                    "the collector's log does not include report \(report.reportID) at index \(report.logIndex), as its receipt said: \(error)",
                    note: note)
            }
            try journal.recordInclusion(report.id, size: checkpoint.size, proof: CollectorLog.packed(proof))
            summary.proven += 1
        }
        summary.waiting = try journal.unprovenCount(origin: log.origin)
        return summary
    }

    /// The collector's URL for `path` (with its query), on the upload URL's scheme, host and port.
    static func url(_ upload: String, path: String) -> String {
        guard var components = URLComponents(string: upload) else { return upload }
        let parts = path.split(separator: "?", maxSplits: 1)
        components.path = String(parts[0])
        components.percentEncodedQuery = parts.count > 1 ? String(parts[1]) : nil
        components.fragment = nil
        return components.string ?? upload
    }
}

extension LogMonitor {
    /// The alarm for a checkpoint that does not extend the one verified last, of `size` entries.
    static func alarm(_ refusal: WitnessRefusal, since size: Int) -> String {
        switch refusal {
        case .treeShrinks(_, let offered): "the collector's log shrank from \(size) to \(offered) entries since the checkpoint of \(size)"
        case .splitView: "the collector's log shows two roots for size \(size): a split view"
        case .inconsistent(let error): "the collector's log is not consistent with the checkpoint of \(size) entries: \(error)"
        case .originMismatch, .invalidCheckpoint: "the collector's checkpoint is not of the log verified before: \(refusal)"
        }
    }
}
