package import Crypto
package import Foundation

/// Proof that an enrollment comes from the holder of the key it enrolls: the device signs the
/// token, its public key and a fresh collector nonce (`GET /v1/enroll/challenge`), as DSSE PAE of
/// type `application/vnd.posture.enrollment` over `token LF public_key LF nonce`.
package enum EnrollmentProof {
    package static let type = "application/vnd.posture.enrollment"

    package static func message(token: String, publicKey: String, nonce: String) -> Data {
        Envelope.pae(type: type, body: Data("\(token)\n\(publicKey)\n\(nonce)".utf8))
    }

    /// The base64 signature `posture enroll` sends.
    package static func sign(token: String, nonce: String, key: DeviceKey) throws -> String {
        try key.privateKey.signature(for: message(token: token, publicKey: key.publicLine, nonce: nonce)).base64EncodedString()
    }

    /// Whether `signature` (base64) is `key`'s over the enrollment of `publicKey` with `token` and `nonce`.
    package static func verify(
        _ signature: String, token: String, publicKey: String, nonce: String,
        key: Curve25519.Signing.PublicKey
    ) -> Bool {
        guard let raw = Data(base64Encoded: signature) else { return false }
        return key.isValidSignature(raw, for: message(token: token, publicKey: publicKey, nonce: nonce))
    }
}
