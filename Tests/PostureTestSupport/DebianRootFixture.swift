package import Foundation

extension Fixtures {
    package static let testBankProfile = """
        id: test-bank
        name: {ja: "テスト銀行", en: "Test Bank"}
        source: {document: "001_x.txt", as_of: "2026-11-24"}
        requirements:
          - id: os-supported
            clause: "2(1)D"
            consequence: exclusion
            title: {ja: "OSのサポート", en: "OS supported"}
            check: os.supported
          - id: software-updated
            clause: "2(1)A"
            consequence: exclusion
            title: {ja: "ソフトウェア更新", en: "Software updated"}
            check: updates.none_pending
        """

    /// A small Debian root with the `test-bank` profile in `profiles/`; `pending` adds a newer openssl to the index, `indexAge` ages it.
    package static func debianRoot(pending: Bool, indexAge: TimeInterval = 3600) throws -> TemporaryRoot {
        let root = try TemporaryRoot("cli")
        try root.write("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n")
        try root.write("etc/hostname", "banking-pc-01\n")
        try root.write("etc/machine-id", "0123456789abcdef0123456789abcdef\n")
        try root.write(
            "usr/share/distro-info/debian.csv",
            """
            version,codename,series,created,release,eol,eol-lts,eol-elts
            12,Bookworm,bookworm,2021-08-14,2023-06-10,2026-07-11,2099-06-30,2099-06-30
            """)
        try root.write("var/lib/dpkg/status", Fixtures.dpkgStatus([.init("dpkg", "1.21.22"), .init("openssl", "3.0.15-1~deb12u1")]))
        let lists = "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm"
        try root.write(
            "\(lists)_InRelease", Fixtures.inRelease(suite: "stable", codename: "bookworm"),
            modified: Date().addingTimeInterval(-indexAge))
        try root.write(
            "\(lists)_main_binary-amd64_Packages",
            Fixtures.packagesList([
                ("dpkg", "1.21.22", "amd64"), ("openssl", pending ? "3.0.17-1~deb12u2" : "3.0.15-1~deb12u1", "amd64")
            ]))
        try root.write("profiles/test-bank.yaml", testBankProfile)
        return root
    }
}
