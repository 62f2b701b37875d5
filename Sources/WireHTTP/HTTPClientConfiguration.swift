import Wirestream

/// How an ``HTTPClient`` connects, waits, limits and follows. The defaults never hang and cannot
/// be exhausted by a hostile server: connect 10 s, 30 s without a byte, 64 KiB of headers, 100
/// header lines, 16 MiB of body in memory, 5 redirects, TLS verified against the system store.
public struct HTTPClientConfiguration: Sendable {
    /// Bounds the name lookup, TCP connect and TLS handshake of each connection.
    public var connectTimeout: Duration = .seconds(10)
    /// A read that sees no byte for this long fails (`.idleTimeout`).
    public var idleTimeout: Duration = .seconds(30)
    /// The whole request — connects, redirects, the whole body — must finish within this
    /// (`.deadlineExceeded`); `nil`: no overall limit (the idle timeout still applies).
    public var totalTimeout: Duration?

    /// The status line and headers together, in bytes.
    public var maxHeaderBytes = 65_536
    /// Header lines (and, separately, trailer lines of a chunked body).
    public var maxHeaderCount = 100
    /// The body a whole-body request holds in memory (after decoding).
    public var maxBodyBytes = 16 * 1024 * 1024
    /// The body of a streamed or downloaded request (after decoding); `nil`: no limit, as memory
    /// stays constant.
    public var maxStreamedBodyBytes: Int?

    /// Follow 301, 302, 303, 307 and 308 responses, at most `maxRedirects` times.
    public var followRedirects = true
    public var maxRedirects = 5

    /// Ask for gzip/deflate (`Accept-Encoding`) and decode `Content-Encoding` while reading.
    public var decompress = true

    /// TLS for `https://`: verification on, system trust store. Set `trustRoots` to `.file(path)`
    /// for a private CA, `certificateChain`/`privateKey` for a client certificate.
    public var tls = TLSConfiguration.client()

    /// Reuse connections (HTTP/1.1 keep-alive) instead of one connection per request (HTTP/1.0).
    public var keepAlive: KeepAlive?

    /// The pool of HTTP/1.1 connections per host (scheme, host, port).
    public struct KeepAlive: Sendable {
        /// Connections open to one host at once; more requests wait for one.
        public var maxConnectionsPerHost: Int
        /// A connection idle this long is not reused: the pool closes it the next time a request
        /// for its host looks for one (or at ``HTTPClient/shutdown()``), so servers that drop idle
        /// connections sooner are met by the retry of idempotent requests instead.
        public var idleTimeout: Duration

        public init(maxConnectionsPerHost: Int = 8, idleTimeout: Duration = .seconds(60)) {
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.idleTimeout = idleTimeout
        }
    }

    /// Turns certificate and host-name checks off (curl's `-k`): anyone on the path can read and
    /// change the traffic. For tests against self-signed servers only.
    public mutating func disableCertificateVerification() {
        tls.verifyPeer = false
        tls.checkHostname = false
    }

    /// `User-Agent` sent unless the request sets one.
    public var userAgent = "Wirestream-HTTPClient"

    public init() {}
}
