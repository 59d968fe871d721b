public import Crypto
public import Foundation
public import PostureModel

/// A DSSE (in-toto signing envelope) holding one signed report.
///
/// `payload` is base64 of the report bytes; each signature is Ed25519 over
/// PAE = "DSSEv1" SP len(type) SP type SP len(body) SP body.
public struct Envelope: Codable, Sendable, Hashable {
    /// One signature: the signer's key id and the base64 signature.
    public struct Signature: Codable, Sendable, Hashable {
        public var keyid: String
        public var sig: String
    }

    public static let reportType = "application/vnd.posture.report+json"
    /// A staff declaration (`posture attest`), signed by the device key like a report.
    public static let attestationType = "application/vnd.posture.attestation+json"

    public var payloadType: String
    public var payload: String
    public var signatures: [Signature]

    /// Pre-authentication encoding of DSSE v1.
    public static func pae(type: String, body: Data) -> Data {
        var out = Data("DSSEv1 \(type.utf8.count) \(type) \(body.count) ".utf8)
        out.append(body)
        return out
    }

    /// Signs `body` (the report bytes) with `key`.
    public static func sign(body: Data, type: String = reportType, key: DeviceKey) throws -> Envelope {
        let signature = try key.privateKey.signature(for: pae(type: type, body: body))
        return Envelope(
            payloadType: type, payload: body.base64EncodedString(),
            signatures: [Signature(keyid: key.keyID, sig: signature.base64EncodedString())])
    }

    /// The envelope bytes of `report` signed by `key`; the report's chain link is the caller's to set.
    public static func signedReport(_ report: Report, key: DeviceKey) throws -> Data {
        try sign(body: try PostureJSON.encoder().encode(report), key: key).encoded()
    }

    /// The exact bytes of the envelope as written to files and journals (no trailing newline).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> Envelope {
        try JSONDecoder().decode(Envelope.self, from: data)
    }

    /// The payload bytes, or nil when `payload` is not base64.
    public var body: Data? { Data(base64Encoded: payload) }

    /// Whether a signature by `key` over this envelope verifies.
    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
        guard let body else { return false }
        let message = Self.pae(type: payloadType, body: body)
        let keyID = DeviceKey.keyID(of: key)
        return signatures.contains { signature in
            signature.keyid == keyID && Data(base64Encoded: signature.sig).map { key.isValidSignature($0, for: message) } == true
        }
    }
}

/// Hex SHA-256 of bytes, the hash the chain links envelopes with.
public func sha256Hex(_ data: Data) -> String { SHA256.hash(data: data).hexString }
