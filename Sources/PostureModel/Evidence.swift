public import Foundation

/// Names of the probes, as used in `evidence.unavailable` and in finding reasons.
public enum ProbeName: String, Codable, Sendable, CaseIterable {
    case os, packages, browsers, securitySoftware = "security_software", accounts, integrity,
        credentials, fileSharing = "file_sharing", clock, localAccess = "local_access"
}

/// Everything the probes saw. A `nil` section was not collected; `unavailable` says why.
public struct Evidence: Codable, Sendable {
    @ExplicitNull public var os: OSEvidence? = nil
    @ExplicitNull public var packages: PackagesEvidence? = nil
    @ExplicitNull public var browsers: [BrowserEvidence]? = nil
    @ExplicitNull public var securitySoftware: [SecuritySoftwareEvidence]? = nil
    @ExplicitNull public var accounts: [AccountEvidence]? = nil
    @ExplicitNull public var integrity: IntegrityEvidence? = nil
    @ExplicitNull public var credentials: CredentialsEvidence? = nil
    @ExplicitNull public var fileSharing: [FileSharingEvidence]? = nil
    @ExplicitNull public var clock: ClockEvidence? = nil
    @ExplicitNull public var localAccess: LocalAccessEvidence? = nil
    /// Probe name → why that probe's evidence is missing or incomplete.
    public var unavailable: [String: String]
    /// What the report left out to stay bounded; nil when nothing was.
    public var truncation: Truncation?

    public init() { unavailable = [:] }

    /// Why `probe` has no evidence: the recorded reason, else "not collected".
    public func reasonUnavailable(_ probe: ProbeName) -> String {
        unavailable[probe.rawValue] ?? "this version of posture does not collect \(probe.rawValue) evidence yet"
    }
}

/// What a report left out so that lists a user can grow (saved logins, notes, files) never make it
/// undeliverable. Entries that decide a verdict are kept first, so what is left out changes none.
public struct Truncation: Codable, Sendable, Hashable {
    /// Evidence path (`credentials.saved_logins`) → entries left out of that list.
    public var leftOut: [String: Int]
    /// Strings shortened to the length limit (the cut is marked with `…`).
    public var shortenedStrings: Int
    /// Bank domains whose saved logins and hosts overrides were all kept, whatever else was left
    /// out: a check for another domain cannot rule such entries out.
    public var keptDomains: [String]

    public init(leftOut: [String: Int] = [:], shortenedStrings: Int = 0, keptDomains: [String] = []) {
        self.leftOut = leftOut
        self.shortenedStrings = shortenedStrings
        self.keptDomains = keptDomains
    }

    /// Entries left out of the list at `path`.
    public func count(_ path: String) -> Int { leftOut[path] ?? 0 }

    /// One line for people: what was left out and shortened.
    public func described(ja: Bool) -> String {
        var parts = leftOut.sorted { $0.key < $1.key }.map { ja ? "\($0.key) \($0.value) 件" : "\($0.key): \($0.value)" }
        if shortenedStrings > 0 { parts.append(ja ? "短縮した文字列 \(shortenedStrings) 件" : "shortened strings: \(shortenedStrings)") }
        return (ja ? "レポートの上限のため省いた項目: " : "left out to keep the report bounded: ") + parts.joined(separator: ja ? "、" : ", ")
    }
}

/// The operating system release and its vendor support dates.
public struct OSEvidence: Codable, Sendable, Hashable {
    public var id: String
    @ExplicitNull public var versionId: String? = nil
    @ExplicitNull public var prettyName: String? = nil
    public var codename: String?
    /// Last day of free public security support (Debian: `lts`, distro-info's `eol-lts`; Ubuntu:
    /// `standard`, distro-info's `eol`).
    @ExplicitNull public var eol: Day? = nil
    /// Where `eol` came from: the root's distro-info-data file or the bundled catalog.
    @ExplicitNull public var eolSource: String? = nil
    /// Every support phase the data knows, phase name → last day: for Debian and Ubuntu
    /// `standard`, `lts`, `extended`, `esm` (and other distro-info columns by their names);
    /// reports of older agents use the distro-info column names (`eol`, `eol-lts` …).
    public var support: [String: Day]
    /// `eol` compared with the day of `collected_at`; nil when `eol` is unknown.
    @ExplicitNull public var supported: Bool? = nil

    /// DESIGN's support phase names for Debian's and Ubuntu's distro-info columns: `eol` is
    /// `standard`, `eol-lts` `lts`, `eol-elts` `extended`, `eol-esm` `esm`; other columns (and
    /// other distributions' phases) keep their names.
    public static let phaseNamesByColumn = ["eol": "standard", "eol-lts": "lts", "eol-elts": "extended", "eol-esm": "esm"]

    /// The last day of `phase`, by its DESIGN name or its distro-info column name, whichever this
    /// report uses (agents before the phase names used the column names for Debian and Ubuntu).
    public func supportEnd(_ phase: String) -> Day? {
        if let day = support[phase] { return day }
        guard id == "debian" || id == "ubuntu" else { return nil }
        if let name = Self.phaseNamesByColumn[phase] { return support[name] }
        return Self.phaseNamesByColumn.first { $0.value == phase }.flatMap { support[$0.key] }
    }

    public init(
        id: String, versionId: String?, prettyName: String?, codename: String?,
        eol: Day?, eolSource: String?, support: [String: Day], supported: Bool?
    ) {
        self.id = id
        self.versionId = versionId
        self.prettyName = prettyName
        self.codename = codename
        self.eol = eol
        self.eolSource = eolSource
        self.support = support
        self.supported = supported
    }
}

/// The package inventory and what the package index offers beyond it.
public struct PackagesEvidence: Codable, Sendable, Hashable {
    public var manager: String
    /// Installed packages (one per name and architecture).
    public var installed: Int
    /// Newest fetch time of the package index (`*_Release`/`*_InRelease` mtime); nil when there is none.
    @ExplicitNull public var indexUpdatedAt: Date? = nil
    /// Packages with a newer candidate; nil when the index could not be read (see `indexError`).
    @ExplicitNull public var pendingUpdates: [PendingUpdate]? = nil
    /// Why `pendingUpdates` is nil or incomplete.
    public var indexError: String?
    /// Package lists read.
    public var indexLists: Int

    public init(
        manager: String, installed: Int, indexUpdatedAt: Date?, pendingUpdates: [PendingUpdate]?,
        indexError: String?, indexLists: Int
    ) {
        self.manager = manager
        self.installed = installed
        self.indexUpdatedAt = indexUpdatedAt
        self.pendingUpdates = pendingUpdates
        self.indexError = indexError
        self.indexLists = indexLists
    }
}

/// An installed package for which the index offers a newer version.
public struct PendingUpdate: Codable, Sendable, Hashable {
    public var name: String
    public var architecture: String
    public var installed: String
    public var candidate: String
    /// The candidate comes from a `-security` suite.
    public var security: Bool
    /// Suite (or codename) of the list the candidate came from.
    public var suite: String?
    /// apt holds this update back on this machine: the candidate is phased
    /// (`Phased-Update-Percentage`) and the machine is not yet in the phase. Absent in reports
    /// of agents before phasing was read: false.
    public var phased: Bool
    /// The candidate's `Phased-Update-Percentage`, when it is phased (below 100).
    public var phasedUpdatePercentage: Int?

    public init(
        name: String, architecture: String, installed: String, candidate: String,
        security: Bool, suite: String?, phased: Bool = false, phasedUpdatePercentage: Int? = nil
    ) {
        self.name = name
        self.architecture = architecture
        self.installed = installed
        self.candidate = candidate
        self.security = security
        self.suite = suite
        self.phased = phased
        self.phasedUpdatePercentage = phasedUpdatePercentage
    }

    enum CodingKeys: String, CodingKey {
        case name, architecture, installed, candidate, security, suite, phased, phasedUpdatePercentage
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        architecture = try c.decode(String.self, forKey: .architecture)
        installed = try c.decode(String.self, forKey: .installed)
        candidate = try c.decode(String.self, forKey: .candidate)
        security = try c.decode(Bool.self, forKey: .security)
        suite = try c.decodeIfPresent(String.self, forKey: .suite)
        phased = try c.decodeIfPresent(Bool.self, forKey: .phased) ?? false
        phasedUpdatePercentage = try c.decodeIfPresent(Int.self, forKey: .phasedUpdatePercentage)
    }
}

/// An installed web browser.
public struct BrowserEvidence: Codable, Sendable, Hashable {
    public var name: String
    public var version: String
    /// How it was installed: `dpkg`, `tarball:PATH`, `snap`, `flatpak`.
    public var source: String
    @ExplicitNull public var candidate: String? = nil
    @ExplicitNull public var eol: Day? = nil
    @ExplicitNull public var supported: Bool? = nil
    /// `as_of` of the browser lifecycle catalog that decided `supported`.
    @ExplicitNull public var catalogAsOf: Day? = nil
    /// Release lines between this browser's line and the oldest line the vendor still patches,
    /// when `supported` was decided by the catalog's newest release (`latest`): 1 = the line just
    /// out of support; nil when within support or judged by a line's end date.
    public var linesPastSupport: Int?
    /// Where the release data that decided `supported` comes from, and whether it is estimated.
    public var supportSource: String?

    public init(
        name: String, version: String, source: String, candidate: String?, eol: Day?, supported: Bool?,
        catalogAsOf: Day? = nil, linesPastSupport: Int? = nil, supportSource: String? = nil
    ) {
        self.name = name
        self.version = version
        self.source = source
        self.candidate = candidate
        self.eol = eol
        self.supported = supported
        self.catalogAsOf = catalogAsOf
        self.linesPastSupport = linesPastSupport
        self.supportSource = supportSource
    }
}

/// An antivirus or EDR product and its state.
public struct SecuritySoftwareEvidence: Codable, Sendable, Hashable {
    public var product: String
    public var installed: Bool
    /// Whether the scanning engine runs (an updater alone is not enough); nil when scanning an offline root.
    @ExplicitNull public var running: Bool? = nil
    @ExplicitNull public var signaturesUpdatedAt: Date? = nil
    /// Sold commercially (市販), from the catalog; nil in reports of agents from before this field.
    @ExplicitNull public var commercial: Bool? = nil

    public init(product: String, installed: Bool, running: Bool?, signaturesUpdatedAt: Date?, commercial: Bool? = nil) {
        self.product = product
        self.installed = installed
        self.running = running
        self.signaturesUpdatedAt = signaturesUpdatedAt
        self.commercial = commercial
    }
}

/// A login account's password-age record (never the hash).
public struct AccountEvidence: Codable, Sendable, Hashable {
    public var user: String
    public var uid: Int
    @ExplicitNull public var passwordLastChanged: Day? = nil
    /// nil when there is no maximum (empty or 99999).
    @ExplicitNull public var passwordMaxDays: Int? = nil
    public var locked: Bool

    public init(user: String, uid: Int, passwordLastChanged: Day?, passwordMaxDays: Int?, locked: Bool) {
        self.user = user
        self.uid = uid
        self.passwordLastChanged = passwordLastChanged
        self.passwordMaxDays = passwordMaxDays
        self.locked = locked
    }
}

/// System files compared with the package database, and tampering beyond it.
public struct IntegrityEvidence: Codable, Sendable, Hashable {
    public struct ModifiedFile: Codable, Sendable, Hashable {
        public var path: String
        public var package: String
        /// `file` or `conffile`.
        public var kind: String
        public init(path: String, package: String, kind: String) {
            self.path = path
            self.package = package
            self.kind = kind
        }
    }
    public struct MissingFile: Codable, Sendable, Hashable {
        public var path: String
        public var package: String
        /// `file` or `conffile`.
        public var kind: String
        public init(path: String, package: String, kind: String = "file") {
            self.path = path
            self.package = package
            self.kind = kind
        }
    }
    public struct UnownedExecutable: Codable, Sendable, Hashable {
        public var path: String
        public var sha256: String
        /// Set-uid or set-gid.
        public var setid: Bool
        public init(path: String, sha256: String, setid: Bool = false) {
            self.path = path
            self.sha256 = sha256
            self.setid = setid
        }
    }
    public struct HostsOverride: Codable, Sendable, Hashable {
        public var name: String
        public var address: String
        public init(name: String, address: String) {
            self.name = name
            self.address = address
        }
    }
    public struct ExtraCertificate: Codable, Sendable, Hashable {
        public var path: String
        public var subject: String
        public var sha256: String
        public init(path: String, subject: String, sha256: String) {
            self.path = path
            self.subject = subject
            self.sha256 = sha256
        }
    }

    /// A certificate store that exists but could not be read, and why.
    public struct UnreadableStore: Codable, Sendable, Hashable {
        public var path: String
        public var reason: String
        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    public var checked: Int
    public var modified: [ModifiedFile]
    public var missing: [MissingFile]
    public var unownedExecutables: [UnownedExecutable]
    public var hostsOverrides: [HostsOverride]
    public var extraCaCertificates: [ExtraCertificate]
    public var ldSoPreload: [String]
    /// Package files that exist but could not be read, so were not verified.
    public var unreadable: [String] = []
    /// Installed packages that ship no md5sums, so their files cannot be verified.
    public var unverifiablePackages: [String] = []
    /// Browser certificate databases (NSS `cert9.db`) and the folders holding them that could not
    /// be read, so whether they trust an added certificate authority is unknown.
    public var unreadableCertificateStores: [UnreadableStore] = []
    /// Why the search for unowned executables did not see everything (a directory it could not
    /// list, a walk stopped at its cap), so finding none proves nothing.
    public var unownedSearchIncomplete: [String] = []
    /// `full` (every file hashed) or `incremental` (unchanged files taken from the sealed cache).
    public var mode: String = "full"
    /// Files whose digest came from the cache.
    public var fromCache: Int = 0
    /// A note about the cache (discarded because its seal failed, not saved …).
    public var cacheNote: String?

    public init(
        checked: Int, modified: [ModifiedFile], missing: [MissingFile],
        unownedExecutables: [UnownedExecutable], hostsOverrides: [HostsOverride],
        extraCaCertificates: [ExtraCertificate], ldSoPreload: [String]
    ) {
        self.checked = checked
        self.modified = modified
        self.missing = missing
        self.unownedExecutables = unownedExecutables
        self.hostsOverrides = hostsOverrides
        self.extraCaCertificates = extraCaCertificates
        self.ldSoPreload = ldSoPreload
    }

    /// Reads the section of every agent version: the fields that have defaults came later within
    /// v1 (an older agent did not look, which is what the defaults say).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        checked = try c.decode(Int.self, forKey: .checked)
        modified = try c.decode([ModifiedFile].self, forKey: .modified)
        missing = try c.decode([MissingFile].self, forKey: .missing)
        unownedExecutables = try c.decode([UnownedExecutable].self, forKey: .unownedExecutables)
        hostsOverrides = try c.decode([HostsOverride].self, forKey: .hostsOverrides)
        extraCaCertificates = try c.decode([ExtraCertificate].self, forKey: .extraCaCertificates)
        ldSoPreload = try c.decode([String].self, forKey: .ldSoPreload)
        unreadable = try c.decodeIfPresent([String].self, forKey: .unreadable) ?? []
        unverifiablePackages = try c.decodeIfPresent([String].self, forKey: .unverifiablePackages) ?? []
        unreadableCertificateStores = try c.decodeIfPresent([UnreadableStore].self, forKey: .unreadableCertificateStores) ?? []
        unownedSearchIncomplete = try c.decodeIfPresent([String].self, forKey: .unownedSearchIncomplete) ?? []
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? "full"
        fromCache = try c.decodeIfPresent(Int.self, forKey: .fromCache) ?? 0
        cacheNote = try c.decodeIfPresent(String.self, forKey: .cacheNote)
    }
}

/// Saved logins found in browser profiles (origin only, never the secret).
public struct CredentialsEvidence: Codable, Sendable, Hashable {
    public struct SavedLogin: Codable, Sendable, Hashable {
        public var browser: String
        public var profilePath: String
        public var origin: String
        public init(browser: String, profilePath: String, origin: String) {
            self.browser = browser
            self.profilePath = profilePath
            self.origin = origin
        }
    }
    public var savedLogins: [SavedLogin]
    /// Files named like password notes (paths only).
    public var passwordNotes: [String]

    public init(savedLogins: [SavedLogin], passwordNotes: [String]) {
        self.savedLogins = savedLogins
        self.passwordNotes = passwordNotes
    }
}

/// An installed file-sharing (P2P) client.
public struct FileSharingEvidence: Codable, Sendable, Hashable {
    public var name: String
    public var version: String?
    public init(name: String, version: String?) {
        self.name = name
        self.version = version
    }
}

/// Whether the system clock is synchronised, which report timestamps depend on.
public struct ClockEvidence: Codable, Sendable, Hashable {
    @ExplicitNull public var synchronized: Bool? = nil
    @ExplicitNull public var source: String? = nil
    public init(synchronized: Bool?, source: String?) {
        self.synchronized = synchronized
        self.source = source
    }
}

/// Local access controls: autologin, guest session, screen lock, disk encryption, firewall.
public struct LocalAccessEvidence: Codable, Sendable, Hashable {
    public var autologin: [String]?
    public var guestSession: Bool?
    public var screenLock: Bool?
    public var diskEncrypted: Bool?
    public var firewallActive: Bool?

    public init(
        autologin: [String]?, guestSession: Bool?, screenLock: Bool?, diskEncrypted: Bool?,
        firewallActive: Bool?
    ) {
        self.autologin = autologin
        self.guestSession = guestSession
        self.screenLock = screenLock
        self.diskEncrypted = diskEncrypted
        self.firewallActive = firewallActive
    }
}
