import Foundation

/// apt's pins (`etc/apt/preferences`, then `etc/apt/preferences.d/*`), read and matched as
/// apt-pkg/policy.cc (`ReadPinFile`, `CreatePin`) and apt-pkg/versionmatch.cc do.
struct AptPreferences: Sendable {
    /// apt's `NEVER_PIN` (`Pin-Priority: never`, only for `Package: *`).
    static let never = Int(Int16.min)

    /// What a pin selects: `Pin: version …`, `Pin: release …`, `Pin: origin …`.
    enum Kind: Sendable { case version, release, origin }

    /// One `Pin:` record for one package expression (nil: `Package: *`, a default pin).
    struct Pin: Sendable {
        var package: String?
        var kind: Kind
        var data: String
        var priority: Int
    }

    /// The attributes of one package index file (or the dpkg status) that release and origin
    /// pins match against.
    struct FileAttributes: Sendable, Hashable {
        var hasRelease: Bool
        var origin: String?
        var label: String?
        /// The Release file's `Suite` (apt calls it the archive).
        var archive: String?
        var codename: String?
        var version: String?
        var component: String
        var architecture: String?
        /// The host of the source's URI (empty for `file:` and `copy:` sources).
        var site: String?

        /// The dpkg status file: archive `now`, stored by apt as the component.
        static let status = FileAttributes(hasRelease: false, component: "now")
    }

    var pins: [Pin] = []
    /// Files apt would refuse to run with (`E:` errors).
    var problems: [String] = []

    static let file = "etc/apt/preferences"
    static let directory = "etc/apt/preferences.d"

    static func read(root: ScanRoot, configuration: AptConfiguration) -> AptPreferences {
        var preferences = AptPreferences()
        // APT::Default-Release is the first default pin, so it takes precedence over the files'.
        if let release = configuration.string("APT::Default-Release") {
            preferences.pins.append(Pin(package: nil, kind: .release, data: release, priority: 990))
        }
        var paths = [file]
        paths += AptConfiguration.partFiles(in: (try? root.list(directory)) ?? [], extension: "pref").map { "\(directory)/\($0)" }
        for path in paths where root.exists(path) && !root.isDirectory(path) {
            do {
                let text = try root.readText(path, limit: 16 << 20)
                if let problem = preferences.parse(text) { preferences.problems.append("\(root.display(path)): \(problem)") }
            } catch {
                preferences.problems.append(error.description)
            }
        }
        return preferences
    }

    /// Adds the pins of one file; returns the error apt would stop with (pins before it are kept).
    mutating func parse(_ text: String) -> String? {
        // pkgTagFile with SUPPORT_COMMENTS: lines starting with '#' are dropped.
        let uncommented = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        var failure: String?
        ControlFile.forEachStanza(in: uncommented) { fields in
            guard failure == nil else { return }
            let lowered = Dictionary(fields.map { ($0.key.lowercased(), String($0.value)) }, uniquingKeysWith: { a, _ in a })
            guard let names = lowered["package"]?.trimmingCharacters(in: .whitespaces), !names.isEmpty else {
                failure = "a record has no Package field"
                return
            }
            let all = names == "*"
            guard let pin = lowered["pin"] else { return }
            let typeWord = pin.prefix { !$0.isWhitespace }
            let data = pin.dropFirst(typeWord.count).drop { $0.isWhitespace }
            let kind: Kind
            switch typeWord.lowercased() {
            case "version" where !all: kind = .version
            case "release": kind = .release
            case "origin": kind = .origin
            default: return  // apt warns "Did not understand pin type" and skips the record
            }
            let priorityText = lowered["pin-priority"]?.trimmingCharacters(in: .whitespaces) ?? ""
            var priority: Int
            if priorityText == "never" {
                guard all else {
                    failure = "'Pin-Priority: never' can only be used for 'Package: *' records"
                    return
                }
                priority = Self.never
            } else {
                let value = Self.cInteger(priorityText)
                priority = value == Self.never ? Self.never + 1 : value
            }
            guard priority >= Int(Int16.min), priority <= Int(Int16.max) else {
                failure = "Pin-Priority \(priorityText) is outside the range of valid pin priorities (-32768 to 32767)"
                return
            }
            guard priority != 0 else {
                failure = "no priority (or zero) specified for pin"
                return
            }
            if all {
                pins.append(Pin(package: nil, kind: kind, data: String(data), priority: priority))
            } else {
                for name in names.split(whereSeparator: \.isWhitespace) {
                    pins.append(Pin(package: String(name), kind: kind, data: String(data), priority: priority))
                }
            }
        }
        return failure
    }

    /// apt's `FindI` (strtol, base 10): the leading number, 0 when there is none.
    private static func cInteger(_ text: String) -> Int {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        var sign = 1
        if let first = rest.first, first == "-" || first == "+" {
            sign = first == "-" ? -1 : 1
            rest = rest.dropFirst()
        }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }.prefix(12)
        return sign * (Int(digits) ?? 0)
    }

    // MARK: Matching (versionmatch.cc)

    /// apt's `ExpressionMatches`: `/regex/` (POSIX extended, case-insensitive), else an
    /// `fnmatch` glob, case-insensitive.
    static func expressionMatches(_ pattern: String, _ string: String?) -> Bool {
        guard let string else { return false }
        if pattern.count >= 2, pattern.hasPrefix("/"), pattern.hasSuffix("/") {
            var regex = regex_t()
            guard regcomp(&regex, String(pattern.dropFirst().dropLast()), REG_EXTENDED | REG_ICASE) == 0 else { return false }
            defer { regfree(&regex) }
            return regexec(&regex, string, 0, nil, 0) == 0
        }
        return fnmatch(pattern, string, fnmCaseFold) == 0
    }

    /// glibc's, musl's and Darwin's `FNM_CASEFOLD` (a GNU extension Swift does not import).
    private static let fnmCaseFold: Int32 = 1 << 4

    /// apt's `MatchVer`: equal, or a prefix when the pin ended in `*`; case-insensitive.
    private static func matchVersion(_ version: String?, _ wanted: String, prefix: Bool) -> Bool {
        guard let version else { return false }
        let a = version.lowercased(), b = wanted.lowercased()
        return prefix ? a.hasPrefix(b) : a == b
    }

    /// A parsed pin expression (`pkgVersionMatch`).
    struct Matcher {
        var kind: Kind
        var version = ""
        var versionPrefix = false
        var matchAll = false
        var release: [Character: String] = [:]
        /// A bare word: matches the archive or the codename (`Pin: release stable`).
        var releaseName: String?
        var site = ""

        init(_ data: String, kind: Kind) {
            self.kind = kind
            guard !data.isEmpty else { return }
            switch kind {
            case .version:
                versionPrefix = data.hasSuffix("*")
                version = versionPrefix ? String(data.dropLast()) : data
            case .release:
                if data == "*" {
                    matchAll = true
                    return
                }
                if !data.contains("=") {
                    if data.first?.isNumber == true {
                        release["v"] = data
                    } else {
                        releaseName = data
                    }
                } else {
                    // TokSplitString: fragments split at commas, blanks around them dropped.
                    let fragments = data.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    for fragment in fragments where fragment.count >= 3 {
                        let key = fragment.first!.lowercased().first!
                        guard fragment.dropFirst().first == "=", "voanlcb".contains(key) else { continue }
                        release[key] = String(fragment.dropFirst(2))
                    }
                }
                if let v = release["v"], v.hasSuffix("*") {
                    versionPrefix = true
                    release["v"] = String(v.dropLast())
                }
            case .origin:
                site = data.count >= 2 && data.hasPrefix("\"") && data.hasSuffix("\"") ? String(data.dropFirst().dropLast()) : data
            }
        }

        /// `FileMatch` for a package index file (or the status file).
        func matches(_ file: FileAttributes) -> Bool {
            if file.hasRelease {
                switch kind {
                case .release:
                    if matchAll { return true }
                    if release.isEmpty && releaseName == nil { return false }
                    if let v = release["v"], !AptPreferences.matchVersion(file.version, v, prefix: versionPrefix),
                        !AptPreferences.expressionMatches(v, file.version)
                    {
                        return false
                    }
                    if let o = release["o"], !AptPreferences.expressionMatches(o, file.origin) { return false }
                    if let a = release["a"], !AptPreferences.expressionMatches(a, file.archive) { return false }
                    if let n = release["n"], !AptPreferences.expressionMatches(n, file.codename) { return false }
                    if let name = releaseName, !AptPreferences.expressionMatches(name, file.archive),
                        !AptPreferences.expressionMatches(name, file.codename)
                    {
                        return false
                    }
                    if let l = release["l"], !AptPreferences.expressionMatches(l, file.label) { return false }
                case .origin:
                    if !site.isEmpty && file.site == nil { return false }
                    return AptPreferences.expressionMatches(site, file.site ?? "")
                case .version:
                    return false
                }
            } else if kind == .release {
                if let a = release["a"], !AptPreferences.expressionMatches(a, file.component) { return false }
                if let name = releaseName, !AptPreferences.expressionMatches(name, file.component) { return false }
                if release["o"] != nil || release["l"] != nil || release["v"] != nil || release["n"] != nil { return false }
            } else {
                return false
            }
            if matchAll { return true }
            if let c = release["c"], !AptPreferences.expressionMatches(c, file.component) { return false }
            if let b = release["b"], !AptPreferences.expressionMatches(b, file.architecture) { return false }
            return true
        }

        /// `VersionMatches`: the version string for version pins, else any file of the version.
        func matches(version: String, files: [FileAttributes]) -> Bool {
            if kind == .version {
                return AptPreferences.matchVersion(version, self.version, prefix: versionPrefix)
                    || AptPreferences.expressionMatches(self.version, version)
            }
            return files.contains { matches($0) }
        }
    }
}
