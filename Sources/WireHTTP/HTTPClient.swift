import WireClient
import Wirestream

/// An HTTP client whose framing is the grammar's (`Grammars/WireHTTP/http.wire`): HTTP/1.0, one
/// connection per request by default, HTTP/1.1 keep-alive when configured; TLS verified; redirects
/// followed; every wait bounded and every limit enforced (see ``HTTPClientConfiguration``).
///
/// ```swift
/// let client = HTTPClient()
/// let page = try await client.get("https://example.com/")            // whole body, ≤ 16 MiB
/// print(page.status, page.headers["Content-Type"] ?? "", page.text)
///
/// try await client.execute(try HTTPRequest(url: "http://127.0.0.1:8080/big.iso")) { response in
///     for try await piece in response.body { … }                     // constant memory
/// }
/// ```
/// Failures are ``HTTPError``s, one ``HTTPError/Kind`` per fault. Share one client: it is
/// `Sendable`, and with keep-alive its pools are per client.
public final class HTTPClient: Sendable {
    public let configuration: HTTPClientConfiguration
    let loop: IOLoop
    private let tlsContext = Locked<TLSContext?>(nil)
    private let pools = Locked<[HTTPConnection.Origin: ConnectionPool<HTTPConnection>]>([:])

    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration(), loop: IOLoop = .shared) {
        self.configuration = configuration
        self.loop = loop
    }

    deinit {
        shutdown()
    }

    /// Closes the idle keep-alive connections and refuses new requests on them.
    public func shutdown() {
        let all = pools.withLock { pools in
            defer { pools = [:] }
            return Array(pools.values)
        }
        for pool in all { pool.close() }
    }

    // MARK: Requests

    /// GETs `url` and returns the whole response.
    public func get(_ url: String, headers: HTTPHeaders = [:]) async throws -> HTTPResponse {
        try await execute(try HTTPRequest(url: url, headers: headers))
    }

    /// Sends `request` and returns the whole response, its body at most `maxBodyBytes` (decoded).
    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await execute(request) { response in
            var body: [UInt8] = []
            if let expected = response.body.expectedLength { body.reserveCapacity(min(expected, configuration.maxBodyBytes)) }
            for try await piece in response.body { body += piece }
            return HTTPResponse(
                head: response.head, body: body, trailers: response.body.trailers, url: response.url,
                redirects: response.redirects)
        } limit: { $0.maxBodyBytes }
    }

    /// Sends `request` and hands the response to `handle` with its body unread: iterate
    /// `response.body` to read it, in pieces, as it arrives (at most `maxStreamedBodyBytes`). The
    /// connection is released when `handle` returns; a body left unread closes it. `handle` runs
    /// with the client's loop as its task executor preference, so reads complete without thread
    /// hops: hand long CPU work to another task rather than doing it between reads.
    public func execute<R>(
        _ request: HTTPRequest, streaming handle: (HTTPStreamedResponse) async throws -> R
    ) async throws -> R {
        try await execute(request, handle) { $0.maxStreamedBodyBytes }
    }

    /// Sends `request` and writes the body to the file at `path` as it arrives (constant memory),
    /// calling `progress` with the bytes received and the declared length after each piece.
    /// Returns the head of the final response (the file holds its body, whatever its status).
    public func download(
        _ request: HTTPRequest, to path: String, progress: ((_ received: Int, _ expected: Int?) -> Void)? = nil
    ) async throws -> HTTPResponseHead {
        try await execute(request, streaming: { response in
            let file = try FileWriter(path: path)
            defer { file.close() }
            try await response.body.forEachPiece { piece in
                try file.write(piece)
                progress?(response.body.receivedBytes, response.body.expectedLength)
            }
            return response.head
        })
    }

    // MARK: Redirects

    private enum Hop<R> {
        case done(R)
        case redirect(to: String, status: Int)
    }

    /// Runs the whole exchange — redirects, the response handler and its body reads included — on
    /// the client's loop: every stream operation then completes inline instead of hopping between
    /// a pool thread and the loop thread twice per read (a 256 MiB download took twice as long).
    private func execute<R>(
        _ original: HTTPRequest, _ handle: (HTTPStreamedResponse) async throws -> R,
        limit: (HTTPClientConfiguration) -> Int?
    ) async throws -> R {
        try await withTaskExecutorPreference(loop) {
            try await executeOnLoop(original, handle, limit: limit)
        }
    }

    private func executeOnLoop<R>(
        _ original: HTTPRequest, _ handle: (HTTPStreamedResponse) async throws -> R,
        limit: (HTTPClientConfiguration) -> Int?
    ) async throws -> R {
        let deadline = configuration.totalTimeout.map(Deadline.after)
        var request = original
        var visited: Set<String> = []  // filled only once a redirect is followed
        var redirects = 0
        do {
            while true {
                let follow = configuration.followRedirects
                let hop: Hop<R> = try await exchange(request, deadline: deadline) { head, reader in
                    if follow, [301, 302, 303, 307, 308].contains(head.status), let location = head.headers["Location"] {
                        return .redirect(to: location, status: head.status)
                    }
                    let response = HTTPStreamedResponse(head: head, url: request.url, redirects: redirects, body: HTTPBody(reader: reader))
                    return .done(try await handle(response))
                } limit: { limit(configuration) }
                guard case .redirect(let location, let status) = hop else {
                    guard case .done(let result) = hop else { fatalError("unreachable") }
                    return result
                }
                redirects += 1
                visited.insert("\(request.method) \(request.url)")
                guard redirects <= configuration.maxRedirects else {
                    throw HTTPError(.tooManyRedirects(configuration.maxRedirects))
                }
                request = try redirected(request, to: location, status: status)
                guard !visited.contains("\(request.method) \(request.url)") else {
                    throw HTTPError(.redirectLoop(request.url.description))
                }
            }
        } catch let error as HTTPError {
            // A deadline error reports the request's whole timeout, not what was left of it.
            if case .deadlineExceeded = error.kind, let total = configuration.totalTimeout {
                throw HTTPError(.deadlineExceeded(total), underlying: error.underlying)
            }
            throw error
        }
    }

    /// The request a redirect asks for (RFC 9110 §15.4): 303 (and 301/302 after a POST) becomes a
    /// GET without body; 307/308 repeat the method and body. Credentials go only to the same origin.
    private func redirected(_ request: HTTPRequest, to location: String, status: Int) throws -> HTTPRequest {
        var next = request
        do {
            next.url = try request.url.resolving(location.trimmingBlanks())
        } catch {
            throw HTTPError(.invalidRedirect("Location \(location.debugDescription): \(error)"))
        }
        let sameOrigin = HTTPConnection.Origin(next.url) == HTTPConnection.Origin(request.url)
        if sameOrigin {
            next.url.user = request.url.user
            next.url.password = request.url.password
        } else {
            for name in ["Authorization", "Cookie", "Proxy-Authorization"] { next.headers.remove(name) }
        }
        if status == 303 && request.method != .head || (status == 301 || status == 302) && request.method == .post {
            next.method = .get
            next.body = nil
            for name in ["Content-Type", "Content-Length", "Content-Encoding"] { next.headers.remove(name) }
        } else if let body = request.body, !body.isReplayable {
            throw HTTPError(.invalidRedirect("a \(status) redirect needs the body again, and a streamed body cannot be sent twice"))
        }
        return next
    }

    // MARK: One exchange

    /// Sends one request on a connection (new, or pooled with keep-alive) and lets `handle` read
    /// the response; the connection goes back to the pool only if the body was read to its end
    /// and the response allows reuse.
    private func exchange<R>(
        _ request: HTTPRequest, deadline: Deadline?,
        _ handle: (HTTPResponseHead, BodyReader) async throws -> R, limit: () -> Int?
    ) async throws -> R {
        let head = try requestHead(for: request)
        guard configuration.keepAlive != nil else {
            let connection = try await open(request.url, deadline: deadline)
            defer { connection.close() }
            return try await exchange(on: connection, head, request, deadline: deadline, handle, limit: limit)
        }
        let pool = pool(for: request.url)
        // A pooled connection the server closed while it sat idle fails before any response byte:
        // send again on another, when the request may be repeated. Each of the host's idle
        // connections may be such a one; a new connection failing so is the server's answer.
        let retryable = request.method.isIdempotent && (request.body?.isReplayable ?? true)
        var attempts = 0
        while true {
            attempts += 1
            do {
                return try await pool.withConnection { connection in
                    if let deadline { connection.stream.setDeadline(deadline) }
                    return try await exchange(on: connection, head, request, deadline: deadline, handle, limit: limit)
                }
            } catch let stale as StaleConnection {
                guard retryable && attempts <= configuration.keepAlive!.maxConnectionsPerHost else { throw stale.error }
            } catch let error as ConnectionPoolTimeoutError {
                throw HTTPError(.deadlineExceeded(error.timeout), underlying: error)
            }
        }
    }

    private func exchange<R>(
        on connection: HTTPConnection, _ head: RequestHead, _ request: HTTPRequest, deadline: Deadline?,
        _ handle: (HTTPResponseHead, BodyReader) async throws -> R, limit: () -> Int?
    ) async throws -> R {
        do {
            try await connection.send(head, body: request.body)
            let response = try await connection.readHead(
                maxHeaderBytes: configuration.maxHeaderBytes, maxHeaderCount: configuration.maxHeaderCount)
            let (framing, reusable) = try response.framing(for: request.method)
            let reader = try BodyReader(
                stream: connection.stream, framing: framing,
                coding: configuration.decompress ? try response.contentCoding() : nil, limit: limit(),
                maxTrailerBytes: configuration.maxHeaderBytes, maxTrailerCount: configuration.maxHeaderCount)
            let result = try await handle(response, reader)
            if !(reader.finished && reusable) { connection.close() }
            if deadline != nil { connection.stream.setDeadline(nil) }  // idle in the pool: no deadline
            return result
        } catch let error as HTTPError where error.kind == .connectionClosedBeforeResponse && connection.isReused {
            connection.close()
            throw StaleConnection(error: error)
        } catch {
            connection.close()
            throw error
        }
    }

    /// A reused keep-alive connection ended before any response byte: the server closed it while
    /// it sat idle, so the request may be sent again on another (``exchange(_:deadline:_:limit:)``).
    private struct StaleConnection: Error {
        let error: HTTPError
    }

    /// A new connection, its connect also bounded by the request's deadline.
    private func open(_ url: HTTPURL, deadline: Deadline?) async throws -> HTTPConnection {
        if let deadline, deadline.hasPassed { throw HTTPError(.deadlineExceeded(.zero)) }
        var configuration = self.configuration
        if let deadline { configuration.connectTimeout = min(configuration.connectTimeout, deadline.remaining) }
        do {
            let connection = try await HTTPConnection.open(to: url, configuration: configuration, tls: tls, loop: loop)
            if let deadline { connection.stream.setDeadline(deadline) }
            return connection
        } catch let error as HTTPError {
            // A connect cut short by the request's deadline is the deadline's failure.
            if case .connectTimeout = error.kind, let deadline, deadline.hasPassed || configuration.connectTimeout < self.configuration.connectTimeout {
                throw HTTPError(.deadlineExceeded(.zero), underlying: error)
            }
            throw error
        }
    }

    private func pool(for url: HTTPURL) -> ConnectionPool<HTTPConnection> {
        let origin = HTTPConnection.Origin(url)
        return pools.withLock { pools in
            if let pool = pools[origin] { return pool }
            let keepAlive = configuration.keepAlive!
            let pool = ConnectionPool<HTTPConnection>(
                configuration: .init(
                    maximumConnections: keepAlive.maxConnectionsPerHost, idleTimeout: keepAlive.idleTimeout,
                    acquireTimeout: configuration.totalTimeout ?? configuration.connectTimeout + configuration.idleTimeout,
                    healthCheckAfterIdle: keepAlive.idleTimeout),
                timerLoop: loop
            ) { [self] in try await self.open(url, deadline: nil) }
            pools[origin] = pool
            return pool
        }
    }

    /// The client's TLS context, made once (loading the trust store is not cheap).
    private func tls() throws -> TLSContext {
        try tlsContext.withLock { context in
            if let context { return context }
            do {
                let made = try TLSContext(configuration.tls)
                context = made
                return made
            } catch {
                throw HTTPError(.tlsFailed(reason: "\(error)", verification: false), underlying: error)
            }
        }
    }

    // MARK: The request head

    /// The head the encoder writes: the request's headers, checked, plus the ones the client owns.
    func requestHead(for request: HTTPRequest) throws -> RequestHead {
        var lines: [RequestHeaderLine] = []
        func has(_ name: String) -> Bool { request.headers.contains(name) }
        if !has("Host") { lines.append(RequestHeaderLine(name: "Host", value: request.url.hostHeader)) }
        if !has("User-Agent") { lines.append(RequestHeaderLine(name: "User-Agent", value: configuration.userAgent)) }
        if configuration.decompress && !has("Accept-Encoding") {
            lines.append(RequestHeaderLine(name: "Accept-Encoding", value: "gzip, deflate"))
        }
        if let user = request.url.user, !has("Authorization") {
            let credentials = Array("\(user):\(request.url.password ?? "")".utf8)
            lines.append(RequestHeaderLine(name: "Authorization", value: "Basic " + Base64.encode(credentials)))
        }
        for (name, value) in request.headers where !HTTPHeaders.sameName(name, "Content-Length") {
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte),
                  !value.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a || $0 == 0 }) else {
                throw HTTPError(.invalidRequestHeader(name: name))
            }
            lines.append(RequestHeaderLine(name: name, value: value))
        }
        let length: Int? = switch request.body {
        case nil: [.post, .put, .patch].contains(request.method) ? 0 : nil
        case .bytes(let bytes): bytes.count
        case .file(let path): try FileReader.size(of: path)
        case .stream(let length, _): length
        }
        if let length { lines.append(RequestHeaderLine(name: "Content-Length", value: String(length))) }
        guard !request.method.rawValue.isEmpty, request.method.rawValue.utf8.allSatisfy(isTokenByte) else {
            throw HTTPError(.invalidRequestHeader(name: "method \(request.method)"))
        }
        return RequestHead(
            method: request.method.rawValue, target: request.url.target,
            version: configuration.keepAlive == nil ? .http10 : .http11, headers: lines)
    }
}
