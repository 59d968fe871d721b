package import Crypto
import Foundation
package import PostureModel

/// Why a key could not be used; each message says what to do.
package enum KeyError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case exists(String)
    case tooOpen(String, mode: Int)
    case malformed(String)
    /// Writing the key failed; nothing half written was left (a full disk is `.noSpace`).
    case unwritable(FileWriteError)

    package var description: String {
        switch self {
        case .missing(let path): return "no device key at \(path); create one with `posture key generate`"
        case .exists(let path):
            return "a device key already exists at \(path); pass --force to replace it (reports signed with it stay verifiable only with its device.pub)"
        case .tooOpen(let path, let mode):
            return "\(path) is readable by others (mode \(String(mode, radix: 8))); fix it with `chmod 600 \(path)` (the key signs evidence)"
        case .malformed(let path): return "\(path) is not a posture device key (expected one line: base64 of 32 bytes)"
        case .unwritable(let failure): return failure.description
        }
    }
}

/// The device's Ed25519 signing key, kept in the state directory as `device.key` (0600, base64 of
/// the 32-byte seed) and `device.pub` (base64 of the 32 raw public-key bytes, one line).
package struct DeviceKey: Sendable {
    package static let privateName = "device.key"
    package static let publicName = "device.pub"

    package let privateKey: Curve25519.Signing.PrivateKey

    package init(privateKey: Curve25519.Signing.PrivateKey) { self.privateKey = privateKey }

    package var publicKey: Curve25519.Signing.PublicKey { privateKey.publicKey }
    /// DSSE keyid: hex SHA-256 of the raw public key.
    package var keyID: String { Self.keyID(of: publicKey) }

    package static func keyID(of key: Curve25519.Signing.PublicKey) -> String {
        SHA256.hash(data: key.rawRepresentation).hexString
    }

    /// The `device.pub` line.
    package var publicLine: String { publicKey.rawRepresentation.base64EncodedString() }

    /// Loads the key, refusing one that group or others can read (as ssh does).
    package static func load(stateDirectory: String) throws -> DeviceKey {
        try load(file: "\(stateDirectory)/\(privateName)")
    }

    /// Loads a key file of the `device.key` form from any path (the collector's receipt key).
    package static func load(file path: String) throws -> DeviceKey {
        try StateDirectory.checkFile(path)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { throw KeyError.missing(path) }
        let mode = (attributes[.posixPermissions] as? Int) ?? 0
        guard mode & 0o077 == 0 else { throw KeyError.tooOpen(path, mode: mode) }
        guard let data = FileManager.default.contents(atPath: path),
            let seed = Data(base64Encoded: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
            seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        else {
            throw KeyError.malformed(path)
        }
        return DeviceKey(privateKey: key)
    }

    /// Writes a new key pair; refuses to replace an existing key unless `force`. Both files are
    /// written in full before either replaces anything, so a full disk leaves no key, or the old pair.
    @discardableResult
    package static func generate(stateDirectory: String, force: Bool = false) throws -> DeviceKey {
        let path = "\(stateDirectory)/\(privateName)"
        if !force {
            let first = try publishFirst(file: path, publicFile: "\(stateDirectory)/\(publicName)")
            guard first.created else { throw KeyError.exists(path) }
            return first.key
        }
        let key = DeviceKey(privateKey: Curve25519.Signing.PrivateKey())
        try key.save(privateFile: path, publicFile: "\(stateDirectory)/\(publicName)")
        return key
    }

    /// Publishes a new private key at `path` (0600) unless a key is already there, and returns the
    /// key on disk afterwards: of two first runs at once, both sign with the one that won. With
    /// `publicFile`, both files are written in full before the key is published (a full disk
    /// leaves neither), and the public file is put in place after it.
    static func publishFirst(file path: String, publicFile: String? = nil) throws -> (key: DeviceKey, created: Bool) {
        let created = try DeviceKey(privateKey: Curve25519.Signing.PrivateKey()).save(privateFile: path, publicFile: publicFile, exclusive: true)
        return (try load(file: path), created)
    }

    /// Writes the key's files, both in full before either is put in place (a full disk leaves
    /// neither). `exclusive` links the private key in only when none is there (`link(2)`), and
    /// returns false, writing nothing, when one is; otherwise both replace what was there.
    @discardableResult
    private func save(privateFile: String, publicFile: String?, exclusive: Bool = false) throws -> Bool {
        let directory = URL(fileURLWithPath: privateFile).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw KeyError.unwritable(FileWriteError(path: directory, error: error))
        }
        var staged: [AtomicFile.Staged] = []
        do throws(FileWriteError) {
            staged.append(
                try AtomicFile.Staged(
                    Data((privateKey.rawRepresentation.base64EncodedString() + "\n").utf8),
                    for: privateFile, mode: 0o600))
            if let publicFile { staged.append(try AtomicFile.Staged(Data((publicLine + "\n").utf8), for: publicFile, mode: 0o644)) }
            if exclusive {
                guard try staged[0].publish() else {
                    staged.forEach { $0.discard() }
                    return false
                }
                for file in staged.dropFirst() { try file.commit() }
            } else {
                for file in staged { try file.commit() }
            }
            return true
        } catch {
            staged.forEach { $0.discard() }
            throw KeyError.unwritable(error)
        }
    }

    /// The key at `path`, or a new one written there; `created` says which.
    package static func loadOrCreate(file path: String) throws -> (key: DeviceKey, created: Bool) {
        do {
            return (try load(file: path), false)
        } catch KeyError.missing {
            return try publishFirst(file: path)
        }
    }

    /// The existing key, or a new one; `created` says which. A `device.pub` that is missing or names
    /// another key (a run stopped between renaming the two files into place) is written again when
    /// it can be: it is derived from the key, so failing to write it never stops the key's use.
    package static func loadOrCreate(stateDirectory: String) throws -> (key: DeviceKey, created: Bool) {
        do {
            let key = try load(stateDirectory: stateDirectory)
            let publicFile = "\(stateDirectory)/\(publicName)"
            if (try? publicKey(file: publicFile))?.rawRepresentation != key.publicKey.rawRepresentation {
                try? AtomicFile.write(Data((key.publicLine + "\n").utf8), to: publicFile, mode: 0o644)
            }
            return (key, false)
        } catch KeyError.missing {
            let first = try publishFirst(file: "\(stateDirectory)/\(privateName)", publicFile: "\(stateDirectory)/\(publicName)")
            if !first.created { return (try loadOrCreate(stateDirectory: stateDirectory).key, false) }  // another run won: its device.pub
            return first
        }
    }

    /// Reads a `device.pub` file (base64 of 32 bytes).
    package static func publicKey(file: String) throws -> Curve25519.Signing.PublicKey {
        guard let data = FileManager.default.contents(atPath: file) else { throw KeyError.missing(file) }
        guard let key = publicKey(base64: String(decoding: data, as: UTF8.self)) else { throw KeyError.malformed(file) }
        return key
    }

    /// A public key from its `device.pub` text (base64 of the 32 raw bytes), or nil.
    package static func publicKey(base64 text: String) -> Curve25519.Signing.PublicKey? {
        guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }
}

extension KeyError: ExitStatusError {
    package var exitStatus: Int32 {
        switch self {
        case .missing: ExitStatus.noInput
        case .unwritable(let failure): failure.isNoSpace ? ExitStatus.ioError : ExitStatus.permission
        case .tooOpen: ExitStatus.permission
        case .exists: ExitStatus.usage
        case .malformed: ExitStatus.dataError
        }
    }
}
