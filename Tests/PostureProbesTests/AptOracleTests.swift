import Foundation
import PostureModel
import PostureTestSupport
import Testing

@testable import PostureProbes

/// Pending updates against apt itself: a real Debian 12 root (debootstrap), a local apt
/// repository made at test time by `dpkg-deb`, `dpkg-scanpackages` and `apt-ftparchive`
/// (several suites, pins in `preferences.d`, `Phased-Update-Percentage` added to the index as
/// Launchpad publishes it), old versions installed with `dpkg -i` and the lists fetched by
/// `apt-get update` inside the root. What posture reports must equal what apt decides there.
@Suite(.serialized) struct AptOracleTests {
    /// Two machine ids on opposite sides of `phased-a`'s 50 % and `phased-c`'s 40 % (apt decides;
    /// the test checks that apt's answers differ, so it cannot pass by both being the same).
    static let machineIDs = ["11111111111111111111111111111111", "0123456789abcdef0123456789abcdef"]

    /// Builds the repository inside the root (`/srv/posture-repo`, a `file:` source) and installs
    /// the old versions. Arguments: the root, a scratch directory.
    static let makeRepository = #"""
        set -euo pipefail
        R=$1; W=$2; repo=$R/srv/posture-repo
        mkdir -p "$W/debs" "$repo"
        deb() { # NAME VERSION ARCH [SOURCE]: a real .deb with no files
            local d="$W/build/$1_$2"; mkdir -p "$d/DEBIAN"
            { echo "Package: $1"; echo "Version: $2"; echo "Architecture: $3"
              if [ -n "${4:-}" ]; then echo "Source: $4"; fi
              echo "Maintainer: posture tests <tests@example.invalid>"; echo "Description: posture oracle package $1"
            } > "$d/DEBIAN/control"
            dpkg-deb --root-owner-group --build "$d" "$W/debs/$1_$2_$3.deb" > /dev/null
        }
        offer() { # SUITE NAME VERSION ARCH [SOURCE]
            deb "$2" "$3" "$4" "${5:-}"; mkdir -p "$repo/pool/$1"; cp "$W/debs/$2_$3_$4.deb" "$repo/pool/$1/"
        }
        installed="plain phased-a phased-b phased-sec held-by-pin downgraded nev-pkg rx-pkg bpo-pkg na-pkg"
        for p in $installed; do deb "$p" 1.0 all; done
        deb phased-c 1.0 all phasedsrc; deb srcbin 1.0 all srcpinned; deb amd64-pkg 1.0 amd64

        offer posture-stable plain 2.0 all;       offer posture-stable amd64-pkg 2.0 amd64
        offer posture-stable phased-a 2.0 all;    offer posture-stable phased-b 2.0 all
        offer posture-stable phased-c 2.0 all "phasedsrc (3.0)"
        offer posture-stable phased-sec 2.0 all;  offer posture-security phased-sec 1.1 all
        offer posture-stable held-by-pin 2.0 all; offer posture-stable downgraded 0.9 all
        offer posture-stable rx-pkg 2.0 all;      offer posture-stable srcbin 2.0 all srcpinned
        offer posture-unstable plain 3.0 all;     offer posture-unstable nev-pkg 2.0 all
        offer posture-backports bpo-pkg 2.0 all;  offer posture-experimental na-pkg 2.0 all
        # Ubuntu's archive carries the phase in the index, not in the .deb: an extra override.
        printf '%s\n' "phased-a Phased-Update-Percentage 50" "phased-b Phased-Update-Percentage 0" \
            "phased-c Phased-Update-Percentage 40" "phased-sec Phased-Update-Percentage 0" > "$W/phases"
        cd "$repo"
        for suite in posture-stable posture-security posture-unstable posture-backports posture-experimental; do
            mkdir -p "dists/$suite/main/binary-amd64"
            dpkg-scanpackages -m -e "$W/phases" "pool/$suite" > "dists/$suite/main/binary-amd64/Packages" 2> /dev/null
            flags=()
            case $suite in
                posture-backports) flags=(-o APT::FTPArchive::Release::NotAutomatic=yes -o APT::FTPArchive::Release::ButAutomaticUpgrades=yes) ;;
                posture-experimental) flags=(-o APT::FTPArchive::Release::NotAutomatic=yes) ;;
            esac
            apt-ftparchive -o APT::FTPArchive::Release::Origin=PostureTest -o APT::FTPArchive::Release::Label=PostureTest \
                -o APT::FTPArchive::Release::Suite=$suite -o APT::FTPArchive::Release::Codename=${suite#posture-}-code \
                -o APT::FTPArchive::Release::Components=main -o APT::FTPArchive::Release::Architectures=amd64 \
                "${flags[@]}" release "dists/$suite" > "$W/Release"
            mv "$W/Release" "dists/$suite/Release"
        done
        for suite in posture-stable posture-security posture-unstable posture-backports posture-experimental; do
            echo "deb [trusted=yes] file:/srv/posture-repo $suite main"
        done > "$R/etc/apt/sources.list"
        mkdir -p "$R/etc/apt/preferences.d"
        cat > "$R/etc/apt/preferences.d/90-posture.pref" <<'PINS'
        # Holds the installed version (a pin above 1000 also allows downgrades).
        Package: held-by-pin
        Pin: version 1.0
        Pin-Priority: 1001

        Package: downgraded
        Pin: version 0.9*
        Pin-Priority: 1001

        Package: nev*
        Pin: release a=posture-unstable
        Pin-Priority: -1

        Package: /^rx-/
        Pin: release n=stable-code
        Pin-Priority: 50

        Package: src:srcpinned
        Pin: origin ""
        Pin-Priority: 60
        PINS
        printf 'Package: *\nPin: release a=posture-unstable\nPin-Priority: 400\n' > "$R/etc/apt/preferences.d/91-unstable"
        # apt ignores this one (its extension is not .pref): were it read, plain would stay at 1.0.
        printf 'Package: plain\nPin: version 1.0\nPin-Priority: 1001\n' > "$R/etc/apt/preferences.d/92-ignored.txt"
        mkdir -p "$R/tmp/posture-debs"; cp "$W"/debs/*_1.0_*.deb "$R/tmp/posture-debs/"
        """#

    struct AptView: Equatable, CustomStringConvertible {
        /// name → candidate, as `apt list --upgradable` lists them.
        var upgradable: [String: String]
        /// name → version, what `apt-get -s upgrade` installs (Inst lines).
        var upgrade: [String: String]
        var description: String { "upgradable \(upgradable.sorted { $0.key < $1.key }), upgrade \(upgrade.sorted { $0.key < $1.key })" }
    }

    /// Runs a command inside the root, as a PC's own apt would run: no `ischroot` (apt includes
    /// every phased update inside a chroot) and no SOURCE_DATE_EPOCH.
    static func inRoot(_ root: String, _ command: [String]) throws -> String {
        let result = try Fixtures.run(
            "/usr/sbin/chroot",
            [
                root, "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C", "DEBIAN_FRONTEND=noninteractive"
            ] + command)
        guard result.status == 0 else {
            throw CommandFailed(description: "\(command.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    /// A command in the root that did not succeed.
    struct CommandFailed: Error, CustomStringConvertible {
        var description: String
    }

    static let noChroot = ["-o", "Dir::Bin::ischroot=/bin/false"]

    /// apt's answer in `root`: `apt list --upgradable` and `apt-get -s upgrade`.
    static func apt(_ root: String) throws -> AptView {
        var upgradable: [String: String] = [:]
        for line in try inRoot(root, ["apt"] + noChroot + ["list", "--upgradable"]).split(separator: "\n") where line.contains("[upgradable from") {
            // name/suite version arch [upgradable from: old]
            let words = line.split(separator: " ")
            upgradable[String(words[0].prefix { $0 != "/" })] = String(words[1])
        }
        var upgrade: [String: String] = [:]
        for line in try inRoot(root, ["apt-get"] + noChroot + ["-s", "upgrade"]).split(separator: "\n") where line.hasPrefix("Inst ") {
            // Inst name [old] (new suite [arch])
            let words = line.split(separator: " ")
            guard let open = words.firstIndex(where: { $0.hasPrefix("(") }) else { continue }
            upgrade[String(words[1])] = String(words[open].dropFirst())
        }
        return AptView(upgradable: upgradable, upgrade: upgrade)
    }

    /// posture's answer in `root`, in the same two shapes.
    static func posture(_ root: String, cache: ScanCache? = nil) async throws -> (view: AptView, pending: [PendingUpdate]) {
        let scanRoot = try ScanRoot(root)
        let evidence = try await PackagesProbe().collectWithCandidates(
            root: scanRoot, database: try DpkgDatabase.read(root: scanRoot), cache: cache
        ).evidence
        #expect(evidence.indexError == nil)
        let pending = try #require(evidence.pendingUpdates)
        // `apt list --upgradable` leaves out a downgrade a pin above 1000 asks for (apt-get upgrade makes it).
        let upgrades = pending.filter { DebianVersion.compare($0.candidate, $0.installed) > 0 }
        return (
            AptView(
                upgradable: Dictionary(uniqueKeysWithValues: upgrades.map { ($0.name, $0.candidate) }),
                upgrade: Dictionary(uniqueKeysWithValues: pending.filter { !$0.phased }.map { ($0.name, $0.candidate) })),
            pending
        )
    }

    static func baseRoot() throws -> String? {
        switch DebianSystemRoot.make() {
        case .success(let path): return path
        case .failure(let reason):
            if DebianSystemRoot.required { Issue.record("no Debian root: \(reason)") }
            return nil
        }
    }

    @Test(arguments: [false, true])
    func pendingUpdatesEqualAptsWithPinsAndPhasing(lz4Lists: Bool) async throws {
        guard let base = try Self.baseRoot() else { return }
        guard Fixtures.tool("/usr/bin/dpkg-scanpackages") != nil, Fixtures.tool("/usr/bin/apt-ftparchive") != nil else {
            if DebianSystemRoot.required { Issue.record("dpkg-dev and apt-utils are needed (make test installs them)") }
            return
        }
        let root = try DebianSystemRoot.copy(base)
        let work = try TemporaryRoot("apt-repo")
        let made = try Fixtures.run("/bin/bash", ["-c", Self.makeRepository, "make-repository", root.path, work.path])
        try #require(made.status == 0, "\(made.stderr)")
        // Lists as apt keeps them in Debian's container images (LZ4), or plain.
        try root.write("etc/apt/apt.conf.d/50posture-lists", "Acquire::GzipIndexes \"\(lz4Lists)\";\n")
        _ = try Self.inRoot(root.path, ["apt-get", "update", "-q"])
        _ = try Self.inRoot(root.path, ["sh", "-c", "dpkg -i /tmp/posture-debs/*.deb > /dev/null"])
        let lists = try FileManager.default.contentsOfDirectory(atPath: root.url("var/lib/apt/lists").path)
        #expect(lists.contains { $0.hasSuffix("_Packages.lz4") } == lz4Lists, "\(lists)")

        var phasedA: [Bool] = []
        for id in Self.machineIDs {
            try root.write("etc/machine-id", id + "\n")
            let apt = try Self.apt(root.path)
            let (posture, pending) = try await Self.posture(root.path)
            #expect(posture == apt, "machine-id \(id)")
            // Pins: held, downgraded, never, regex and source pins, the ignored file, NotAutomatic suites.
            #expect(apt.upgradable["plain"] == "2.0" && apt.upgrade["downgraded"] == "0.9" && apt.upgradable["bpo-pkg"] == "2.0")
            for name in ["held-by-pin", "nev-pkg", "rx-pkg", "srcbin", "na-pkg"] { #expect(apt.upgradable[name] == nil, "\(name)") }
            // A phase of 0 % holds back, unless a security version lies between (phased-sec).
            #expect(apt.upgrade["phased-b"] == nil && apt.upgrade["phased-sec"] == "2.0")
            let byName = Dictionary(uniqueKeysWithValues: pending.map { ($0.name, $0) })
            #expect(byName["phased-b"]?.phased == true && byName["phased-b"]?.phasedUpdatePercentage == 0)
            #expect(byName["phased-sec"]?.phased == false && byName["phased-sec"]?.phasedUpdatePercentage == 0)
            #expect(byName["plain"]?.phasedUpdatePercentage == nil)
            // What browsers are judged by: the version apt-get upgrade leaves installed.
            let database = try DpkgDatabase.read(root: ScanRoot(root.path))
            let candidates = try await PackagesProbe().collectWithCandidates(root: ScanRoot(root.path), database: database).candidates
            #expect(candidates["phased-b"] == "1.0" && candidates["plain"] == "2.0" && candidates["held-by-pin"] == "1.0")
            phasedA.append(apt.upgrade["phased-a"] != nil)
            #expect((apt.upgrade["phased-c"] != nil) == phasedA.last, "phased-c is seeded by its source, phasedsrc 3.0")
        }
        #expect(phasedA == [false, true], "the two machine ids fall on opposite sides of the 50 % phase")

        // Rescans through the scan cache: unchanged lists come from it, and what changed (a list
        // apt fetched again, a package installed) is read again; apt agrees each time.
        let state = try TemporaryRoot("apt-cache-state")
        let listCount = lists.filter { $0.contains("_Packages") }.count
        func cached(_ expectedHits: Int?, _ label: String) async throws {
            let cache = ScanCache(directory: state.path, root: try ScanRoot(root.path))
            #expect(try await Self.posture(root.path, cache: cache).view == Self.apt(root.path), "\(label)")
            if let expectedHits { #expect(cache.hits == expectedHits, "\(label): \(cache.hits) of \(listCount) lists from the cache") }
            try cache.save()
        }
        Fixtures.letFilesSettle()
        try await cached(0, "first scan")
        try await cached(listCount, "nothing changed")
        // plain 2.5 published in posture-stable, and a package no list offers built to install later.
        let changes = try Fixtures.run(
            "/bin/bash",
            [
                "-c",
                #"""
                set -e; R=$1; W=$2
                deb() { # NAME VERSION DESTINATION
                    local d="$W/build/$1_$2"; mkdir -p "$d/DEBIAN"
                    printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: t <t@example.invalid>\nDescription: t\n' "$1" "$2" > "$d/DEBIAN/control"
                    dpkg-deb --root-owner-group --build "$d" "$3/$1_$2_all.deb" > /dev/null
                }
                deb plain 2.5 "$R/srv/posture-repo/pool/posture-stable"; deb fresh-pkg 1.0 "$R/tmp/posture-debs"
                cd "$R/srv/posture-repo"; dpkg-scanpackages -m -e "$W/phases" pool/posture-stable > dists/posture-stable/main/binary-amd64/Packages 2> /dev/null
                apt-ftparchive -o APT::FTPArchive::Release::Origin=PostureTest -o APT::FTPArchive::Release::Label=PostureTest \
                    -o APT::FTPArchive::Release::Suite=posture-stable -o APT::FTPArchive::Release::Codename=stable-code \
                    -o APT::FTPArchive::Release::Components=main -o APT::FTPArchive::Release::Architectures=amd64 \
                    release dists/posture-stable > "$W/Release"; mv "$W/Release" dists/posture-stable/Release
                """#, "changes", root.path, work.path
            ])
        try #require(changes.status == 0, "\(changes.stderr)")
        _ = try Self.inRoot(root.path, ["apt-get", "update", "-q"])
        // The list fetched this instant is read and used, and kept once it has settled.
        try await cached(nil, "posture-stable fetched again")
        Fixtures.letFilesSettle()
        try await cached(nil, "posture-stable settled")
        #expect(try Self.apt(root.path).upgradable["plain"] == "2.5", "the changed list is read again")
        try await cached(listCount, "nothing changed since")
        _ = try Self.inRoot(root.path, ["dpkg", "-i", "/tmp/posture-debs/fresh-pkg_1.0_all.deb"])
        try await cached(0, "a package installed: another set of names is asked of every list")

        // Without a machine id apt phases nothing; with Never-Include-Phased-Updates it phases everything.
        try FileManager.default.removeItem(at: root.url("etc/machine-id"))
        #expect(try await Self.posture(root.path).view == Self.apt(root.path))
        try root.write("etc/machine-id", Self.machineIDs[1] + "\n")
        try root.write("etc/apt/apt.conf.d/60phasing", "APT { Get { Never-Include-Phased-Updates \"true\"; }; };\n")
        let never = try Self.apt(root.path)
        #expect(try await Self.posture(root.path).view == never)
        #expect(never.upgrade["phased-a"] == nil)
    }

    /// The root's real Debian 12 lists (main, updates, security) against `apt list --upgradable`.
    @Test func pendingUpdatesEqualAptsOnDebiansOwnLists() async throws {
        guard let base = try Self.baseRoot() else { return }
        let root = try DebianSystemRoot.copy(base)
        try? FileManager.default.removeItem(at: root.url("etc/resolv.conf"))
        try FileManager.default.copyItem(atPath: "/etc/resolv.conf", toPath: root.url("etc/resolv.conf").path)
        do {
            _ = try Self.inRoot(root.path, ["apt-get", "update", "-q"])
        } catch {
            if DebianSystemRoot.required { Issue.record("apt-get update: \(error)") }
            return
        }
        let apt = try Self.apt(root.path)
        let (posture, pending) = try await Self.posture(root.path)
        #expect(posture.upgradable == apt.upgradable)
        #expect(posture.upgrade == apt.upgrade)
        #expect(!pending.isEmpty, "a debootstrap of bookworm has security updates pending")
    }
}
