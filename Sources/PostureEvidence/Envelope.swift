package import Crypto
package import Foundation
package import PostureModel

/// A DSSE (in-toto signing envelope) holding one signed report.
///
/// `payload` is base64 of the report bytes; each signature is Ed25519 over
/// PAE = "DSSEv1" SP len(type) SP type SP len(body) SP body.
package struct Envelope: Codable, Sendable, Hashable {
    /// One signature: the signer's key id and the base64 signature.
    package struct Signature: Codable, Sendable, Hashable {
        package var keyid: String
        package var sig: String
    }

    package static let reportType = "application/vnd.posture.report+json"
    /// A staff declaration (`posture attest`), signed by the device key like a report.
    package static let attestationType = "application/vnd.posture.attestation+json"

    package var payloadType: String
    package var payload: String
    package var signatures: [Signature]

    /// Pre-authentication encoding of DSSE v1.
    package static func pae(type: String, body: Data) -> Data {
        var out = Data("DSSEv1 \(type.utf8.count) \(type) \(body.count) ".utf8)
        out.append(body)
        return out
    }

    /// Signs `body` (the report bytes) with `key`.
    package static func sign(body: Data, type: String = reportType, key: DeviceKey) throws -> Envelope {
        let signature = try key.privateKey.signature(for: pae(type: type, body: body))
        return Envelope(
            payloadType: type, payload: body.base64EncodedString(),
            signatures: [Signature(keyid: key.keyID, sig: signature.base64EncodedString())])
    }

    /// The envelope bytes of `report` signed by `key`; the report's chain link is the caller's to set.
    package static func signedReport(_ report: Report, key: DeviceKey) throws -> Data {
        try sign(body: try PostureJSON.encoder().encode(report), key: key).encoded()
    }

    /// The exact bytes of the envelope as written to files and journals (no trailing newline).
    package func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    package static func decode(_ data: Data) throws -> Envelope {
        try JSONDecoder().decode(Envelope.self, from: data)
    }

    /// The payload bytes, or nil when `payload` is not base64.
    package var body: Data? { Data(base64Encoded: payload) }

    /// Whether a signature by `key` over this envelope verifies.
    package func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
        guard let body else { return false }
        return isSigned(by: key, body: body)
    }

    /// `isSigned(by:)` for a caller that has already decoded the payload (`body`), which is then
    /// not decoded again: a report's base64 is tens of kilobytes.
    package func isSigned(by key: Curve25519.Signing.PublicKey, body: Data) -> Bool {
        let message = Self.pae(type: payloadType, body: body)
        let keyID = DeviceKey.keyID(of: key)
        return signatures.contains { signature in
            signature.keyid == keyID && Data(base64Encoded: signature.sig).map { key.isValidSignature($0, for: message) } == true
        }
    }
}

/// Hex SHA-256 of bytes, the hash the chain links envelopes with.
package func sha256Hex(_ data: Data) -> String { SHA256.hash(data: data).hexString }
