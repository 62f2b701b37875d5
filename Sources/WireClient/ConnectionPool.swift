import Wirestream

/// What a ``ConnectionPool`` needs of its connections.
public protocol PoolableConnection: Sendable {
    /// True once the connection cannot be used again.
    var isClosed: Bool { get }
    /// Closes the connection.
    func close()
    /// Proves the connection still works (e.g. `PING`); throws if it does not.
    func checkHealth() async throws
}

/// A bounded set of connections to one server, each lent to one caller at a time: for what cannot
/// share a pipelined connection (blocking commands, `WATCH` transactions, subscriptions) and for
/// throughput across loops.
///
/// ```swift
/// let pool = ConnectionPool(configuration: .init(maximumConnections: 8)) { try await connectSomehow() }
/// let value = try await pool.withConnection { connection in try await connection.send(…) }
/// ```
/// - At most `maximumConnections` exist (lent, idle or being opened); a caller beyond that waits
///   for one to be returned, at most `acquireTimeout` (then ``ConnectionPoolTimeoutError``).
/// - Connections idle longer than `idleTimeout` are closed, down to `minimumConnections`; closed
///   ones are dropped; one idle longer than `healthCheckAfterIdle` is checked before it is lent.
/// - The most recently returned connection is lent first, so the others can go idle and be closed.
public final class ConnectionPool<Connection: PoolableConnection>: Sendable {
    public struct Configuration: Sendable {
        public var minimumConnections: Int
        public var maximumConnections: Int
        public var idleTimeout: Duration
        public var acquireTimeout: Duration
        public var healthCheckAfterIdle: Duration

        public init(
            minimumConnections: Int = 0, maximumConnections: Int = 8, idleTimeout: Duration = .seconds(60),
            acquireTimeout: Duration = .seconds(10), healthCheckAfterIdle: Duration = .seconds(30)
        ) {
            precondition(maximumConnections > 0 && minimumConnections >= 0 && minimumConnections <= maximumConnections)
            self.minimumConnections = minimumConnections
            self.maximumConnections = maximumConnections
            self.idleTimeout = idleTimeout
            self.acquireTimeout = acquireTimeout
            self.healthCheckAfterIdle = healthCheckAfterIdle
        }
    }

    /// How many connections are lent, idle, being opened, and callers waiting (for tests and metrics).
    public struct Statistics: Sendable, Equatable {
        public let leased: Int
        public let idle: Int
        public let opening: Int
        public let waiting: Int

        public init(leased: Int, idle: Int, opening: Int, waiting: Int) {
            self.leased = leased
            self.idle = idle
            self.opening = opening
            self.waiting = waiting
        }
    }

    // Inlinable throughout, so a client module (WireHTTP's keep-alive pools, RedisPool) gets the
    // pool specialized for its connection type: unspecialized, lending and taking back a connection
    // looked up the metadata of the idle list's tuples and arrays on every request.
    public let configuration: Configuration
    @usableFromInline let connect: @Sendable () async throws -> Connection
    @usableFromInline let timerLoop: IOLoop
    @usableFromInline let state = Locked(State())

    /// What a waiting caller is given: a connection, or room to open one.
    @usableFromInline
    enum Grant: Sendable {
        case connection(Connection)
        case room
    }

    @usableFromInline
    final class Waiter: @unchecked Sendable {
        // @unchecked Sendable: `continuation` is touched only under the pool's mutex.
        @usableFromInline var continuation: CheckedContinuation<Grant, any Error>?
        @usableFromInline var timer: Timeout?  // the acquire timeout; removed when the waiter is served first
        @inlinable init(_ continuation: CheckedContinuation<Grant, any Error>) { self.continuation = continuation }
    }

    /// A connection waiting to be lent, and since when.
    @usableFromInline
    struct Idle {
        @usableFromInline let connection: Connection
        @usableFromInline let since: ContinuousClock.Instant
        @inlinable init(_ connection: Connection, since: ContinuousClock.Instant) {
            self.connection = connection
            self.since = since
        }
    }

    @usableFromInline
    struct State {
        @usableFromInline var idle: [Idle] = []
        @usableFromInline var leased = 0
        @usableFromInline var opening = 0
        @usableFromInline var waiters: [Waiter] = []
        @usableFromInline var closed = false
        @inlinable init() {}
    }

    /// - Parameters:
    ///   - configuration: sizes and timeouts (see ``Configuration``).
    ///   - timerLoop: whose timers bound the waits for a free connection (default: the shared loop).
    ///   - connect: opens a new connection.
    public init(
        configuration: Configuration = Configuration(), timerLoop: IOLoop = .shared,
        connect: @escaping @Sendable () async throws -> Connection
    ) {
        self.configuration = configuration
        self.timerLoop = timerLoop
        self.connect = connect
    }

    public var statistics: Statistics {
        state.withLock { Statistics(leased: $0.leased, idle: $0.idle.count, opening: $0.opening, waiting: $0.waiters.count) }
    }

    /// Lends a connection to `body` and takes it back afterwards (closed ones are dropped).
    /// - Throws: ``ConnectionPoolTimeoutError`` when none is free within `acquireTimeout`;
    ///   ``ConnectionPoolClosedError`` after ``close()``; whatever opening a connection or `body` throws.
    @inlinable
    public func withConnection<R>(_ body: (Connection) async throws -> R) async throws -> R {
        let connection = try await acquire()
        defer { release(connection) }
        return try await body(connection)
    }

    /// Closes every idle connection and refuses later callers; lent ones close when returned.
    public func close() {
        let (idle, waiters) = state.withLock { state -> ([Connection], [Waiter]) in
            state.closed = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle.map(\.connection), state.waiters)
        }
        for connection in idle { connection.close() }
        for waiter in waiters { waiter.continuation?.resume(throwing: ConnectionPoolClosedError()) }
    }

    // MARK: Lending

    @usableFromInline
    enum Acquisition {
        case reuse(Connection, idleFor: Duration)
        case open
        case wait
    }

    @inlinable
    func acquire() async throws -> Connection {
        while true {
            let (next, stale) = try state.withLock { state -> (Acquisition, [Connection]) in
                guard !state.closed else { throw ConnectionPoolClosedError() }
                let stale = reapIdle(&state)
                if let idle = state.idle.popLast() {
                    state.leased += 1
                    return (.reuse(idle.connection, idleFor: ContinuousClock.now - idle.since), stale)
                }
                if state.leased + state.opening < configuration.maximumConnections {
                    state.opening += 1
                    return (.open, stale)
                }
                return (.wait, stale)
            }
            for connection in stale { connection.close() }
            switch next {
            case .reuse(let connection, let idleFor):
                if idleFor < configuration.healthCheckAfterIdle { return connection }
                do {
                    try await connection.checkHealth()
                    return connection
                } catch {
                    connection.close()
                    release(connection)  // frees its place; try again
                }
            case .open:
                return try await open()
            case .wait:
                switch try await waitForGrant() {
                case .connection(let connection): return connection
                case .room:
                    state.withLock { $0.opening += 1 }
                    return try await open()
                }
            }
        }
    }

    /// Opens a connection in a place already counted in `opening`.
    @inlinable
    func open() async throws -> Connection {
        do {
            let connection = try await connect()
            state.withLock { state in
                state.opening -= 1
                state.leased += 1
            }
            return connection
        } catch {
            let waiter = state.withLock { state -> Waiter? in
                state.opening -= 1
                return state.waiters.isEmpty ? nil : state.waiters.removeFirst()
            }
            if let waiter { serve(waiter, .room) }  // the place is free again
            throw error
        }
    }

    @inlinable
    func waitForGrant() async throws -> Grant {
        let timeout = configuration.acquireTimeout
        return try await withCheckedThrowingContinuation { continuation in
            let waiter = Waiter(continuation)
            state.withLock { $0.waiters.append(waiter) }
            let timer = timerLoop.callLater(timeout) { [self] in
                let expired = self.state.withLock { state -> Bool in
                    guard let index = state.waiters.firstIndex(where: { $0 === waiter }) else { return false }
                    state.waiters.remove(at: index)
                    return true
                }
                if expired {
                    waiter.continuation?.resume(throwing: ConnectionPoolTimeoutError(timeout: timeout))
                }
            }
            state.withLock { _ in waiter.timer = timer }
        }
    }

    /// Hands `grant` to a waiter taken off the list (under the lock) and drops its timeout.
    @inlinable
    func serve(_ waiter: Waiter, _ grant: Grant) {
        let timer = state.withLock { _ in waiter.timer }
        if let timer { timerLoop.removeTimeout(timer) }
        waiter.continuation?.resume(returning: grant)
    }

    /// Takes a connection back: to a waiting caller, to the idle list, or (closed) out of the count.
    @inlinable
    func release(_ connection: Connection) {
        let (waiter, grant, closeIt) = state.withLock { state -> (Waiter?, Grant?, Bool) in
            if state.closed {
                state.leased -= 1
                return (nil, nil, true)
            }
            let waiter = state.waiters.isEmpty ? nil : state.waiters.removeFirst()
            if connection.isClosed {
                state.leased -= 1
                if waiter != nil { return (waiter, .room, false) }
                return (nil, nil, false)
            }
            if waiter != nil { return (waiter, .connection(connection), false) }  // stays counted as lent
            state.leased -= 1
            state.idle.append(Idle(connection, since: ContinuousClock.now))
            return (nil, nil, false)
        }
        if closeIt { connection.close() }
        if let waiter, let grant { serve(waiter, grant) }
    }

    /// Drops closed idle connections and returns those idle too long (beyond the minimum) to close.
    @inlinable
    func reapIdle(_ state: inout State) -> [Connection] {
        guard !state.idle.isEmpty else { return [] }
        state.idle.removeAll { $0.connection.isClosed }
        let now = ContinuousClock.now
        var expired: [Connection] = []
        while state.idle.count + state.leased > configuration.minimumConnections,
            let oldest = state.idle.first, now - oldest.since >= configuration.idleTimeout
        {
            expired.append(state.idle.removeFirst().connection)
        }
        return expired
    }
}

/// No connection became free within the pool's `acquireTimeout`.
public struct ConnectionPoolTimeoutError: Error, Equatable, CustomStringConvertible, Sendable {
    public let timeout: Duration
    public init(timeout: Duration) { self.timeout = timeout }
    public var description: String { "no pooled connection became free within \(timeout)" }
}

/// The pool was closed.
public struct ConnectionPoolClosedError: Error, Equatable, CustomStringConvertible, Sendable {
    public init() {}
    public var description: String { "the connection pool is closed" }
}
