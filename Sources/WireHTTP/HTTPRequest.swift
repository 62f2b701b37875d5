/// A request method. The common ones are constants; any token is allowed (`HTTPMethod("PURGE")`).
public struct HTTPMethod: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public static let get = HTTPMethod("GET")
    public static let head = HTTPMethod("HEAD")
    public static let post = HTTPMethod("POST")
    public static let put = HTTPMethod("PUT")
    public static let delete = HTTPMethod("DELETE")
    public static let patch = HTTPMethod("PATCH")
    public static let options = HTTPMethod("OPTIONS")

    /// Safe to send again when a reused keep-alive connection turns out to be closed (RFC 9110 §9.2.2).
    var isIdempotent: Bool { [.get, .head, .put, .delete, .options].contains(self) }

    public var description: String { rawValue }
}

/// What a request sends after its head, always with a Content-Length (HTTP/1.0 has no chunked
/// requests).
public enum HTTPRequestBody: Sendable {
    /// Bytes in memory.
    case bytes([UInt8])
    /// A file, read and sent in pieces (constant memory); its size is the Content-Length.
    case file(path: String)
    /// `length` bytes from a sequence of chunks, sent as they come; fewer or more is an error
    /// (`HTTPError` `.requestBodyLength`). A stream can be sent once, so such a request is not
    /// repeated on a redirect that keeps the body (307/308) and is not retried.
    case stream(length: Int, chunks: @Sendable () -> AsyncThrowingStream<[UInt8], any Error>)

    /// Bytes of a string's UTF-8.
    public static func string(_ text: String) -> HTTPRequestBody { .bytes(Array(text.utf8)) }

    /// Whether the body can be sent a second time (a redirect, a retry).
    var isReplayable: Bool {
        if case .stream = self { return false }
        return true
    }
}

/// One request: method, URL, headers and an optional body.
///
/// `Host`, `Content-Length`, `Connection`, `Accept-Encoding` (when decompression is on) and
/// `Authorization` (from the URL's credentials) are added by the client unless you set them.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var url: HTTPURL
    public var headers: HTTPHeaders
    public var body: HTTPRequestBody?

    public init(method: HTTPMethod = .get, url: HTTPURL, headers: HTTPHeaders = [:], body: HTTPRequestBody? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// A request for a URL given as text.
    /// - Throws: `HTTPError` `.invalidURL` or `.unsupportedScheme`.
    public init(method: HTTPMethod = .get, url: String, headers: HTTPHeaders = [:], body: HTTPRequestBody? = nil) throws {
        self.init(method: method, url: try HTTPURL(url), headers: headers, body: body)
    }
}
