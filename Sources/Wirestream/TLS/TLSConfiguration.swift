/// How a TLS stream behaves: the role `SSLContext` plays in Python, as a Swift value.
///
/// ```swift
/// var client = TLSConfiguration.client()                       // system trust store, verification on
/// client.alpnProtocols = ["h2", "http/1.1"]
/// let server = TLSConfiguration.server(certificateChain: .file("cert.pem"), privateKey: .file("key.pem"))
/// ```
public struct TLSConfiguration: Sendable {
    public enum Role: Sendable { case client, server }

    /// PEM data, from a file or in memory.
    public enum PEMSource: Sendable, Equatable {
        case file(String)
        case bytes([UInt8])
    }

    /// Where trusted root certificates come from.
    public enum TrustRoots: Sendable, Equatable {
        /// The system store (`/etc/ssl/certs` on Debian).
        case system
        /// A PEM file of CA certificates.
        case file(String)
        /// A hashed directory of CA certificates (`c_rehash` layout).
        case directory(String)
        /// CA certificates in PEM.
        case pem([UInt8])
        /// Trust nothing (only useful with `verifyPeer` off).
        case none
    }

    public enum Version: Sendable { case tls12, tls13 }

    public var role: Role
    /// Our certificate chain (leaf first): required for servers, optional for clients (mutual TLS).
    public var certificateChain: PEMSource?
    /// The private key of the leaf certificate.
    public var privateKey: PEMSource?
    public var trustRoots: TrustRoots = .system
    /// Verify the peer's certificate (default: on for clients, off for servers; a server sets it
    /// to require client certificates).
    public var verifyPeer: Bool
    /// Check the server's name (DNS or IP SAN) against `serverHostname` (clients; default on).
    public var checkHostname: Bool = true
    public var minimumVersion: Version = .tls12
    /// OpenSSL cipher list for TLS 1.2 (nil: OpenSSL's default).
    public var cipherList: String?
    /// TLS 1.3 cipher suites (nil: OpenSSL's default).
    public var cipherSuites: String?
    /// ALPN protocols, most preferred first.
    public var alpnProtocols: [String] = []
    /// A handshake not finished within this time closes the stream with a timeout ``TLSError``
    /// (nil: wait forever). Default 10 s.
    public var handshakeTimeout: Duration? = .seconds(10)
    /// Treat an EOF without close_notify as an ordinary EOF. Default off: such an EOF closes the
    /// stream with a `.truncated` ``TLSError`` (reads the buffer can satisfy still complete, and
    /// `readUntilClose` returns what arrived), because an attacker can cut a connection short.
    public var ignoreUnexpectedEOF = false

    public init(role: Role) {
        self.role = role
        self.verifyPeer = role == .client
    }

    /// A client configuration: system trust store, peer and host-name verification on.
    public static func client(trustRoots: TrustRoots = .system) -> TLSConfiguration {
        var configuration = TLSConfiguration(role: .client)
        configuration.trustRoots = trustRoots
        return configuration
    }

    /// A server configuration with its certificate chain and key; client certificates not requested.
    public static func server(certificateChain: PEMSource, privateKey: PEMSource) -> TLSConfiguration {
        var configuration = TLSConfiguration(role: .server)
        configuration.certificateChain = certificateChain
        configuration.privateKey = privateKey
        return configuration
    }
}
