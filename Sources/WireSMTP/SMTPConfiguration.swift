import WireClient
import Wirestream

/// How to reach an SMTP server and what the conversation must have. Secure by default: STARTTLS
/// is required (with certificate verification) before any credential or message is sent.
public struct SMTPConfiguration: Sendable {
    /// How the connection is protected.
    public enum Security: Sendable, Equatable {
        /// Plain text throughout (a local relay on a trusted host).
        case none
        /// `STARTTLS` after the first `EHLO`; a server that does not offer it is refused.
        case startTLS
        /// TLS from the first byte (port 465, "implicit TLS").
        case tls
    }

    /// An `AUTH` mechanism.
    public enum Mechanism: Sendable, Equatable {
        case plain, login
    }

    public var host: String
    public var port: Int
    /// The name this client gives in `EHLO`.
    public var clientName = "localhost"
    public var security = Security.startTLS
    /// The TLS settings for `.startTLS` and `.tls` (verification on by default).
    public var tls = TLSConfiguration.client()
    /// The name the server's certificate must carry (default: `host`).
    public var tlsServerName: String?
    /// `AUTH` with these credentials after TLS; `nil`: no authentication.
    public var credentials: (username: String, password: String)?
    /// The mechanism to use; `nil`: PLAIN if offered, else LOGIN.
    public var mechanism: Mechanism?
    /// Connecting, the greeting, EHLO, STARTTLS and AUTH together.
    public var connectTimeout: Duration = .seconds(30)
    /// Each command's reply (MAIL, RCPT, DATA, RSET, NOOP, QUIT).
    public var commandTimeout: Duration = .seconds(60)
    /// The reply after the message's final "." (RFC 5321 §4.5.3.2 suggests 10 minutes: the
    /// server may scan the message before it answers).
    public var dataTimeout: Duration = .seconds(600)

    public init(host: String = "127.0.0.1", port: Int = 25) {
        self.host = host
        self.port = port
    }

    var clientConfiguration: ClientConfiguration {
        var configuration = ClientConfiguration(host: host, port: port)
        if security == .tls { configuration.tls = tls }
        configuration.tlsServerName = tlsServerName
        configuration.connectTimeout = connectTimeout
        configuration.requestTimeout = commandTimeout
        configuration.reconnect = false  // a mail conversation is not resumed behind the caller's back
        configuration.maxReplyBytes = 1 << 20
        return configuration
    }
}
