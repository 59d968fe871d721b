import Crypto
package import Foundation
package import PostureEvidence

/// Secrets the collector hands out: tokens that are safe to paste after a flag (a fixed prefix, so
/// never a leading `-`, and recognisable by secret scanners) and stateless enrollment nonces.
package enum Secrets {
    package static let enrollmentPrefix = "pst_enroll_"
    package static let staffPrefix = "pst_staff_"

    /// `prefix` followed by 32 random bytes in base64url without padding.
    package static func token(prefix: String) -> String {
        prefix + base64URL(random(32))
    }

    static func random(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in generator.next() as UInt8 })
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unBase64URL(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}

/// Enrollment nonces that need no storage: expiry and randomness authenticated with a key derived
/// from the receipt key, so every collector sharing that key accepts them.
package struct NonceIssuer: Sendable {
    package static let lifetime: TimeInterval = 300
    let key: SymmetricKey

    package init(receiptKey: DeviceKey) {
        key = SymmetricKey(data: SHA256.hash(data: Data("posture-collector enrollment nonce".utf8) + receiptKey.privateKey.rawRepresentation))
    }

    package func issue(now: Date = Date()) -> String {
        var expiry = UInt64(now.addingTimeInterval(Self.lifetime).timeIntervalSince1970).bigEndian
        let body = Data(bytes: &expiry, count: 8) + Secrets.random(16)
        return Secrets.base64URL(body + Data(HMAC<SHA256>.authenticationCode(for: body, using: key)))
    }

    /// Whether `nonce` was issued by this collector and has not expired.
    package func isValid(_ nonce: String, now: Date = Date()) -> Bool {
        guard nonce.count < 100, let raw = Secrets.unBase64URL(nonce), raw.count == 56 else { return false }
        let body = raw.prefix(24)
        guard HMAC<SHA256>.isValidAuthenticationCode(raw.suffix(32), authenticating: body, using: key) else { return false }
        let expiry = body.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Double(expiry) >= now.timeIntervalSince1970
    }
}
