import Crypto
import Foundation
import PostureCollector
import PostureEvidence
import PostureModel
import Synchronization

/// A signed-in console user: the staff token it was opened with (by digest only), what it may
/// see, its CSRF token, and when it ends. Only the SHA-256 of the session cookie is kept.
struct ConsoleSession: Sendable {
    var staffSha256: String
    var scope: StaffToken.Scope
    /// The token's short id and name, as kept assessments record who ran them.
    var staffLabel: String
    var csrf: String
    var expires: Date
}

/// The console's sessions, in memory: a restart signs everyone out. A session ends at sign-out,
/// at its expiry, or as soon as its staff token is revoked or expires.
final class ConsoleSessions: Sendable {
    static let cookie = "posture_session"
    /// The pre-session cookie the sign-in form's CSRF token is checked against.
    static let signInCookie = "posture_signin"
    static let languageCookie = "posture_lang"

    let lifetime: TimeInterval
    private let sessions = Mutex<[String: ConsoleSession]>([:])

    init(lifetime: TimeInterval) { self.lifetime = lifetime }

    /// Opens a session for `staff`; returns the cookie value (shown once, never stored).
    func open(staff: StaffToken, now: Date = Date()) -> (cookie: String, session: ConsoleSession) {
        let cookie = Self.random()
        let session = ConsoleSession(
            staffSha256: staff.sha256, scope: staff.scope, staffLabel: staff.id + (staff.name.map { " (\($0))" } ?? ""),
            csrf: Self.random(), expires: min(staff.expires, now.addingTimeInterval(lifetime)))
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > now }
            sessions[Self.digest(cookie)] = session
        }
        return (cookie, session)
    }

    /// The live session behind a cookie value, checked against the staff tokens file.
    func session(cookie: String?, tokens: StaffTokens, now: Date = Date()) -> ConsoleSession? {
        guard let cookie, !cookie.isEmpty else { return nil }
        let key = Self.digest(cookie)
        return sessions.withLock { sessions -> ConsoleSession? in
            guard let session = sessions[key] else { return nil }
            guard session.expires > now, tokens.current(sha256: session.staffSha256, now: now) != nil else {
                sessions[key] = nil
                return nil
            }
            return session
        }
    }

    func close(cookie: String?) {
        guard let cookie else { return }
        _ = sessions.withLock { $0.removeValue(forKey: Self.digest(cookie)) }
    }

    /// 32 random bytes, base64url.
    static func random() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func digest(_ text: String) -> String { sha256Hex(Data(text.utf8)) }

    /// Compares two secrets in time that does not depend on where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// A request's cookies and form fields.
enum ConsoleRequestParsing {
    /// `name=value` pairs of a Cookie header.
    static func cookies(_ header: String?) -> [String: String] {
        var out: [String: String] = [:]
        for part in (header ?? "").split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            out[pair[0].trimmingCharacters(in: .whitespaces)] = pair[1].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// An `application/x-www-form-urlencoded` body; a repeated field keeps every value.
    static func form(_ body: Data) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            out[decode(parts[0]), default: []].append(parts.count > 1 ? decode(parts[1]) : "")
        }
        return out
    }
}
