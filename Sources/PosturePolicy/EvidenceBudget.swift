import Foundation
package import PostureModel

/// How much of what a user can grow goes into a report, so that no PC's report outgrows what a
/// collector accepts: each such list keeps at most `items` entries and each string at most
/// `characters`, and what is left out is counted in `evidence.truncation`.
///
/// Entries that decide a verdict are kept first (saved logins and hosts overrides of the bank
/// domains, set-id executables, modified files before conffiles, pending security updates), so a
/// report judged from its bounded evidence reaches the verdicts the whole evidence would.
package struct EvidenceBudget: Sendable, Hashable {
    package var items: Int
    package var characters: Int

    package init(items: Int, characters: Int) {
        self.items = items
        self.characters = characters
    }

    /// What a report carries at most (DESIGN: a report of any PC stays under 512 KiB).
    package static let reportLimit = 512 * 1024
    /// The budgets tried in turn until a report fits `reportLimit`.
    package static let ladder = [
        EvidenceBudget(items: 200, characters: 1024), EvidenceBudget(items: 50, characters: 512),
        EvidenceBudget(items: 10, characters: 256)
    ]

    /// `evidence` within this budget, keeping every saved login and hosts override of `domains`
    /// up to the cap before any other.
    package func bound(_ evidence: Evidence, keeping domains: [String]) -> Evidence {
        var bounded = evidence
        let kept = Set(domains.map { $0.lowercased() })
        var cut = Cut(budget: self, domains: kept)
        let matches = { (host: String) in kept.contains { Verdicts.host(host, isIn: $0) } }

        if var credentials = bounded.credentials {
            credentials.savedLogins = cut.list(
                credentials.savedLogins, "credentials.saved_logins",
                first: { matches(Verdicts.hostName(of: $0.origin)) }
            ) { login, cut in
                login.browser = cut.text(login.browser)
                login.profilePath = cut.path(login.profilePath)
                login.origin = cut.origin(login.origin)
            }
            credentials.passwordNotes = cut.list(credentials.passwordNotes, "credentials.password_notes") { $0 = $1.path($0) }
            bounded.credentials = credentials
        }
        if var integrity = bounded.integrity {
            integrity.modified = cut.list(integrity.modified, "integrity.modified", first: { $0.kind == "file" }) { file, cut in
                file.path = cut.path(file.path)
                file.package = cut.text(file.package)
            }
            integrity.missing = cut.list(integrity.missing, "integrity.missing", first: { $0.kind == "file" }) { file, cut in
                file.path = cut.path(file.path)
                file.package = cut.text(file.package)
            }
            integrity.unownedExecutables = cut.list(
                integrity.unownedExecutables, "integrity.unowned_executables",
                first: \.setid
            ) { $0.path = $1.path($0.path) }
            integrity.hostsOverrides = cut.list(
                integrity.hostsOverrides, "integrity.hosts_overrides",
                first: { matches($0.name.lowercased()) }
            ) { entry, cut in
                entry.name = cut.hostName(entry.name)
                entry.address = cut.text(entry.address)
            }
            integrity.extraCaCertificates = cut.list(integrity.extraCaCertificates, "integrity.extra_ca_certificates") { certificate, cut in
                certificate.path = cut.path(certificate.path)
                certificate.subject = cut.text(certificate.subject)
            }
            integrity.ldSoPreload = cut.list(integrity.ldSoPreload, "integrity.ld_so_preload") { $0 = $1.path($0) }
            integrity.unreadable = cut.list(integrity.unreadable, "integrity.unreadable") { $0 = $1.path($0) }
            integrity.unverifiablePackages = cut.list(integrity.unverifiablePackages, "integrity.unverifiable_packages") { $0 = $1.text($0) }
            integrity.unreadableCertificateStores = cut.list(
                integrity.unreadableCertificateStores,
                "integrity.unreadable_certificate_stores"
            ) { store, cut in
                store.path = cut.path(store.path)
                store.reason = cut.text(store.reason)
            }
            integrity.unownedSearchIncomplete = cut.list(integrity.unownedSearchIncomplete, "integrity.unowned_search_incomplete") { $0 = $1.text($0) }
            bounded.integrity = integrity
        }
        if var packages = bounded.packages, let pending = packages.pendingUpdates {
            packages.pendingUpdates = cut.list(
                pending, "packages.pending_updates", first: { !$0.phased && $0.security },
                then: { !$0.phased }
            ) { update, cut in
                update.name = cut.text(update.name)
                update.installed = cut.text(update.installed)
                update.candidate = cut.text(update.candidate)
            }
            packages.indexError = packages.indexError.map { cut.text($0) }
            bounded.packages = packages
        }
        if let clients = bounded.fileSharing {
            bounded.fileSharing = cut.list(clients, "file_sharing") { client, cut in
                client.name = cut.text(client.name)
                client.version = client.version.map { cut.text($0) }
            }
        }
        if let browsers = bounded.browsers {
            bounded.browsers = cut.list(browsers, "browsers", first: { $0.supported == false }) { browser, cut in
                browser.version = cut.text(browser.version)
                browser.source = cut.path(browser.source)
            }
        }
        bounded.unavailable = bounded.unavailable.mapValues { cut.text($0, limit: 4 * cut.budget.characters) }

        if !cut.truncation.leftOut.isEmpty || cut.truncation.shortenedStrings > 0 {
            cut.truncation.keptDomains = cut.domains.sorted()
            bounded.truncation = cut.truncation
        }
        return bounded
    }

    /// The state of one bounding pass: the budget, the domains kept first, and what was cut.
    struct Cut {
        let budget: EvidenceBudget
        let domains: Set<String>
        var truncation = Truncation()

        /// At most `budget.items` of `items`: those matching `first`, then `then`, then the rest,
        /// each in its original order; every kept entry's strings shortened by `shorten`.
        mutating func list<T>(
            _ items: [T], _ path: String, first: (T) -> Bool = { _ in false }, then: (T) -> Bool = { _ in false },
            shorten: (inout T, inout Cut) -> Void
        ) -> [T] {
            var kept: [T]
            if items.count > budget.items {
                var ranked: [(rank: Int, index: Int)] = []
                ranked.reserveCapacity(items.count)
                for (index, item) in items.enumerated() {
                    ranked.append((first(item) ? 0 : then(item) ? 1 : 2, index))
                }
                let chosen = ranked.sorted { ($0.rank, $0.index) < ($1.rank, $1.index) }.prefix(budget.items).map(\.index).sorted()
                kept = chosen.map { items[$0] }
                truncation.leftOut[path] = items.count - kept.count
            } else {
                kept = items
            }
            for index in kept.indices { shorten(&kept[index], &self) }
            return kept
        }

        /// `text` cut to the budget, keeping its start.
        mutating func text(_ text: String, limit: Int? = nil) -> String {
            let limit = limit ?? budget.characters
            guard text.unicodeScalars.count > limit else { return text }
            truncation.shortenedStrings += 1
            return String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit - 1))) + "…"
        }

        /// A path cut in the middle, keeping its start and its file name.
        mutating func path(_ path: String) -> String {
            let scalars = path.unicodeScalars
            guard scalars.count > budget.characters else { return path }
            truncation.shortenedStrings += 1
            let tail = budget.characters / 4
            return String(String.UnicodeScalarView(scalars.prefix(budget.characters - tail - 1))) + "…"
                + String(String.UnicodeScalarView(scalars.suffix(tail)))
        }

        /// A host name cut at its start, so the domain it ends in (which checks match) is kept.
        mutating func hostName(_ name: String) -> String {
            let scalars = name.unicodeScalars
            guard scalars.count > budget.characters else { return name }
            truncation.shortenedStrings += 1
            return "…" + String(String.UnicodeScalarView(scalars.suffix(budget.characters - 1)))
        }

        /// An origin cut to its scheme and host (the host cut at its start), so the host it is
        /// judged by still ends in the same domain.
        mutating func origin(_ origin: String) -> String {
            guard origin.unicodeScalars.count > budget.characters else { return origin }
            truncation.shortenedStrings += 1
            let host = Verdicts.hostName(of: origin).unicodeScalars
            let scheme = origin.range(of: "://").map { String(origin[..<$0.lowerBound].prefix(16)) + "://" } ?? ""
            let room = budget.characters - scheme.unicodeScalars.count - 3
            let kept = host.count > room ? "…" + String(String.UnicodeScalarView(host.suffix(room - 1))) : String(String.UnicodeScalarView(host))
            return scheme + kept + "/…"
        }
    }
}

extension Profile {
    /// The bank domains its requirements name (`domains` of saved-login and interception checks).
    package var bankDomains: [String] {
        (requirements + (strongerMeasures?.requirements ?? [])).flatMap { $0.parameters.strings("domains") }
    }
}
