import Foundation
import PostureTestSupport
import PostureTransport
import Testing

/// libcurl against a real HTTPS server on loopback, with a CA made at test time.
@Suite(.serialized) struct TransportTests {
    static let pki = Result { try TestPKI() }

    static func server(_ extra: [String] = []) throws -> (LoopbackProcess, TestPKI) {
        let pki = try pki.get()
        return (try LoopbackProcess(script: "collector.py", arguments: ["--cert", pki.serverCertificate, "--key", pki.serverKey] + extra), pki)
    }

    static func request(_ port: Int, key: String = UUID().uuidString) -> HTTPRequest {
        HTTPRequest(
            url: "https://127.0.0.1:\(port)/v1/reports",
            headers: [("Content-Type", "application/json"), ("Idempotency-Key", key)], body: Data("{\"x\":1}".utf8))
    }

    @Test func uploadsWithTheConfiguredCAAndDeduplicates() throws {
        let (server, pki) = try Self.server()
        let transport = CurlTransport(options: TransportOptions(caFile: pki.caCertificate))
        let first = try transport.send(Self.request(server.port, key: "r1"))
        #expect(first.status == 201)
        #expect(first.headers["content-type"] == "application/json")
        #expect(String(decoding: first.body, as: UTF8.self).contains("r1"))
        #expect(try transport.send(Self.request(server.port, key: "r1")).status == 200)
        #expect(server.entries().count == 1)
        #expect(server.entries()[0].contains("\"content_type\": \"application/json\""))
    }

    @Test func libcurlIsCheckedBeforeUse() {
        #expect(CurlTransport.checkLibrary() == nil, "this machine's libcurl.so.4 has every function the transport calls")
        let missing = CurlTransport.checkLibrary(soname: "libposture-no-such-curl.so.4")
        #expect(missing?.contains("libposture-no-such-curl.so.4 could not be loaded") == true, "\(missing ?? "")")
        #expect(missing?.contains("install the libcurl4 package") == true)
        let notCurl = CurlTransport.checkLibrary(soname: "libz.so.1")
        #expect(notCurl == "libz.so.1 has no curl_global_init: it is not libcurl 4, install the libcurl4 package")
    }

    @Test func anUntrustedServerIsRefused() throws {
        let (server, _) = try Self.server()
        let other = try TestPKI()
        #expect { try CurlTransport(options: TransportOptions(caFile: other.caCertificate)).send(Self.request(server.port)) } throws: { error in
            (error as? TransportError)?.message.contains("not trusted") == true
        }
        // The system store does not know the test CA either: verification is never off.
        #expect(throws: TransportError.self) { try CurlTransport(options: TransportOptions()).send(Self.request(server.port)) }
        #expect(server.entries().isEmpty)
    }

    @Test func publicKeyPinning() throws {
        let (server, pki) = try Self.server()
        let pinned = CurlTransport(options: TransportOptions(caFile: pki.caCertificate, pinnedPublicKey: try pki.serverPin()))
        #expect(try pinned.send(Self.request(server.port)).status == 201)
        let wrong = CurlTransport(
            options: TransportOptions(
                caFile: pki.caCertificate,
                pinnedPublicKey: "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
        #expect { try wrong.send(Self.request(server.port)) } throws: { error in
            (error as? TransportError)?.message.contains("pinned_public_key") == true
        }
    }

    @Test func clientCertificateRequiredAndPresented() throws {
        let pki = try Self.pki.get()
        let (server, _) = try Self.server(["--client-ca", pki.caCertificate])
        #expect(throws: TransportError.self) {
            try CurlTransport(options: TransportOptions(caFile: pki.caCertificate)).send(Self.request(server.port))
        }
        let mutual = CurlTransport(
            options: TransportOptions(
                caFile: pki.caCertificate, clientCertificate: pki.clientCertificate,
                clientKey: pki.clientKey))
        #expect(try mutual.send(Self.request(server.port)).status == 201)
        #expect(server.entries().last?.contains("\"client_cert\": true") == true)
    }

    @Test func failuresAreReportedWithTheirKind() throws {
        let pki = try Self.pki.get()
        let options = TransportOptions(caFile: pki.caCertificate, connectTimeout: 2, totalTimeout: 2)
        let (closing, _) = try Self.server(["--close-first", "1"])
        #expect { try CurlTransport(options: options).send(Self.request(closing.port)) } throws: { error in
            (error as? TransportError)?.isTransient == true
        }
        let (stalling, _) = try Self.server(["--stall-first", "1"])
        #expect { try CurlTransport(options: options).send(Self.request(stalling.port)) } throws: { error in
            (error as? TransportError)?.code == 28
        }
        let (throttling, _) = try Self.server(["--throttle-first", "1"])
        let throttled = try CurlTransport(options: options).send(Self.request(throttling.port))
        #expect(throttled.status == 429)
        #expect(throttled.headers["retry-after"] == "1")
        let (big, _) = try Self.server(["--big"])
        #expect { try CurlTransport(options: options).send(Self.request(big.port)) } throws: { error in
            (error as? TransportError)?.message.contains("larger than") == true
        }
        #expect { try CurlTransport(options: options).send(Self.request(1)) } throws: { error in
            (error as? TransportError)?.isTransient == true
        }
    }

    @Test func throughAConnectProxy() throws {
        let (server, pki) = try Self.server()
        let proxy = try LoopbackProcess(script: "connect_proxy.py", arguments: [])
        let transport = CurlTransport(options: TransportOptions(caFile: pki.caCertificate, proxy: "http://127.0.0.1:\(proxy.port)"))
        #expect(try transport.send(Self.request(server.port)).status == 201)
        #expect(proxy.entries() == ["127.0.0.1:\(server.port)"])
    }
}
