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
/// for try await message in try await redis.subscribe("news") { … }   // RESP3: on this connection
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
    /// The subscriptions sharing the connection (RESP3 pushes).
    private let router: RedisPushRouter
    private let loop: IOLoop

    /// The most recent connection (closed, if it dropped and no command has needed another yet).
    public var connection: PipelinedConnection<Reply> { client.connection! }  // pipelined: opened by connect
    /// The protocol the server agreed to (RESP2 when it refused `HELLO 3`).
    public var protocolVersion: RedisConfiguration.ProtocolVersion { negotiated.version.withLock { $0 } }
    /// The stream underneath.
    public var stream: BaseIOStream { connection.stream }
    private init(
        configuration: RedisConfiguration, client: ProtocolClient<Reply>, negotiated: NegotiatedVersion, router: RedisPushRouter, loop: IOLoop
    ) {
        self.configuration = configuration
        self.client = client
        self.negotiated = negotiated
        self.router = router
        self.loop = loop
    }

    /// What the latest handshake agreed, written by the set-up of each connection.
    private final class NegotiatedVersion: Sendable {
        let version: Locked<RedisConfiguration.ProtocolVersion>
        init(_ version: RedisConfiguration.ProtocolVersion) { self.version = Locked(version) }
    }

    // MARK: Connecting

    /// Connects, then says `HELLO 3` (or, for RESP2 or a server that refuses it, `AUTH` and
    /// `CLIENT SETNAME`) and `SELECT`s the database, all within `connectTimeout`.
    /// - Throws: ``RedisServerError`` when the server refuses the handshake (`WRONGPASS`, …);
    ///   `StreamClosedError` whose `realError` is the connect failure (refused, `TimeoutError`,
    ///   `TLSError`, …).
    public static func connect(_ configuration: RedisConfiguration, loop: IOLoop = .current) async throws -> RedisClient {
        let negotiated = NegotiatedVersion(configuration.protocolVersion)
        let router = RedisPushRouter(maxBufferedMessages: configuration.maxBufferedMessages)
        // Pipelined, every reply one RESP `Reply`; pushes (RESP3 pub/sub) go to the subscriptions.
        let redisProtocol = ClientProtocol<Reply>(
            name: "Redis", outOfBand: { router.handle($0) }, onClose: { router.connectionClosed() },
            readReply: { try await Reply.read(from: $0, tryingBuffered: false) },  // the buffered parse is tried first
            readBufferedReply: { Reply.readIfBuffered(from: $0) })
        let client = try await ProtocolClient.connect(configuration.clientConfiguration, protocol: redisProtocol, loop: loop) { session in
            let version = try await handshake(session, configuration)
            negotiated.version.withLock { $0 = version }
            let renewals = router.renewals  // a reconnect: subscribe again to what was subscribed
            if version == .resp3, !renewals.isEmpty {
                session.connection.listen(true)
                for words in renewals { _ = try await session.send(Command(words)) }  // a refusal: that name stays quiet
            }
        }
        let redis = RedisClient(configuration: configuration, client: client, negotiated: negotiated, router: router, loop: loop)
        router.whenConnectionLost { [weak redis] in redis?.resumeSubscriptions() }
        return redis
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
        try await client.send(command, timeout: timeout(for: BlockingCommand(command)))
    }

    /// Sends a command given as words, encoded straight from the strings (no `Command` is built).
    @discardableResult
    public func send(_ arguments: [String]) async throws -> Reply {
        try await client.send(CommandWords(arguments), timeout: timeout(for: BlockingCommand(arguments)))
    }

    /// Writes every command in one go and returns their replies in order; error replies are
    /// elements of the result. Other callers' commands never interleave with a pipeline's.
    public func pipeline(_ commands: [[String]]) async throws -> [Reply] {
        let timeout = longestTimeout(commands.lazy.map { BlockingCommand($0) })
        return try await client.send(batch: commands.map { CommandWords($0) as any WireRequest }, timeout: timeout)
    }

    /// ``pipeline(_:)`` for commands whose arguments are bytes.
    public func pipeline(commands: [Command]) async throws -> [Reply] {
        try await client.send(batch: commands, timeout: longestTimeout(commands.lazy.map { BlockingCommand($0) }))
    }

    /// Runs `commands` atomically (`MULTI` … `EXEC`, written in one go) and returns their results.
    /// - Throws: ``RedisTransactionAbortedError`` when `EXEC` returns null (a `WATCH`ed key changed);
    ///   ``RedisServerError`` when the server refused the transaction (`EXECABORT`: a command did
    ///   not queue; its error is in the message); transport errors as ``send(_:)-(Command)``.
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

    // MARK: Pub/sub

    /// Subscribes to `channels` and returns their messages. Under RESP3 they share this client's
    /// connection with its commands (as pushes); under RESP2 the subscription has a connection of
    /// its own. See ``RedisSubscription`` for when it ends.
    /// - Throws: ``RedisServerError`` when the server refuses a name (`NOPERM`: the ACL user may
    ///   not use that channel; nothing stays subscribed); `TimeoutError` when it does not confirm
    ///   within `commandTimeout`; transport errors as ``send(_:)-(Command)``.
    public func subscribe(_ channels: String...) async throws -> RedisSubscription {
        try await subscribe(.message, channels)
    }

    /// Subscribes to the channels matching `patterns` (`news.*`).
    public func psubscribe(_ patterns: String...) async throws -> RedisSubscription {
        try await subscribe(.pmessage, patterns)
    }

    /// Subscribes to shard channels (`SSUBSCRIBE`, Redis 7).
    public func ssubscribe(_ channels: String...) async throws -> RedisSubscription {
        try await subscribe(.smessage, channels)
    }

    private func subscribe(_ kind: RedisMessage.Kind, _ names: [String]) async throws -> RedisSubscription {
        precondition(!names.isEmpty, "subscribe to at least one name")
        if protocolVersion == .resp2 {  // a RESP2 connection that subscribed can do nothing else
            let subscriber = try await RedisSubscriber.connect(configuration, loop: loop)
            do {
                try await subscriber.subscribe(kind, names)
            } catch {
                subscriber.close()
                throw error
            }
            return RedisSubscription(messages: subscriber.messages, lifetime: .init { subscriber.close() })
        }
        let (messages, continuation) = router.makeStream()
        let id = router.add(kind, names, continuation)
        let (router, client) = (self.router, self.client)
        let lifetime = RedisSubscription.Lifetime {
            continuation.finish()
            guard let gone = router.remove(id), !gone.names.isEmpty else { return }
            let stillListening = router.isListening
            Task {
                _ = try? await client.send(batch: gone.names.map { Command([gone.kind.unsubscribeVerb, $0]) })
                if !stillListening { client.connection?.listen(false) }
            }
        }
        // The iterating task was cancelled, or the subscription overflowed: unsubscribe.
        continuation.onTermination = { [weak lifetime] _ in lifetime?.end() }
        do {
            try await client.checkHealth()  // connected (again), so listening starts on the live connection
            client.connection?.listen(true)
            // One name per command: each has exactly one answer, a confirmation or an error.
            let answers = try await client.send(batch: names.map { Command([kind.subscribeVerb, $0]) })
            if let refusal = answers.lazy.compactMap({ answer -> String? in
                if case .error(let message) = answer { return message } else { return nil }
            }).first {
                throw RedisServerError(refusal)
            }
        } catch {
            lifetime.end()
            throw error
        }
        return RedisSubscription(messages: messages, lifetime: lifetime)
    }

    /// The connection closed while subscriptions were open: connect again (with the backoff) so
    /// they resume without waiting for a command — or end them, if this client does not reconnect.
    private func resumeSubscriptions() {
        guard router.isListening, router.startReconnecting() else { return }
        Task {
            var failures = 0
            while router.isListening {
                if client.isClosed {  // closed by its owner, or a dropped connection it does not replace
                    router.failAll(StreamClosedError(realError: client.connection?.stream.error))
                    break
                }
                do {
                    try await client.checkHealth()  // the set-up subscribes again
                    break
                } catch {
                    failures += 1
                    let (initial, maximum) = configuration.reconnectBackoff
                    try? await Task.sleep(for: reconnectDelay(afterFailures: failures, initial: initial, maximum: maximum))
                }
            }
            router.stopReconnecting()
            if client.connection?.isClosed == true { resumeSubscriptions() }  // it dropped again meanwhile
        }
    }

    /// How long a command may wait: the command timeout, or for a blocking command (`blocking`,
    /// read from its words) its own timeout plus the margin (none when it blocks for ever, as asked).
    func timeout(for blocking: BlockingCommand?) -> Duration? {
        guard let blocking else { return configuration.commandTimeout }
        guard let serverTimeout = blocking.serverTimeout else { return nil }  // BLPOP … 0: for ever
        return serverTimeout + configuration.blockingCommandMargin
    }

    /// The longest of the commands' timeouts (`nil`, none, when one of them blocks for ever).
    private func longestTimeout(_ commands: some Sequence<BlockingCommand?>) -> Duration? {
        commands.reduce(configuration.commandTimeout) { longest, command in
            guard let longest, let this = timeout(for: command) else { return nil }
            return max(longest, this)
        }
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
