import Foundation
import PostureModel
import PostureTestSupport
import Testing

@testable import PostureIntegrity
@testable import PostureProbes

/// What certificate stores trust is kept in the scan cache under the SHA-256 of their bytes: a
/// rescan reuses it while the bytes are the same, and reads again (to what `certutil` and
/// `openssl` made) the moment they change, whatever the file's dates say.
@Suite struct CertificateStoreCacheTests {
    static func certificate(_ directory: TemporaryRoot, subject: String) throws -> String {
        let result = try Fixtures.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                directory.url("key.pem").path, "-out", directory.url("certificate.pem").path, "-days", "30", "-subj", subject
            ])
        #expect(result.status == 0, "\(result.stderr)")
        return try String(contentsOf: directory.url("certificate.pem"), encoding: .utf8)
    }

    /// SHA-256 of a PEM certificate's DER, from `openssl x509 -fingerprint`.
    static func fingerprint(_ directory: TemporaryRoot, _ pem: String) throws -> String {
        let file = try directory.write("fingerprint.pem", pem)
        let result = try Fixtures.run("/usr/bin/openssl", ["x509", "-noout", "-fingerprint", "-sha256", "-in", file.path])
        return String(result.stdout.split(separator: "=").last ?? "").replacingOccurrences(of: ":", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// The scanned root, a folder for making certificates, and the state directory.
    static func folders() throws -> (root: TemporaryRoot, work: TemporaryRoot, state: TemporaryRoot) {
        (try TemporaryRoot("certificate-cache-root"), try TemporaryRoot("certificates"), try TemporaryRoot("certificate-cache-state"))
    }

    static func certutil(_ database: URL, _ arguments: [String]) throws {
        let result = try Fixtures.run("/usr/bin/certutil", arguments + ["-d", "sql:\(database.path)"])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func anNSSDatabaseIsReadAgainOnlyWhenItsBytesChange() throws {
        let (root, work, state) = try Self.folders()
        let evil = try Self.certificate(work, subject: "/CN=Evil Interception CA")
        let peer = try Self.certificate(work, subject: "/CN=www.ib.bank.example.jp")
        let database = root.url("home/alice/.pki/nssdb")
        try Fixtures.nssDatabase(at: database, [("evil", evil, "C,,")])
        let scanRoot = try ScanRoot(root.path)

        func read() throws -> (fingerprints: Set<String>, hits: Int) {
            let cache = ScanCache(directory: state.path, root: scanRoot)
            let found = BrowserTrustStores(root: scanRoot, cache: cache).addedCertificates(homes: ["home/alice"])
            #expect(found.unreadable.isEmpty, "\(found.unreadable)")
            try cache.save()
            return (Set(found.certificates.map(\.sha256)), cache.hits)
        }
        let evilPrint = try Self.fingerprint(work, evil), peerPrint = try Self.fingerprint(work, peer)
        let first = try read()
        #expect(first.fingerprints == [evilPrint] && first.hits == 0)
        let second = try read()
        #expect(second.fingerprints == [evilPrint] && second.hits == 1, "unchanged bytes: the answer comes from the cache")

        let pem = work.url("peer.pem")
        try Data(peer.utf8).write(to: pem)
        try Self.certutil(database, ["-A", "-n", "peer", "-t", "P,,", "-i", pem.path])
        let added = try read()
        #expect(added.fingerprints == [evilPrint, peerPrint] && added.hits == 0, "a certificate added: read again")
        try Self.certutil(database, ["-M", "-n", "evil", "-t", ",,"])
        let distrusted = try read()
        #expect(distrusted.fingerprints == [peerPrint] && distrusted.hits == 0, "a trust removed: read again")
        #expect(try read().hits == 1)
    }

    @Test func aTrustStoreFileIsParsedAgainOnlyWhenItsTextChanges() throws {
        let (root, work, state) = try Self.folders()
        let first = try Self.certificate(work, subject: "/CN=Corporate Proxy CA")
        let second = try Self.certificate(work, subject: "/CN=Second CA")
        try root.write("usr/local/share/ca-certificates/proxy.crt", first)
        let scanRoot = try ScanRoot(root.path)

        func read() throws -> (fingerprints: [String], hits: Int) {
            let cache = ScanCache(directory: state.path, root: scanRoot)
            let tampering = SystemTampering(root: scanRoot, cache: cache)
            let found = tampering.extraCertificates(in: tampering.trustStoreFiles(), owned: OwnedPaths())
            try cache.save()
            return (found.map(\.sha256), cache.hits)
        }
        let firstPrint = try Self.fingerprint(work, first), secondPrint = try Self.fingerprint(work, second)
        #expect(try read() == ([firstPrint], 0))
        #expect(try read() == ([firstPrint], 1))
        // Same size class, same name, the date put back: the text differs, so it is parsed again.
        let path = root.url("usr/local/share/ca-certificates/proxy.crt").path
        let dates = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        try root.write("usr/local/share/ca-certificates/proxy.crt", first + second)
        if let dates { try FileManager.default.setAttributes([.modificationDate: dates], ofItemAtPath: path) }
        let both = try read()
        #expect(Set(both.fingerprints) == [firstPrint, secondPrint] && both.hits == 0)
    }

    /// Of the system trust store, only what no package provided is reported: not the links
    /// `update-ca-certificates` makes into `/usr/share/ca-certificates`, not a file a package owns,
    /// not the hash links `openssl rehash` makes to a sibling, not the generated bundle; a file of
    /// no package is, once, and so is everything under `/usr/local/share/ca-certificates`.
    @Test func theSystemTrustStoreReportsOnlyWhatNoPackageProvided() throws {
        let (root, work, _) = try Self.folders()
        let mozilla = try Self.certificate(work, subject: "/CN=Packaged Root CA")
        let rogue = try Self.certificate(work, subject: "/CN=Rogue CA")
        let vendor = try Self.certificate(work, subject: "/CN=Vendor CA")
        let local = try Self.certificate(work, subject: "/CN=Local CA")
        try root.write("etc/ssl/certs/rogue.pem", rogue)
        try root.write("etc/ssl/certs/vendor.pem", vendor)
        // Before the links below, which lead nowhere outside the root.
        let rehash = try Fixtures.run("/usr/bin/openssl", ["rehash", root.url("etc/ssl/certs").path])
        #expect(rehash.status == 0, "\(rehash.stderr)")
        let links = try FileManager.default.contentsOfDirectory(atPath: root.url("etc/ssl/certs").path).filter { $0.hasSuffix(".0") }
        #expect(links.count == 2, "openssl rehash linked \(links)")
        try root.write("usr/share/ca-certificates/mozilla/Packaged_Root_CA.crt", mozilla)
        try root.symlink("etc/ssl/certs/Packaged_Root_CA.pem", to: "/usr/share/ca-certificates/mozilla/Packaged_Root_CA.crt")
        try root.write("etc/ssl/certs/ca-certificates.crt", mozilla + rogue + vendor + local)
        try root.write("usr/local/share/ca-certificates/local.crt", local)
        try root.symlink("etc/ssl/certs/local.pem", to: "/usr/local/share/ca-certificates/local.crt")
        let scanRoot = try ScanRoot(root.path)
        let collector = OwnedPathsCollector(root: scanRoot)
        collector.insert(contentsOf: ["/etc/ssl/certs/vendor.pem", "/usr/local/share/ca-certificates/local.crt"])
        let tampering = SystemTampering(root: scanRoot, cache: nil)
        let found = tampering.extraCertificates(in: tampering.trustStoreFiles(), owned: collector.sealed())
        #expect(found.map(\.path) == ["/etc/ssl/certs/rogue.pem", "/usr/local/share/ca-certificates/local.crt"])
        #expect(found.map(\.sha256) == [try Self.fingerprint(work, rogue), try Self.fingerprint(work, local)])
    }

    /// What the cache keeps for a store decodes only as pairs of a subject and a lower-case
    /// SHA-256; anything else is a miss (the store is read again), never a list of other things.
    @Test(
        arguments: [
            ("[]", 0), ("[[\"CN=A\",\"\(String(repeating: "a", count: 64))\"]]", 1),
            ("[[\"CN=A\",\"\(String(repeating: "a", count: 64))\"],[\"\",\"\(String(repeating: "0", count: 64))\"]]", 2),
            ("", nil), ("[[\"CN=A\",\"\(String(repeating: "a", count: 64))\"]", nil), ("{}", nil), ("[[\"CN=A\"]]", nil),
            ("[[\"CN=A\",\"\(String(repeating: "a", count: 64))\",\"x\"]]", nil), ("[[\"CN=A\",\"\(String(repeating: "A", count: 64))\"]]", nil),
            ("[[\"CN=A\",\"\(String(repeating: "g", count: 64))\"]]", nil), ("[[\"CN=A\",\"\(String(repeating: "a", count: 63))\"]]", nil),
            ("[[\"CN=A\",1]]", nil), ("[\"CN=A\"]", nil)
        ] as [(String, Int?)])
    func aCachedStoreDecodesOnlyAsSubjectsAndFingerprints(_ stored: String, _ count: Int?) {
        #expect(TrustedCertificates.decode(Array(stored.utf8))?.count == count)
    }

    @Test func cachedStoresRoundTrip() {
        let certificates = [
            (subject: "CN=Proxy, O=\"Bank\" \\ Co", sha256: String(repeating: "0123456789abcdef", count: 4)),
            (subject: "", sha256: String(repeating: "f", count: 64))
        ]
        let decoded = TrustedCertificates.decode(TrustedCertificates.encode(certificates))
        #expect(decoded?.map(\.subject) == certificates.map(\.subject) && decoded?.map(\.sha256) == certificates.map(\.sha256))
    }
}
