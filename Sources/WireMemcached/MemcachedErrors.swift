/// The server refused a command, or answered with a reply that does not belong to it. Transport
/// failures stay `StreamClosedError` / `TimeoutError`, and bytes that do not parse `WireProtocolError`.
public struct MemcachedError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: Equatable, Sendable {
        /// `ERROR`: the server does not know the command.
        case error
        /// `CLIENT_ERROR message`: the request was malformed (e.g. "bad data chunk").
        case clientError(String)
        /// `SERVER_ERROR message`: e.g. "out of memory storing object", "object too large for cache".
        case serverError(String)
        /// A reply that answers another command (the text says which).
        case unexpectedReply(String)
        /// A stats reply without a field the typed stats need, or with one that is not a number.
        case invalidStats(String)
    }

    /// The command, as the protocol names it (`set`, `gets`, `incr`, …).
    public let command: String
    public let kind: Kind

    public init(command: String, kind: Kind) {
        self.command = command
        self.kind = kind
    }

    public var description: String { "memcached refused \(command): \(kind)" }
}

/// A key memcached would refuse: 1–250 bytes, none of them a space or a control byte. Checked
/// before anything is sent (a key with a space would otherwise split the command).
public struct MemcachedKeyError: Error, Equatable, CustomStringConvertible, Sendable {
    public let key: String

    public init(key: String) { self.key = key }

    public var description: String { "not a memcached key: \(key.debugDescription)" }

    static func check(_ key: String) throws {
        let bytes = key.utf8
        guard (1...250).contains(bytes.count), bytes.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
            throw MemcachedKeyError(key: key)
        }
    }
}

/// A value larger than the client could read back (`ClientConfiguration.maxReplyBytes`):
/// refused before it is sent.
public struct MemcachedValueTooLargeError: Error, Equatable, CustomStringConvertible, Sendable {
    public let size: Int
    public let limit: Int

    public init(size: Int, limit: Int) {
        self.size = size
        self.limit = limit
    }

    public var description: String { "a \(size)-byte value is over the client's limit of \(limit) bytes" }
}
