import Foundation
import PostureTestSupport
import Testing

/// The Japanese HTML pages as a bank sees them: rendered by Debian's Chromium (driven by selenium
/// through chromedriver, `Tests/Support/glyph_check.py`), every Japanese character must be drawn
/// by a font that has its glyph, with the fonts `make test` installs (fonts-noto-cjk). The same
/// check run with every Japanese-capable font hidden from fontconfig must find missing glyphs, so
/// it is known to see tofu when there is some.
@Suite struct GlyphRenderingTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path

    /// Why the check cannot run here, or nil when Chromium, chromedriver and selenium are present.
    static var unavailable: String? {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/fc-list"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is not installed (make test installs chromium, chromium-driver and fonts-noto-cjk)"
        }
        guard FileManager.default.fileExists(atPath: "\(repository)/.build/python-deps/selenium") else {
            return "selenium is not installed (make test installs it into .build/python-deps)"
        }
        return nil
    }

    struct GlyphReport: Decodable {
        var elements: Int
        var characters: Int
        var fonts: [String: Int]
        var missing: [Missing]
        struct Missing: Decodable {
            var text: String
            var fonts: [String]
            var missing: String
        }
    }

    static func check(_ page: String, fontconfig: String? = nil) async throws -> (status: Int32, report: GlyphReport?, output: String) {
        var environment = [
            "PATH": "/usr/bin:/bin", "PYTHONPATH": "\(repository)/.build/python-deps", "HOME": NSTemporaryDirectory(),
            "LANG": "C.UTF-8"
        ]
        if let fontconfig { environment["FONTCONFIG_FILE"] = fontconfig }
        let result = try await Fixtures.runDetached(
            "/usr/bin/python3", ["\(repository)/Tests/Support/glyph_check.py", page],
            environment: environment)
        let report = try? JSONDecoder().decode(GlyphReport.self, from: Data(result.stdout.utf8))
        return (result.status, report, result.stdout + result.stderr.suffix(3000))
    }

    /// A fontconfig configuration that sees every installed font except those with Japanese glyphs.
    static func configurationWithoutJapaneseFonts(in root: TemporaryRoot) throws -> String {
        func files(_ pattern: String) throws -> Set<String> {
            let listed = try Fixtures.run("/usr/bin/fc-list", ["--format=%{file}\n", pattern])
            return Set(listed.stdout.split(separator: "\n").map(String.init))
        }
        let kept = try files(":").subtracting(try files(":lang=ja"))
        let directory = root.url("fonts")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (index, file) in kept.sorted().enumerated() {
            try FileManager.default.createSymbolicLink(
                atPath: directory.appendingPathComponent("\(index)-\(URL(fileURLWithPath: file).lastPathComponent)").path,
                withDestinationPath: file)
        }
        return try root.write(
            "fonts.conf",
            """
            <?xml version="1.0"?>
            <!DOCTYPE fontconfig SYSTEM "fonts.dtd">
            <fontconfig><dir>\(directory.path)</dir><cachedir>\(root.url("fontcache").path)</cachedir></fontconfig>
            """
        ).path
    }

    @Test func everyJapaneseCharacterOfTheHTMLPagesHasAGlyph() async throws {
        if let reason = Self.unavailable {
            if DebianSystemRoot.required { Issue.record("\(reason)") }
            return
        }
        // The scan of every bundled profile in Japanese, and a claim assessment in Japanese.
        let root = try CLITests.debianRoot(pending: true)
        let scan = try CLITests.posture([
            "scan", "--root", root.path, "--state-dir", root.url("scan-state").path,
            "--format", "html", "--lang", "ja", "--output", root.url("scan-ja.html").path
        ])
        #expect(scan.status == 1, "\(scan.stderr)")
        let (history, state, profile, incident) = try ClaimCommandTests.signedHistory()
        let bundle = history.url("claim.json").path
        #expect(try CLITests.posture(["claim", "--profile", profile, "--incident", incident, "--state-dir", state, "--output", bundle]).status == 0)
        let assessment = try CLITests.posture([
            "assess", bundle, "--profile", profile, "--incident", incident, "--notified", incident,
            "--state-dir", state, "--format", "html", "--lang", "ja",
            "--output", root.url("assessment-ja.html").path
        ])
        #expect(assessment.status == 0, "\(assessment.stderr)")
        let withoutJapanese = try Self.configurationWithoutJapaneseFonts(in: root)

        for (page, least) in [("scan-ja.html", 300), ("assessment-ja.html", 40)] {
            let drawn = try await Self.check(root.url(page).path)
            let report = try #require(drawn.report, "\(page): \(drawn.output)")
            #expect(drawn.status == 0 && report.missing.isEmpty, "\(page): \(drawn.output)")
            #expect(report.characters >= least, "\(page) has Japanese text to check: \(drawn.output)")
            #expect(report.fonts.keys.contains { $0.contains("CJK") }, "\(page) is drawn with a CJK font: \(report.fonts)")

            let tofu = try await Self.check(root.url(page).path, fontconfig: withoutJapanese)
            let hidden = try #require(tofu.report, "\(page) without Japanese fonts: \(tofu.output)")
            #expect(tofu.status == 1 && hidden.missing.count > 0, "the check sees missing glyphs: \(tofu.output)")
        }
    }
}
