/// A response's status line and headers, checked (see `HTTPError` for what is refused).
public struct HTTPResponseHead: Sendable, Hashable {
    /// The HTTP version the server spoke (`1.0`, `1.1`).
    public let major: Int
    public let minor: Int
    /// 100–599.
    public let status: Int
    /// The reason phrase (may be empty).
    public let reason: String
    public let headers: HTTPHeaders

    public init(major: Int, minor: Int, status: Int, reason: String, headers: HTTPHeaders) {
        self.major = major
        self.minor = minor
        self.status = status
        self.reason = reason
        self.headers = headers
    }
}

/// A whole response: the head, the body (decoded), where it came from after redirects.
public struct HTTPResponse: Sendable {
    public let head: HTTPResponseHead
    public let body: [UInt8]
    /// Trailer fields of a chunked body (usually none).
    public let trailers: HTTPHeaders
    /// The URL that answered (the last one of any redirects).
    public let url: HTTPURL
    /// How many redirects were followed to get here.
    public let redirects: Int

    public var status: Int { head.status }
    public var headers: HTTPHeaders { head.headers }
    /// The body as UTF-8 text (invalid sequences replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A response whose body is read as it arrives, inside ``HTTPClient/execute(_:streaming:)``.
public struct HTTPStreamedResponse {
    public let head: HTTPResponseHead
    /// The URL that answered (the last one of any redirects).
    public let url: HTTPURL
    public let redirects: Int
    /// The decoded body in pieces (each at most 64 KiB), read from the connection only as you
    /// iterate: memory stays constant whatever the size.
    public let body: HTTPBody

    public var status: Int { head.status }
    public var headers: HTTPHeaders { head.headers }
}

/// The body of an ``HTTPStreamedResponse``: an `AsyncSequence` of decoded pieces. Iterate it once.
public struct HTTPBody: AsyncSequence {
    public typealias Element = [UInt8]
    let reader: BodyReader

    /// The body's declared length (Content-Length, undecoded), when the server gave one.
    public var expectedLength: Int? { reader.declaredLength }
    /// Bytes of the body received so far, as sent (before decoding): progress against `expectedLength`.
    public var receivedBytes: Int { reader.wireBytes }
    /// Trailer fields, once the body has been read to its end.
    public var trailers: HTTPHeaders { reader.trailers }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: BodyReader

        public mutating func next() async throws -> [UInt8]? {
            try await reader.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }

    /// Reads the rest of the body, lending each piece to `body` in place — valid only during the
    /// call, nothing copied into arrays: for sinks such as files. Use this or the iterator, not both.
    ///
    /// Call it from nonisolated code (as the handler of ``HTTPClient/execute(_:streaming:)`` is
    /// when the caller is nonisolated); on an actor, iterate the body instead.
    public func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) async throws {
        try await reader.lendRest(body)
    }
}
