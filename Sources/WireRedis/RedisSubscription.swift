/// The messages of a subscription made on a ``RedisClient`` (``RedisClient/subscribe(_:)``), as an
/// `AsyncSequence`. Under RESP3 they arrive as pushes on the client's own connection, beside its
/// commands' replies; under RESP2 on a connection of the subscription's own.
///
/// The subscription ends — and the client unsubscribes — when ``unsubscribe()`` is called, when
/// the task iterating it is cancelled, or when the last copy of it (and of its iterator) is gone.
/// It survives reconnects (the client subscribes again; messages published meanwhile are lost,
/// as pub/sub promises nothing else), and ends with the connection's error if the client does not
/// reconnect — or with ``RedisSubscriptionOverflowError`` once its reader is more than
/// ``RedisConfiguration/maxBufferedMessages`` behind.
public struct RedisSubscription: AsyncSequence, Sendable {
    public typealias Element = RedisMessage
    let messages: AsyncThrowingStream<RedisMessage, any Error>
    let lifetime: Lifetime

    /// Ends the subscription when the last holder lets go.
    final class Lifetime: Sendable {
        let end: @Sendable () -> Void
        init(end: @escaping @Sendable () -> Void) { self.end = end }
        deinit { end() }
    }

    /// Unsubscribes; the iteration ends after the messages already received.
    public func unsubscribe() {
        lifetime.end()
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(messages: messages.makeAsyncIterator(), lifetime: lifetime)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var messages: AsyncThrowingStream<RedisMessage, any Error>.AsyncIterator
        let lifetime: Lifetime  // an iteration keeps the subscription

        public mutating func next() async throws -> RedisMessage? {
            try await messages.next(isolation: #isolation)  // where the caller runs: the iterator stays there
        }
    }
}

/// A subscription's reader fell more than ``RedisConfiguration/maxBufferedMessages`` messages
/// behind: the subscription ended (unsubscribed) rather than hold an unbounded backlog. The
/// messages it held before are still delivered first.
public struct RedisSubscriptionOverflowError: Error, Equatable, CustomStringConvertible, Sendable {
    public let limit: Int

    public init(limit: Int) {
        self.limit = limit
    }

    public var description: String { "the subscription's reader fell more than \(limit) messages behind; it was ended" }
}
