import WireClient
import Wirestream

/// Redis connections lent one caller at a time: for blocking commands, `WATCH` transactions and
/// throughput across loops — what must not share the pipelined connection of a ``RedisClient``.
///
/// ```swift
/// let pool = RedisPool(try RedisConfiguration(url: "redis://127.0.0.1"), loops: try IOLoopGroup())
/// let job = try await pool.withConnection { redis in try await redis.send("BLPOP", "jobs", "5") }
/// try await pool.withConnection { redis in                     // WATCH … MULTI … EXEC, undisturbed
///     try await redis.send("WATCH", "balance")
///     let balance = Int(try await redis.send("GET", "balance").string ?? "0")!
///     return try await redis.transaction([["SET", "balance", String(balance - 10)]])
/// }
/// ```
/// Each connection is a ``RedisClient`` of its own (without reconnecting: the pool replaces closed
/// ones), opened on the next loop of `loops` (default: the shared loop).
public final class RedisPool: Sendable {
    public let configuration: RedisConfiguration
    public let pool: ConnectionPool<RedisClient>

    public init(
        _ configuration: RedisConfiguration, pool poolConfiguration: ConnectionPool<RedisClient>.Configuration = .init(),
        loops: IOLoopGroup? = nil
    ) {
        var clientConfiguration = configuration
        clientConfiguration.reconnect = false  // the pool drops a closed client and opens another
        let connectWith = clientConfiguration
        self.configuration = connectWith
        self.pool = ConnectionPool(configuration: poolConfiguration) {
            try await RedisClient.connect(connectWith, loop: loops?.next() ?? .shared)
        }
    }

    /// Lends a connection to `body` for as long as it runs.
    /// - Throws: `ConnectionPoolTimeoutError` when none is free in time; what `body` throws.
    public func withConnection<R>(_ body: (RedisClient) async throws -> R) async throws -> R {
        try await pool.withConnection(body)
    }

    /// One command on a lent connection.
    @discardableResult
    public func send(_ arguments: String...) async throws -> Reply {
        try await pool.withConnection { try await $0.send(arguments) }
    }

    /// Closes the idle connections and refuses later callers.
    public func close() {
        pool.close()
    }
}

extension RedisClient: PoolableConnection {
    /// True once this client cannot send again: closed by ``close()``, or its connection dropped
    /// and it does not reconnect.
    public var isClosed: Bool { client.isClosed }

    /// `PING`, expecting `PONG`.
    public func checkHealth() async throws {
        let reply = try await send("PING")
        guard reply == .simple("PONG") || reply.string == "PONG" else { throw RedisServerError("ERR PING answered \(reply)") }
    }
}
