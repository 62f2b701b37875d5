// Layer TLS/: OpenSSL 3 under the streams — TLSConfiguration, TLSContext, SSLIOStream, startTLS
// and TLS errors. Everything that includes COpenSSL lives here.

import CLinux
import COpenSSL
import Glibc
import Logging

/// A TLS stream on OpenSSL 3, Tornado's `SSLIOStream`: every ``BaseIOStream`` read and write,
/// encrypted, fully non-blocking.
///
/// ```swift
/// let stream = try SSLIOStream(context: TLSContext(.client()))
/// try await stream.connect(host: "example.com", port: 443)   // returns after the handshake
/// stream.negotiatedProtocol, stream.peerCertificate?.subjectAlternativeNames
/// ```
///
/// - A client stream handshakes once `connect` has the TCP connection; `connect` completes after
///   the handshake. SNI is sent for host names (not IP addresses); with `checkHostname` the
///   certificate must name the host (DNS SAN) or the address (IP SAN).
/// - A server stream (made from an accepted socket) starts its handshake at once.
/// - While the handshake runs, reads and writes wait; `isReading`/`isWriting` stay true for them.
/// - `WANT_READ`/`WANT_WRITE` from OpenSSL in either direction drive the loop.
/// - `close()` sends close_notify when the socket takes it, without blocking.
/// - An EOF without close_notify closes the stream with a `.truncated` ``TLSError`` unless the
///   configuration's `ignoreUnexpectedEOF` is set (see ``TLSConfiguration``).
public final class SSLIOStream: IOStream, @unchecked Sendable {
    // @unchecked Sendable: loop-confined like every stream (see BaseIOStream).

    private enum Handshake {
        case notStarted
        case running(wants: IOEvents)
        case done
    }

    public let context: TLSContext
    public let serverSide: Bool
    private var ssl: OpaquePointer?
    private var handshake = Handshake.notStarted
    private var handshakeWaiter: ((Result<Void, any Error>) -> Void)?
    private var handshakeTimer: Timeout?
    private var readWantsWrite = false  // SSL_read asked for writability (a TLS message to send)
    private var writeWantsRead = false  // SSL_write asked for readability

    /// A client stream with no socket yet; `connect` makes one and runs the handshake.
    public init(
        context: TLSContext, loop: IOLoop = .current, maxBufferSize: Int? = nil, readChunkSize: Int? = nil,
        maxWriteBufferSize: Int? = nil, logger: Logger? = nil
    ) {
        self.context = context
        self.serverSide = false
        super.init(
            loop: loop, maxBufferSize: maxBufferSize, readChunkSize: readChunkSize,
            maxWriteBufferSize: maxWriteBufferSize, logger: logger)
    }

    /// Wraps a connected socket. A server side starts its handshake at once; a client side
    /// (e.g. after STARTTLS) too, sending SNI and checking `serverHostname`.
    public init(
        socket fd: Int32, context: TLSContext, serverSide: Bool, serverHostname: String? = nil,
        loop: IOLoop = .current, maxBufferSize: Int? = nil, readChunkSize: Int? = nil,
        maxWriteBufferSize: Int? = nil, logger: Logger? = nil
    ) throws {
        self.context = context
        self.serverSide = serverSide
        try super.init(
            socket: fd, loop: loop, maxBufferSize: maxBufferSize, readChunkSize: readChunkSize,
            maxWriteBufferSize: maxWriteBufferSize, logger: logger)
        self.serverHostname = serverHostname
        loop.execute { self.beginHandshake() }
    }

    // MARK: Handshake

    /// Calls `callback` once the handshake has finished (at once if it has).
    /// Fails with ``HandshakeAlreadyAwaitedError`` while another call waits, and with
    /// ``StreamClosedError`` if the stream closes first (`realError`: the ``TLSError``).
    public func waitForHandshake(callback: @escaping (Result<Void, any Error>) -> Void) {
        guard loop.inLoopThread else { return hop { self.waitForHandshake(callback: callback) } }
        if case .done = handshake {
            callback(.success(()))
        } else if state == .closed {
            callback(.failure(StreamClosedError(realError: error)))
        } else if handshakeWaiter != nil {
            callback(.failure(HandshakeAlreadyAwaitedError()))
        } else {
            handshakeWaiter = callback
        }
    }

    /// The async form of ``waitForHandshake(callback:)``.
    public func waitForHandshake() async throws {
        try await withOperation { stream, done in (stream as! SSLIOStream).waitForHandshake(callback: done) }
    }

    /// True once the handshake has finished.
    public var handshakeDone: Bool {
        if case .done = handshake { return true }
        return false
    }

    override var transportReady: Bool {
        if case .running = handshake { return false }
        return true
    }

    override func shutdownOutput() -> Bool {
        if let ssl, handshakeDone {
            ERR_clear_error()
            // Sends close_notify; 0 means "sent, the peer's has not come yet" — we linger for it.
            if SSL_shutdown(ssl) < 0 { logger.debug("close_notify not sent: the socket did not take it") }
            ERR_clear_error()
        }
        return super.shutdownOutput()
    }

    override func connectionEstablished() {
        // The TCP connection is up; connect reports success after the handshake.
        beginHandshake()
    }

    private func beginHandshake() {
        guard case .notStarted = handshake, state == .open, fd >= 0 else { return }
        guard let ssl = SSL_new(context.context) else {
            closeNow(error: TLSContext.failure("SSL_new"))
            return
        }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        if serverSide {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let name = serverHostname {
                let isAddress = SocketAddress(ipAddress: name, port: 0) != nil
                if !isAddress { _ = ws_ssl_set_sni(ssl, name) }  // SNI carries names only
                if context.configuration.verifyPeer && context.configuration.checkHostname {
                    let ok = isAddress
                        ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1
                        : SSL_set1_host(ssl, name) == 1
                    if !ok {
                        closeNow(error: TLSError(.configuration, reason: "cannot check host name \(name)"))
                        return
                    }
                }
            }
        }
        handshake = .running(wants: .read)
        if let timeout = context.configuration.handshakeTimeout {
            handshakeTimer = loop.callLater(timeout) { [self] in
                guard case .running = self.handshake, self.state != .closed else { return }
                self.closeNow(error: TLSError(.timeout, reason: "handshake not finished within \(timeout)"))
            }
        }
        stepHandshake()
    }

    private func stepHandshake() {
        guard let ssl, case .running = handshake else { return }
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            finishHandshake()
            return
        }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ:
            handshake = .running(wants: .read)
            updateInterest()
        case SSL_ERROR_WANT_WRITE:
            handshake = .running(wants: .write)
            updateInterest()
        case SSL_ERROR_SYSCALL where ws_errno() != 0:
            // Reset or refused by the peer mid-handshake: an ordinary event, not logged.
            closeNow(error: SystemError("SSL_do_handshake", errno: ws_errno()))
        default:
            let failure = handshakeFailure(ssl)
            logger.info("TLS handshake failed: \(failure)")
            closeNow(error: failure)
        }
    }

    private func handshakeFailure(_ ssl: OpaquePointer) -> TLSError {
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK {
            return TLSError(
                .verification, reason: String(cString: X509_verify_cert_error_string(verify)),
                verifyResult: Int(verify))
        }
        var text = [CChar](repeating: 0, count: 256)
        let reason = ws_ssl_peek_reason().map { String(cString: $0) }
        ws_ssl_error_text(&text, text.count)
        return TLSError(.handshake, reason: reason ?? String(nulTerminated: text).nonEmpty ?? "connection closed during handshake")
    }

    private func finishHandshake() {
        handshake = .done
        if let handshakeTimer { loop.removeTimeout(handshakeTimer) }
        handshakeTimer = nil
        if let waiter = handshakeWaiter {
            handshakeWaiter = nil
            waiter(.success(()))
        }
        guard state == .open else { return }
        super.connectionEstablished()  // connect waiters, queued writes, pending reads
    }

    override func streamDidClose() {
        if let handshakeTimer { loop.removeTimeout(handshakeTimer) }
        handshakeTimer = nil
        if let waiter = handshakeWaiter {
            handshakeWaiter = nil
            waiter(.failure(StreamClosedError(realError: error)))
        }
    }

    // MARK: Events

    override func desiredEvents() -> IOEvents {
        if case .running(let wants) = handshake, state == .open { return wants }
        var wanted = super.desiredEvents()
        if readWantsWrite { wanted.insert(.write) }
        if writeWantsRead { wanted.insert(.read) }
        return wanted
    }

    override func handleEvents(_ events: IOEvents) {
        guard state == .open, case .running = handshake else {
            var translated = events
            // A read that waited for writability (or a write for readability) retries now.
            if readWantsWrite && events.contains(.write) {
                readWantsWrite = false
                translated.insert(.read)
            }
            if writeWantsRead && events.contains(.read) {
                writeWantsRead = false
                translated.insert(.write)
            }
            super.handleEvents(translated)
            return
        }
        stepHandshake()
    }

    // MARK: I/O

    /// OpenSSL keeps what it decrypted beyond the caller's buffer: the fd may be empty while bytes wait.
    public override var readFromFDBuffers: Bool { true }

    public override func readFromFD(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        guard let ssl, handshakeDone else { return nil }  // reads wait for the handshake
        var count = 0
        ERR_clear_error()
        if SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count) == 1 { return count }
        let code = SSL_get_error(ssl, 0)
        switch code {
        case SSL_ERROR_WANT_READ:
            return nil
        case SSL_ERROR_WANT_WRITE:
            readWantsWrite = true
            return nil
        case SSL_ERROR_ZERO_RETURN:
            return 0  // close_notify: a clean EOF
        case SSL_ERROR_SYSCALL where ws_errno() != 0:
            throw SystemError("SSL_read", errno: ws_errno())
        default:
            let reason = ws_ssl_peek_reason().map { String(cString: $0) } ?? "EOF without close_notify"
            ERR_clear_error()
            let truncated = reason.contains("unexpected eof") || code == SSL_ERROR_SYSCALL
            throw TLSError(truncated ? .truncated : .protocolError, reason: reason)
        }
    }

    public override func writeToFD(_ vectors: UnsafeBufferPointer<iovec>) throws -> Int? {
        guard let ssl, handshakeDone, let first = vectors.first else { return nil }
        var written = 0
        ERR_clear_error()
        if SSL_write_ex(ssl, first.iov_base, first.iov_len, &written) == 1 { return written }
        switch SSL_get_error(ssl, 0) {
        case SSL_ERROR_WANT_WRITE:
            return nil
        case SSL_ERROR_WANT_READ:
            writeWantsRead = true
            return nil
        case SSL_ERROR_SYSCALL where ws_errno() != 0:
            throw SystemError("SSL_write", errno: ws_errno())
        default:
            let reason = ws_ssl_peek_reason().map { String(cString: $0) } ?? "write failed"
            ERR_clear_error()
            throw TLSError(.protocolError, reason: reason)
        }
    }

    /// A stream dropped without being closed still frees its TLS session (the socket is closed by
    /// `IOStream`'s deinit; no close_notify: nobody is left to send it for).
    deinit {
        if let ssl { SSL_free(ssl) }
    }

    public override func closeFD() {
        if let ssl {
            // One non-blocking close_notify, if the socket takes it; never wait for the reply.
            if handshakeDone && error == nil { _ = SSL_shutdown(ssl) }
            ERR_clear_error()
            SSL_free(ssl)
            self.ssl = nil
        }
        super.closeFD()
    }

    // MARK: After the handshake

    /// The peer's certificate, once the handshake is done (nil if it sent none).
    public var peerCertificate: TLSCertificate? {
        guard let ssl, handshakeDone, let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        return TLSCertificate(certificate)
    }

    /// The protocol chosen by ALPN, if any.
    public var negotiatedProtocol: String? {
        guard let ssl else { return nil }
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The negotiated version, e.g. `"TLSv1.3"`.
    public var tlsVersion: String? {
        guard let ssl, handshakeDone else { return nil }
        return String(cString: SSL_get_version(ssl))
    }

    /// The negotiated cipher, e.g. `"TLS_AES_256_GCM_SHA384"`.
    public var cipher: String? {
        guard let ssl, handshakeDone, let name = ws_ssl_cipher_name(ssl) else { return nil }
        return String(cString: name)
    }
}

/// A certificate presented by the peer.
public struct TLSCertificate: Sendable, Equatable {
    /// The subject in OpenSSL's one-line form, e.g. `/CN=foo.example.com`.
    public let subject: String
    /// `DNS:name` and `IP:address` entries.
    public let subjectAlternativeNames: [String]
    /// The certificate in DER.
    public let der: [UInt8]

    init(_ certificate: OpaquePointer) {
        var text = [CChar](repeating: 0, count: 512)
        X509_NAME_oneline(X509_get_subject_name(certificate), &text, Int32(text.count))
        subject = String(nulTerminated: text)
        var names = [CChar](repeating: 0, count: 4096)
        ws_x509_subject_alt_names(certificate, &names, names.count)
        subjectAlternativeNames = String(nulTerminated: names).split(separator: "\n").map(String.init)
        var pointer: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(certificate, &pointer)
        der = length > 0 && pointer != nil ? Array(UnsafeBufferPointer(start: pointer, count: Int(length))) : []
        CRYPTO_free(pointer, #file, #line)
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
