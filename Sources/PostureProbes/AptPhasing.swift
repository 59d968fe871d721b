/// apt's phased-update decision (`PhasedUpgrader::IsIgnoredPhasedUpdate` in apt-pkg/upgrade.cc,
/// `ExcludePhased` in apt-pkg/policy.cc, apt 2.x): the string `SOURCE-SOURCEVERSION-MACHINEID`
/// seeds a `std::seed_seq`, which seeds `std::minstd_rand`, and the first draw of
/// `std::uniform_int_distribution<unsigned>(0, 100)` decides: the machine is in the phase when
/// the draw is at most the `Phased-Update-Percentage`. Reimplemented here exactly as libstdc++
/// computes those three (so the same inputs give apt's answer without running apt).
enum AptPhasing {
    /// apt's options about phasing, and the machine id it seeds with.
    struct Settings: Sendable {
        var machineID: String
        var alwaysInclude = false
        var neverInclude = false
        /// `APT::Get::Phase-Policy`: phasing lowers the candidate's pin instead of holding it back.
        var phasePolicy = false

        /// The root's settings: `APT::Machine-ID`, else the first line of `etc/machine-id`;
        /// `APT::Get::…-Include-Phased-Updates`, falling back to `Update-Manager::…` as apt does.
        static func read(root: ScanRoot, configuration: AptConfiguration) -> Settings {
            var id = configuration.string("APT::Machine-ID") ?? ""
            if id.isEmpty, let text = try? root.readText("etc/machine-id", limit: 4096) {
                let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                id = String(line.reversed().drop { $0 == "\r" }.reversed())
            }
            return Settings(
                machineID: id,
                alwaysInclude: configuration.bool(
                    "APT::Get::Always-Include-Phased-Updates",
                    default: configuration.bool("Update-Manager::Always-Include-Phased-Updates")),
                neverInclude: configuration.bool(
                    "APT::Get::Never-Include-Phased-Updates",
                    default: configuration.bool("Update-Manager::Never-Include-Phased-Updates")),
                phasePolicy: configuration.bool("APT::Get::Phase-Policy"))
        }
    }

    /// True when apt leaves this version out on this machine (held back, or pinned down with
    /// `Phase-Policy`). apt also includes every phased update inside a chroot (`ischroot`) and
    /// when `SOURCE_DATE_EPOCH` is set; posture judges the PC the root belongs to, so neither applies.
    static func excludes(source: String, sourceVersion: String, percentage: Int, settings: Settings) -> Bool {
        guard percentage < 100 else { return false }
        if settings.alwaysInclude { return false }
        if settings.neverInclude { return true }
        guard !settings.machineID.isEmpty else { return false }
        return draw(seed: "\(source)-\(sourceVersion)-\(settings.machineID)") > percentage
    }

    /// The first value of `uniform_int_distribution<unsigned>(0, 100)` over `minstd_rand`
    /// seeded from `seed_seq(seed.begin(), seed.end())`.
    static func draw(seed: String) -> Int {
        var state = UInt64(minstdSeed(seed))  // minstd_rand's state: 1 ... 2^31 - 2
        // libstdc++'s downscaling for a generator range (2^31 - 3) that is not 2^32 - 1 or 2^64 - 1.
        let generatorRange: UInt64 = 2_147_483_646 - 1
        let scaling = generatorRange / 101
        let past = 101 * scaling
        while true {
            state = state * 48271 % 2_147_483_647
            let value = state - 1
            if value < past { return Int(value / scaling) }
        }
    }

    /// `linear_congruential_engine::seed(seed_seq&)` for minstd_rand: one 32-bit word is used
    /// (k = 1), taken from index 3 of a 4-word `seed_seq::generate`; 0 mod m becomes 1.
    private static func minstdSeed(_ seed: String) -> UInt32 {
        // seed_seq stores each `char` as uint_least32_t; char is signed on x86-64 (apt's platform
        // here), so a byte of 0x80 or more is sign-extended.
        let v: [UInt32] = seed.utf8.map { UInt32(bitPattern: Int32(Int8(bitPattern: $0))) }
        var b = [UInt32](repeating: 0x8b8b_8b8b, count: 4)
        let n = 4, s = v.count
        let t = (n - 1) / 2, p = (n - t) / 2, q = p + t
        let m = max(s + 1, n)
        for k in 0..<m {
            let arg = b[k % n] ^ b[(k + p) % n] ^ b[(k + n - 1) % n]
            let r1 = 1_664_525 &* (arg ^ (arg >> 27))
            var r2 = r1
            if k == 0 { r2 &+= UInt32(truncatingIfNeeded: s) } else if k <= s { r2 &+= UInt32(k % n) &+ v[k - 1] } else { r2 &+= UInt32(k % n) }
            b[(k + p) % n] &+= r1
            b[(k + q) % n] &+= r2
            b[k % n] = r2
        }
        for k in m..<(m + n) {
            let arg = b[k % n] &+ b[(k + p) % n] &+ b[(k + n - 1) % n]
            let r3 = 1_566_083_941 &* (arg ^ (arg >> 27))
            let r4 = r3 &- UInt32(k % n)
            b[(k + p) % n] ^= r3
            b[(k + q) % n] ^= r4
            b[k % n] = r4
        }
        let x = b[3] % 2_147_483_647
        return x == 0 ? 1 : x
    }
}
