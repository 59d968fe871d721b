package import Crypto
package import Foundation
package import PostureModel

/// Checks envelopes the way a bank would: each signature, payload type and schema, then the
/// chain across all of them (gaps, duplicates, forks, broken links, time running backwards).
/// Command-line order does not matter: envelopes are ordered by `chain.sequence`.
package struct ChainVerifier {
    /// One envelope handed over, with where it came from (`file` or `file:line`).
    package struct Item: Sendable {
        package var source: String
        package var bytes: Data
        package init(source: String, bytes: Data) {
            self.source = source
            self.bytes = bytes
        }
    }

    /// The verdict for one envelope.
    package struct Verdict: Sendable {
        package var source: String
        package var sequence: Int?
        package var reportID: String?
        package var problems: [String]
        package var ok: Bool { problems.isEmpty }
    }

    /// What verification found.
    package struct Outcome: Sendable {
        package var verdicts: [Verdict]
        /// Problems of the chain as a whole (gaps between the envelopes given).
        package var chainProblems: [String]
        /// The verified reports, in chain order.
        package var reports: [Report]
        /// Hex SHA-256 of each verified report's envelope bytes, parallel to `reports`.
        package var envelopeHashes: [String]
        package var ok: Bool { chainProblems.isEmpty && verdicts.allSatisfy(\.ok) }
    }

    package let key: Curve25519.Signing.PublicKey

    package init(key: Curve25519.Signing.PublicKey) { self.key = key }

    package func verify(_ items: [Item]) -> Outcome {
        struct Valid {
            var index: Int
            var report: Report
            var sequence: Int
            var sha256: String
        }
        var verdicts: [Verdict] = []
        var valid: [Valid] = []
        let keyID = DeviceKey.keyID(of: key)
        for (index, item) in items.enumerated() {
            var verdict = Verdict(source: item.source, sequence: nil, reportID: nil, problems: [])
            defer { verdicts.append(verdict) }
            guard let envelope = try? Envelope.decode(item.bytes) else {
                verdict.problems.append("not a DSSE envelope")
                continue
            }
            if envelope.payloadType != Envelope.reportType {
                verdict.problems.append("payload type is \(envelope.payloadType), not \(Envelope.reportType)")
            }
            let body = envelope.body
            if !envelope.signatures.contains(where: { $0.keyid == keyID }) {
                verdict.problems.append(
                    "not signed by key \(keyID.prefix(16))… (key ids: \(envelope.signatures.map { String($0.keyid.prefix(16)) }.joined(separator: ", ")))")
            } else if !(body.map { envelope.isSigned(by: key, body: $0) } ?? false) {
                verdict.problems.append("bad signature: the envelope was modified after signing")
            }
            guard let body, let report = try? PostureJSON.decoder().decode(Report.self, from: body) else {
                verdict.problems.append("payload is not a posture report")
                continue
            }
            verdict.reportID = report.id
            if report.schema != Report.schemaIdentifier { verdict.problems.append("schema is \(report.schema), not \(Report.schemaIdentifier)") }
            guard let chain = report.chain else {
                verdict.problems.append("report has no chain position")
                continue
            }
            verdict.sequence = chain.sequence
            // Sequences start at 1 (the collector refuses others too); gaps are computed on them.
            guard chain.sequence >= 1 else {
                verdict.problems.append("chain.sequence is \(chain.sequence); a chain starts at sequence 1")
                continue
            }
            if verdict.problems.isEmpty {
                valid.append(Valid(index: index, report: report, sequence: chain.sequence, sha256: sha256Hex(item.bytes)))
            }
        }

        var chainProblems: [String] = []
        let ordered = valid.sorted { ($0.sequence, $0.index) < ($1.sequence, $1.index) }
        var previous: Valid?
        for current in ordered {
            defer { previous = current }
            guard let last = previous else { continue }
            let source = items[last.index].source
            if current.sequence == last.sequence {
                if current.sha256 == last.sha256 {
                    verdicts[current.index].problems.append("duplicate of \(source) (sequence \(current.sequence))")
                } else {
                    verdicts[current.index].problems.append("fork: a different report also claims sequence \(current.sequence) (\(source))")
                }
                continue
            }
            if current.sequence - last.sequence > 1 {
                let missing = current.sequence - last.sequence - 1
                chainProblems.append("gap: \(missing) report(s) missing between sequence \(last.sequence) and \(current.sequence)")
                continue
            }
            if current.report.chain?.previous != last.sha256 {
                verdicts[current.index].problems.append(
                    "chain broken: sequence \(current.sequence) does not follow the report given as \(last.sequence) (\(source)); reordered, replaced or replayed"
                )
            }
            if current.report.collectedAt < last.report.collectedAt {
                verdicts[current.index].problems.append("time runs backwards: collected \(current.report.collectedAt) before sequence \(last.sequence)")
            }
        }
        let accepted = ordered.filter { verdicts[$0.index].ok }
        return Outcome(
            verdicts: verdicts, chainProblems: chainProblems, reports: accepted.map(\.report),
            envelopeHashes: accepted.map(\.sha256))
    }

    /// Checks one attestation envelope: payload type, signature by this key, and its content.
    package func attestation(_ bytes: Data, source: String) -> Result<Attestation, VerificationFailure> {
        guard let envelope = try? Envelope.decode(bytes) else { return .failure(.init(description: "\(source): not a DSSE envelope")) }
        guard envelope.payloadType == Envelope.attestationType else {
            return .failure(.init(description: "\(source): payload type is \(envelope.payloadType), not \(Envelope.attestationType)"))
        }
        let body = envelope.body
        guard let body, envelope.isSigned(by: key, body: body) else {
            return .failure(.init(description: "\(source): attestation not signed by key \(DeviceKey.keyID(of: key).prefix(16))… or modified after signing"))
        }
        guard let attestation = try? PostureJSON.decoder().decode(Attestation.self, from: body) else {
            return .failure(.init(description: "\(source): payload is not a posture attestation"))
        }
        return .success(attestation)
    }

    /// Why one piece of evidence did not verify.
    package struct VerificationFailure: Error, CustomStringConvertible, Sendable {
        package var description: String
    }

    /// Splits a file into envelopes: one envelope, or one per line (a journal export).
    package static func items(in data: Data, source: String) -> [Item] {
        if (try? Envelope.decode(data)) != nil { return [Item(source: source, bytes: data)] }
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.count > 1 {
            return lines.enumerated().compactMap { index, line in
                line.isEmpty ? nil : Item(source: "\(source):\(index + 1)", bytes: Data(line))
            }
        }
        return [Item(source: source, bytes: data)]
    }
}
