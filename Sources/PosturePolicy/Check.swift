package import PostureModel
import PostureReference

/// The built-in checks a requirement can name, and the parameters each accepts.
package enum Check: String, Sendable, CaseIterable {
    case osSupported = "os.supported"
    case updatesNonePending = "updates.none_pending"
    case browserSupported = "browser.supported"
    case browserUpdated = "browser.updated"
    case securitySoftwareInstalled = "security_software.installed"
    case securitySoftwareRunning = "security_software.running"
    case securitySoftwareSignaturesFresh = "security_software.signatures_fresh"
    case accountsPasswordAge = "accounts.password_age"
    case credentialsNoSavedBankLogins = "credentials.no_saved_bank_logins"
    case integrityNoModifiedSystemFiles = "integrity.no_modified_system_files"
    case integrityNoUnownedExecutables = "integrity.no_unowned_executables"
    case integrityNoInterception = "integrity.no_interception"
    case fileSharingNoneInstalled = "file_sharing.none_installed"
    case clockSynchronized = "clock.synchronized"
    case accessNoAutologin = "access.no_autologin"
    case accessScreenLock = "access.screen_lock"
    case accessDiskEncrypted = "access.disk_encrypted"
    case accessFirewallActive = "access.firewall_active"
    case environmentRecommended = "environment.recommended"
    case toolUnavailableOnLinux = "tool.unavailable_on_linux"
    case attestation
    case claimDeadline = "claim.deadline"

    /// The probe whose evidence this check judges; nil for checks no probe serves.
    package var probe: ProbeName? { CheckRegistry.definition(self).probe }

    /// The parameters this check takes, with their types and defaults.
    package var parameters: [ParameterSpec] { CheckRegistry.definition(self).parameters }
}

/// One parameter a check accepts.
package struct ParameterSpec: Sendable, Hashable {
    package enum Kind: Sendable, Hashable {
        case int(minimum: Int)
        case bool
        case string
        case strings
    }
    package var name: String
    package var kind: Kind
    package var required: Bool
    package var defaultValue: ParameterValue?

    init(_ name: String, _ kind: Kind, required: Bool = false, default defaultValue: ParameterValue? = nil) {
        self.name = name
        self.kind = kind
        self.required = required
        self.defaultValue = defaultValue
    }
}

/// A parameter value after validation.
package enum ParameterValue: Sendable, Hashable {
    case int(Int)
    case bool(Bool)
    case string(String)
    case strings([String])
}

/// The validated `with:` parameters of a requirement, defaults filled in.
package struct CheckParameters: Sendable, Hashable {
    package var values: [String: ParameterValue]

    package init(values: [String: ParameterValue] = [:]) { self.values = values }

    package func int(_ name: String) -> Int? {
        if case .int(let value)? = values[name] { return value }
        return nil
    }

    package func strings(_ name: String) -> [String] {
        if case .strings(let value)? = values[name] { return value }
        return []
    }

    static func parse(_ node: YAMLNode?, for check: Check, at checkNode: YAMLNode) throws -> CheckParameters {
        let specs = check.parameters
        var values: [String: ParameterValue] = [:]
        if let node {
            let map = try node.mapping("with")
            if specs.isEmpty, let first = map.entries.first {
                throw LocatedError(
                    file: node.file, line: first.keyLine ?? node.line,
                    message: "check '\(check.rawValue)' takes no parameters, but 'with' has '\(first.key)'")
            }
            try map.rejectUnknownKeys(allowed: Set(specs.map(\.name)))
            for entry in map.entries {
                let spec = specs.first { $0.name == entry.key }!
                let what = "parameter '\(entry.key)' of \(check.rawValue)"
                switch spec.kind {
                case .int(let minimum):
                    let value = try entry.value.int(what)
                    guard value >= minimum else { throw entry.value.error("\(what) must be at least \(minimum)") }
                    values[entry.key] = .int(value)
                case .bool:
                    values[entry.key] = .bool(try entry.value.bool(what))
                case .string:
                    values[entry.key] = .string(try entry.value.string(what))
                case .strings:
                    let list = try entry.value.strings(what)
                    guard !list.isEmpty || !spec.required else { throw entry.value.error("\(what) must not be empty") }
                    values[entry.key] = .strings(list)
                }
            }
        }
        for spec in specs where values[spec.name] == nil {
            if spec.required {
                throw checkNode.error("check '\(check.rawValue)' needs the parameter '\(spec.name)' under 'with'")
            }
            if let value = spec.defaultValue { values[spec.name] = value }
        }
        return CheckParameters(values: values)
    }
}
