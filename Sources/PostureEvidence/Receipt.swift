package import Crypto
package import Foundation
import PostureModel

/// Where a report stands in its device's chain, as the receipt says.
package enum ChainStatus: String, Sendable, Codable {
    /// Follows the newest stored report (or is sequence 1 of a new device).
    case ok
    /// Reports are missing between the newest stored one and this one.
    case gap
    /// A second, different report at a position already filled, or one linking to anything but
    /// its stored predecessor (two machines holding one key, or a restored state directory).
    case fork
    /// A report for an earlier position that was never filled.
    case replay
}

/// The signed acknowledgement the collector returns for a stored report: the time of record is
/// `received_at` (the collector's clock), not the PC's.
package struct Receipt: Codable, Sendable, Equatable {
    package static let payloadType = "application/vnd.posture.receipt+json"

    package var reportId: String
    package var keyId: String
    package var envelopeSha256: String
    package var receivedAt: Date
    package var chain: ChainStatus
    /// The report's `chain.sequence` on its device.
    package var sequence: Int
    /// The envelope's leaf in the collector's audit log (RFC 6962: SHA-256(0x00 ‖ envelope bytes));
    /// nil from collectors without the log.
    package var logIndex: Int?

    package init(
        reportId: String, keyId: String, envelopeSha256: String, receivedAt: Date, chain: ChainStatus, sequence: Int, logIndex: Int? = nil
    ) {
        self.reportId = reportId
        self.keyId = keyId
        self.envelopeSha256 = envelopeSha256
        self.receivedAt = receivedAt
        self.chain = chain
        self.sequence = sequence
        self.logIndex = logIndex
    }
}

extension Receipt {
    /// Why a collector's answer is not a receipt for what was sent.
    package struct Invalid: Error, CustomStringConvertible, Sendable {
        package var description: String
    }

    /// The receipt in `data` when it is an envelope signed by `key` (the collector's, pinned at
    /// enrollment) that acknowledges exactly `envelope` under `reportID`.
    package static func verified(_ data: Data, key: Curve25519.Signing.PublicKey, reportID: String, envelope: Data) throws(Invalid) -> Receipt {
        guard let signed = try? Envelope.decode(data), signed.payloadType == payloadType, let body = signed.body else {
            throw Invalid(description: "the answer is not a receipt envelope")
        }
        guard signed.isSigned(by: key, body: body) else {
            throw Invalid(description: "the receipt is not signed by the collector key pinned at enrollment")
        }
        guard let receipt = try? PostureJSON.decoder().decode(Receipt.self, from: body) else {
            throw Invalid(description: "the receipt's payload is malformed")
        }
        guard receipt.reportId == reportID, receipt.envelopeSha256 == SHA256.hash(data: envelope).hexString else {
            throw Invalid(description: "the receipt acknowledges another report (\(receipt.reportId))")
        }
        return receipt
    }
}
