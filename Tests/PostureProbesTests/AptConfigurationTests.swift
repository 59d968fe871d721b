import Foundation
import PostureTestSupport
import Testing

@testable import PostureProbes

/// apt.conf syntax as apt reads it: each text is given to `apt-config -c FILE shell`, and the
/// values posture reads must be the ones apt prints.
@Suite struct AptConfigurationTests {
    static let keys = [
        "APT::Machine-ID", "APT::Get::Always-Include-Phased-Updates", "APT::Get::Never-Include-Phased-Updates",
        "Update-Manager::Never-Include-Phased-Updates", "APT::Default-Release"
    ]

    @Test(arguments: [
        "APT::Machine-ID \"0123\";\n",
        "APT { Get { Never-Include-Phased-Updates \"true\"; }; };\n",
        "apt::get::always-include-phased-updates \"yes\"; // case does not matter\n",
        "APT\n{\n  Machine-ID \"ab cd\";\n  Default-Release \"stable\";\n};\n",
        "/* APT::Machine-ID \"commented\"; */ APT::Machine-ID \"real\";\n# APT::Default-Release \"x\";\n",
        "APT::Machine-ID \"first\";\nAPT::Machine-ID \"second\";\n#clear APT::Machine-ID;\nAPT::Default-Release \"a%20b\";\n",
        "Update-Manager::Never-Include-Phased-Updates \"on\"; APT::Get::Always-Include-Phased-Updates 1;\n"
    ])
    func valuesEqualAptConfigs(_ text: String) throws {
        guard let aptConfig = Fixtures.tool("/usr/bin/apt-config") else { return }
        let directory = try TemporaryRoot("apt-conf")
        let file = try directory.write("test.conf", text)
        var parsed = AptConfiguration()
        #expect(parsed.parse(text) == nil)
        for key in Self.keys {
            let result = try Fixtures.run(
                aptConfig, ["-c", file.path, "shell", "V", key],
                environment: ["PATH": "/usr/bin:/bin"])
            // `V='value'` when set (apt-config also reads this machine's own configuration).
            let apt = result.stdout.split(separator: "\n").first.map { line -> String in
                String(line.dropFirst(3).dropLast())
            }
            let system = try Fixtures.run(aptConfig, ["shell", "V", key], environment: ["PATH": "/usr/bin:/bin"])
            guard system.stdout.isEmpty else { continue }  // set by this machine: not this text's value
            // An empty value (after `#clear`) is unset to apt's `Find` as to posture.
            #expect(parsed.string(key) == (apt?.isEmpty == true ? nil : apt), "\(key) in \(text)")
        }
    }

    /// apt's rules for `.d` file names (`GetListOfFilesInDir`): which are read, in which order.
    @Test func partFileNamesFollowApt() {
        let names = [
            "90-posture.pref", "91-noext", "92-ignored.txt", ".hidden.pref", "bad name.pref", "trailing.",
            "10-first.pref", "x.pref.dpkg-old", "a:b.pref", "B-upper.pref"
        ]
        #expect(
            AptConfiguration.partFiles(in: names, extension: "pref")
                == ["10-first.pref", "90-posture.pref", "91-noext", "B-upper.pref", "a:b.pref"])
    }
}
