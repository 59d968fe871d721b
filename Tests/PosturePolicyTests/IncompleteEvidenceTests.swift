import Foundation
import PostureModel
import Testing

@testable import PosturePolicy

/// Every check, judged on evidence that passes, fails, is missing, and is partial: a probe that
/// could not see all of its input never yields a pass, nor a fail concluded from absence.
@Suite struct IncompleteEvidenceTests {
    static let now = EvaluatorTests.now
    static func daysAgo(_ days: Double) -> Date { now.addingTimeInterval(-days * 86400) }
    static let unreadableStatus = "/var/lib/dpkg/status is malformed: truncated: it does not end with a newline"

    /// One check's four cases, as evidence.
    struct Row: CustomTestStringConvertible, Sendable {
        var check: String
        var with: String = ""
        var pass: @Sendable () -> Evidence
        var fail: @Sendable () -> Evidence
        /// Evidence whose input was damaged or partly unreadable, and the reason a finding must name.
        var partial: @Sendable () -> (Evidence, String)
        var testDescription: String { check }
    }

    static func evidence(_ change: (inout Evidence) -> Void) -> Evidence {
        var evidence = Evidence()
        change(&evidence)
        return evidence
    }

    static func browsers(_ list: [BrowserEvidence], partial: Bool = false) -> Evidence {
        evidence {
            $0.browsers = list
            $0.packages = PackagesEvidence(
                manager: "dpkg", installed: 1, indexUpdatedAt: daysAgo(1), pendingUpdates: [],
                indexError: nil, indexLists: 1)
            if partial { $0.unavailable["browsers"] = "package database unreadable, so packaged installs may be missed: \(unreadableStatus)" }
        }
    }

    static func security(_ list: [SecuritySoftwareEvidence], partial: Bool = false) -> Evidence {
        evidence {
            $0.securitySoftware = list
            if partial { $0.unavailable["security_software"] = "package database unreadable, so packaged installs may be missed: \(unreadableStatus)" }
        }
    }

    static func integrity(_ change: (inout IntegrityEvidence) -> Void) -> Evidence {
        var section = IntegrityEvidence(
            checked: 100, modified: [], missing: [], unownedExecutables: [], hostsOverrides: [],
            extraCaCertificates: [], ldSoPreload: [])
        change(&section)
        return evidence { $0.integrity = section }
    }

    static func access(_ change: (inout LocalAccessEvidence) -> Void) -> Evidence {
        var section = LocalAccessEvidence(autologin: [], guestSession: false, screenLock: true, diskEncrypted: true, firewallActive: true)
        change(&section)
        return evidence { $0.localAccess = section }
    }

    static let clamav = SecuritySoftwareEvidence(product: "clamav", installed: true, running: true, signaturesUpdatedAt: daysAgo(1))
    static let chromium = BrowserEvidence(
        name: "chromium", version: "156.0", source: "dpkg", candidate: "156.0", eol: nil,
        supported: true, catalogAsOf: Day("2026-11-01"))

    static let rows: [Row] = [
        Row(
            check: "os.supported",
            pass: { EvaluatorTests.os(eol: "2028-06-30") },
            fail: { EvaluatorTests.os(eol: "2026-06-30") },
            partial: {
                var evidence = EvaluatorTests.os(eol: nil)
                evidence.unavailable["os"] = "usr/share/distro-info/debian.csv: Permission denied"
                return (evidence, "End of support")
            }),
        Row(
            check: "environment.recommended", with: "{os: [debian 12]}",
            pass: { EvaluatorTests.os(eol: "2028-06-30") },
            fail: {
                var evidence = EvaluatorTests.os(eol: "2028-06-30")
                evidence.os?.id = "ubuntu"
                return evidence
            },
            partial: {
                var evidence = Evidence()
                evidence.unavailable["os"] = "etc/os-release: Permission denied"
                return (evidence, "etc/os-release: Permission denied")
            }),
        Row(
            check: "updates.none_pending",
            pass: { EvaluatorTests.packages(pending: [], fetchedDaysAgo: 1) },
            fail: { EvaluatorTests.packages(pending: [EvaluatorTests.update], fetchedDaysAgo: 1) },
            partial: { (EvaluatorTests.packages(pending: [], fetchedDaysAgo: 1, error: "1 of 3 lists unreadable"), "1 of 3 lists unreadable") }),
        Row(
            check: "browser.supported",
            pass: { browsers([chromium]) },
            fail: {
                var old = chromium
                old.supported = false
                return browsers([old])
            },
            partial: { (browsers([chromium], partial: true), "package database unreadable") }),
        Row(
            check: "browser.updated",
            pass: { browsers([chromium]) },
            fail: {
                var old = chromium
                old.candidate = "157.0"
                return browsers([old])
            },
            partial: { (browsers([chromium], partial: true), "package database unreadable") }),
        Row(
            check: "security_software.installed",
            pass: { security([clamav]) },
            fail: { security([]) },
            partial: { (security([], partial: true), "package database unreadable") }),
        Row(
            check: "security_software.running",
            pass: { security([clamav]) },
            fail: {
                var stopped = clamav
                stopped.running = false
                return security([stopped])
            },
            partial: { (security([], partial: true), "package database unreadable") }),
        Row(
            check: "security_software.signatures_fresh",
            pass: { security([clamav]) },
            fail: {
                var stale = clamav
                stale.signaturesUpdatedAt = daysAgo(30)
                return security([stale])
            },
            partial: { (security([], partial: true), "package database unreadable") }),
        Row(
            check: "accounts.password_age",
            pass: { evidence { $0.accounts = [.init(user: "alice", uid: 1000, passwordLastChanged: Day("2026-11-01"), passwordMaxDays: 90, locked: false)] } },
            fail: { evidence { $0.accounts = [.init(user: "alice", uid: 1000, passwordLastChanged: Day("2025-01-01"), passwordMaxDays: 90, locked: false)] } },
            partial: {
                (
                    evidence {
                        $0.accounts = [
                            .init(user: "alice", uid: 1000, passwordLastChanged: Day("2026-11-01"), passwordMaxDays: 90, locked: false),
                            .init(user: "bob", uid: 1001, passwordLastChanged: nil, passwordMaxDays: nil, locked: false)
                        ]
                        $0.unavailable["accounts"] = "bob has no entry in /etc/shadow"
                    }, "bob"
                )
            }),
        Row(
            check: "credentials.no_saved_bank_logins", with: "{domains: [bank.example]}",
            pass: { evidence { $0.credentials = .init(savedLogins: [], passwordNotes: []) } },
            fail: {
                evidence {
                    $0.credentials = .init(
                        savedLogins: [.init(browser: "firefox", profilePath: "/home/a/.mozilla", origin: "https://ib.bank.example")], passwordNotes: [])
                }
            },
            partial: {
                (
                    evidence {
                        $0.credentials = .init(savedLogins: [], passwordNotes: [])
                        $0.unavailable["credentials"] = "/home/a/.mozilla/firefox/x/logins.json: Permission denied"
                    }, "logins.json"
                )
            }),
        Row(
            check: "integrity.no_modified_system_files",
            pass: { integrity { _ in } },
            fail: { integrity { $0.modified = [.init(path: "/usr/bin/cmp", package: "diffutils", kind: "file")] } },
            partial: { (integrity { $0.unverifiablePackages = ["local-tool"] }, "local-tool") }),
        Row(
            check: "integrity.no_unowned_executables",
            pass: { integrity { _ in } },
            fail: { integrity { $0.unownedExecutables = [.init(path: "/usr/bin/dropper", sha256: "ab")] } },
            partial: { (integrity { $0.unownedSearchIncomplete = ["/usr/lib/private: Permission denied"] }, "/usr/lib/private") }),
        Row(
            check: "integrity.no_interception",
            pass: { integrity { _ in } },
            fail: { integrity { $0.ldSoPreload = ["/usr/lib/libhook.so"] } },
            partial: { (integrity { $0.unreadableCertificateStores = [.init(path: "/home/a/.pki/nssdb/cert9.db", reason: "locked")] }, "cert9.db") }),
        Row(
            check: "file_sharing.none_installed",
            pass: { evidence { $0.fileSharing = [] } },
            fail: { evidence { $0.fileSharing = [.init(name: "transmission (package transmission-gtk)", version: "3.00")] } },
            partial: {
                (
                    evidence {
                        $0.fileSharing = []
                        $0.unavailable["file_sharing"] = "package database unreadable, so packaged installs may be missed: \(unreadableStatus)"
                    }, "package database unreadable"
                )
            }),
        Row(
            check: "clock.synchronized",
            pass: { evidence { $0.clock = .init(synchronized: true, source: "systemd-timesyncd") } },
            fail: { evidence { $0.clock = .init(synchronized: false, source: "adjtimex") } },
            partial: { (evidence { $0.clock = .init(synchronized: nil, source: nil) }, "cannot be seen") }),
        Row(
            check: "access.no_autologin",
            pass: { access { _ in } },
            fail: { access { $0.autologin = ["gdm3: alice"] } },
            partial: { (access { $0.autologin = nil }, "cannot be read") }),
        Row(
            check: "access.screen_lock",
            pass: { access { _ in } }, fail: { access { $0.screenLock = false } },
            partial: { (access { $0.screenLock = nil }, "cannot be seen") }),
        Row(
            check: "access.disk_encrypted",
            pass: { access { _ in } }, fail: { access { $0.diskEncrypted = false } },
            partial: { (access { $0.diskEncrypted = nil }, "cannot be seen") }),
        Row(
            check: "access.firewall_active",
            pass: { access { _ in } }, fail: { access { $0.firewallActive = false } },
            partial: { (access { $0.firewallActive = nil }, "cannot be seen") })
    ]

    @Test func everyProbeCheckHasARow() {
        let covered = Set(Self.rows.map(\.check))
        let probeChecks = Set(Check.allCases.filter { $0.probe != nil }.map(\.rawValue))
        #expect(covered == probeChecks)
    }

    @Test(arguments: rows) func passFailMissingPartial(_ row: Row) throws {
        #expect(try EvaluatorTests.finding(row.check, with: row.with, evidence: row.pass()).status == .pass)
        let fail = try EvaluatorTests.finding(row.check, with: row.with, evidence: row.fail())
        #expect(fail.status == .fail)
        #expect(fail.remedy != nil)

        var missing = Evidence()
        let probe = try #require(Check(rawValue: row.check)?.probe)
        missing.unavailable[probe.rawValue] = "marker: input missing"
        let notCollected = try EvaluatorTests.finding(row.check, with: row.with, evidence: missing)
        #expect(notCollected.status == .unknown)
        #expect(notCollected.summary.contains("marker: input missing"))

        let (evidence, reason) = row.partial()
        let partial = try EvaluatorTests.finding(row.check, with: row.with, evidence: evidence)
        #expect(partial.status == .unknown, "\(partial.summary)")
        #expect(partial.summary.contains(reason), "\(partial.summary)")
    }

    /// A product seen stopped, or with old signatures, says nothing of one the probe could not see.
    @Test func absenceAmongProductsSeenIsUnknownWhenSomeWereNotSeen() throws {
        var stopped = Self.clamav
        stopped.running = false
        var stale = Self.clamav
        stale.signaturesUpdatedAt = Self.daysAgo(30)
        for (check, product) in [("security_software.running", stopped), ("security_software.signatures_fresh", stale)] {
            #expect(try EvaluatorTests.finding(check, evidence: Self.security([product])).status == .fail)
            let partial = try EvaluatorTests.finding(check, evidence: Self.security([product], partial: true))
            #expect(partial.status == .unknown, "\(check): \(partial.summary)")
            #expect(partial.summary.contains("package database unreadable"))
        }
    }

    /// 002 (2) demands 市販 (commercially sold) antivirus: ClamAV, free software, does not count there.
    @Test(arguments: ["security_software.installed", "security_software.running", "security_software.signatures_fresh"])
    func commercialOnlyCountsCommercialProducts(_ check: String) throws {
        var free = Self.clamav
        free.commercial = false
        let sold = SecuritySoftwareEvidence(product: "eset", installed: true, running: true, signaturesUpdatedAt: Self.daysAgo(1), commercial: true)
        #expect(try EvaluatorTests.finding(check, evidence: Self.security([free])).status == .pass)
        let onlyFree = try EvaluatorTests.finding(check, with: "{commercial_only: true}", evidence: Self.security([free]))
        #expect(onlyFree.status == .fail)
        #expect(onlyFree.summary.contains("commercially sold"))
        #expect(try EvaluatorTests.finding(check, with: "{commercial_only: true}", evidence: Self.security([free, sold])).status == .pass)
        // A report from an agent that did not record the flag cannot tell.
        #expect(try EvaluatorTests.finding(check, with: "{commercial_only: true}", evidence: Self.security([Self.clamav])).status == .unknown)
        // Only free software seen, on a package list that could not be read: a commercial one may be there.
        #expect(try EvaluatorTests.finding(check, with: "{commercial_only: true}", evidence: Self.security([free], partial: true)).status == .unknown)
    }

    /// What a partial probe did find still counts: a client that is there is there.
    @Test func aFindingOnPartialEvidenceStillFails() throws {
        var found = Evidence()
        found.fileSharing = [.init(name: "transmission (package transmission-daemon)", version: "3.00")]
        found.unavailable["file_sharing"] = "package database unreadable"
        #expect(try EvaluatorTests.finding("file_sharing.none_installed", evidence: found).status == .fail)
        var old = Self.chromium
        old.supported = false
        #expect(try EvaluatorTests.finding("browser.supported", evidence: Self.browsers([old], partial: true)).status == .fail)
    }
}
