import Wirestream

/// A Redis connection: commands are written by the encoder generated from `resp.wire` (`Command`),
/// replies read by its parser (`Reply`). One caller at a time, as with the stream underneath;
/// pipelining is `queue` several commands, then `nextReply()` for each, in order.
public final class RedisClient: Sendable {
    public let stream: IOStream

    /// Wraps a connected stream.
    public init(stream: IOStream) {
        self.stream = stream
    }

    /// Connects to a Redis server.
    public static func connect(host: String = "127.0.0.1", port: Int = 6379, loop: IOLoop = .shared) async throws -> RedisClient {
        let stream = IOStream(loop: loop)
        try await stream.connect(host: host, port: port)
        return RedisClient(stream: stream)
    }

    /// Sends a command and returns its reply (an `.error` reply is returned, not thrown).
    /// - Throws: `WireProtocolError` for a malformed reply, `StreamClosedError` if the connection ends.
    public func send(_ arguments: String...) async throws -> Reply {
        try queue(Command(arguments))
        return try await nextReply()
    }

    /// Queues a command without waiting for its reply.
    public func queue(_ command: Command) throws {
        try stream.queueWrite(command)
    }

    /// Queues a command given as words, e.g. `queue("INCR", "hits")`.
    public func queue(_ arguments: String...) throws {
        try queue(Command(arguments))
    }

    /// The reply to the oldest command not yet answered.
    public func nextReply() async throws -> Reply {
        try await Reply.read(from: stream)
    }

    public func close() {
        stream.close()
    }
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
