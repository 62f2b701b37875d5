import WireClient
import Wirestream

/// How to reach and talk to a Redis server. Every default is safe against a server that misbehaves:
/// nothing waits for ever, and no reply can grow the buffer without bound.
///
/// ```swift
/// var configuration = try RedisConfiguration(url: "rediss://app:secret@127.0.0.1:6380/2")
/// configuration.commandTimeout = .seconds(2)
/// let redis = try await RedisClient.connect(configuration)
/// ```
public struct RedisConfiguration: Sendable {
    /// Which RESP version to speak.
    public enum ProtocolVersion: Int, Sendable {
        /// RESP2: no `HELLO`; `AUTH` and `CLIENT SETNAME` sent separately.
        case resp2 = 2
        /// RESP3 via `HELLO 3` (maps, sets, pushes); servers that refuse `HELLO` get RESP2.
        case resp3 = 3
    }

    public var host: String
    public var port: Int
    /// A Unix domain socket to connect to instead of `host`:`port` (`unix:///path` URLs).
    public var unixSocketPath: String?
    /// ACL user name (`AUTH user password`); `nil` with a password is the default user.
    public var username: String?
    public var password: String?
    /// The database to `SELECT` after connecting (0: none sent).
    public var database: Int = 0
    /// Sent with `HELLO … SETNAME` or `CLIENT SETNAME`.
    public var clientName: String?
    /// Default RESP3, falling back to RESP2 on servers that refuse `HELLO 3`.
    public var protocolVersion: ProtocolVersion = .resp3
    /// TLS (`rediss://`): verification on by default (see `TLSConfiguration`); `nil`: plain TCP.
    public var tls: TLSConfiguration?
    /// The name the server's certificate must carry (default: `host`).
    public var tlsServerName: String?
    /// Connecting, TLS and the handshake commands (`HELLO`, `AUTH`, `SELECT`) together.
    public var connectTimeout: Duration = .seconds(10)
    /// How long any command may wait for its reply (`nil`: for ever). Past it the connection
    /// closes: its replies could no longer be matched.
    public var commandTimeout: Duration? = .seconds(30)
    /// The wait for blocking commands (`BLPOP`, `BRPOP`, `BLMOVE`, `BZPOPMIN`, `XREAD … BLOCK`,
    /// `WAIT`, …), whose server-side timeout is the caller's: this bounds the client's wait
    /// beyond it (their own timeout argument is added).
    public var blockingCommandMargin: Duration = .seconds(5)
    /// Whether a client whose connection dropped connects again for later commands (commands that
    /// were in flight fail; none is sent twice).
    public var reconnect = true
    /// The wait before reconnect attempt n (after n failed ones): `initial × 2ⁿ⁻¹`, at most `maximum`.
    /// Commands during the wait fail at once with ``RedisReconnectError`` instead of queueing up.
    public var reconnectBackoff: (initial: Duration, maximum: Duration) = (.milliseconds(100), .seconds(5))
    /// The most bytes one reply may occupy in the read buffer (the grammar allows 512 MB bulk
    /// strings; a client need not). Past it the connection closes with `StreamBufferFullError`.
    public var maxReplyBytes: Int = 64 * 1024 * 1024
    /// The most messages a subscription keeps for a reader that has not taken them yet. Past it
    /// the subscription ends with ``RedisSubscriptionOverflowError`` (and is unsubscribed), so a
    /// publisher faster than the reader cannot grow the client's memory without bound.
    public var maxBufferedMessages = 100_000
    /// Commands sent at the end of every connection's handshake (a cluster replica's `READONLY`).
    var setUpCommands: [[String]] = []

    /// A plain TCP connection to `host`:`port` as the default user.
    public init(host: String = "127.0.0.1", port: Int = 6379) {
        self.host = host
        self.port = port
    }

    /// `redis://[[user]:password@]host[:port][/db]`, `rediss://…` (TLS with verification on) or
    /// `unix://[[user]:password@]/path/to/socket[?db=N]`. User and password are percent-decoded;
    /// IPv6 hosts are written `[::1]`.
    /// - Throws: ``RedisURLError`` naming what is wrong.
    public init(url: String) throws {
        let scheme: String
        var rest: Substring
        if url.hasPrefix("unix://") {
            try self.init(unixURL: url)
            return
        }
        if url.hasPrefix("redis://") {
            scheme = "redis"
            rest = url.dropFirst("redis://".count)
        } else if url.hasPrefix("rediss://") {
            scheme = "rediss"
            rest = url.dropFirst("rediss://".count)
        } else {
            throw RedisURLError(url: url, reason: "the scheme must be redis:// or rediss://")
        }
        self.init()
        if scheme == "rediss" { tls = .client() }
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }  // options are not supported
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            try applyUserInfo(rest[..<at], url: url)
            rest = rest[rest.index(after: at)...]
        }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw RedisURLError(url: url, reason: "unclosed [ in the host") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw RedisURLError(url: url, reason: "text after the IPv6 host") }
                port = try Self.port(rest.dropFirst(), url: url)
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            port = try Self.port(rest[rest.index(after: colon)...], url: url)
        } else {
            host = String(rest)
        }
        if host.isEmpty { host = "127.0.0.1" }
        if !path.isEmpty {
            guard let number = Int(path), number >= 0 else {
                throw RedisURLError(url: url, reason: "the database must be a number, not \(path.debugDescription)")
            }
            database = number
        }
    }

    private init(unixURL url: String) throws {
        self.init()
        var rest = url.dropFirst("unix://".count)
        if let query = rest.firstIndex(of: "?") {
            for option in rest[rest.index(after: query)...].split(separator: "&") {
                let parts = option.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0] == "db", let number = Int(parts[1]), number >= 0 else {
                    throw RedisURLError(url: url, reason: "unknown option \(option.debugDescription) (only db=N)")
                }
                database = number
            }
            rest = rest[..<query]
        }
        if let at = rest.lastIndex(of: "@") {
            try applyUserInfo(rest[..<at], url: url)
            rest = rest[rest.index(after: at)...]
        }
        guard rest.hasPrefix("/") else { throw RedisURLError(url: url, reason: "the socket path must be absolute") }
        unixSocketPath = String(rest)
    }

    /// `user:password`, `:password` or `password` (redis://secret@host is a password).
    private mutating func applyUserInfo(_ userInfo: Substring, url: String) throws {
        if let colon = userInfo.firstIndex(of: ":") {
            let user = try Self.percentDecoded(userInfo[..<colon], url: url)
            username = user.isEmpty ? nil : user
            password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], url: url)
        } else if !userInfo.isEmpty {
            password = try Self.percentDecoded(userInfo, url: url)
        }
    }

    private static func port(_ text: Substring, url: String) throws -> Int {
        guard let port = Int(text), (1...65_535).contains(port) else {
            throw RedisURLError(url: url, reason: "bad port \(text.debugDescription)")
        }
        return port
    }

    private static func percentDecoded(_ text: Substring, url: String) throws -> String {
        let utf8 = Array(text.utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index < utf8.count {
            guard utf8[index] == UInt8(ascii: "%") else {
                bytes.append(utf8[index])
                index += 1
                continue
            }
            guard index + 3 <= utf8.count,
                let value = UInt8(String(decoding: utf8[(index + 1)..<(index + 3)], as: UTF8.self), radix: 16)
            else { throw RedisURLError(url: url, reason: "bad percent-escape in the user info") }
            bytes.append(value)
            index += 3
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A Redis URL that cannot be used, and why.
public struct RedisURLError: Error, Equatable, CustomStringConvertible, Sendable {
    public let url: String
    public let reason: String

    public init(url: String, reason: String) {
        self.url = url
        self.reason = reason
    }

    public var description: String { "bad Redis URL: \(reason)" }
}

extension RedisConfiguration {
    /// The connection settings WireClient's `ProtocolClient` takes.
    var clientConfiguration: ClientConfiguration {
        var client = ClientConfiguration(host: host, port: port)
        client.unixSocketPath = unixSocketPath
        client.tls = tls
        client.tlsServerName = tlsServerName
        client.connectTimeout = connectTimeout
        client.requestTimeout = commandTimeout
        client.reconnect = reconnect
        client.reconnectBackoff = reconnectBackoff
        client.maxReplyBytes = maxReplyBytes
        return client
    }
}
