/// A TLS failure, with OpenSSL's reason ("self-signed certificate", "hostname mismatch", …).
/// A stream that fails this way records it as its ``BaseIOStream/error`` and fails its pending
/// operations with ``StreamClosedError`` whose `realError` is it.
public struct TLSError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The peer's certificate did not verify (`verifyResult` holds OpenSSL's code).
        case verification
        /// The handshake failed otherwise (protocol mismatch, alert from the peer, …).
        case handshake
        /// The handshake did not finish within `handshakeTimeout`.
        case timeout
        /// The peer closed the TCP connection without close_notify.
        case truncated
        /// A TLS protocol error after the handshake.
        case protocolError
        /// The configuration could not be applied (bad certificate file, key mismatch, …).
        case configuration
    }

    public let kind: Kind
    /// OpenSSL's words for it.
    public let reason: String
    /// `X509_V_ERR_*` for `.verification`.
    public let verifyResult: Int?

    public init(_ kind: Kind, reason: String, verifyResult: Int? = nil) {
        self.kind = kind
        self.reason = reason
        self.verifyResult = verifyResult
    }

    public var description: String { "TLS \(kind): \(reason)" }
}

/// ``SSLIOStream/waitForHandshake(callback:)`` was called while an earlier call is still waiting.
public struct HandshakeAlreadyAwaitedError: Error, Equatable, CustomStringConvertible, Sendable {
    public init() {}
    public var description: String { "waitForHandshake is already pending on this stream" }
}

/// `startTLS` was called on a stream that is not idle (pending reads or writes, buffered bytes,
/// connecting or closed).
public struct StartTLSError: Error, Equatable, CustomStringConvertible, Sendable {
    public let reason: String

    public init(reason: String) {
        self.reason = reason
    }
    public var description: String { "cannot start TLS: \(reason)" }
}
