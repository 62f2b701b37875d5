import Wirestream

/// How a protocol's requests and replies pair up: what a grammar's `client` declaration says,
/// given to ``ProtocolClient`` by the code generated from it.
public struct ClientProtocol<Reply: WireMessage & Sendable>: Sendable {
    /// How requests share connections.
    public enum Exchange: Sendable {
        /// Many requests on one connection, replies matched in order (memcached, beanstalkd, Redis).
        case pipelined
        /// A connection per request, closed after its reply (HTTP/1.0).
        case onePerConnection
    }

    /// The protocol's name, for messages.
    public let name: String
    /// The server speaks first: one reply (SMTP's `220 …`) is read before any request.
    public let greeting: Bool
    public let exchange: Exchange
    /// Reads one reply. Written where `Reply` is concrete (the generated code), so the parser is
    /// specialised for the stream.
    public let readReply: @Sendable (BaseIOStream) async throws -> Reply
    /// A reply already buffered, parsed without an async call (`Reply.readIfBuffered(from:)`),
    /// or `nil`; then ``readReply`` reads it (so that one need not try the buffer again:
    /// `read(from:tryingBuffered: false)`). Written where `Reply` is concrete, as that is.
    public let readBufferedReply: (@Sendable (BaseIOStream) -> Reply?)?
    /// Takes the replies that answer no request (RESP3 pushes), returning true for them.
    public let outOfBand: (@Sendable (Reply) -> Bool)?
    /// Told when a connection has closed (for a client that must reconnect without a request).
    public let onClose: (@Sendable () -> Void)?

    public init(
        name: String, greeting: Bool = false, exchange: Exchange = .pipelined,
        outOfBand: (@Sendable (Reply) -> Bool)? = nil, onClose: (@Sendable () -> Void)? = nil,
        readReply: @escaping @Sendable (BaseIOStream) async throws -> Reply,
        readBufferedReply: (@Sendable (BaseIOStream) -> Reply?)? = nil
    ) {
        self.readBufferedReply = readBufferedReply
        self.name = name
        self.greeting = greeting
        self.exchange = exchange
        self.outOfBand = outOfBand
        self.onClose = onClose
        self.readReply = readReply
    }
}

/// One connection of a ``ProtocolClient``, as its set-up sees it: requests within the connect
/// deadline, and `STARTTLS`-style upgrades in place.
public final class ClientSession<Reply: WireMessage & Sendable>: Sendable {
    /// The server's greeting, for protocols that have one.
    public let greeting: Reply?
    /// When connecting, greeting and set-up must be done.
    public let deadline: Deadline
    /// Where the stream came from, for the name a certificate must carry after `startTLS`.
    let host: String
    @usableFromInline let current: Locked<PipelinedConnection<Reply>>

    init(connection: PipelinedConnection<Reply>, greeting: Reply?, deadline: Deadline, host: String) {
        self.current = Locked(connection)
        self.greeting = greeting
        self.deadline = deadline
        self.host = host
    }

    /// The connection (a new one after ``startTLS(_:serverName:)``).
    @inlinable
    public var connection: PipelinedConnection<Reply> { current.withLock { $0 } }

    /// Sends `request` within the connect deadline (for set-up: `use tube`, `EHLO`, `AUTH`).
    public func send(_ request: some WireRequest) async throws -> Reply {
        try await connection.send(try request.encoded(), timeout: deadline.remaining)
    }

    /// Upgrades the connection to TLS in place (after the server agreed, e.g. `220` to SMTP's
    /// `STARTTLS`), verifying the server as `configuration` says (on by default) under the name
    /// `serverName` (default: the configured host); the handshake is bounded by the deadline.
    /// - Throws: `TLSError` (verification, handshake, timeout), `StartTLSError`.
    public func startTLS(_ configuration: TLSConfiguration, serverName: String? = nil) async throws {
        var configuration = configuration
        let remaining = deadline.remaining
        configuration.handshakeTimeout = configuration.handshakeTimeout.map { min($0, remaining) } ?? remaining
        let upgraded = try await connection.startTLS(context: try TLSContext(configuration), serverHostname: serverName ?? host)
        current.withLock { $0 = upgraded }
    }
}

/// A client for a request/reply protocol described by a grammar: the shared machinery every
/// generated client is (a grammar's `client` declaration makes a typealias and `connect` for it).
///
/// ```swift
/// let beanstalk = try await BeanstalkClient.connect(host: "127.0.0.1")   // generated
/// let reply = try await beanstalk.send(BeanstalkCommand.put(…))          // BeanstalkReply
/// ```
///
/// - **Pipelined** protocols share one connection among any number of tasks: requests are
///   written in call order and replies matched in order (`PipelinedConnection`); batches are
///   written in one go. **One-per-connection** protocols connect for each request.
/// - **Every wait is bounded**: connecting (with the greeting and set-up) by `connectTimeout`,
///   each reply by `requestTimeout` (then `TimeoutError`, and the connection closes).
/// - **Reconnection**: when the connection is gone, the next request connects again (and runs
///   the set-up again); requests that were in flight failed and are never sent twice. After a
///   failed attempt, requests fail at once with ``ReconnectError`` until the backoff has passed.
/// - **Failures are typed**: the server's reply, whatever it says, is returned; bytes that do not
///   parse are `WireProtocolError`; transport failures are `StreamClosedError` (its `realError`
///   says why) or `TimeoutError`.
public final class ProtocolClient<Reply: WireMessage & Sendable>: Sendable {
    public typealias SetUp = @Sendable (ClientSession<Reply>) async throws -> Void

    public let configuration: ClientConfiguration
    public let clientProtocol: ClientProtocol<Reply>
    @usableFromInline let loop: IOLoop
    @usableFromInline let setUp: SetUp?
    @usableFromInline let state: Locked<State>

    /// The live session, the attempt to make one, and how the last attempts went.
    @usableFromInline
    struct State {
        @usableFromInline var current: ClientSession<Reply>?
        var attempt: Task<ClientSession<Reply>, any Error>?
        var failures = 0
        var retryAt: ContinuousClock.Instant?
        var lastError: (any Error)?
        var closedByCaller = false
    }

    /// What a request does about the connection: use it, wait for an attempt, or fail at once.
    private enum Next {
        case use(PipelinedConnection<Reply>)
        case wait(Task<ClientSession<Reply>, any Error>)
        case fail(any Error)
    }

    private init(
        configuration: ClientConfiguration, clientProtocol: ClientProtocol<Reply>, loop: IOLoop, setUp: SetUp?,
        session: ClientSession<Reply>?
    ) {
        self.configuration = configuration
        self.clientProtocol = clientProtocol
        self.loop = loop
        self.setUp = setUp
        self.state = Locked(State(current: session))
    }

    /// Connects, reads the greeting if the protocol has one, and runs `setUp` (again after every
    /// reconnect), all within `connectTimeout`. A one-per-connection client does this for each
    /// request instead, so here it only makes the client.
    /// - Throws: `StreamClosedError` whose `realError` is the connect failure (refused,
    ///   `TimeoutError`, `TLSError`, …); whatever `setUp` throws (the connection is then closed).
    public static func connect(
        _ configuration: ClientConfiguration, protocol clientProtocol: ClientProtocol<Reply>, loop: IOLoop = .current,
        setUp: SetUp? = nil
    ) async throws -> ProtocolClient {
        let session: ClientSession<Reply>? = switch clientProtocol.exchange {
        case .pipelined: try await open(configuration, clientProtocol, loop: loop, setUp: setUp)
        case .onePerConnection: nil
        }
        return ProtocolClient(configuration: configuration, clientProtocol: clientProtocol, loop: loop, setUp: setUp, session: session)
    }

    /// A new connection with its greeting read and its set-up done.
    @usableFromInline
    static func open(
        _ configuration: ClientConfiguration, _ clientProtocol: ClientProtocol<Reply>, loop: IOLoop, setUp: SetUp?
    ) async throws -> ClientSession<Reply> {
        let deadline = Deadline.after(configuration.connectTimeout)
        let stream: IOStream
        if let tls = configuration.tls {
            stream = SSLIOStream(context: try TLSContext(tls), loop: loop, maxBufferSize: configuration.maxReplyBytes)
        } else {
            stream = IOStream(loop: loop, maxBufferSize: configuration.maxReplyBytes)
        }
        if let path = configuration.unixSocketPath {
            guard let address = SocketAddress(unixPath: path) else { throw UnixSocketPathError(path: path) }
            try await stream.connect(to: address, timeout: configuration.connectTimeout)
        } else {
            try await stream.connect(
                host: configuration.host, port: configuration.port, serverHostname: configuration.tlsServerName,
                timeout: configuration.connectTimeout)
        }
        let connection = PipelinedConnection<Reply>(
            stream: stream, outOfBand: clientProtocol.outOfBand, onClose: clientProtocol.onClose, readReply: clientProtocol.readReply,
            readBufferedReply: clientProtocol.readBufferedReply)
        do {
            var greeting: Reply?
            if clientProtocol.greeting {
                greeting = try await stream.withDeadline(deadline.remaining) { try await clientProtocol.readReply(stream) }
            }
            let session = ClientSession(connection: connection, greeting: greeting, deadline: deadline, host: configuration.host)
            try await setUp?(session)
            return session
        } catch {
            connection.close()  // (a connection upgraded by the set-up closes with its old stream's socket)
            throw error
        }
    }

    /// Connects to `host`:`port` with the default configuration.
    public static func connect(
        host: String, port: Int, protocol clientProtocol: ClientProtocol<Reply>, loop: IOLoop = .current, setUp: SetUp? = nil
    ) async throws -> ProtocolClient {
        try await connect(ClientConfiguration(host: host, port: port), protocol: clientProtocol, loop: loop, setUp: setUp)
    }

    // MARK: Requests

    /// The greeting of the current connection (`nil` for protocols without one).
    public var greeting: Reply? { state.withLock { $0.current?.greeting } }

    /// The current connection (`nil` before the first request of a one-per-connection client).
    public var connection: PipelinedConnection<Reply>? { state.withLock { $0.current?.connection } }

    /// Sends `request` and returns its reply, waiting at most `requestTimeout`.
    /// - Throws: `WireEncodingError` for a request its grammar cannot write (nothing is sent);
    ///   `StreamClosedError`; `TimeoutError` (the connection then closes); `WireProtocolError`
    ///   for a reply that does not parse; ``ReconnectError``; `CancellationError`.
    @inlinable @discardableResult
    public func send(_ request: some WireRequest) async throws -> Reply {
        try await send(request, timeout: configuration.requestTimeout)
    }

    /// Sends `request` and waits at most `timeout` for its reply (`nil`: for ever).
    @inlinable @discardableResult
    public func send(_ request: some WireRequest, timeout: Duration?) async throws -> Reply {
        try await send(encoded: request.encoded(), timeout: timeout)
    }

    /// One encoded request's reply: on the shared connection, or on a connection of its own.
    @inlinable
    func send(encoded bytes: [UInt8], timeout: Duration?) async throws -> Reply {
        switch clientProtocol.exchange {
        case .pipelined:
            return try await liveConnection().send(bytes, timeout: timeout)
        case .onePerConnection:
            let session = try await Self.open(configuration, clientProtocol, loop: loop, setUp: setUp)
            defer { session.connection.close() }
            return try await session.connection.send(bytes, timeout: timeout)
        }
    }

    /// Writes every request in one go and returns their replies in order, waiting at most
    /// `requestTimeout` (one-per-connection: one after another, each on its own connection).
    public func send(batch requests: [any WireRequest]) async throws -> [Reply] {
        try await send(batch: requests, timeout: configuration.requestTimeout)
    }

    /// ``send(batch:)`` waiting at most `timeout` for the replies (`nil`: for ever).
    @inlinable
    public func send(batch requests: [any WireRequest], timeout: Duration?) async throws -> [Reply] {
        switch clientProtocol.exchange {
        case .pipelined:  // one buffer, one write; every request encoded (and checked) before any is sent
            var writer = WireWriter(message: "", reservingCapacity: 32 * requests.count)
            for request in requests { try request.encode(into: &writer) }
            return try await liveConnection().send(encodedBatch: writer.bytes, count: requests.count, timeout: timeout)
        case .onePerConnection:  // every request encoded (and checked) before the first is sent, once
            let encoded = try requests.map { try $0.encoded() }
            var replies: [Reply] = []
            for bytes in encoded { replies.append(try await send(encoded: bytes, timeout: timeout)) }
            return replies
        }
    }

    /// Writes `request`, to which the server sends no reply (memcached's `noreply`), in order
    /// with the other requests; returns once it is queued on the connection.
    public func sendWithoutReply(_ request: some WireRequest) async throws {
        precondition(clientProtocol.exchange == .pipelined, "a one-per-connection protocol answers every request")
        try await liveConnection().sendWithoutReply(try request.encoded())
    }

    // MARK: Connection

    /// The open connection, or a new one if it dropped (see "Reconnection" above). Concurrent
    /// callers share one attempt.
    @inlinable
    func liveConnection() async throws -> PipelinedConnection<Reply> {
        // The common case, specialized in the client's module: the connection is up.
        if let connection = state.withLock({ $0.current?.connection }), !connection.isClosed { return connection }
        return try await reconnect()
    }

    /// ``liveConnection()`` when the connection is not up: waits for an attempt to connect, makes
    /// one, or fails at once during the backoff.
    @usableFromInline
    func reconnect() async throws -> PipelinedConnection<Reply> {
        let next = state.withLock { state -> Next in
            if let current = state.current, !current.connection.isClosed { return .use(current.connection) }
            guard configuration.reconnect, !state.closedByCaller else {
                return .fail(StreamClosedError(realError: state.current?.connection.stream.error))
            }
            if let attempt = state.attempt { return .wait(attempt) }
            if let retryAt = state.retryAt, ContinuousClock.now < retryAt {
                return .fail(ReconnectError(attempts: state.failures, lastError: state.lastError))
            }
            let (configuration, clientProtocol, loop, setUp) = (self.configuration, self.clientProtocol, self.loop, self.setUp)
            let attempt = Task { try await Self.open(configuration, clientProtocol, loop: loop, setUp: setUp) }
            state.attempt = attempt
            return .wait(attempt)
        }
        switch next {
        case .use(let connection): return connection
        case .fail(let error): throw error
        case .wait(let attempt):
            let result = await attempt.result
            return try state.withLock { state in
                if state.attempt == attempt {  // the first caller back records the outcome
                    state.attempt = nil
                    switch result {
                    case .success(let session):
                        state.current = session
                        state.failures = 0
                        state.retryAt = nil
                    case .failure(let error):
                        state.failures += 1
                        state.lastError = error
                        let (initial, maximum) = configuration.reconnectBackoff
                        state.retryAt = ContinuousClock.now + reconnectDelay(afterFailures: state.failures, initial: initial, maximum: maximum)
                    }
                }
                return try result.get().connection
            }
        }
    }

    /// Closes the connection at once; requests still waiting, and every later one, fail with
    /// `StreamClosedError`.
    public func close() {
        let connection = state.withLock { state in
            state.closedByCaller = true
            return state.current?.connection
        }
        connection?.close()
    }

    /// Sends what is queued, shuts the connection down and waits (at most `timeout`) for the
    /// server to close it; later requests fail.
    public func closeGracefully(timeout: Duration = .seconds(10)) async throws {
        let connection = state.withLock { state in
            state.closedByCaller = true
            return state.current?.connection
        }
        try await connection?.closeGracefully(timeout: timeout)
    }
}

extension ProtocolClient: PoolableConnection {
    /// True once the client was closed, or its connection dropped and it does not reconnect.
    public var isClosed: Bool {
        state.withLock { state in
            state.closedByCaller || (!configuration.reconnect && state.current?.connection.isClosed ?? false)
        }
    }

    /// Connects again if the connection dropped (a pool then lends a working client).
    public func checkHealth() async throws {
        if clientProtocol.exchange == .pipelined { _ = try await liveConnection() }
    }
}
