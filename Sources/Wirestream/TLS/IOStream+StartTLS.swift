extension IOStream {
    /// Upgrades this idle stream to TLS (STARTTLS): returns the ``SSLIOStream`` that replaces it,
    /// once the handshake is done. The new stream keeps the socket, the loop, the limits, the
    /// logger and the close callback; this stream is closed without closing the socket.
    ///
    /// - Throws: ``StartTLSError`` if this stream is not idle (a pending read or write, buffered
    ///   bytes, connecting, closed) — those bytes would be lost; ``StreamClosedError`` with the
    ///   ``TLSError`` if the handshake fails.
    public func startTLS(
        serverSide: Bool, context: TLSContext, serverHostname: String? = nil
    ) async throws -> SSLIOStream {
        let transfer: UncheckedTransfer<SSLIOStream> = try await withUnsafeThrowingContinuation { continuation in
            loop.execute {
                self.startTLS(serverSide: serverSide, context: context, serverHostname: serverHostname) { result in
                    continuation.resume(with: result.map { UncheckedTransfer($0) })
                }
            }
        }
        return transfer.value
    }

    /// The callback form of ``startTLS(serverSide:context:serverHostname:)``.
    public func startTLS(
        serverSide: Bool, context: TLSContext, serverHostname: String? = nil,
        callback: @escaping (Result<SSLIOStream, any Error>) -> Void
    ) {
        let problem: String? =
            state != .open ? "the stream is \(state == .closed ? "closed" : "connecting")"
            : fd < 0 ? "the stream has no socket"
            : isReading ? "a read is pending"
            : isWriting ? "a write is pending"
            : !readBuffer.isEmpty ? "\(readBuffer.count) bytes are buffered and would be lost"
            : nil
        if let problem {
            callback(.failure(StartTLSError(reason: problem)))
            return
        }
        detachFromLoop()
        let socket = fd
        fd = -1  // the socket now belongs to the TLS stream
        let closeCallback = takeCloseCallback()
        markClosed()
        do {
            let upgraded = try SSLIOStream(
                socket: socket, context: context, serverSide: serverSide,
                serverHostname: serverHostname ?? self.serverHostname, loop: loop,
                maxBufferSize: maxBufferSize, readChunkSize: readChunkSize,
                maxWriteBufferSize: maxWriteBufferSize, logger: logger)
            upgraded.setCloseCallback(closeCallback)
            upgraded.waitForHandshake { result in callback(result.map { upgraded }) }
        } catch {
            callback(.failure(error))
        }
    }
}
