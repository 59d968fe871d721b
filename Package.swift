// swift-tools-version:6.0
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault")
]

/// For the targets that read libc structs (`stat`, `statvfs`, `timespec`): on Linux, Swift 6.3
/// credits their fields to whichever module's headers the compiler met first (Glibc,
/// CoreFoundation or CDispatch, varying between clean and incremental builds), so
/// `MemberImportVisibility` fails at random there. Everything else of the strict settings holds.
let libcSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault")
]

let package = Package(
    name: "posture",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "posture", targets: ["posture"]),
        .executable(name: "posture-agentd", targets: ["posture-agentd"]),
        .executable(name: "posture-collector", targets: ["posture-collector"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        // The collector's server side only: the agent binaries never link these (see the collector targets).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1")
    ],
    targets: [
        // Report, evidence and finding models shared by every layer.
        .target(name: "PostureModel", swiftSettings: strictSettings),
        // Reference data: strict YAML reading, lifecycle catalogs, profile search path.
        .target(
            name: "PostureReference",
            dependencies: ["PostureModel", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        // Multi-buffer MD5 (each SIMD lane hashes its own message): scalar, SSE2 and AVX2 kernels
        // with per-function target attributes, chosen at run time, so no build flags.
        // Optimised in debug builds too: the tests hash this machine's 4 GB of package files.
        .target(name: "CMultiMD5", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "MultiMD5", dependencies: ["CMultiMD5"], swiftSettings: strictSettings + [.unsafeFlags(["-O"])]),
        // Probes read facts from a scan root; they never judge.
        .target(
            name: "PostureProbes",
            dependencies: [
                "PostureModel", "PostureReference",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift")
            ],
            swiftSettings: libcSettings
        ),
        // Package-file integrity as dpkg --verify checks it, on every core with multi-buffer MD5 and a
        // sealed cache of what was proven unchanged; unowned executables and certificate stores.
        .target(
            name: "PostureIntegrity",
            dependencies: [
                "PostureModel", "PostureProbes", "MultiMD5",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1")
            ],
            swiftSettings: libcSettings
        ),
        // Policy is pure: evidence + profile -> findings. Never imports probes or transport.
        .target(
            name: "PosturePolicy",
            dependencies: ["PostureModel", "PostureReference", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // Signed, tamper-evident evidence: device key, DSSE envelopes, hash chain, journal, verification.
        .target(
            name: "PostureEvidence",
            dependencies: [
                "PostureModel", "PostureTransparency",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift")
            ],
            swiftSettings: libcSettings
        ),
        // The bank's side of the evidence: verify, judge a claim window with the policy, render it (text, HTML).
        .target(
            name: "PostureAssessment",
            dependencies: ["PostureModel", "PosturePolicy", "PostureReference", "PostureEvidence", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // libcurl, loaded with dlopen on first upload (the verbs that never upload map none of it),
        // with typed wrappers for its variadic setopt/getinfo: the only C target. Needs curl's headers
        // (libcurl4-openssl-dev) to build and libcurl4 to upload.
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
        // Bytes, URLs and TLS over libcurl; knows nothing about reports.
        .target(name: "PostureTransport", dependencies: ["CCurl"], swiftSettings: strictSettings),
        // Orchestration: run probes, evaluate profiles, build the report.
        .target(
            name: "PostureAgent",
            dependencies: [
                "PostureModel", "PostureReference", "PostureProbes", "PostureIntegrity", "PosturePolicy", "PostureEvidence", "PostureTransport",
                "PostureTransparency"
            ],
            swiftSettings: strictSettings
        ),
        // What both executables' verbs share: one error-to-exit-status path, output files, and the
        // claim and reference options with the assessment they finish with.
        .target(
            name: "PostureCommandLine",
            dependencies: [
                "PostureModel", "PostureReference", "PosturePolicy", "PostureEvidence", "PostureAssessment",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            swiftSettings: strictSettings
        ),
        // The command-line verbs, testable without spawning a process.
        .target(
            name: "PostureCLI",
            dependencies: [
                "PostureModel", "PostureReference", "PosturePolicy", "PostureAgent", "PostureEvidence", "PostureProbes", "PostureIntegrity",
                "PostureTransport", "PostureAssessment", "PostureCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto")
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "posture", dependencies: ["PostureCLI"], swiftSettings: strictSettings),
        // The resident scheduler of `posture agent`: no Foundation, so the idle daemon stays small.
        .executableTarget(name: "posture-agentd", swiftSettings: libcSettings),

        // The bank side. Storage (SQLite or PostgreSQL), enrollment and ingest: verify, deduplicate, chain, receipt.
        .target(
            name: "PostureCollector",
            dependencies: [
                "PostureModel", "PostureReference", "PostureEvidence", "PosturePolicy", "PostureTransparency",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: strictSettings
        ),
        // The transparency log's algorithms (issue 21): RFC 6962/9162 Merkle trees over stored complete
        // subtrees, inclusion and consistency proofs, C2SP signed notes, checkpoints and cosignatures.
        .target(
            name: "PostureTransparency",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // The collector's HTTP API over Hummingbird (routes, limits, TLS, timeouts, graceful shutdown) and the web console under /console/.
        .target(
            name: "PostureCollectorServer",
            dependencies: [
                "PostureCollector", "PostureEvidence", "PostureModel", "PosturePolicy", "PostureAssessment", "PostureReference",
                "PostureTransparency",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "posture-collector",
            dependencies: [
                "PostureCollector", "PostureCollectorServer", "PostureReference", "PosturePolicy", "PostureAssessment", "PostureModel",
                "PostureCommandLine", "PostureEvidence", "PostureTransparency", "PostureTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: strictSettings
        ),
        // Load generator for scripts/bench-collector: pre-signed reports from many keys over keep-alive TLS connections.
        .executableTarget(
            name: "posture-collector-bench",
            dependencies: [
                "PostureModel", "PostureEvidence", "PostureCollector",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl")
            ],
            swiftSettings: strictSettings
        ),

        .target(
            name: "PostureTestSupport",
            dependencies: ["PostureModel"],
            path: "Tests/PostureTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PostureTransparencyTests",
            dependencies: ["PostureTransparency", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PostureProbesTests",
            dependencies: ["PostureProbes", "PostureIntegrity", "PostureReference", "PostureTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PosturePolicyTests",
            dependencies: ["PosturePolicy", "PostureReference", "PostureTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PostureEvidenceTests",
            dependencies: ["PostureEvidence", "PostureTestSupport", "PostureTransparency", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PostureTransportTests",
            dependencies: ["PostureTransport", "PostureTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PostureAssessmentTests",
            dependencies: [
                "PostureAssessment", "PostureAgent", "PostureProbes", "PostureReference", "PostureTestSupport",
                .product(name: "Crypto", package: "swift-crypto")
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PostureCollectorTests",
            dependencies: [
                "PostureCollector", "PostureCollectorServer", "PostureEvidence", "PostureModel", "PostureReference", "PostureTransport",
                "PostureTestSupport",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types")
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MultiMD5Tests",
            dependencies: ["MultiMD5", "CMultiMD5", "PostureTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PostureCLITests",
            dependencies: [
                "PostureCLI", "PostureCommandLine", "PostureAgent", "PostureModel", "PostureProbes", "PostureEvidence",
                "PosturePolicy", "PostureReference", "PostureTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            swiftSettings: strictSettings
        )
    ]
)

// libFuzzer harnesses (Fuzz/, run with scripts/fuzz): only in a package evaluated with POSTURE_FUZZ
// set, so `swift build` and `swift test` (and CI) never compile or link them.
if Context.environment["POSTURE_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "posture-fuzz",
            dependencies: [
                "PostureProbes", "PostureReference", "PostureEvidence", "PostureModel", "PosturePolicy", "PostureAssessment",
                "PostureTestSupport",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "GRDB", package: "GRDB.swift")
            ],
            path: "Fuzz",
            exclude: ["json.dict"],
            swiftSettings: strictSettings
        ))
}
