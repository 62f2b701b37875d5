/// What can send a Redis command and return its reply: a ``RedisClient`` (one server) or a
/// ``RedisClusterClient`` (routed by key). The typed command methods generated from the server's
/// command spec (`get`, `hset`, `xadd`, … in `Generated/WireRedis/RedisCommands.swift`) are an
/// extension of this protocol, so both clients have all of them.
public protocol RedisCommands: Sendable {
    /// Sends `command` and returns its reply; an error reply is a `.error` value, not thrown.
    func send(_ command: Command) async throws -> Reply

    /// Sends a command given as words (an `.error` reply is returned, not thrown). By default,
    /// `send(Command(arguments))`; ``RedisClient`` encodes the words without that copy.
    @discardableResult
    func send(_ arguments: [String]) async throws -> Reply
}

extension RedisCommands {
    /// Sends a command given as words.
    @discardableResult
    public func send(_ arguments: [String]) async throws -> Reply {
        try await send(Command(arguments))
    }

    /// Sends a command given as words (an `.error` reply is returned, not thrown).
    @discardableResult
    public func send(_ arguments: String...) async throws -> Reply {
        try await send(arguments)
    }
}
