import Crypto
import Foundation
import GRDB
import PostureModel
import PostureProbes
import SwiftASN1
import X509

/// Certificates that browsers' NSS databases trust for TLS servers. Firefox keeps a `cert9.db`
/// in each profile, Chromium one per user in `~/.pki/nssdb`. NSS's built-in roots live in
/// `libnssckbi`, not in these files, so every certificate they trust for servers was added, by
/// the user, an installer or an attacker.
struct BrowserTrustStores {
    let root: ScanRoot
    /// What each database's bytes were found to trust, from the last scan; nil reads every one.
    var cache: ScanCache?

    /// Folders, relative to a home, that are NSS databases themselves (Chromium's, per user).
    static let databaseFolders = [".pki/nssdb", "snap/chromium/current/.pki/nssdb"]

    /// NSS stores CK_ULONG attributes as 4 big-endian bytes in columns named `a` + the attribute
    /// type in hex: `a0` CKA_CLASS, `a11` CKA_VALUE, `a81` CKA_ISSUER, `a82` CKA_SERIAL_NUMBER.
    enum Attribute {
        static let objectClass = "a0", value = "a11", issuer = "a81", serial = "a82"
        /// CKA_NSS_TRUST_SERVER_AUTH (NSS's own trust objects) and CKA_TRUST_SERVER_AUTH (PKCS #11 3.2).
        static let nssServerAuth = "ace536358", pkcsServerAuth = "a62c"
    }

    enum ObjectClass {
        static let certificate: UInt64 = 0x1
        static let nssTrust: UInt64 = 0xCE53_4353
        static let pkcsTrust: UInt64 = 0xB
    }

    /// Trust values that make a certificate trusted for servers: a trusted peer, or a CA (NSS's
    /// CKT_NSS_TRUSTED, CKT_NSS_TRUSTED_DELEGATOR; PKCS #11 3.2's CKT_TRUSTED, CKT_TRUST_ANCHOR).
    static let serverTrust: [UInt64: Set<UInt64>] = [
        ObjectClass.nssTrust: [0xCE53_4351, 0xCE53_4352],
        ObjectClass.pkcsTrust: [0x1, 0x2]
    ]

    /// Certificates trusted for servers in the NSS databases of `homes`, and the databases (or
    /// the folders that would hold them) that could not be read.
    func addedCertificates(homes: [String]) -> (
        certificates: [IntegrityEvidence.ExtraCertificate],
        unreadable: [IntegrityEvidence.UnreadableStore]
    ) {
        var found: [IntegrityEvidence.ExtraCertificate] = []
        var unreadable: [IntegrityEvidence.UnreadableStore] = []
        func note(_ error: ProbeError, _ folder: String) {
            switch error {
            case .unreadable(let path, let reason), .malformed(let path, let reason):
                unreadable.append(.init(path: path, reason: reason))
            default:
                unreadable.append(.init(path: root.display(folder), reason: error.description))
            }
        }
        for home in homes {
            do {
                guard try entries(home) != nil else { continue }
            } catch {
                note(error, home)
                continue
            }
            var folders = Self.databaseFolders.map { "\(home)/\($0)" }
            for base in CredentialsProbe.firefoxRoots {
                do {
                    folders += (try entries("\(home)/\(base)") ?? []).map { "\(home)/\(base)/\($0)" }
                } catch {
                    note(error, "\(home)/\(base)")
                }
            }
            for folder in folders {
                do {
                    guard try entries(folder)?.contains("cert9.db") == true else { continue }
                    let file = "\(folder)/cert9.db"
                    for certificate in try Self.trustedForServers(root: root, file: file, cache: cache) {
                        found.append(.init(path: root.display(file), subject: certificate.subject, sha256: certificate.sha256))
                    }
                } catch {
                    note(error, folder)
                }
            }
        }
        return (found.sorted { ($0.path, $0.subject) < ($1.path, $1.subject) }, unreadable.sorted { $0.path < $1.path })
    }

    /// The names in `directory`; nil when it does not exist or is not a directory.
    /// - Throws: `ProbeError.unreadable` when it exists but cannot be searched or listed.
    private func entries(_ directory: String) throws(ProbeError) -> [String]? {
        switch root.openDirectory(directory) {
        case .failure(let error) where error.isNotFound: return nil
        case .failure(let error): throw ProbeError.unreadable(path: root.display(directory), reason: error.description)
        case .success(let fd): Platform.closeFile(fd)
        }
        return try root.list(directory)
    }

    /// Subjects and SHA-256 fingerprints of the certificates an NSS `cert9.db` trusts for servers:
    /// those whose trust object (matched by issuer and serial number) says so. With a cache, the
    /// answer is kept under the SHA-256 of the database's bytes and reused while they are the same.
    static func trustedForServers(root: ScanRoot, file: String, cache: ScanCache? = nil) throws(ProbeError) -> [(subject: String, sha256: String)] {
        struct NotNSS: Error, CustomStringConvertible {
            var description: String { "the nssPublic table lacks the certificate columns" }
        }
        /// The key of bytes the cache had no answer for.
        var missed: String?
        let reusing = cache.map { cache in
            { (digest: String) -> [(subject: String, sha256: String)]? in
                let key = "nss\u{0}\(digest)"
                if let stored = cache.value(key).flatMap(TrustedCertificates.decode) { return stored }
                missed = key
                return nil
            }
        }
        let trusted = try SQLiteSnapshot.read(
            root: root, file: file, kind: "NSS certificate database", tables: ["nssPublic"], reusing: reusing
        ) { db -> [(subject: String, sha256: String)] in
            let columns = Set(try db.columns(in: "nssPublic").map(\.name))
            let needed = [Attribute.objectClass, Attribute.value, Attribute.issuer, Attribute.serial]
            guard columns.isSuperset(of: needed) else { throw NotNSS() }
            let trust = [Attribute.nssServerAuth, Attribute.pkcsServerAuth].filter(columns.contains)
            return trustedForServers(try Row.fetchAll(db, sql: "SELECT \((needed + trust).joined(separator: ", ")) FROM nssPublic"))
        }
        if let cache, let missed { cache.store(missed, TrustedCertificates.encode(trusted)) }
        return trusted
    }

    /// The certificates among `rows` of `nssPublic` that a trust object marks as trusted for servers.
    private static func trustedForServers(_ rows: [Row]) -> [(subject: String, sha256: String)] {
        var certificates: [(key: Data, der: Data)] = []
        var trusted = Set<Data>()
        for row in rows {
            let objectClass = number(row[Attribute.objectClass])
            let key = (blob(row[Attribute.issuer]) ?? Data()) + (blob(row[Attribute.serial]) ?? Data())
            if objectClass == ObjectClass.certificate, let der = blob(row[Attribute.value]) {
                certificates.append((key, der))
            } else if let objectClass, let values = serverTrust[objectClass] {
                let column = objectClass == ObjectClass.nssTrust ? Attribute.nssServerAuth : Attribute.pkcsServerAuth
                if row.hasColumn(column), let value = number(row[column]), values.contains(value) { trusted.insert(key) }
            }
        }
        return certificates.filter { trusted.contains($0.key) }.map { certificate in
            let subject = (try? Certificate(derEncoded: Array(certificate.der)))?.subject.description ?? "unparsable certificate"
            return (subject, SHA256.hash(data: certificate.der).hexString)
        }
    }

    private static func blob(_ value: DatabaseValue?) -> Data? {
        guard let value else { return nil }
        return Data.fromDatabaseValue(value) ?? String.fromDatabaseValue(value).map { Data($0.utf8) }
    }

    /// A CK_ULONG attribute: up to 8 big-endian bytes.
    private static func number(_ value: DatabaseValue?) -> UInt64? {
        guard let bytes = blob(value), (1...8).contains(bytes.count) else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// Subjects and fingerprints of certificates as the scan cache keeps them: JSON, `[[subject, sha256]]`.
enum TrustedCertificates {
    static func encode(_ certificates: [(subject: String, sha256: String)]) -> [UInt8] {
        Array((try? JSONEncoder().encode(certificates.map { [$0.subject, $0.sha256] })) ?? Data("[]".utf8))
    }

    /// nil unless every entry is a subject and 64 hex digits.
    static func decode(_ bytes: [UInt8]) -> [(subject: String, sha256: String)]? {
        guard let pairs = try? JSONDecoder().decode([[String]].self, from: Data(bytes)) else { return nil }
        var certificates: [(subject: String, sha256: String)] = []
        for pair in pairs {
            guard pair.count == 2, pair[1].isSHA256Hex else { return nil }
            certificates.append((pair[0], pair[1]))
        }
        return certificates
    }
}
