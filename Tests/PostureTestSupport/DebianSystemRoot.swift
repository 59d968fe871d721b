import Foundation

/// A real Debian 12 root made by debootstrap (and apt, for extra packages) through
/// `scripts/debian-test-root`: the oracle for every format a probe reads from a Debian system.
///
/// Roots are cached and never changed: tests take a `copy` before changing anything. Where one
/// cannot be made (not root, no debootstrap, no mirror), `make` returns the reason, and tests skip
/// with it; under CI (`CI=true`) that is a failure instead, so CI never passes by skipping.
package enum DebianSystemRoot {
    /// The reason no root could be made.
    package struct Unavailable: Error, CustomStringConvertible {
        package var description: String
    }

    /// True when a missing root must fail the test rather than skip it.
    package static var required: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The path of a cached root with `packages` installed by apt (none: debootstrap minbase only).
    package static func make(with packages: [String] = []) -> Result<String, Unavailable> {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/debian-test-root").standardized.path
        let arguments = packages.isEmpty ? [] : ["--with", packages.sorted().joined(separator: ",")]
        let result: (status: Int32, stdout: String, stderr: String)
        do {
            result = try Fixtures.run(script, arguments)
        } catch {
            return .failure(Unavailable(description: "cannot run \(script): \(error)"))
        }
        let path = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard result.status == 0, !path.isEmpty else {
            let reason = result.stderr.split(separator: "\n").suffix(8).joined(separator: "\n")
            return .failure(Unavailable(description: "scripts/debian-test-root exited \(result.status): \(reason)"))
        }
        return .success(path)
    }

    /// A private copy of `source` in a temporary directory: hard links (`cp -al`, what an
    /// investigator's copy of a disk often is) or a full copy (`cp -a`) that the test may change.
    package static func copy(_ source: String, hardLinks: Bool = false) throws -> TemporaryRoot {
        let copy = try TemporaryRoot("debian")
        try FileManager.default.removeItem(atPath: copy.path)
        let result = try Fixtures.run("/bin/cp", [hardLinks ? "-al" : "-a", source, copy.path])
        guard result.status == 0 else { throw Unavailable(description: "cp \(source): \(result.stderr)") }
        return copy
    }
}
