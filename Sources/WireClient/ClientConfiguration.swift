import Wirestream

/// Where a ``ProtocolClient`` connects and how long anything may take. Every default is safe
/// against a server that misbehaves: nothing waits for ever, and no reply can grow the buffer
/// without bound.
///
/// ```swift
/// var configuration = ClientConfiguration(host: "127.0.0.1", port: 11300)
/// configuration.requestTimeout = .seconds(2)
/// let client = try await BeanstalkClient.connect(configuration)
/// ```
public struct ClientConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// A Unix domain socket to connect to instead of `host`:`port`.
    public var unixSocketPath: String?
    /// TLS from the first byte (verification on by default, see `TLSConfiguration`); `nil`: plain TCP.
    public var tls: TLSConfiguration?
    /// The name the server's certificate must carry (default: `host`).
    public var tlsServerName: String?
    /// Connecting, TLS, the greeting and the client's set-up requests together.
    public var connectTimeout: Duration = .seconds(10)
    /// How long a request may wait for its reply (`nil`: for ever). Past it the connection closes:
    /// the replies still owed could no longer be matched.
    public var requestTimeout: Duration? = .seconds(30)
    /// Whether a client whose connection dropped connects again for later requests (requests that
    /// were in flight fail; none is sent twice).
    public var reconnect = true
    /// The wait before reconnect attempt n (after n failed ones): `initial × 2ⁿ⁻¹`, at most
    /// `maximum`. Requests during the wait fail at once with ``ReconnectError``.
    public var reconnectBackoff: (initial: Duration, maximum: Duration) = (.milliseconds(100), .seconds(5))
    /// The most bytes one reply may occupy in the read buffer. Past it the connection closes with
    /// `StreamBufferFullError`.
    public var maxReplyBytes = 16 * 1024 * 1024

    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }

    /// A Unix domain socket at `path`.
    public init(unixSocketPath path: String) {
        self.init(host: "localhost", port: 0)
        unixSocketPath = path
    }
}

/// A request found the connection gone and the last reconnect attempt failed less than the
/// backoff ago: it fails at once rather than wait. `lastError` is why the attempt failed.
public struct ReconnectError: Error, CustomStringConvertible, @unchecked Sendable {
    // @unchecked Sendable: `lastError` is an error recorded once and never mutated.
    /// Failed attempts in a row.
    public let attempts: Int
    public let lastError: (any Error)?

    public init(attempts: Int, lastError: (any Error)?) {
        self.attempts = attempts
        self.lastError = lastError
    }

    public var description: String {
        "not connected: \(attempts) reconnect attempt(s) failed, last: \(lastError.map { "\($0)" } ?? "unknown")"
    }
}

/// The path is not one a Unix domain socket can have (too long for `sun_path`, or empty).
public struct UnixSocketPathError: Error, Equatable, CustomStringConvertible, Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var description: String { "not a usable Unix socket path: \(path)" }
}
