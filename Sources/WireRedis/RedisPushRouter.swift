import Wirestream

/// The subscriptions sharing a RESP3 ``RedisClient`` connection: hands each pushed message to the
/// subscriptions that want it.
///
/// Confirmations (`subscribe`, `unsubscribe`, … pushes) are left to the connection to match in
/// order, as replies: the server writes each where the command's reply would be, and a refused
/// `SUBSCRIBE` (`NOPERM`, an unknown command) gets an error reply in that place instead. So every
/// (un)subscribe is sent one name per command, each with exactly one answer to wait for.
final class RedisPushRouter: Sendable {
    private struct Listener {
        let kind: RedisMessage.Kind
        let names: Set<String>
        let continuation: AsyncThrowingStream<RedisMessage, any Error>.Continuation
    }

    private struct State {
        var listeners: [Int: Listener] = [:]
        var nextID = 0
        var reconnecting = false
    }

    private let state = Locked(State())
    /// Messages a subscription may hold unread (``RedisConfiguration/maxBufferedMessages``).
    let maxBufferedMessages: Int

    init(maxBufferedMessages: Int) {
        self.maxBufferedMessages = maxBufferedMessages
    }

    /// A stream for a new subscription's messages, holding at most ``maxBufferedMessages``.
    func makeStream() -> (AsyncThrowingStream<RedisMessage, any Error>, AsyncThrowingStream<RedisMessage, any Error>.Continuation) {
        AsyncThrowingStream.makeStream(of: RedisMessage.self, bufferingPolicy: .bufferingOldest(maxBufferedMessages))
    }
    private let connectionLost = Locked<(@Sendable () -> Void)?>(nil)

    /// What to do when the connection closes while subscriptions are open.
    func whenConnectionLost(_ action: @escaping @Sendable () -> Void) {
        connectionLost.withLock { $0 = action }
    }

    /// The connection closed (on its loop).
    func connectionClosed() {
        guard isListening, let action = connectionLost.withLock({ $0 }) else { return }
        action()
    }

    /// True while a subscription is open.
    var isListening: Bool { state.withLock { !$0.listeners.isEmpty } }

    /// Every name subscribed to, as the commands (one name each) that renew them on a new connection.
    var renewals: [[String]] {
        state.withLock { state in
            [RedisMessage.Kind.message, .pmessage, .smessage].flatMap { kind in
                Set(state.listeners.values.filter { $0.kind == kind }.flatMap(\.names)).sorted().map { [kind.subscribeVerb, $0] }
            }
        }
    }

    /// Registers a subscription (before its `SUBSCRIBE` leaves, so no message is missed).
    func add(_ kind: RedisMessage.Kind, _ names: [String], _ continuation: AsyncThrowingStream<RedisMessage, any Error>.Continuation) -> Int {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.listeners[id] = Listener(kind: kind, names: Set(names), continuation: continuation)
            return id
        }
    }

    /// Removes a subscription; returns the names nobody else subscribes to (to unsubscribe).
    func remove(_ id: Int) -> (kind: RedisMessage.Kind, names: [String])? {
        state.withLock { state in
            guard let gone = state.listeners.removeValue(forKey: id) else { return nil }
            let kept = Set(state.listeners.values.filter { $0.kind == gone.kind }.flatMap(\.names))
            return (gone.kind, gone.names.subtracting(kept).sorted())
        }
    }

    /// Takes a pushed message (true), or leaves a reply — confirmations included — to be matched
    /// to its request (false).
    func handle(_ reply: Reply) -> Bool {
        guard case .push = reply else { return false }
        switch RedisPush(reply) {
        case .message(let message):
            let wanting = state.withLock { state in
                state.listeners.values.filter { listener in
                    listener.kind == message.kind && listener.names.contains(message.kind == .pmessage ? message.pattern ?? "" : message.channel)
                }.map(\.continuation)
            }
            for continuation in wanting {
                if case .dropped = continuation.yield(message) {  // its reader fell too far behind
                    continuation.finish(throwing: RedisSubscriptionOverflowError(limit: maxBufferedMessages))
                }
            }
        case .confirmation:
            return false  // the answer to an (un)subscribe command, in its place
        case .other:
            break  // client-side caching invalidations and newer pushes: nobody here wants them
        }
        return true
    }

    /// Ends every subscription with `error` (the connection is gone for good).
    func failAll(_ error: any Error) {
        let listeners = state.withLock { state in
            defer { state.listeners = [:] }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.continuation.finish(throwing: error) }
    }

    /// Claims the job of reconnecting (false: one is under way already).
    func startReconnecting() -> Bool {
        state.withLock { state in
            if state.reconnecting { return false }
            state.reconnecting = true
            return true
        }
    }

    func stopReconnecting() {
        state.withLock { $0.reconnecting = false }
    }
}

extension RedisMessage.Kind {
    /// The command that subscribes to this kind of message.
    var subscribeVerb: String {
        switch self {
        case .message: "SUBSCRIBE"
        case .pmessage: "PSUBSCRIBE"
        case .smessage: "SSUBSCRIBE"
        }
    }

    var unsubscribeVerb: String {
        switch self {
        case .message: "UNSUBSCRIBE"
        case .pmessage: "PUNSUBSCRIBE"
        case .smessage: "SUNSUBSCRIBE"
        }
    }
}
