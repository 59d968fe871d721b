package import Foundation
import PostureEvidence
import PostureModel
import PostureReference
import Synchronization

/// One staff token as the tokens file keeps it: its SHA-256 (never the token), what it may read
/// and until when. A line: `sha256:HEX scope=bank|contract:ID expires=RFC3339 [name=LABEL]`.
package struct StaffToken: Sendable, Equatable {
    /// What a token may read and assess.
    package enum Scope: Sendable, Equatable, CustomStringConvertible {
        /// Every contract.
        case bank
        /// One contract's devices only.
        case contract(String)

        package init?(_ text: String) {
            if text == "bank" {
                self = .bank
                return
            }
            guard text.hasPrefix("contract:"), text.count > "contract:".count, !text.contains(where: \.isWhitespace) else { return nil }
            self = .contract(String(text.dropFirst("contract:".count)))
        }

        package func allows(contract: String) -> Bool {
            switch self {
            case .bank: return true
            case .contract(let id): return id == contract
            }
        }

        package var description: String {
            switch self {
            case .bank: return "bank"
            case .contract(let id): return "contract:\(id)"
            }
        }
    }

    package var sha256: String
    package var scope: Scope
    package var expires: Date
    package var name: String?

    /// The short id `token revoke` and `token list` name a token by.
    package var id: String { String(sha256.prefix(12)) }

    package func allows(contract: String) -> Bool { scope.allows(contract: contract) }

    package var line: String {
        "sha256:\(sha256) scope=\(scope) expires=\(RFC3339.string(from: expires))" + (name.map { " name=\($0)" } ?? "")
    }
}

/// The staff tokens file: digests only, never readable by group or others (the collector refuses
/// to start otherwise). Re-read when it changes, so `token revoke` takes effect without a restart.
package final class StaffTokens: Sendable {
    package let file: String
    /// The tokens last read, and the file's identity and times when they were.
    private let loaded: Mutex<(tokens: [StaffToken], stamp: [FileAttributeKey: AnyHashable])>

    package init(file: String) throws {
        self.file = file
        loaded = Mutex(try Self.load(file))
    }

    static func load(_ file: String) throws -> ([StaffToken], [FileAttributeKey: AnyHashable]) {
        let attributes = try Self.attributes(file)
        let mode = (attributes[.posixPermissions] as? Int) ?? 0
        guard mode & 0o077 == 0 else {
            throw LocatedError(
                file: file, line: nil, message: String(format: "the staff tokens file is readable by others (mode %03o): chmod 600 %@", mode, file),
                kind: .permissionDenied)
        }
        let tokens = try parse(String(decoding: try LocatedError.readFile(file), as: UTF8.self), file: file)
        return (tokens, Self.stamp(attributes))
    }

    static func attributes(_ file: String) throws -> [FileAttributeKey: Any] {
        do { return try FileManager.default.attributesOfItem(atPath: file) } catch {
            throw LocatedError(file: file, line: nil, message: "cannot read the staff tokens file", kind: .missing)
        }
    }

    static func stamp(_ attributes: [FileAttributeKey: Any]) -> [FileAttributeKey: AnyHashable] {
        var out: [FileAttributeKey: AnyHashable] = [:]
        for key in [FileAttributeKey.modificationDate, .size, .systemFileNumber, .posixPermissions] {
            if let value = attributes[key] as? AnyHashable { out[key] = value }
        }
        return out
    }

    package static func parse(_ text: String, file: String) throws -> [StaffToken] {
        var out: [StaffToken] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            var fields: [String: String] = [:]
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            for word in words.dropFirst() {
                guard let equals = word.firstIndex(of: "=") else { continue }
                fields[String(word[..<equals])] = String(word[word.index(after: equals)...])
            }
            guard let digest = words.first, digest.hasPrefix("sha256:"), digest.count == 71,
                digest.dropFirst(7).allSatisfy(\.isHexDigit), let scope = fields["scope"].flatMap(StaffToken.Scope.init),
                let expires = fields["expires"].flatMap({ RFC3339.date(from: $0) })
            else {
                throw LocatedError(
                    file: file, line: index + 1,
                    message: """
                        not 'sha256:HEX scope=bank|contract:ID expires=RFC3339 [name=LABEL]' (tokens are kept as digests: \
                        make them with posture-collector token issue-staff)
                        """)
            }
            out.append(StaffToken(sha256: String(digest.dropFirst(7)).lowercased(), scope: scope, expires: expires, name: fields["name"]))
        }
        return out
    }

    /// The token behind `Authorization: Bearer TOKEN`, if it is known and has not expired.
    package func authenticate(authorization: String?, now: Date = Date()) throws(RequestError) -> StaffToken {
        guard let authorization, authorization.hasPrefix("Bearer ") else {
            throw RequestError.unauthorized("a staff token is required: Authorization: Bearer TOKEN")
        }
        return try authenticate(token: authorization.dropFirst("Bearer ".count).trimmingCharacters(in: .whitespaces), now: now)
    }

    package func authenticate(token: String, now: Date = Date()) throws(RequestError) -> StaffToken {
        let digest = sha256Hex(Data(token.utf8))
        guard !token.isEmpty, let found = current().first(where: { $0.sha256 == digest }) else {
            throw RequestError.unauthorized("unknown or revoked staff token")
        }
        guard found.expires > now else { throw RequestError.unauthorized("the staff token \(found.id) expired at \(RFC3339.string(from: found.expires))") }
        return found
    }

    /// The token with this digest while it is still in the file and unexpired: a console session
    /// ends when its token is revoked or expires.
    package func current(sha256: String, now: Date = Date()) -> StaffToken? {
        current().first { $0.sha256 == sha256 && $0.expires > now }
    }

    /// The tokens as the file says now; a file that became unreadable or malformed keeps none.
    func current() -> [StaffToken] {
        loaded.withLock { loaded in
            let now = (try? Self.attributes(file)).map(Self.stamp)
            if now != loaded.stamp {
                loaded = ((try? Self.load(file).0) ?? [], now ?? [:])
            }
            return loaded.tokens
        }
    }

    /// Makes a staff token, appends its digest to `file` (created 0600) and returns the token.
    package static func issue(file: String, scope: StaffToken.Scope, lifetime: TimeInterval, name: String?, now: Date = Date()) throws
        -> (token: String, entry: StaffToken)
    {
        let token = Secrets.token(prefix: Secrets.staffPrefix)
        let entry = StaffToken(sha256: sha256Hex(Data(token.utf8)), scope: scope, expires: now.addingTimeInterval(lifetime), name: name)
        let existing = FileManager.default.fileExists(atPath: file) ? try load(file).0 : []
        try write(existing + [entry], to: file)
        return (token, entry)
    }

    /// Removes the tokens whose id (or token) is `id`; the number removed.
    package static func revoke(file: String, id: String) throws -> Int {
        let digest = sha256Hex(Data(id.utf8))
        let existing = try load(file).0
        let kept = existing.filter { !(id.count >= 8 && $0.sha256.hasPrefix(id.lowercased())) && $0.sha256 != digest }
        if kept.count != existing.count { try write(kept, to: file) }
        return existing.count - kept.count
    }

    package static func list(file: String) throws -> [StaffToken] { try load(file).0 }

    static func write(_ tokens: [StaffToken], to file: String) throws {
        let text =
            "# posture-collector staff tokens (digests): sha256:HEX scope=… expires=… [name=…]\n"
            + tokens.map { $0.line + "\n" }.joined()
        let temporary = file + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw LocatedError(file: file, line: nil, message: "cannot write the staff tokens file", kind: .permissionDenied)
        }
        guard rename(temporary, file) == 0 else {
            unlink(temporary)
            throw LocatedError(file: file, line: nil, message: "cannot replace the staff tokens file", kind: .permissionDenied)
        }
    }
}
