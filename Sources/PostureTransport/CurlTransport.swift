import CCurl
package import Foundation

/// An HTTP request as the transport sends it: bytes to a URL, nothing about what they mean.
package struct HTTPRequest: Sendable {
    package var url: String
    package var method: String
    package var headers: [(name: String, value: String)]
    package var body: Data

    package init(url: String, method: String = "POST", headers: [(name: String, value: String)] = [], body: Data = Data()) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
    }
}

/// The server's answer.
package struct HTTPResponse: Sendable {
    package var status: Int
    /// Header names lower-cased; the last value wins.
    package var headers: [String: String]
    package var body: Data
}

/// TLS, proxy and limits. Certificate verification is always on and cannot be turned off.
package struct TransportOptions: Sendable {
    /// CA bundle to trust instead of the system store.
    package var caFile: String?
    /// `sha256//BASE64` of the server's public key (CURLOPT_PINNEDPUBLICKEY).
    package var pinnedPublicKey: String?
    package var clientCertificate: String?
    package var clientKey: String?
    /// Proxy URL; nil uses `https_proxy`/`no_proxy` from the environment, as curl does.
    package var proxy: String?
    package var connectTimeout: TimeInterval
    package var totalTimeout: TimeInterval
    package var maxResponseBytes: Int

    package init(
        caFile: String? = nil, pinnedPublicKey: String? = nil, clientCertificate: String? = nil,
        clientKey: String? = nil, proxy: String? = nil, connectTimeout: TimeInterval = 10,
        totalTimeout: TimeInterval = 30, maxResponseBytes: Int = 1 << 20
    ) {
        self.caFile = caFile
        self.pinnedPublicKey = pinnedPublicKey
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.proxy = proxy
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxResponseBytes = maxResponseBytes
    }
}

/// Why a request got no HTTP answer; the message names curl's error and what to check.
package struct TransportError: Error, CustomStringConvertible, Sendable {
    /// curl's error code (CURLcode).
    package var code: Int
    package var message: String

    package var description: String { message }

    /// `code` when libcurl itself could not be loaded (not a CURLcode).
    package static let libraryUnavailable = -2

    /// Whether trying again later may succeed (timeouts, refused or reset connections, DNS).
    package var isTransient: Bool {
        [5, 6, 7, 28, 52, 55, 56, 16, 92].contains(code)
    }
}

/// Sends HTTP requests with libcurl: one easy handle per request, never shared between threads.
package struct CurlTransport: Sendable {
    package var options: TransportOptions

    package init(options: TransportOptions) {
        self.options = options
    }

    /// Loads libcurl (once per process) if it is not loaded yet.
    static func loadLibrary() throws(TransportError) {
        var error = [CChar](repeating: 0, count: 512)
        guard posture_curl_load(&error, error.count) == 0 else {
            throw TransportError(code: TransportError.libraryUnavailable, message: message(error))
        }
    }

    /// The text of a NUL-terminated C message buffer.
    private static func message(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `soname` is a libcurl the transport can use, and if not, why; loads nothing for good.
    package static func checkLibrary(soname: String = POSTURE_CURL_SONAME) -> String? {
        var error = [CChar](repeating: 0, count: 512)
        return posture_curl_check_library(soname, &error, error.count) == 0 ? nil : message(error)
    }

    /// Collects the response body (capped) and headers for the C callbacks.
    private final class Collector {
        var body = Data()
        var headers: [String: String] = [:]
        var limit: Int
        var overflowed = false
        init(limit: Int) { self.limit = limit }
    }

    /// `send` on a thread of its own (a transfer blocks in libcurl), as a result: what an async
    /// caller awaits without holding a cooperative thread.
    package func exchange(_ request: HTTPRequest) async -> Result<HTTPResponse, TransportError> {
        await Task.detached { [self] in
            do throws(TransportError) { return .success(try send(request)) } catch { return .failure(error) }
        }.value
    }

    /// Performs the request, blocking the calling thread until it completes or times out.
    package func send(_ request: HTTPRequest) throws(TransportError) -> HTTPResponse {
        try Self.loadLibrary()
        guard let handle = posture_curl_easy_init() else { throw TransportError(code: -1, message: "libcurl could not create a handle") }
        defer { posture_curl_easy_cleanup(handle) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }
        let collector = Collector(limit: options.maxResponseBytes)
        let context = Unmanaged.passRetained(collector)
        defer { context.release() }

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { posture_curl_slist_free_all(headerList) }
        for header in request.headers { headerList = posture_curl_slist_append(headerList, "\(header.name): \(header.value)") }
        headerList = posture_curl_slist_append(headerList, "Expect:")

        var status = CURLE_OK
        func set(_ result: CURLcode) { if status == CURLE_OK { status = result } }
        set(posture_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        set(posture_curl_setopt_string(handle, CURLOPT_URL, request.url))
        set(posture_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(posture_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        set(posture_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        set(posture_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(posture_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        set(posture_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000)))
        set(posture_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(options.totalTimeout * 1000)))
        set(posture_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method))
        set(posture_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
        if let caFile = options.caFile { set(posture_curl_setopt_string(handle, CURLOPT_CAINFO, caFile)) }
        if let pin = options.pinnedPublicKey { set(posture_curl_setopt_string(handle, CURLOPT_PINNEDPUBLICKEY, pin)) }
        if let certificate = options.clientCertificate { set(posture_curl_setopt_string(handle, CURLOPT_SSLCERT, certificate)) }
        if let key = options.clientKey { set(posture_curl_setopt_string(handle, CURLOPT_SSLKEY, key)) }
        if let proxy = options.proxy { set(posture_curl_setopt_string(handle, CURLOPT_PROXY, proxy)) }
        set(posture_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context.toOpaque()))
        set(
            posture_curl_setopt_callback(
                handle, CURLOPT_WRITEFUNCTION,
                { data, size, count, context in
                    let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
                    let length = size * count
                    guard collector.body.count + length <= collector.limit else {
                        collector.overflowed = true
                        return 0
                    }
                    if let data { collector.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: length) }
                    return length
                }))
        set(posture_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context.toOpaque()))
        set(
            posture_curl_setopt_callback(
                handle, CURLOPT_HEADERFUNCTION,
                { data, size, count, context in
                    let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
                    let length = size * count
                    guard let data else { return length }
                    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
                    if line.hasPrefix("HTTP/") { collector.headers.removeAll() }
                    if let colon = line.firstIndex(of: ":") {
                        let name = line[..<colon].lowercased()
                        collector.headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                    return length
                }))

        let result: CURLcode = request.body.withUnsafeBytes { raw in
            set(posture_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(raw.count)))
            set(
                posture_curl_setopt_pointer(
                    handle, CURLOPT_POSTFIELDS,
                    UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(errorBuffer))))
            guard status == CURLE_OK else { return status }
            return posture_curl_easy_perform(handle)
        }
        guard result == CURLE_OK else {
            if collector.overflowed {
                throw TransportError(
                    code: Int(CURLE_WRITE_ERROR.rawValue),
                    message: "the response from \(request.url) is larger than \(options.maxResponseBytes) bytes")
            }
            let detail = String(cString: errorBuffer)
            let text = detail.isEmpty ? String(cString: posture_curl_easy_strerror(result)) : detail
            throw TransportError(code: Int(result.rawValue), message: "\(request.url): \(text) (curl error \(result.rawValue)); \(Self.hint(result))")
        }
        var code = 0
        _ = posture_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code)
        return HTTPResponse(status: code, headers: collector.headers, body: collector.body)
    }

    /// What to check for each class of failure.
    static func hint(_ code: CURLcode) -> String {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST: return "check the host name in upload.url and DNS"
        case CURLE_COULDNT_RESOLVE_PROXY: return "check the proxy host (upload.proxy or https_proxy)"
        case CURLE_COULDNT_CONNECT: return "check that the collector is reachable (firewall, proxy settings)"
        case CURLE_OPERATION_TIMEDOUT: return "the server did not answer in time; it will be retried"
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            return "the server's certificate is not trusted: check upload.ca_file and the server certificate's name"
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH: return "the server's public key does not match upload.pinned_public_key"
        case CURLE_SSL_CERTPROBLEM: return "check upload.client_cert and upload.client_key"
        case CURLE_SSL_CONNECT_ERROR: return "the TLS handshake failed: check the server's TLS setup and client certificate requirements"
        default: return "see curl's documentation of this error"
        }
    }
}
