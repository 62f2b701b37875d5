import Glibc

/// The graceful close: every queued byte leaves, then the write side shuts down, then the stream
/// closes — where ``close(error:)`` is abortive.
///
/// ```
///   closeGracefully(timeout: 10 s)
///     1. flush    every byte queued so far (write, queueWrite) is handed to the kernel; new writes fail
///     2. shut     TCP: shutdown(SHUT_WR) sends FIN; TLS: close_notify, then FIN; pipe: nothing to do
///     3. linger   TCP/TLS: wait for the peer's EOF, discarding what it still sends (no read pending),
///                 so the close cannot turn into a reset that destroys the peer's unread last bytes
///     4. close    the fd; the close callback runs
/// ```
/// `timeout` bounds the whole sequence. Past it during step 1 the stream closes abortively and the
/// call fails with ``TimeoutError`` (`.close`); past it during step 3 the stream closes and the call
/// succeeds — every byte was handed over and the FIN sent. A pending read keeps working during the
/// linger (read the peer's last replies that way); it sees the EOF like any other.
final class GracefulClose: @unchecked Sendable {
    // @unchecked Sendable: owned by one loop-confined stream; touched only on its loop thread.
    enum Phase {
        case flushing  // queued bytes still leaving
        case lingering  // write side shut; waiting for the peer's EOF
        case done  // write side shut, nothing to wait for (pipes): closing now
    }

    var phase = Phase.flushing
    var timer: Timeout?
    var callbacks: [(Result<Void, any Error>) -> Void] = []
}

extension BaseIOStream {
    /// Flushes every queued byte, shuts down the write side and closes (see <doc:TimeoutsAndClosing>).
    /// `callback` gets `.success` once the stream closed that way; `.failure(TimeoutError(.close))`
    /// if the bytes could not be flushed within `timeout` (they are then discarded, the stream
    /// closed abortively); `.failure(StreamClosedError)` if the stream was closed already or closes
    /// for another reason first (its `realError` says why). Calling it again while one runs waits
    /// for the same close. Safe from any thread; `callback` runs on the loop.
    public func closeGracefully(
        timeout: Duration = .seconds(10), callback: @escaping (Result<Void, any Error>) -> Void
    ) {
        guard loop.inLoopThread else {
            let transfer = UncheckedTransfer(callback)
            loop.addCallback { self.closeGracefully(timeout: timeout, callback: transfer.value) }
            return
        }
        guard state != .closed else {
            callback(.failure(StreamClosedError(realError: error)))
            return
        }
        if let running = gracefulClose {
            running.callbacks.append(callback)
            return
        }
        let close = GracefulClose()
        close.callbacks.append(callback)
        gracefulClose = close
        close.timer = loop.callLater(timeout) { [self] in
            guard let running = self.gracefulClose, running === close else { return }
            running.timer = nil
            switch running.phase {
            case .flushing:
                self.logger.info("graceful close: queued bytes not flushed within \(timeout), closing")
                self.closeNow(error: TimeoutError(.close, timeout: timeout))
            case .lingering, .done:
                self.closeNow(error: nil)  // the peer never closed: nothing is lost by closing now
            }
        }
        if deadlinePassed {
            closeNow(error: timeoutForDeadline())
            return
        }
        if state == .connecting {
            // Writes queued while connecting leave once connected; so does the close.
            connectWaiters.append { [self] result in
                if case .success = result { self.flushThenShutDown(close) }
            }
        } else {
            flushThenShutDown(close)
        }
    }

    private func flushThenShutDown(_ close: GracefulClose) {
        whenFlushed { [self] result in
            guard case .success = result, self.state == .open, self.gracefulClose === close else { return }
            self.shutDownWriteSide()
        }
    }

    /// The async form of ``closeGracefully(timeout:callback:)``.
    /// - Throws: ``TimeoutError`` (`.close`) when the queued bytes did not leave in time;
    ///   ``StreamClosedError`` when the stream was closed already or closed for another reason.
    public func closeGracefully(timeout: Duration = .seconds(10)) async throws {
        try await withOperation { stream, done in stream.closeGracefully(timeout: timeout, callback: done) }
    }

    /// Step 2: every byte has left; shut the write side, then linger or close.
    private func shutDownWriteSide() {
        guard let close = gracefulClose else { return }
        if shutdownOutput() {
            close.phase = .lingering
            if pendingRead == nil { discardUntilEOF() }
            if state == .open { updateInterest() }
        } else {
            close.phase = .done
            closeNow(error: nil)
        }
    }

    /// True while a graceful close waits for the peer's EOF.
    var isLingering: Bool {
        if let gracefulClose, case .lingering = gracefulClose.phase { return true }
        return false
    }

    /// Step 3 with no read pending: reads and drops what arrives, until EOF closes the stream.
    func discardUntilEOF() {
        do {
            for _ in 0..<64 {
                guard state == .open, pendingRead == nil else { return }
                let n = try readToBuffer()
                readBuffer.consume(readBuffer.count)
                if n == 0 { return }
            }
        } catch {
            handleReadError(error)
        }
    }

    /// Step 4, from ``closeNow(error:)``: tells the callers how it went.
    func finishGracefulClose() {
        guard let close = gracefulClose else { return }
        gracefulClose = nil
        if let timer = close.timer { loop.removeTimeout(timer) }
        let outcome: Result<Void, any Error>
        switch close.phase {
        case .lingering, .done:
            outcome = .success(())  // every byte was handed over and the write side shut
        case .flushing:
            if let timeout = error as? TimeoutError {
                outcome = .failure(timeout)
            } else {
                outcome = .failure(StreamClosedError(realError: error))
            }
        }
        for callback in close.callbacks { callback(outcome) }
    }
}
