import Foundation
import PostureModel
import PostureReference
import PostureTestSupport
import Testing

@testable import PostureProbes

@Suite struct OSProbeTests {
    static let debianCSV = """
        version,codename,series,created,release,eol,eol-lts,eol-elts
        11,Bullseye,bullseye,2019-07-06,2021-08-14,2024-08-14,2026-08-31,2031-06-30
        12,Bookworm,bookworm,2021-08-14,2023-06-10,2026-07-11,2028-06-30,2033-06-30
        14,Forky,forky,2025-08-09
        """
    static let ubuntuCSV = """
        version,codename,series,created,release,eol,eol-server,eol-esm
        20.04 LTS,Focal Fossa,focal,2019-10-17,2020-04-23,2025-05-29,2025-05-29,2030-04-23
        22.04 LTS,Jammy Jellyfish,jammy,2021-10-21,2022-04-21,2027-06-01,2027-06-01,2032-04-21
        """
    static let now = Day("2026-11-24")!.start(in: TimeZone(identifier: "UTC")!)

    static func catalog() throws -> OSLifecycleCatalog {
        let path = try #require(ReferencePaths.standard().catalogFile(OSLifecycleCatalog.fileName))
        return try OSLifecycleCatalog.load(path: path)
    }

    @Test func debianUsesEolLtsFromTheRootsDistroInfo() throws {
        let root = try TemporaryRoot()
        try root.write(
            "etc/os-release",
            """
            PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
            NAME="Debian GNU/Linux"
            VERSION_ID="12"
            VERSION_CODENAME=bookworm
            ID=debian
            """)
        try root.write("usr/share/distro-info/debian.csv", Self.debianCSV)
        let os = try OSProbe(catalog: nil).collect(root: ScanRoot(root.path), now: Self.now)
        #expect(os.id == "debian")
        #expect(os.eol == Day("2028-06-30"))
        #expect(os.support["standard"] == Day("2026-07-11"))
        #expect(os.support["lts"] == Day("2028-06-30"))
        #expect(os.support["extended"] == Day("2033-06-30"))
        #expect(os.support["eol"] == nil)
        #expect(os.supported == true)
        #expect(os.eolSource == "/usr/share/distro-info/debian.csv")
    }

    @Test func missingTrailingFieldsAreToleratedAndGiveUnknownEol() throws {
        let root = try TemporaryRoot()
        try root.write("usr/lib/os-release", "ID=debian\nVERSION_CODENAME=forky\nPRETTY_NAME='Debian forky'\n")
        try root.write("usr/share/distro-info/debian.csv", Self.debianCSV)
        let os = try OSProbe(catalog: nil).collect(root: ScanRoot(root.path), now: Self.now)
        #expect(os.prettyName == "Debian forky")
        #expect(os.eol == nil)
        #expect(os.supported == nil)
    }

    @Test func ubuntuMatchesTheLtsRowAndUsesStandardEol() throws {
        let root = try TemporaryRoot()
        try root.write("etc/os-release", "NAME=\"Ubuntu\"\nVERSION_ID=\"20.04\"\nID=ubuntu\nVERSION_CODENAME=focal\n")
        try root.write("usr/share/distro-info/ubuntu.csv", Self.ubuntuCSV)
        let os = try OSProbe(catalog: nil).collect(root: ScanRoot(root.path), now: Self.now)
        #expect(os.eol == Day("2025-05-29"))
        #expect(os.support["esm"] == Day("2030-04-23"))
        #expect(os.support["eol-server"] == Day("2025-05-29"))
        #expect(os.supported == false)
    }

    @Test(
        arguments: [
            ("ID=rocky\nVERSION_ID=\"9.4\"\n", "rocky", "2032-05-31"),
            ("ID=\"rhel\"\nVERSION_ID=\"7.9\"\n", "rhel", "2024-06-30"),
            ("ID=debian\nVERSION_ID=\"11\"\n", "debian", "2026-08-31"),
            ("ID=ubuntu\nVERSION_ID=\"24.04\"\n", "ubuntu", "2029-05-31"),
            ("ID=almalinux\nVERSION_ID=\"8.10\"\n", "almalinux", nil)
        ] as [(String, String, String?)])
    func fallsBackToTheBundledCatalog(_ row: (String, String, String?)) throws {
        let root = try TemporaryRoot()
        try root.write("etc/os-release", row.0)
        let catalog = try Self.catalog()
        let os = try OSProbe(catalog: catalog).collect(root: ScanRoot(root.path), now: Self.now)
        #expect(os.id == row.1)
        #expect(os.eol != nil)
        if let expected = row.2 { #expect(os.eol == Day(expected)) }
        #expect(os.eolSource?.contains("catalog") == true)
    }

    @Test func debianVersionFileFillsAMissingVersionId() throws {
        let root = try TemporaryRoot()
        try root.write("etc/os-release", "ID=debian\n")
        try root.write("etc/debian_version", "12.7\n")
        let os = try OSProbe(catalog: Self.catalog()).collect(root: ScanRoot(root.path), now: Self.now)
        #expect(os.versionId == "12")
        #expect(os.eol == Day("2028-06-30"))
    }

    @Test(arguments: ["", "\u{0}\u{1}garbage\n===\n", "NAME=Something\n# ID=debian\n"])
    func garbageOsReleaseIsAnErrorWithAReason(_ text: String) throws {
        let root = try TemporaryRoot()
        try root.write("etc/os-release", text)
        #expect(throws: ProbeError.self) { try OSProbe(catalog: nil).collect(root: ScanRoot(root.path), now: Self.now) }
    }

    @Test func missingOsReleaseIsAnError() throws {
        let root = try TemporaryRoot()
        #expect(throws: ProbeError.missingEverywhere(paths: ["/etc/os-release", "/usr/lib/os-release"])) {
            try OSProbe(catalog: nil).collect(root: ScanRoot(root.path), now: Self.now)
        }
        #expect(
            ProbeError.missingEverywhere(paths: ["/etc/os-release", "/usr/lib/os-release"]).description
                == "neither /etc/os-release nor /usr/lib/os-release exists")
    }

    @Test func shellQuotingIsUnderstood() {
        let fields = OSRelease.parse("A=\"x \\\"y\\\" z\"\nB='single $quoted'\nC=plain\n  D=\"spaced\"  \nnot a line\n")
        #expect(fields["A"] == "x \"y\" z")
        #expect(fields["B"] == "single $quoted")
        #expect(fields["C"] == "plain")
        #expect(fields["D"] == "spaced")
    }

    @Test func absoluteSymlinksResolveInsideTheRoot() throws {
        let root = try TemporaryRoot()
        try root.write("usr/lib/os-release", "ID=debian\nVERSION_ID=12\n")
        // On a real image etc/os-release -> ../usr/lib/os-release; an absolute target must stay in the image.
        try root.symlink("etc/os-release", to: "/usr/lib/os-release")
        try root.symlink("etc/escape", to: "/../../../../etc/hostname")
        let scanRoot = try ScanRoot(root.path)
        #expect(try scanRoot.readText("etc/os-release").contains("VERSION_ID=12"))
        #expect(throws: ProbeError.missing(path: "/etc/escape")) { try scanRoot.readText("etc/escape") }
        try root.write("etc/hostname", "inside\n")
        #expect(scanRoot.canonical("etc/escape") == "/etc/hostname")
        #expect(try scanRoot.readText("etc/escape") == "inside\n")
        try root.symlink("etc/loop", to: "/etc/loop")
        #expect(scanRoot.canonical("etc/loop") == nil)
        #expect(throws: ProbeError.unreadable(path: "/etc/loop", reason: "Too many levels of symbolic links")) {
            try scanRoot.readText("etc/loop")
        }
    }

    @Test func unreadableFileGivesTheReason() throws {
        guard Platform.effectiveUserID != 0 else { return }  // root reads everything
        let root = try TemporaryRoot()
        let url = try root.write("etc/os-release", "ID=debian\n")
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: url.path)
        #expect(throws: ProbeError.self) { try OSProbe(catalog: nil).collect(root: ScanRoot(root.path), now: Self.now) }
    }
}
