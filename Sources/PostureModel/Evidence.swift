package import Foundation

/// Names of the probes, as used in `evidence.unavailable` and in finding reasons.
package enum ProbeName: String, Codable, Sendable, CaseIterable {
    case os, packages, browsers, securitySoftware = "security_software", accounts, integrity,
        credentials, fileSharing = "file_sharing", clock, localAccess = "local_access"
}

/// Everything the probes saw. A `nil` section was not collected; `unavailable` says why.
package struct Evidence: Codable, Sendable {
    @ExplicitNull package var os: OSEvidence? = nil
    @ExplicitNull package var packages: PackagesEvidence? = nil
    @ExplicitNull package var browsers: [BrowserEvidence]? = nil
    @ExplicitNull package var securitySoftware: [SecuritySoftwareEvidence]? = nil
    @ExplicitNull package var accounts: [AccountEvidence]? = nil
    @ExplicitNull package var integrity: IntegrityEvidence? = nil
    @ExplicitNull package var credentials: CredentialsEvidence? = nil
    @ExplicitNull package var fileSharing: [FileSharingEvidence]? = nil
    @ExplicitNull package var clock: ClockEvidence? = nil
    @ExplicitNull package var localAccess: LocalAccessEvidence? = nil
    /// Probe name → why that probe's evidence is missing or incomplete.
    package var unavailable: [String: String]
    /// What the report left out to stay bounded; nil when nothing was.
    package var truncation: Truncation?

    package init() { unavailable = [:] }

    /// Why `probe` has no evidence: the recorded reason, else "not collected".
    package func reasonUnavailable(_ probe: ProbeName) -> String {
        unavailable[probe.rawValue] ?? "this version of posture does not collect \(probe.rawValue) evidence yet"
    }
}

/// What a report left out so that lists a user can grow (saved logins, notes, files) never make it
/// undeliverable. Entries that decide a verdict are kept first, so what is left out changes none.
package struct Truncation: Codable, Sendable, Hashable {
    /// Evidence path (`credentials.saved_logins`) → entries left out of that list.
    package var leftOut: [String: Int]
    /// Strings shortened to the length limit (the cut is marked with `…`).
    package var shortenedStrings: Int
    /// Bank domains whose saved logins and hosts overrides were all kept, whatever else was left
    /// out: a check for another domain cannot rule such entries out.
    package var keptDomains: [String]

    package init(leftOut: [String: Int] = [:], shortenedStrings: Int = 0, keptDomains: [String] = []) {
        self.leftOut = leftOut
        self.shortenedStrings = shortenedStrings
        self.keptDomains = keptDomains
    }

    /// Entries left out of the list at `path`.
    package func count(_ path: String) -> Int { leftOut[path] ?? 0 }

    /// One line for people: what was left out and shortened.
    package func described(ja: Bool) -> String {
        var parts = leftOut.sorted { $0.key < $1.key }.map { ja ? "\($0.key) \($0.value) 件" : "\($0.key): \($0.value)" }
        if shortenedStrings > 0 { parts.append(ja ? "短縮した文字列 \(shortenedStrings) 件" : "shortened strings: \(shortenedStrings)") }
        return (ja ? "レポートの上限のため省いた項目: " : "left out to keep the report bounded: ") + parts.joined(separator: ja ? "、" : ", ")
    }
}

/// The operating system release and its vendor support dates.
package struct OSEvidence: Codable, Sendable, Hashable {
    package var id: String
    @ExplicitNull package var versionId: String? = nil
    @ExplicitNull package var prettyName: String? = nil
    package var codename: String?
    /// Last day of free public security support (Debian: `lts`, distro-info's `eol-lts`; Ubuntu:
    /// `standard`, distro-info's `eol`).
    @ExplicitNull package var eol: Day? = nil
    /// Where `eol` came from: the root's distro-info-data file or the bundled catalog.
    @ExplicitNull package var eolSource: String? = nil
    /// Every support phase the data knows, phase name → last day: for Debian and Ubuntu
    /// `standard`, `lts`, `extended`, `esm` (and other distro-info columns by their names);
    /// reports of older agents use the distro-info column names (`eol`, `eol-lts` …).
    package var support: [String: Day]
    /// `eol` compared with the day of `collected_at`; nil when `eol` is unknown.
    @ExplicitNull package var supported: Bool? = nil

    /// DESIGN's support phase names for Debian's and Ubuntu's distro-info columns: `eol` is
    /// `standard`, `eol-lts` `lts`, `eol-elts` `extended`, `eol-esm` `esm`; other columns (and
    /// other distributions' phases) keep their names.
    package static let phaseNamesByColumn = ["eol": "standard", "eol-lts": "lts", "eol-elts": "extended", "eol-esm": "esm"]

    /// The last day of `phase`, by its DESIGN name or its distro-info column name, whichever this
    /// report uses (agents before the phase names used the column names for Debian and Ubuntu).
    package func supportEnd(_ phase: String) -> Day? {
        if let day = support[phase] { return day }
        guard id == "debian" || id == "ubuntu" else { return nil }
        if let name = Self.phaseNamesByColumn[phase] { return support[name] }
        return Self.phaseNamesByColumn.first { $0.value == phase }.flatMap { support[$0.key] }
    }

    package init(
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
package struct PackagesEvidence: Codable, Sendable, Hashable {
    package var manager: String
    /// Installed packages (one per name and architecture).
    package var installed: Int
    /// Newest fetch time of the package index (`*_Release`/`*_InRelease` mtime); nil when there is none.
    @ExplicitNull package var indexUpdatedAt: Date? = nil
    /// Packages with a newer candidate; nil when the index could not be read (see `indexError`).
    @ExplicitNull package var pendingUpdates: [PendingUpdate]? = nil
    /// Why `pendingUpdates` is nil or incomplete.
    package var indexError: String?
    /// Package lists read.
    package var indexLists: Int

    package init(
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
package struct PendingUpdate: Codable, Sendable, Hashable {
    package var name: String
    package var architecture: String
    package var installed: String
    package var candidate: String
    /// The candidate comes from a `-security` suite.
    package var security: Bool
    /// Suite (or codename) of the list the candidate came from.
    package var suite: String?
    /// apt holds this update back on this machine: the candidate is phased
    /// (`Phased-Update-Percentage`) and the machine is not yet in the phase. Absent in reports
    /// of agents before phasing was read: false.
    package var phased: Bool
    /// The candidate's `Phased-Update-Percentage`, when it is phased (below 100).
    package var phasedUpdatePercentage: Int?

    package init(
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

    package init(from decoder: any Decoder) throws {
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
package struct BrowserEvidence: Codable, Sendable, Hashable {
    package var name: String
    package var version: String
    /// How it was installed: `dpkg`, `tarball:PATH`, `snap`, `flatpak`.
    package var source: String
    @ExplicitNull package var candidate: String? = nil
    @ExplicitNull package var eol: Day? = nil
    @ExplicitNull package var supported: Bool? = nil
    /// `as_of` of the browser lifecycle catalog that decided `supported`.
    @ExplicitNull package var catalogAsOf: Day? = nil
    /// Release lines between this browser's line and the oldest line the vendor still patches,
    /// when `supported` was decided by the catalog's newest release (`latest`): 1 = the line just
    /// out of support; nil when within support or judged by a line's end date.
    package var linesPastSupport: Int?
    /// Where the release data that decided `supported` comes from, and whether it is estimated.
    package var supportSource: String?

    package init(
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
package struct SecuritySoftwareEvidence: Codable, Sendable, Hashable {
    package var product: String
    package var installed: Bool
    /// Whether the scanning engine runs (an updater alone is not enough); nil when scanning an offline root.
    @ExplicitNull package var running: Bool? = nil
    @ExplicitNull package var signaturesUpdatedAt: Date? = nil
    /// Sold commercially (市販), from the catalog; nil in reports of agents from before this field.
    @ExplicitNull package var commercial: Bool? = nil

    package init(product: String, installed: Bool, running: Bool?, signaturesUpdatedAt: Date?, commercial: Bool? = nil) {
        self.product = product
        self.installed = installed
        self.running = running
        self.signaturesUpdatedAt = signaturesUpdatedAt
        self.commercial = commercial
    }
}

/// A login account's password-age record (never the hash).
package struct AccountEvidence: Codable, Sendable, Hashable {
    package var user: String
    package var uid: Int
    @ExplicitNull package var passwordLastChanged: Day? = nil
    /// nil when there is no maximum (empty or 99999).
    @ExplicitNull package var passwordMaxDays: Int? = nil
    package var locked: Bool

    package init(user: String, uid: Int, passwordLastChanged: Day?, passwordMaxDays: Int?, locked: Bool) {
        self.user = user
        self.uid = uid
        self.passwordLastChanged = passwordLastChanged
        self.passwordMaxDays = passwordMaxDays
        self.locked = locked
    }
}

/// System files compared with the package database, and tampering beyond it.
package struct IntegrityEvidence: Codable, Sendable, Hashable {
    package struct ModifiedFile: Codable, Sendable, Hashable {
        package var path: String
        package var package: String
        /// `file` or `conffile`.
        package var kind: String
        package init(path: String, package: String, kind: String) {
            self.path = path
            self.package = package
            self.kind = kind
        }
    }
    package struct MissingFile: Codable, Sendable, Hashable {
        package var path: String
        package var package: String
        /// `file` or `conffile`.
        package var kind: String
        package init(path: String, package: String, kind: String = "file") {
            self.path = path
            self.package = package
            self.kind = kind
        }
    }
    package struct UnownedExecutable: Codable, Sendable, Hashable {
        package var path: String
        package var sha256: String
        /// Set-uid or set-gid.
        package var setid: Bool
        package init(path: String, sha256: String, setid: Bool = false) {
            self.path = path
            self.sha256 = sha256
            self.setid = setid
        }
    }
    package struct HostsOverride: Codable, Sendable, Hashable {
        package var name: String
        package var address: String
        package init(name: String, address: String) {
            self.name = name
            self.address = address
        }
    }
    package struct ExtraCertificate: Codable, Sendable, Hashable {
        package var path: String
        package var subject: String
        package var sha256: String
        package init(path: String, subject: String, sha256: String) {
            self.path = path
            self.subject = subject
            self.sha256 = sha256
        }
    }

    /// A certificate store that exists but could not be read, and why.
    package struct UnreadableStore: Codable, Sendable, Hashable {
        package var path: String
        package var reason: String
        package init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    package var checked: Int
    package var modified: [ModifiedFile]
    package var missing: [MissingFile]
    package var unownedExecutables: [UnownedExecutable]
    package var hostsOverrides: [HostsOverride]
    package var extraCaCertificates: [ExtraCertificate]
    package var ldSoPreload: [String]
    /// Package files that exist but could not be read, so were not verified.
    package var unreadable: [String] = []
    /// Installed packages that ship no md5sums, so their files cannot be verified.
    package var unverifiablePackages: [String] = []
    /// Browser certificate databases (NSS `cert9.db`) and the folders holding them that could not
    /// be read, so whether they trust an added certificate authority is unknown.
    package var unreadableCertificateStores: [UnreadableStore] = []
    /// Why the search for unowned executables did not see everything (a directory it could not
    /// list, a walk stopped at its cap), so finding none proves nothing.
    package var unownedSearchIncomplete: [String] = []
    /// `full` (every file hashed) or `incremental` (unchanged files taken from the sealed cache).
    package var mode: String = "full"
    /// Files whose digest came from the cache.
    package var fromCache: Int = 0
    /// A note about the cache (discarded because its seal failed, not saved …).
    package var cacheNote: String?

    package init(
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
    package init(from decoder: any Decoder) throws {
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
package struct CredentialsEvidence: Codable, Sendable, Hashable {
    package struct SavedLogin: Codable, Sendable, Hashable {
        package var browser: String
        package var profilePath: String
        package var origin: String
        package init(browser: String, profilePath: String, origin: String) {
            self.browser = browser
            self.profilePath = profilePath
            self.origin = origin
        }
    }
    package var savedLogins: [SavedLogin]
    /// Files named like password notes (paths only).
    package var passwordNotes: [String]

    package init(savedLogins: [SavedLogin], passwordNotes: [String]) {
        self.savedLogins = savedLogins
        self.passwordNotes = passwordNotes
    }
}

/// An installed file-sharing (P2P) client.
package struct FileSharingEvidence: Codable, Sendable, Hashable {
    package var name: String
    package var version: String?
    package init(name: String, version: String?) {
        self.name = name
        self.version = version
    }
}

/// Whether the system clock is synchronised, which report timestamps depend on.
package struct ClockEvidence: Codable, Sendable, Hashable {
    @ExplicitNull package var synchronized: Bool? = nil
    @ExplicitNull package var source: String? = nil
    package init(synchronized: Bool?, source: String?) {
        self.synchronized = synchronized
        self.source = source
    }
}

/// Local access controls: autologin, guest session, screen lock, disk encryption, firewall.
package struct LocalAccessEvidence: Codable, Sendable, Hashable {
    package var autologin: [String]?
    package var guestSession: Bool?
    package var screenLock: Bool?
    package var diskEncrypted: Bool?
    package var firewallActive: Bool?

    package init(
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
