import WireClient
import Wirestream

/// memcached across several servers: each key lives on the server the ketama ring gives it
/// (``KetamaRing``, weighted), a multi-key `get` is split by server, sent concurrently and merged,
/// and a server that fails is marked down for `retryDelay` — its keys fail at once with
/// ``MemcachedServerDownError`` (or, with `downServersMiss`, read as misses) — then tried again.
///
/// ```swift
/// let cache = MemcachedCluster(servers: [.init(port: 11211), .init(port: 11212, weight: 2)])
/// try await cache.set("user:1", Array("ada".utf8))
/// let values = try await cache.get(["user:1", "user:2", "user:3"])   // one request per server
/// ```
public final class MemcachedCluster: Sendable {
    public struct Server: Hashable, Sendable, CustomStringConvertible {
        public let host: String
        public let port: Int
        /// A server of weight 2 holds about twice the keys of one of weight 1.
        public let weight: Int

        public init(host: String = "127.0.0.1", port: Int = 11211, weight: Int = 1) {
            self.host = host
            self.port = port
            self.weight = weight
        }

        public var description: String { "\(host):\(port)" }
    }

    public let servers: [Server]
    /// How long a failed server is left alone before it is tried again.
    public let retryDelay: Duration
    /// Read a down server's keys as misses instead of failing (a cache that can do without).
    public let downServersMiss: Bool
    private let ring: KetamaRing<Server>
    private let configuration: ClientConfiguration
    private let loop: IOLoop
    private let nodes: Locked<[Server: Node]>

    private enum Node {
        case connecting(Task<MemcachedClient, any Error>)
        case up(MemcachedClient)
        case down(until: ContinuousClock.Instant, error: MemcachedServerDownError)
    }

    /// - Parameters:
    ///   - servers: the servers and their weights (at least one).
    ///   - configuration: timeouts and limits for every server's connection (its host and port
    ///     are replaced by each server's; connections do not reconnect by themselves: the cluster
    ///     marks a failed server down and connects again after `retryDelay`).
    ///   - retryDelay: how long a failed server is left alone.
    ///   - downServersMiss: whether a down server's keys read as misses instead of failing.
    ///   - loop: the loop the connections run on.
    public init(
        servers: [Server], configuration: ClientConfiguration = ClientConfiguration(port: 11211),
        retryDelay: Duration = .seconds(5), downServersMiss: Bool = false, loop: IOLoop = .current
    ) {
        precondition(!servers.isEmpty, "a cluster needs at least one server")
        self.servers = servers
        self.retryDelay = retryDelay
        self.downServersMiss = downServersMiss
        self.ring = KetamaRing(servers.map { ($0, $0.description, $0.weight) })
        var configuration = configuration
        configuration.reconnect = false
        self.configuration = configuration
        self.loop = loop
        self.nodes = Locked([:])
    }

    /// The server that holds `key`.
    public func server(for key: String) -> Server {
        ring.server(for: key.utf8)
    }

    // MARK: Commands

    /// The values of `keys` that exist: one `get` per server holding some of them, concurrently.
    public func get(_ keys: [String]) async throws -> [String: MemcachedValue] {
        try await retrieve(keys) { client, keys in try await client.get(keys) }
    }

    /// The values of `keys` that exist, each with its `cas`.
    public func gets(_ keys: [String]) async throws -> [String: MemcachedValue] {
        try await retrieve(keys) { client, keys in try await client.gets(keys) }
    }

    public func get(_ key: String) async throws -> MemcachedValue? {
        try await get([key])[key]
    }

    public func set(_ key: String, _ value: [UInt8], flags: UInt32 = 0, exptime: Int64 = 0) async throws {
        try await withClient(for: key) { try await $0.set(key, value, flags: flags, exptime: exptime) }
    }

    @discardableResult
    public func store(
        _ mode: MemcachedStoreMode, _ key: String, _ value: [UInt8], flags: UInt32 = 0, exptime: Int64 = 0
    ) async throws -> MemcachedStoreResult {
        try await withClient(for: key) { try await $0.store(mode, key, value, flags: flags, exptime: exptime) }
    }

    public func cas(
        _ key: String, _ value: [UInt8], unique: UInt64, flags: UInt32 = 0, exptime: Int64 = 0
    ) async throws -> MemcachedStoreResult {
        try await withClient(for: key) { try await $0.cas(key, value, unique: unique, flags: flags, exptime: exptime) }
    }

    @discardableResult
    public func delete(_ key: String) async throws -> Bool {
        try await withClient(for: key) { try await $0.delete(key) }
    }

    public func increment(_ key: String, by delta: UInt64 = 1) async throws -> UInt64? {
        try await withClient(for: key) { try await $0.increment(key, by: delta) }
    }

    public func decrement(_ key: String, by delta: UInt64 = 1) async throws -> UInt64? {
        try await withClient(for: key) { try await $0.decrement(key, by: delta) }
    }

    @discardableResult
    public func touch(_ key: String, exptime: Int64) async throws -> Bool {
        try await withClient(for: key) { try await $0.touch(key, exptime: exptime) }
    }

    /// Closes every connection.
    public func close() {
        let open = nodes.withLock { nodes -> [MemcachedClient] in
            defer { nodes = [:] }
            return nodes.values.compactMap { if case .up(let client) = $0 { client } else { nil } }
        }
        for client in open { client.close() }
    }

    // MARK: Routing

    /// Splits `keys` by server, asks each server for its share concurrently, merges the answers.
    private func retrieve(
        _ keys: [String], _ ask: @escaping @Sendable (MemcachedClient, [String]) async throws -> [String: MemcachedValue]
    ) async throws -> [String: MemcachedValue] {
        for key in keys { try MemcachedKeyError.check(key) }
        let shares = Dictionary(grouping: Set(keys), by: { self.server(for: $0) })
        return try await withThrowingTaskGroup(of: [String: MemcachedValue].self) { group in
            for (server, share) in shares {
                group.addTask {
                    do {
                        return try await self.withClient(on: server) { try await ask($0, share) }
                    } catch where self.downServersMiss && (error is MemcachedServerDownError || Self.isTransportFailure(error)) {
                        return [:]  // a cache that can do without: the down server's keys are misses
                    }
                }
            }
            return try await group.reduce(into: [:]) { $0.merge($1) { first, _ in first } }
        }
    }

    private func withClient<R: Sendable>(for key: String, _ body: (MemcachedClient) async throws -> R) async throws -> R {
        try MemcachedKeyError.check(key)
        return try await withClient(on: server(for: key), body)
    }

    /// Runs `body` with `server`'s client; a transport failure marks the server down (the
    /// caller gets the failure itself; later callers ``MemcachedServerDownError``).
    private func withClient<R: Sendable>(on server: Server, _ body: (MemcachedClient) async throws -> R) async throws -> R {
        let client = try await client(for: server)
        do {
            return try await body(client)
        } catch let error where Self.isTransportFailure(error) {
            markDown(server, after: error)
            throw error
        }
    }

    private func client(for server: Server) async throws -> MemcachedClient {
        enum Next {
            case use(MemcachedClient)
            case wait(Task<MemcachedClient, any Error>)
            case fail(MemcachedServerDownError)
        }
        let next = nodes.withLock { nodes -> Next in
            switch nodes[server] {
            case .up(let client) where !client.isClosed: return .use(client)
            case .connecting(let attempt): return .wait(attempt)
            case .down(let until, let error) where ContinuousClock.now < until: return .fail(error)
            default:
                var configuration = self.configuration
                configuration.host = server.host
                configuration.port = server.port
                let loop = self.loop
                let attempt = Task { try await MemcachedClient.connect(configuration, loop: loop) }
                nodes[server] = .connecting(attempt)
                return .wait(attempt)
            }
        }
        switch next {
        case .use(let client): return client
        case .fail(let error): throw error
        case .wait(let attempt):
            do {
                let client = try await attempt.value
                nodes.withLock { nodes in
                    if case .connecting = nodes[server] { nodes[server] = .up(client) }
                }
                return client
            } catch {
                markDown(server, after: error)
                throw MemcachedServerDownError(server: server, retryAfter: retryDelay, lastError: error)
            }
        }
    }

    private func markDown(_ server: Server, after error: any Error) {
        let down = MemcachedServerDownError(server: server, retryAfter: retryDelay, lastError: error)
        let previous = nodes.withLock { nodes in
            defer { nodes[server] = .down(until: ContinuousClock.now + retryDelay, error: down) }
            return nodes[server]
        }
        if case .up(let client) = previous { client.close() }
    }

    /// Failures of the server or the network (not of the request: a refused key, a server's
    /// error reply or a protocol error on one reply say nothing about the server being down).
    private static func isTransportFailure(_ error: any Error) -> Bool {
        error is StreamClosedError || error is TimeoutError || error is ReconnectError
    }
}

/// A server of a ``MemcachedCluster`` failed less than `retryAfter` ago: its keys fail at once.
public struct MemcachedServerDownError: Error, CustomStringConvertible, @unchecked Sendable {
    // @unchecked Sendable: `lastError` is an error recorded once and never mutated.
    public let server: MemcachedCluster.Server
    public let retryAfter: Duration
    public let lastError: any Error

    public var description: String { "memcached server \(server) is down (retried after \(retryAfter)): \(lastError)" }
}
