package import Foundation

/// A certificate authority, a server certificate for 127.0.0.1/localhost and a client
/// certificate, made with openssl at test time.
package struct TestPKI: Sendable {
    package let directory: TemporaryRoot
    package var caCertificate: String { directory.url("ca.pem").path }
    package var serverCertificate: String { directory.url("server.pem").path }
    package var serverKey: String { directory.url("server.key").path }
    package var clientCertificate: String { directory.url("client.pem").path }
    package var clientKey: String { directory.url("client.key").path }

    package init() throws {
        directory = try TemporaryRoot("pki")
        let d = directory
        func openssl(_ arguments: [String]) throws {
            let result = try Fixtures.run("/usr/bin/openssl", arguments)
            guard result.status == 0 else {
                throw NSError(domain: "openssl", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: result.stderr])
            }
        }
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", d.url("ca.key").path,
            "-out", d.url("ca.pem").path, "-days", "2", "-subj", "/CN=posture test CA"
        ])
        try d.write("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try d.write("client.ext", "extendedKeyUsage=clientAuth\n")
        for (name, subject) in [("server", "/CN=localhost"), ("client", "/CN=banking-pc-01")] {
            try openssl([
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", d.url("\(name).key").path,
                "-out", d.url("\(name).csr").path, "-subj", subject
            ])
            try openssl([
                "x509", "-req", "-in", d.url("\(name).csr").path, "-CA", d.url("ca.pem").path, "-CAkey", d.url("ca.key").path,
                "-CAcreateserial", "-out", d.url("\(name).pem").path, "-days", "2", "-extfile", d.url("\(name).ext").path
            ])
        }
    }

    /// `sha256//BASE64` of the server's public key, as CURLOPT_PINNEDPUBLICKEY takes it.
    package func serverPin() throws -> String {
        let result = try Fixtures.run(
            "/bin/sh",
            ["-c", "openssl x509 -in '\(serverCertificate)' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64"],
            environment: ["PATH": "/usr/bin:/bin"])
        return "sha256//" + result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A helper process from Tests/Support (the HTTPS collector or the CONNECT proxy) on loopback.
package final class LoopbackProcess: @unchecked Sendable {
    package let port: Int
    package let log: URL
    private let process: Process

    /// Starts `python3 Tests/Support/<script> <arguments> --log LOG` and waits for its "PORT n" line.
    package init(script: String, arguments: [String]) throws {
        let support = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Support").standardized
        log = FileManager.default.temporaryDirectory.appendingPathComponent("posture-\(script)-\(UUID().uuidString.prefix(8)).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [support.appendingPathComponent(script).path] + arguments + ["--log", log.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = Fixtures.firstLine(of: output)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw NSError(domain: "loopback", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(script) did not start: \(text)"])
        }
        self.port = port
    }

    /// The JSON lines the process logged.
    package func entries() -> [String] {
        (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    deinit {
        // SIGKILL without waiting: Foundation reaps the child; waitUntilExit can hang in a deinit.
        kill(process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(at: log)
    }
}

extension Fixtures {
    /// Reads a child's output until its first newline (or end of file): how tests learn a server's port.
    package static func firstLine(of pipe: Pipe) -> String {
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        return String(decoding: line, as: UTF8.self)
    }
}
