import Synchronization
import WireClient
import Wirestream

/// A Redis client on one connection that many tasks share: commands are written in call order and
/// replies matched in order (automatic pipelining, as valkey-swift does), every wait is bounded,
/// and the replies are the typed ``Reply`` parsed by the code generated from `resp.wire`.
///
/// ```swift
/// let redis = try await RedisClient.connect(try RedisConfiguration(url: "redis://127.0.0.1:6379/0"))
/// try await redis.send("SET", "greeting", "hello")
/// let value = try await redis.send("GET", "greeting").string          // "hello"
/// let replies = try await redis.pipeline([["INCR", "hits"], ["INCR", "hits"]])   // one write
/// let results = try await redis.transaction([["INCR", "a"], ["INCR", "b"]])       // MULTI … EXEC
/// ```
///
/// **Three kinds of failure, told apart by type:** the server said no — an error reply is a
/// ``Reply`` value (`.error`), returned, not thrown (the handshake and ``transaction(_:)`` throw it as
/// ``RedisServerError``); the bytes were wrong — `WireProtocolError`; the transport failed —
/// `StreamClosedError` (its `realError` says why: reset, TLS, a limit) or `TimeoutError`.
/// A command that times out closes the connection (see `PipelinedConnection`).
///
/// **Reconnection.** When the connection is gone (the server closed it, a command timed out, the
/// network failed), the next command connects again — commands that were in flight failed and are
/// never sent twice. After a failed attempt, commands fail at once with ``RedisReconnectError``
/// until the backoff (``RedisConfiguration/reconnectBackoff``) has passed.
public final class RedisClient: RedisCommands {
    public let configuration: RedisConfiguration
    /// The connection machinery every WireClient client shares (pipelining, timeouts, reconnects);
    /// Redis adds its handshake as the set-up of each connection.
    let client: ProtocolClient<Reply>
    private let negotiated: NegotiatedVersion

    /// The most recent connection (closed, if it dropped and no command has needed another yet).
    public var connection: PipelinedConnection<Reply> { client.connection! }  // pipelined: opened by connect
    /// The protocol the server agreed to (RESP2 when it refused `HELLO 3`).
    public var protocolVersion: RedisConfiguration.ProtocolVersion { negotiated.version.withLock { $0 } }
    /// The stream underneath.
    public var stream: BaseIOStream { connection.stream }
    private init(configuration: RedisConfiguration, client: ProtocolClient<Reply>, negotiated: NegotiatedVersion) {
        self.configuration = configuration
        self.client = client
        self.negotiated = negotiated
    }

    /// What the latest handshake agreed, written by the set-up of each connection.
    private final class NegotiatedVersion: Sendable {
        let version: Mutex<RedisConfiguration.ProtocolVersion>
        init(_ version: RedisConfiguration.ProtocolVersion) { self.version = Mutex(version) }
    }

    // MARK: Connecting

    /// How Redis requests and replies pair up: pipelined, every reply one RESP `Reply`.
    static let redisProtocol = ClientProtocol<Reply>(name: "Redis", readReply: { try await Reply.read(from: $0) })

    /// Connects, then says `HELLO 3` (or, for RESP2 or a server that refuses it, `AUTH` and
    /// `CLIENT SETNAME`) and `SELECT`s the database, all within `connectTimeout`.
    /// - Throws: ``RedisServerError`` when the server refuses the handshake (`WRONGPASS`, …);
    ///   `StreamClosedError` whose `realError` is the connect failure (refused, `TimeoutError`,
    ///   `TLSError`, …).
    public static func connect(_ configuration: RedisConfiguration, loop: IOLoop = .current) async throws -> RedisClient {
        let negotiated = NegotiatedVersion(configuration.protocolVersion)
        let client = try await ProtocolClient.connect(configuration.clientConfiguration, protocol: redisProtocol, loop: loop) { session in
            let version = try await handshake(session, configuration)
            negotiated.version.withLock { $0 = version }
        }
        return RedisClient(configuration: configuration, client: client, negotiated: negotiated)
    }

    /// Connects to `host`:`port` with the default configuration.
    public static func connect(host: String = "127.0.0.1", port: Int = 6379, loop: IOLoop = .current) async throws -> RedisClient {
        try await connect(RedisConfiguration(host: host, port: port), loop: loop)
    }

    private static func handshake(
        _ session: ClientSession<Reply>, _ configuration: RedisConfiguration
    ) async throws -> RedisConfiguration.ProtocolVersion {
        func call(_ words: [String]) async throws -> Reply {
            let reply = try await session.send(Command(words))
            if case .error(let message) = reply { throw RedisServerError(message) }
            return reply
        }
        var version = configuration.protocolVersion
        if version == .resp3 {
            var hello = ["HELLO", "3"]
            if let password = configuration.password { hello += ["AUTH", configuration.username ?? "default", password] }
            if let name = configuration.clientName { hello += ["SETNAME", name] }
            do {
                _ = try await call(hello)
            } catch let refused as RedisServerError where refused.code == "NOPROTO" || refused.message.contains("unknown command") {
                version = .resp2  // a server before 6.0, or one configured without RESP3
            }
        }
        if version == .resp2 {
            if let password = configuration.password {
                _ = try await call(["AUTH"] + (configuration.username.map { [$0] } ?? []) + [password])
            }
            if let name = configuration.clientName { _ = try await call(["CLIENT", "SETNAME", name]) }
        }
        if configuration.database != 0 { _ = try await call(["SELECT", String(configuration.database)]) }
        for command in configuration.setUpCommands { _ = try await call(command) }
        return version
    }

    // MARK: Commands

    /// Sends a command and returns its reply (an `.error` reply is returned, not thrown); the
    /// forms taking words (`send("GET", "k")`) come from ``RedisCommands``.
    /// - Throws: `StreamClosedError`, `TimeoutError` (the connection then closes),
    ///   `WireProtocolError` for a malformed reply, `CancellationError`.
    @discardableResult
    public func send(_ command: Command) async throws -> Reply {
        try await client.send(command, timeout: timeout(for: command))
    }

    /// Writes every command in one go and returns their replies in order; error replies are
    /// elements of the result. Other callers' commands never interleave with a pipeline's.
    public func pipeline(_ commands: [[String]]) async throws -> [Reply] {
        try await pipeline(commands: commands.map(Command.init))
    }

    /// ``pipeline(_:)`` for commands whose arguments are bytes.
    public func pipeline(commands: [Command]) async throws -> [Reply] {
        let timeout = commands.reduce(configuration.commandTimeout) { longest, command in
            guard let longest, let this = self.timeout(for: command) else { return nil }
            return max(longest, this)
        }
        return try await client.send(batch: commands, timeout: timeout)
    }

    /// Runs `commands` atomically (`MULTI` … `EXEC`, written in one go) and returns their results.
    /// - Throws: ``RedisTransactionAbortedError`` when `EXEC` returns null (a `WATCH`ed key changed);
    ///   ``RedisServerError`` when the server refused the transaction (`EXECABORT`: a command did
    ///   not queue; its error is in the message); transport errors as ``send(_:)``.
    public func transaction(_ commands: [[String]]) async throws -> [Reply] {
        let replies = try await pipeline([["MULTI"]] + commands + [["EXEC"]])
        if case .error(let message) = replies[0] { throw RedisServerError(message) }
        switch replies[replies.count - 1] {
        case .array(let results?): return results
        case .array(nil), .null: throw RedisTransactionAbortedError()
        case .error(let message):
            let queued = replies.dropFirst().dropLast().compactMap { reply -> String? in
                if case .error(let text) = reply { return text } else { return nil }
            }
            throw RedisServerError(([message] + queued).joined(separator: "; "))
        default:
            throw RedisServerError("ERR unexpected EXEC reply \(replies[replies.count - 1])")
        }
    }

    /// Closes the connection at once; commands still waiting, and every later one, fail with
    /// `StreamClosedError`.
    public func close() {
        client.close()
    }

    /// Sends `QUIT` (where the server knows it) and closes once the server has.
    /// A connection that already dropped is not reopened just to say goodbye.
    public func quit() async throws {
        if let connection = client.connection, !connection.isClosed {
            _ = try? await connection.send(Command(["QUIT"]).encoded(), timeout: configuration.commandTimeout)
        }
        try? await client.closeGracefully(timeout: configuration.connectTimeout)
    }

    /// How long `command` may wait: the command timeout, or for a blocking command its own
    /// timeout plus the margin (none when it blocks for ever, as asked).
    func timeout(for command: Command) -> Duration? {
        guard let blocking = BlockingCommand(command) else { return configuration.commandTimeout }
        guard let serverTimeout = blocking.serverTimeout else { return nil }  // BLPOP … 0: for ever
        return serverTimeout + configuration.blockingCommandMargin
    }
}

/// An error reply from the server, where an API throws it (the handshake, transactions).
public struct RedisServerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The first word: `ERR`, `WRONGPASS`, `NOPROTO`, `EXECABORT`, `MOVED`, ….
    public let code: String
    /// The whole message, code included.
    public let message: String

    public init(_ message: String) {
        self.message = message
        self.code = String(message.prefix { $0 != " " })
    }

    public var description: String { message }
}

/// A command found the connection gone and the last reconnect attempt failed less than the
/// backoff ago (WireClient's `ReconnectError`, shared by every client).
public typealias RedisReconnectError = ReconnectError

/// `EXEC` returned null: a key the transaction `WATCH`ed changed, so nothing was run.
public struct RedisTransactionAbortedError: Error, Equatable, CustomStringConvertible, Sendable {
    public init() {}
    public var description: String { "transaction aborted: a watched key changed" }
}

extension Command {
    /// A command from its words, each sent as a bulk string: `Command(["SET", "key", "value"])`.
    public init(_ arguments: [String]) {
        self.init(arguments: arguments.map { BulkString(value: Array($0.utf8)) })
    }
}

extension Reply {
    /// The text of a simple string, bulk string, verbatim string or big number reply.
    public var string: String? {
        switch self {
        case .simple(let text), .bigNumber(let text), .verbatim(let text): text
        case .bulk(let bytes?): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The elements of an array, set or push reply.
    public var elements: [Reply]? {
        switch self {
        case .array(let elements?), .set(let elements), .push(let elements): elements
        default: nil
        }
    }
}
