package import Crypto
package import Foundation
package import PostureModel

/// Why a claim bundle cannot be used; each message names what is wrong.
package struct BundleError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// The file `posture claim` writes: every signed report and attestation of a claim's window, the
/// device's public key and a manifest of hashes, in one self-describing JSON document.
///
/// It is the channel of last resort when the collector cannot be reached: it can be carried to
/// the bank by any means, and `posture verify` / `posture assess` read it there. Envelopes are kept
/// as JSON strings holding their exact signed bytes, so chain hashes still match.
package struct ClaimBundle: Codable, Sendable {
    package static let schemaIdentifier = "posture.claim/v1"

    /// One manifest line: what an envelope is and the hash of its exact bytes.
    package struct ManifestEntry: Codable, Sendable, Hashable {
        package enum Kind: String, Codable, Sendable { case report, attestation }
        package var kind: Kind
        /// Report id or attestation id.
        package var id: String
        package var sequence: Int?
        package var sha256: String
        package var size: Int
    }

    /// The span of time the bundle covers.
    package struct Window: Codable, Sendable, Hashable {
        package var from: Date
        package var to: Date
        package init(from: Date, to: Date) {
            self.from = from
            self.to = to
        }
    }

    package var schema: String
    package var createdAt: Date
    package var agent: AgentInfo
    package var profile: String
    /// The incident as given to `posture claim` (a date or an RFC 3339 time).
    package var incident: String
    package var notified: String?
    package var window: Window
    package var keyId: String
    /// The device's public key: base64 of the 32 raw bytes, as in `device.pub`.
    package var publicKey: String
    package var manifest: [ManifestEntry]
    /// Report envelopes, exact bytes, in chain order.
    package var reports: [String]
    /// Attestation envelopes, exact bytes, oldest first.
    package var attestations: [String]
    /// The collector's audit log as the agent checked it: each report's inclusion proof and the
    /// signed checkpoints they are against. Absent when the agent never delivered to a collector
    /// with a log. Not in the manifest: it is evidence about the collector, which it signed itself.
    package var log: LogSection?

    package init(
        createdAt: Date, agent: AgentInfo, profile: String, incident: String, notified: String?, window: Window,
        key: Curve25519.Signing.PublicKey, reports: [(id: String, sequence: Int, envelope: Data)],
        attestations: [(id: String, envelope: Data)], log: LogSection? = nil
    ) {
        schema = Self.schemaIdentifier
        self.createdAt = createdAt
        self.agent = agent
        self.profile = profile
        self.incident = incident
        self.notified = notified
        self.window = window
        keyId = DeviceKey.keyID(of: key)
        publicKey = key.rawRepresentation.base64EncodedString()
        manifest =
            reports.map { ManifestEntry(kind: .report, id: $0.id, sequence: $0.sequence, sha256: sha256Hex($0.envelope), size: $0.envelope.count) }
            + attestations.map { ManifestEntry(kind: .attestation, id: $0.id, sequence: nil, sha256: sha256Hex($0.envelope), size: $0.envelope.count) }
        self.reports = reports.map { String(decoding: $0.envelope, as: UTF8.self) }
        self.attestations = attestations.map { String(decoding: $0.envelope, as: UTF8.self) }
        self.log = log
    }

    package func encoded() throws -> Data { try PostureJSON.encoder(pretty: true).encode(self) + Data("\n".utf8) }

    /// Whether `data` looks like a bundle (rather than an envelope or a journal export).
    package static func isBundle(_ data: Data) -> Bool {
        guard let head = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return (head["schema"] as? String)?.hasPrefix("posture.claim/") == true
    }

    /// Reads a bundle and checks it is whole: schema, key, and every envelope against the manifest.
    /// Signatures and the chain are checked by the verifier afterwards.
    package static func read(_ data: Data, source: String) throws -> ClaimBundle {
        let bundle: ClaimBundle
        do {
            bundle = try PostureJSON.decoder().decode(ClaimBundle.self, from: data)
        } catch {
            throw BundleError("\(source): not a readable claim bundle (\(error))")
        }
        guard bundle.schema == schemaIdentifier else {
            throw BundleError("\(source): schema is \(bundle.schema), this posture reads \(schemaIdentifier)")
        }
        guard let key = bundle.key else { throw BundleError("\(source): public_key is not a base64 Ed25519 public key") }
        guard DeviceKey.keyID(of: key) == bundle.keyId else {
            throw BundleError("\(source): key_id \(bundle.keyId) does not match the public key in the bundle")
        }
        let listed = bundle.manifest.map(\.sha256)
        let carried = (bundle.reports + bundle.attestations).map { sha256Hex(Data($0.utf8)) }
        guard listed.count == carried.count else {
            throw BundleError("\(source): the manifest lists \(listed.count) envelopes but the bundle carries \(carried.count)")
        }
        for (index, (expected, actual)) in zip(listed, carried).enumerated() where expected != actual {
            let entry = bundle.manifest[index]
            throw BundleError("\(source): \(entry.kind.rawValue) \(entry.id) does not match its manifest hash (altered after the bundle was made)")
        }
        return bundle
    }

    /// The device key the bundle names.
    package var key: Curve25519.Signing.PublicKey? { DeviceKey.publicKey(base64: publicKey) }

    /// The report envelopes as verifier input, each named `source#sequence`.
    package func reportItems(source: String) -> [ChainVerifier.Item] {
        zip(reports, manifest.filter { $0.kind == .report }).map { text, entry in
            ChainVerifier.Item(source: "\(source)#\(entry.sequence.map(String.init) ?? entry.id)", bytes: Data(text.utf8))
        }
    }

    package var attestationEnvelopes: [Data] { attestations.map { Data($0.utf8) } }

    /// Report ids with their exact envelopes, for the log's inclusion check.
    package var reportEnvelopes: [(id: String, envelope: Data)] {
        zip(reports, manifest.filter { $0.kind == .report }).map { text, entry in (entry.id, Data(text.utf8)) }
    }
}

extension BundleError: ExitStatusError {
    package var exitStatus: Int32 { ExitStatus.dataError }
}
