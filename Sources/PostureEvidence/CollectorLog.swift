package import Crypto
package import Foundation
package import PostureModel
package import PostureTransparency

/// The collector's audit log as one receipt key names it: every envelope the collector stores is a
/// leaf of one RFC 6962 tree, and its checkpoints are C2SP signed notes by that key under
/// `posture-collector/<first 16 hex digits of the key id>`. The agent pins the key at enrollment,
/// so it checks the log with nothing else.
package struct CollectorLog: Sendable {
    package let receiptKey: Curve25519.Signing.PublicKey

    package init(receiptKey: Curve25519.Signing.PublicKey) { self.receiptKey = receiptKey }

    /// The checkpoints' origin line.
    package static func origin(receiptKeyID: String) -> String { "posture-collector/\(receiptKeyID.prefix(16))" }

    package var origin: String { Self.origin(receiptKeyID: DeviceKey.keyID(of: receiptKey)) }

    package var verifier: NoteVerifier {
        // The origin is ASCII without spaces or '+': always a valid note key name.
        try! NoteVerifier(name: origin, publicKey: receiptKey)
    }

    /// The checkpoint in `note` when the pinned key signed it under the expected origin.
    package func open(_ note: String) throws(LogProblem) -> Checkpoint {
        do throws(CheckpointError) {
            return try Checkpoint.open(note, logVerifier: verifier, expectedOrigin: origin).checkpoint
        } catch {
            throw LogProblem("the collector's checkpoint does not verify against the receipt key pinned at enrollment (\(error))")
        }
    }

    /// The leaf of an envelope: SHA-256(0x00 ‖ exact envelope bytes).
    package static func leaf(_ envelope: Data) -> Hash { Hash.leaf(Array(envelope)) }

    /// The hashes of the collector's proof answer (`{"proof": [base64, …]}`, at most 128).
    package static func proof(answer data: Data) throws(LogProblem) -> [Hash] {
        guard let object = try? JSONSerialization.jsonObject(with: data.prefix(64 << 10)) as? [String: Any],
            let list = object["proof"] as? [String], list.count <= 128
        else { throw LogProblem("the collector's proof answer is not a list of hashes") }
        var hashes: [Hash] = []
        for text in list {
            guard let hash = try? Hash(base64: text) else { throw LogProblem("the collector's proof holds a hash that is not base64 of 32 bytes") }
            hashes.append(hash)
        }
        return hashes
    }

    /// Proof hashes as stored (32 bytes each, concatenated) and back.
    package static func packed(_ proof: [Hash]) -> Data { Data(proof.flatMap(\.bytes)) }

    package static func unpacked(_ data: Data) -> [Hash]? {
        guard data.count % Hash.byteCount == 0 else { return nil }
        return stride(from: 0, to: data.count, by: Hash.byteCount).map { offset in
            let start = data.startIndex + offset
            return try! Hash(bytes: data[start..<start + Hash.byteCount])
        }
    }
}

/// What is wrong with the collector's log, in words for the alarm and the assessment.
package struct LogProblem: Error, CustomStringConvertible, Sendable, Equatable {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// The log part of a claim bundle: the checkpoints the agent verified and, per report, its inclusion
/// proof against one of them, so the bank's log is checked with no network.
package struct LogSection: Codable, Sendable, Hashable {
    /// One report's place in the log.
    package struct Inclusion: Codable, Sendable, Hashable {
        package var reportId: String
        package var index: Int
        /// Position in `checkpoints` of the checkpoint the proof is against.
        package var checkpoint: Int
        /// The proof's hashes, base64, leaf to root.
        package var proof: [String]

        package init(reportId: String, index: Int, checkpoint: Int, proof: [String]) {
            self.reportId = reportId
            self.index = index
            self.checkpoint = checkpoint
            self.proof = proof
        }
    }

    /// The collector's receipt key pinned at enrollment: base64 of the 32 raw bytes.
    package var receiptKey: String
    /// Signed checkpoints (C2SP notes), smallest first.
    package var checkpoints: [String]
    package var inclusions: [Inclusion]

    package init(receiptKey: Curve25519.Signing.PublicKey, checkpoints: [String], inclusions: [Inclusion]) {
        self.receiptKey = receiptKey.rawRepresentation.base64EncodedString()
        self.checkpoints = checkpoints
        self.inclusions = inclusions
    }

    /// Checks every report's inclusion proof against its checkpoint, and each checkpoint's
    /// signature by the receipt key. `expectedKey` is the key the reader holds (the bank its own);
    /// when it differs from the section's, nothing in the section counts.
    package func verify(reports: [(id: String, envelope: Data)], expectedKey: Curve25519.Signing.PublicKey? = nil) -> LogInclusion {
        var result = LogInclusion(logKeyId: "", reports: reports.count, included: 0, notProven: [], problems: [])
        guard let key = DeviceKey.publicKey(base64: receiptKey) else {
            result.problems.append("the log's receipt key is not a base64 Ed25519 public key")
            result.notProven = reports.map(\.id)
            return result
        }
        result.logKeyId = DeviceKey.keyID(of: key)
        if let expectedKey, expectedKey.rawRepresentation != key.rawRepresentation {
            result.problems.append("the log's receipt key \(result.logKeyId) is not the expected \(DeviceKey.keyID(of: expectedKey))")
            result.notProven = reports.map(\.id)
            return result
        }
        let log = CollectorLog(receiptKey: key)
        var opened: [Int: Checkpoint] = [:]
        var sizes: [Int: Checkpoint] = [:]
        for (position, note) in checkpoints.enumerated() {
            do throws(LogProblem) {
                let checkpoint = try log.open(note)
                if let other = sizes[checkpoint.size], other.root != checkpoint.root {
                    result.problems.append("two checkpoints of size \(checkpoint.size) with different roots: the log showed a split view")
                }
                sizes[checkpoint.size] = checkpoint
                opened[position] = checkpoint
            } catch {
                result.problems.append("checkpoint \(position + 1): \(error)")
            }
        }
        result.checkpointSize = opened.values.map(\.size).max()
        var byReport: [String: Inclusion] = [:]
        for inclusion in inclusions { byReport[inclusion.reportId] = inclusion }
        for report in reports {
            guard let inclusion = byReport[report.id] else {
                result.notProven.append(report.id)
                continue
            }
            guard let checkpoint = opened[inclusion.checkpoint] else {
                result.problems.append("report \(report.id): its proof names checkpoint \(inclusion.checkpoint + 1), which does not verify")
                continue
            }
            let hashes = inclusion.proof.map { try? Hash(base64: $0) }
            guard hashes.allSatisfy({ $0 != nil }) else {
                result.problems.append("report \(report.id): its inclusion proof holds a hash that is not base64 of 32 bytes")
                continue
            }
            do throws(ProofVerificationError) {
                try MerkleTree.verifyInclusion(
                    leafHash: CollectorLog.leaf(report.envelope), index: inclusion.index, treeSize: checkpoint.size, proof: hashes.compactMap { $0 },
                    root: checkpoint.root)
                result.included += 1
            } catch {
                result.problems.append(
                    "report \(report.id): not included at index \(inclusion.index) of the log's checkpoint of size \(checkpoint.size) (\(error))")
            }
        }
        return result
    }
}

/// Whether the bank's log includes every report of a claim, as checked offline from the bundle.
package struct LogInclusion: Codable, Sendable, Hashable {
    /// The receipt key whose log it is.
    package var logKeyId: String
    package var reports: Int
    /// Reports whose inclusion proof verified.
    package var included: Int
    /// Reports the agent had not yet proven (delivered after its last check, or never delivered).
    package var notProven: [String]
    /// Proofs or checkpoints that do not verify: the log does not hold what its receipts said.
    package var problems: [String]
    /// The largest checkpoint the proofs are against.
    package var checkpointSize: Int?

    package var everyReportIncluded: Bool { problems.isEmpty && notProven.isEmpty && included == reports }

    /// The checks of two bundles' reports together (a different log key is a problem).
    package func merged(with other: LogInclusion) -> LogInclusion {
        var merged = self
        merged.reports += other.reports
        merged.included += other.included
        merged.notProven += other.notProven
        merged.problems += other.problems
        if other.logKeyId != logKeyId { merged.problems.append("the bundles carry the logs of two receipt keys (\(logKeyId), \(other.logKeyId))") }
        merged.checkpointSize = [checkpointSize, other.checkpointSize].compactMap { $0 }.max()
        return merged
    }

    /// One line for people: whether the bank's log holds every report.
    package func summary(in language: Language) -> String {
        let ja = language == .ja
        let key = String(logKeyId.prefix(16))
        if everyReportIncluded {
            return ja
                ? "銀行のログ: \(reports) 件すべてのレポートの記録を確認 (受領鍵 \(key)…、チェックポイント \(checkpointSize ?? 0) 件)"
                : "collector log: all \(reports) report(s) proven included (receipt key \(key)…, checkpoint of \(checkpointSize ?? 0) entries)"
        }
        var line =
            ja
            ? "銀行のログ: \(reports) 件中 \(included) 件の記録を確認、未確認 \(notProven.count) 件 (受領鍵 \(key)…)"
            : "collector log: \(included) of \(reports) report(s) proven included, \(notProven.count) not yet proven (receipt key \(key)…)"
        if !problems.isEmpty { line += ja ? "; 不整合 \(problems.count) 件" : "; \(problems.count) problem(s)" }
        return line
    }
}
