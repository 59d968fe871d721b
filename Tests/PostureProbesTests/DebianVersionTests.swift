import Foundation
import PostureTestSupport
import Testing

@testable import PostureProbes

@Suite struct DebianVersionTests {
    static let curated: [(String, String, Int)] = [
        ("1.0", "1.0", 0), ("1.0", "1.1", -1), ("1.10", "1.9", 1), ("1.0~rc1", "1.0", -1),
        ("1.0~~", "1.0~", -1), ("1.0~", "1.0", -1), ("1.0", "1.0+b1", -1), ("1:1.0", "2.0", 1),
        ("0:1.0", "1.0", 0), ("1.0-1", "1.0-2", -1), ("1.0-1", "1.0", 1), ("1.0a", "1.0", 1),
        ("1.0a", "1.0+", -1), ("1.0.", "1.0", 1), ("2.6.1", "2.6.2", -1), ("12.4+deb12u11", "12.4+deb12u15", -1),
        ("5.2.15-2+b8", "5.2.15-2+b13", -1), ("1.2.3-0ubuntu1", "1.2.3-0ubuntu1.1", -1), ("7.88.1-10+deb12u5", "7.88.1-10+deb12u14", -1),
        ("1:2.38.1-5+deb12u1", "1:2.38.1-5+deb12u3", -1), ("0001", "1", 0), ("1.0-0", "1.0", 0),
        ("a", "b", -1), ("1.0-a", "1.0-B", 1), ("2:0", "1:99", 1)
    ]

    @Test(arguments: curated)
    func curatedPairs(_ pair: (String, String, Int)) {
        let result = DebianVersion.compare(pair.0, pair.1)
        #expect(result.signum() == pair.2, "\(pair.0) vs \(pair.1)")
        #expect(DebianVersion.compare(pair.1, pair.0).signum() == -pair.2)
    }

    /// Random versions built from the characters that matter, compared with dpkg itself.
    @Test func agreesWithDpkgOnGeneratedPairs() throws {
        guard let dpkg = Fixtures.tool("/usr/bin/dpkg") else { return }
        var generator = SystemRandomNumberGenerator()
        let pieces = ["0", "1", "2", "9", "10", "01", ".", "~", "+", "a", "b", "z", "A", "~rc", "+b", "deb12u", "ubuntu", "+dfsg"]
        func version() -> String {
            var upstream = String(Int.random(in: 0...12, using: &generator))
            for _ in 0..<Int.random(in: 0...4, using: &generator) { upstream += pieces.randomElement(using: &generator)! }
            var text = Bool.random(using: &generator) ? "\(Int.random(in: 0...2, using: &generator)):" + upstream : upstream
            if Bool.random(using: &generator) {
                text += "-" + String(Int.random(in: 0...3, using: &generator)) + (pieces.randomElement(using: &generator)!)
            }
            return text
        }
        var pairs: [(String, String)] = []
        for _ in 0..<300 { pairs.append((version(), version())) }
        // One dpkg process for all pairs keeps the test fast.
        let script = pairs.map {
            "if dpkg --compare-versions '\($0.0)' lt '\($0.1)'; then echo -1; elif dpkg --compare-versions '\($0.0)' eq '\($0.1)'; then echo 0; else echo 1; fi"
        }
        .joined(separator: "\n")
        let result = try Fixtures.run("/bin/sh", ["-c", script], environment: ["PATH": URL(fileURLWithPath: dpkg).deletingLastPathComponent().path])
        let expected = result.stdout.split(separator: "\n").compactMap { Int($0) }
        #expect(expected.count == pairs.count, "dpkg answered \(expected.count) of \(pairs.count): \(result.stderr)")
        for (pair, want) in zip(pairs, expected) {
            #expect(DebianVersion.compare(pair.0, pair.1).signum() == want, "\(pair.0) vs \(pair.1)")
        }
    }
}
