import Crypto
import Foundation
import PostureModel
import PostureTestSupport
import Testing

@testable import PostureEvidence

@Suite struct EnvelopeTests {
    /// The DSSE specification's PAE example.
    @Test func paeMatchesTheSpecificationVector() {
        let pae = Envelope.pae(type: "http://example.com/HelloWorld", body: Data("hello world".utf8))
        #expect(String(decoding: pae, as: UTF8.self) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
        #expect(Envelope.pae(type: "", body: Data()) == Data("DSSEv1 0  0 ".utf8))
    }

    static func report(_ id: String = UUID().uuidString.lowercased(), at date: Date = Date()) -> Report {
        Report(
            id: id, collectedAt: Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)),
            agent: AgentInfo(version: "test"), host: HostInfo(hostname: "pc", machineIdSha256: nil, root: "/"),
            evidence: Evidence())
    }

    /// A report of an agent from before `attestations` and the later integrity fields (still in a
    /// claim window after an upgrade) reads with those fields empty; a required field stays required.
    @Test func reportsOfEarlierAgentsStillDecode() throws {
        var report = Self.report()
        var integrity = IntegrityEvidence(
            checked: 3, modified: [], missing: [], unownedExecutables: [], hostsOverrides: [],
            extraCaCertificates: [], ldSoPreload: ["/usr/lib/libhook.so"])
        integrity.unreadableCertificateStores = [.init(path: "/home/a/.pki/nssdb", reason: "permission denied")]
        report.evidence.integrity = integrity
        let current = try #require(try JSONSerialization.jsonObject(with: PostureJSON.encoder().encode(report)) as? [String: Any])
        var earlier = current
        earlier["attestations"] = nil
        var section = try #require(current["evidence"] as? [String: Any])
        var earlierIntegrity = try #require(section["integrity"] as? [String: Any])
        for key in ["unreadable", "unverifiable_packages", "unreadable_certificate_stores", "mode", "from_cache"] {
            #expect(earlierIntegrity.removeValue(forKey: key) != nil, "\(key) is written today")
        }
        section["integrity"] = earlierIntegrity
        earlier["evidence"] = section
        let decoded = try PostureJSON.decoder().decode(Report.self, from: JSONSerialization.data(withJSONObject: earlier))
        #expect(decoded.attestations.isEmpty)
        #expect(decoded.evidence.integrity?.ldSoPreload == ["/usr/lib/libhook.so"])
        #expect(decoded.evidence.integrity?.unreadableCertificateStores.isEmpty == true)
        #expect(decoded.evidence.integrity?.mode == "full")
        var broken = earlier
        broken["findings"] = nil
        #expect(throws: DecodingError.self) { try PostureJSON.decoder().decode(Report.self, from: JSONSerialization.data(withJSONObject: broken)) }
    }

    /// An independent Ed25519 implementation (OpenSSL) verifies our signature over the PAE.
    @Test func openSSLVerifiesTheSignature() throws {
        guard let openssl = Fixtures.tool("/usr/bin/openssl") else { return }
        let directory = try TemporaryRoot("dsse")
        let key = try DeviceKey.generate(stateDirectory: directory.url("state").path)
        let body = try PostureJSON.encoder().encode(Self.report())
        let envelope = try Envelope.sign(body: body, key: key)
        // SubjectPublicKeyInfo for Ed25519: a fixed 12-byte prefix, then the 32 raw bytes.
        let spki = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]) + key.publicKey.rawRepresentation
        let pem = "-----BEGIN PUBLIC KEY-----\n\(spki.base64EncodedString())\n-----END PUBLIC KEY-----\n"
        let pub = try directory.write("pub.pem", pem)
        let message = try directory.write("pae.bin", Envelope.pae(type: envelope.payloadType, body: try #require(envelope.body)))
        let signature = try directory.write("sig.bin", try #require(Data(base64Encoded: envelope.signatures[0].sig)))
        let good = try Fixtures.run(
            openssl,
            [
                "pkeyutl", "-verify", "-pubin", "-inkey", pub.path, "-rawin", "-in", message.path,
                "-sigfile", signature.path
            ])
        #expect(good.status == 0, "\(good.stdout) \(good.stderr)")
        #expect(envelope.signatures[0].keyid == SHA256.hash(data: key.publicKey.rawRepresentation).hexString)
        var tampered = try Data(contentsOf: message)
        tampered[tampered.count - 3] ^= 1
        try tampered.write(to: message)
        let bad = try Fixtures.run(
            openssl,
            [
                "pkeyutl", "-verify", "-pubin", "-inkey", pub.path, "-rawin", "-in", message.path,
                "-sigfile", signature.path
            ])
        #expect(bad.status != 0)
    }

    @Test func groupReadableKeyIsRefusedWithTheFix() throws {
        let directory = try TemporaryRoot("key")
        let state = directory.url("state").path
        try DeviceKey.generate(stateDirectory: state)
        #expect(try FileManager.default.attributesOfItem(atPath: state + "/device.key")[.posixPermissions] as? Int == 0o600)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: state + "/device.key")
        #expect(throws: KeyError.tooOpen(state + "/device.key", mode: 0o640)) { try DeviceKey.load(stateDirectory: state) }
        #expect(KeyError.tooOpen(state + "/device.key", mode: 0o640).description.contains("chmod 600"))
        #expect(throws: KeyError.self) { try DeviceKey.generate(stateDirectory: state) }
    }

    /// A run stopped between putting device.key and device.pub in place: the next use of the key writes device.pub again.
    @Test func aMissingOrForeignPublicKeyFileIsWrittenAgain() throws {
        let directory = try TemporaryRoot("key")
        let state = directory.url("state").path
        let key = try DeviceKey.generate(stateDirectory: state)
        let publicFile = state + "/" + DeviceKey.publicName
        for damage in [
            { try FileManager.default.removeItem(atPath: publicFile) },
            { try Data((DeviceKey(privateKey: .init()).publicLine + "\n").utf8).write(to: URL(fileURLWithPath: publicFile)) }
        ] {
            try damage()
            let loaded = try DeviceKey.loadOrCreate(stateDirectory: state)
            #expect(!loaded.created && loaded.key.keyID == key.keyID)
            #expect(try String(contentsOfFile: publicFile, encoding: .utf8) == key.publicLine + "\n")
        }
    }

    /// Three chained reports, then each kind of tampering; every one is detected and named.
    @Test func tamperingIsDetectedAndNamed() throws {
        let directory = try TemporaryRoot("chain")
        let state = directory.url("state").path
        let key = try DeviceKey.generate(stateDirectory: state)
        let journal = try Journal(stateDirectory: state)
        let start = Date().addingTimeInterval(-3600)
        var envelopes: [Data] = []
        for index in 0..<4 { envelopes.append(try journal.append(Self.report(at: start.addingTimeInterval(Double(index) * 60)), key: key).envelope) }
        let verifier = ChainVerifier(key: key.publicKey)
        func verify(_ list: [Data]) -> ChainVerifier.Outcome {
            verifier.verify(list.enumerated().map { .init(source: "r\($0.offset + 1)", bytes: $0.element) })
        }
        #expect(verify(envelopes).ok)
        #expect(verify(envelopes.reversed()).ok, "command-line order does not matter")

        // A flipped payload byte.
        var envelope = try Envelope.decode(envelopes[1])
        var body = try #require(envelope.body)
        body[body.count / 2] ^= 0x01
        envelope.payload = body.base64EncodedString()
        let flipped = verify([envelopes[0], try envelope.encoded(), envelopes[2]])
        #expect(!flipped.ok)
        #expect(flipped.verdicts[1].problems.contains { $0.contains("bad signature") || $0.contains("not a posture report") })

        // A wrong key.
        let other = Curve25519.Signing.PrivateKey()
        #expect(!ChainVerifier(key: other.publicKey).verify([.init(source: "r1", bytes: envelopes[0])]).ok)

        // A removed middle report.
        let gap = verify([envelopes[0], envelopes[2], envelopes[3]])
        #expect(gap.chainProblems.contains { $0.contains("gap") && $0.contains("between sequence 1 and 3") })

        // A replayed (duplicated) report.
        let replay = verify([envelopes[0], envelopes[1], envelopes[1], envelopes[2]])
        #expect(replay.verdicts[2].problems.contains { $0.contains("duplicate") })

        // A fork: another report signed with the same key at the same sequence.
        let forkDirectory = try TemporaryRoot("fork")
        let forkState = forkDirectory.url("state").path
        try FileManager.default.createDirectory(atPath: forkState, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: state + "/device.key", toPath: forkState + "/device.key")
        let forkJournal = try Journal(stateDirectory: forkState)
        let forkKey = try DeviceKey.load(stateDirectory: forkState)
        _ = try forkJournal.append(Self.report(at: start), key: forkKey)
        let forked = try forkJournal.append(Self.report(at: start.addingTimeInterval(30)), key: forkKey).envelope
        let fork = verify([envelopes[0], envelopes[1], forked])
        #expect(fork.verdicts[2].problems.contains { $0.contains("fork") }, "\(fork.verdicts.map(\.problems))")

        // Two reports swapped: report 3's envelope presented where report 2's link is expected.
        let swapped = verify([envelopes[0], envelopes[2], envelopes[1]].enumerated().map { $0.element })
        #expect(swapped.ok, "swapping files alone is harmless: order comes from the signed sequence")
        let relinked = verify([forked, envelopes[2]])  // sequence 2 of another chain followed by 3 of this one
        #expect(relinked.verdicts[1].problems.contains { $0.contains("chain broken") })
    }

    // Found with the chain fuzz target (scripts/fuzz chain): a signed report at sequence Int.min
    // next to one at sequence 1 overflowed the gap arithmetic and trapped the bank's verifier.
    // Whoever holds the device key (the customer) can sign any sequence.
    @Test func sequencesBelowOneAreAProblemNotATrap() throws {
        let key = DeviceKey(privateKey: Curve25519.Signing.PrivateKey())
        let envelopes = try [Int.min, 0, 1].map { sequence -> Data in
            var report = Self.report()
            report.chain = ChainLink(sequence: sequence, previous: nil, bootId: nil)
            return try Envelope.signedReport(report, key: key)
        }
        let outcome = ChainVerifier(key: key.publicKey).verify(envelopes.enumerated().map { .init(source: "r\($0.offset)", bytes: $0.element) })
        #expect(!outcome.ok)
        #expect(outcome.verdicts[0].problems == ["chain.sequence is -9223372036854775808; a chain starts at sequence 1"])
        #expect(outcome.verdicts[1].problems == ["chain.sequence is 0; a chain starts at sequence 1"])
        #expect(outcome.verdicts[2].ok)
        #expect(outcome.reports.count == 1)
    }

    @Test func journalQueriesByTimeAndPrunes() throws {
        let directory = try TemporaryRoot("journal")
        let state = directory.url("state").path
        let key = try DeviceKey.generate(stateDirectory: state)
        let journal = try Journal(stateDirectory: state)
        let now = Date()
        for days in [500, 300, 10, 1] { _ = try journal.append(Self.report(at: now.addingTimeInterval(-Double(days) * 86400)), key: key) }
        #expect(try journal.entries(from: now.addingTimeInterval(-20 * 86400)).count == 2)
        #expect(try journal.entries(to: now.addingTimeInterval(-400 * 86400)).count == 1)
        try journal.prune(retentionDays: 400, now: now)
        #expect(try journal.entries().map(\.sequence) == [2, 3, 4])
        _ = try journal.append(Self.report(at: now), key: key)
        #expect(try journal.head(keyID: key.keyID)?.sequence == 5, "the chain head survives pruning and reopening")
        let reopened = try Journal(stateDirectory: state)
        #expect(try reopened.head(keyID: key.keyID)?.sequence == 5)
    }
}

/// A SHA-256 in hex is exactly what `hexString` writes for 32 bytes: key ids, fingerprints and
/// cached digests are checked with it before they are believed.
@Suite struct SHA256HexTests {
    @Test(arguments: [
        (String(repeating: "a", count: 64), true), (SHA256.hash(data: Data("x".utf8)).hexString, true),
        (String(repeating: "A", count: 64), false), (String(repeating: "a", count: 63), false),
        (String(repeating: "a", count: 65), false), (String(repeating: "g", count: 64), false),
        ("", false), (String(repeating: "a", count: 62) + "é", false)
    ])
    func recognisesLowerCaseDigestsOnly(_ row: (String, Bool)) {
        #expect(row.0.isSHA256Hex == row.1, "\(row.0)")
    }
}
