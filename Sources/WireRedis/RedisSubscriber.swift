import WireClient
import Wirestream

/// A message published to a channel the subscriber listens to.
public struct RedisMessage: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// From `SUBSCRIBE`.
        case message
        /// From `PSUBSCRIBE`: `pattern` is the pattern that matched.
        case pmessage
        /// From `SSUBSCRIBE` (sharded pub/sub).
        case smessage
    }

    public let kind: Kind
    public let channel: String
    public let pattern: String?
    public let payload: [UInt8]

    public init(kind: Kind, channel: String, pattern: String? = nil, payload: [UInt8]) {
        self.kind = kind
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload as UTF-8 text.
    public var text: String { String(decoding: payload, as: UTF8.self) }
}

/// Pub/sub on a connection of its own: messages arrive as an `AsyncSequence`, subscriptions
/// survive reconnects, and dropping the sequence ends them.
///
/// ```swift
/// let subscriber = try await RedisSubscriber.connect(RedisConfiguration(port: 6379))
/// try await subscriber.subscribe("news", "alerts")
/// try await subscriber.psubscribe("user.*")
/// for try await message in subscriber.messages {
///     print(message.channel, message.text)
/// }
/// ```
/// The subscriber has a connection of its own, whatever the RESP version: a RESP2 connection
/// that subscribed can do nothing else. (``RedisClient/subscribe(_:)`` shares the client's own
/// connection under RESP3, where messages are pushes beside the replies.) When the
/// connection drops, the subscriber connects again (with the configuration's backoff) and
/// subscribes to everything it was subscribed to; messages published meanwhile are lost, as pub/sub
/// promises nothing else. Cancelling the task that iterates ``messages``, or ``close()``, closes
/// the connection and ends the sequence (messages not yet read from the socket are dropped).
public final class RedisSubscriber: Sendable {
    public let configuration: RedisConfiguration
    private let resubscribes: Bool
    /// How long (un)subscribing waits for the server's confirmations (the command timeout).
    private let confirmationTimeout: Duration?
    /// Every message, in order. One iteration per subscriber; it ends with ``close()`` and throws
    /// if the subscriber gives up (reconnecting disabled, or closed with an error).
    public let messages: AsyncThrowingStream<RedisMessage, any Error>

    private let continuation: AsyncThrowingStream<RedisMessage, any Error>.Continuation
    private let loop: IOLoop
    private let state: Locked<SubscriberState>

    private struct SubscriberState {
        var client: RedisClient?
        var channels: Set<String> = []
        var patterns: Set<String> = []
        var shardChannels: Set<String> = []
        /// SubscriptionConfirmations the server owes for (un)subscriptions, by "kind name", oldest first.
        var confirmations: [String: [SubscriptionConfirmation]] = [:]
        var closed = false
    }

    private init(configuration: RedisConfiguration, resubscribes: Bool, confirmationTimeout: Duration?, loop: IOLoop) {
        self.configuration = configuration
        self.resubscribes = resubscribes
        self.confirmationTimeout = confirmationTimeout
        self.loop = loop
        (messages, continuation) = AsyncThrowingStream.makeStream(
            of: RedisMessage.self, bufferingPolicy: .bufferingOldest(configuration.maxBufferedMessages))
        state = Locked(SubscriberState())
    }

    /// Opens the subscriber's connection (RESP2 or RESP3 as configured).
    public static func connect(_ configuration: RedisConfiguration, loop: IOLoop = .current) async throws -> RedisSubscriber {
        var dedicated = configuration
        dedicated.reconnect = false  // the subscriber reconnects itself, and re-subscribes
        dedicated.commandTimeout = nil  // a subscribed connection is quiet for as long as nobody publishes
        let subscriber = RedisSubscriber(
            configuration: dedicated, resubscribes: configuration.reconnect,
            confirmationTimeout: configuration.commandTimeout, loop: loop)
        let client = try await RedisClient.connect(dedicated, loop: loop)
        subscriber.state.withLock { $0.client = client }
        subscriber.continuation.onTermination = { @Sendable _ in subscriber.close() }
        subscriber.startReading(client)
        return subscriber
    }

    // MARK: Subscribing

    /// Subscribes to `channels`; returns once the server confirmed each.
    public func subscribe(_ channels: String...) async throws {
        try await change("subscribe", channels) { $0.channels.formUnion(channels) }
    }

    /// Subscribes to channels matching `patterns` (`news.*`).
    public func psubscribe(_ patterns: String...) async throws {
        try await change("psubscribe", patterns) { $0.patterns.formUnion(patterns) }
    }

    /// Subscribes to sharded channels.
    public func ssubscribe(_ channels: String...) async throws {
        try await change("ssubscribe", channels) { $0.shardChannels.formUnion(channels) }
    }

    /// Subscribes to `names` of `kind` (channels, patterns or shard channels).
    func subscribe(_ kind: RedisMessage.Kind, _ names: [String]) async throws {
        switch kind {
        case .message: try await change("subscribe", names) { $0.channels.formUnion(names) }
        case .pmessage: try await change("psubscribe", names) { $0.patterns.formUnion(names) }
        case .smessage: try await change("ssubscribe", names) { $0.shardChannels.formUnion(names) }
        }
    }

    /// Unsubscribes from `channels`.
    public func unsubscribe(_ channels: String...) async throws {
        try await change("unsubscribe", channels) { $0.channels.subtract(channels) }
    }

    /// Unsubscribes from `patterns`.
    public func punsubscribe(_ patterns: String...) async throws {
        try await change("punsubscribe", patterns) { $0.patterns.subtract(patterns) }
    }

    /// Closes the connection and ends ``messages``.
    public func close() {
        close(failing: nil)
    }

    /// Closes; ``messages`` ends, throwing `error` if there is one.
    private func close(failing error: (any Error)?) {
        let client = state.withLock { state -> RedisClient? in
            state.closed = true
            for confirmation in state.confirmations.values.flatMap({ $0 }) { confirmation.complete(.failure(StreamClosedError())) }
            state.confirmations = [:]
            return state.client
        }
        client?.close()
        continuation.finish(throwing: error)
    }

    /// Sends `VERB names…` and waits (at most the command timeout) for the server to confirm each
    /// name. The confirmations are registered before the command leaves, so none can be missed; if
    /// they do not all come in time the connection is closed (the subscriber reconnects and
    /// re-subscribes) and the call throws `TimeoutError`.
    private func change(_ verb: String, _ names: [String], _ record: (inout SubscriberState) -> Void) async throws {
        guard !names.isEmpty else { return }
        let owed = names.map { _ in SubscriptionConfirmation() }
        let client = try state.withLock { state -> RedisClient in
            guard !state.closed, let client = state.client else { throw StreamClosedError() }
            record(&state)
            for (name, confirmation) in zip(names, owed) { state.confirmations["\(verb) \(name)", default: []].append(confirmation) }
            return client
        }
        client.stream.queueWrite(try Command([verb.uppercased()] + names).encoded())
        let timer = confirmationTimeout.map { timeout in
            loop.callLater(timeout) { [self] in
                let late = self.state.withLock { state -> Bool in
                    let pending = owed.contains { !$0.isComplete }
                    for key in state.confirmations.keys { state.confirmations[key]?.removeAll { owed.contains($0) } }
                    return pending
                }
                guard late else { return }
                for confirmation in owed { confirmation.complete(.failure(TimeoutError(.deadline, timeout: timeout))) }
                client.close()  // the reader reconnects and subscribes again
            }
        }
        defer { if let timer { loop.removeTimeout(timer) } }
        for confirmation in owed { try await confirmation.wait() }
    }

    // MARK: Reading

    private func startReading(_ client: RedisClient) {
        Task(executorPreference: loop) { await self.read(client) }
    }

    /// Reads pushes until the connection fails; then reconnects, re-subscribes and goes on.
    private func read(_ client: RedisClient) async {
        var client = client
        while true {
            do {
                while true { handle(try await Reply.read(from: client.stream)) }
            } catch {
                guard let next = await reconnect(after: error) else { return }
                client = next
            }
        }
    }

    private func handle(_ reply: Reply) {
        switch RedisPush(reply) {
        case .message(let message):
            if case .dropped = continuation.yield(message) {  // the reader fell too far behind
                close(failing: RedisSubscriptionOverflowError(limit: configuration.maxBufferedMessages))
            }
        case .confirmation(let key):
            let confirmation = state.withLock { state -> SubscriptionConfirmation? in
                guard var waiting = state.confirmations[key], !waiting.isEmpty else { return nil }
                let first = waiting.removeFirst()
                state.confirmations[key] = waiting.isEmpty ? nil : waiting
                return first
            }
            confirmation?.complete(.success(()))
        case .other:
            return  // pong and anything newer: not a message
        }
    }

    /// A new connection with every subscription renewed, or `nil` when the subscriber is done.
    private func reconnect(after error: any Error) async -> RedisClient? {
        var failures = 0
        while true {
            let (closed, subscriptions) = state.withLock { state in
                (state.closed, [("SUBSCRIBE", state.channels), ("PSUBSCRIBE", state.patterns), ("SSUBSCRIBE", state.shardChannels)])
            }
            if closed { return nil }
            guard resubscribes else {
                close(failing: error)
                return nil
            }
            do {
                let client = try await RedisClient.connect(configuration, loop: loop)
                for (verb, names) in subscriptions where !names.isEmpty {
                    client.stream.queueWrite(try Command([verb] + names.sorted()).encoded())
                }
                let keep = state.withLock { state -> Bool in
                    if state.closed { return false }
                    state.client = client
                    return true
                }
                if !keep {
                    client.close()
                    return nil
                }
                return client
            } catch {
                failures += 1
                let (initial, maximum) = configuration.reconnectBackoff
                try? await Task.sleep(for: reconnectDelay(afterFailures: failures, initial: initial, maximum: maximum))
            }
        }
    }
}
