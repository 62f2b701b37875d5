/// Deadlines, the idle timeout and the connect timeout: every wait of a stream can be bounded, on
/// the loop's timer heap (never a racing `Task.sleep`).
///
/// ```
///   connect(…, timeout: 10 s)   resolve ─ TCP ─ [TLS handshake]  → TimeoutError(.connect), stream closed
///   idleTimeout = 30 s          a read waits, no byte for 30 s    → TimeoutError(.idle),    stream closed
///   deadline / withDeadline     whatever waits when it passes      → TimeoutError(.deadline), stream OPEN
/// ```
///
/// **After a deadline** the stream stays open and keeps every byte: the waiting read is withdrawn
/// exactly as a cancelled one is (nothing is consumed; bytes of a partial frame stay buffered for
/// the next read), waiting writes and flushes fail but their bytes stay queued and are still sent.
/// A connect or TLS handshake cannot be resumed, so a deadline that passes while one runs closes
/// the stream; so does one that passes during ``closeGracefully(timeout:callback:)``. Until the
/// deadline is replaced or cleared, every operation that would wait fails at once with the same
/// error; operations the buffer satisfies still complete. Whether the *protocol* can continue
/// after a half-read message is the caller's business: the bundled clients close the connection.
extension BaseIOStream {
    // MARK: Deadline

    /// The deadline for every wait of this stream, or `nil` (the default) for none. Read on the
    /// loop thread; set with ``setDeadline(_:)``.
    public var deadline: Deadline? { deadlineValue }

    /// Bounds every wait of this stream — reads, writes and flushes (callback or async), connect,
    /// the TLS handshake, a graceful close — by `deadline`; `nil` removes it. When it passes, what
    /// waits fails with ``TimeoutError`` (`.deadline`) as described above. Safe from any thread
    /// (elsewhere it takes effect on the loop, before any operation queued after it).
    public func setDeadline(_ deadline: Deadline?) {
        applyDeadline(deadline.map { ($0, $0.remaining) })
    }

    /// Sets the deadline with the duration its ``TimeoutError`` reports. Hops to the loop.
    private func applyDeadline(_ new: (deadline: Deadline, timeout: Duration)?) {
        guard loop.inLoopThread else {
            let transfer = UncheckedTransfer(new)
            loop.addCallback { self.applyDeadline(transfer.value) }
            return
        }
        if let deadlineTimer { loop.removeTimeout(deadlineTimer) }
        deadlineTimer = nil
        deadlinePassed = false
        deadlineValue = new?.deadline
        guard let new else { return }
        let deadline = new.deadline
        deadlineTimeout = new.timeout
        if deadline.hasPassed {
            deadlineDidPass()
        } else {
            deadlineTimer = loop.callAt(deadline.uptimeNanoseconds) { [self] in
                guard self.deadlineValue == deadline else { return }
                self.deadlineTimer = nil
                self.deadlineDidPass()
            }
        }
    }

    /// Runs `body` with every wait of this stream bounded by `timeout` from now (or by an
    /// earlier deadline already in force), then restores the deadline that was there before.
    ///
    /// ```swift
    /// let reply = try await stream.withDeadline(.seconds(5)) {
    ///     try await stream.write(request)
    ///     return try await stream.readUntil(Array("\r\n".utf8), maxBytes: 1024)
    /// }
    /// ```
    /// - Throws: ``TimeoutError`` (`.deadline`) from the operation that was waiting when the
    ///   deadline passed (and from any later one that would wait), or whatever `body` throws.
    public func withDeadline<R>(_ timeout: Duration, _ body: () async throws -> R) async throws -> R {
        let proposed = (deadline: Deadline.after(timeout), timeout: timeout)
        // Swaps the deadline in on the loop (if it is the earlier one); returns what to restore.
        let install: @Sendable () -> UncheckedTransfer<(Deadline, Duration)?>? = { [self] in
            if let current = self.deadlineValue, current <= proposed.deadline { return nil }
            let previous = self.deadlineValue.map { ($0, self.deadlineTimeout) }
            self.applyDeadline(proposed)
            return UncheckedTransfer(previous)
        }
        let restore: UncheckedTransfer<(Deadline, Duration)?>?
        if loop.inLoopThread {
            restore = install()
        } else {
            restore = await withCheckedContinuation { continuation in
                loop.addCallback { continuation.resume(returning: install()) }
            }
        }
        defer { if let restore { applyDeadline(restore.value) } }
        return try await body()
    }

    func timeoutForDeadline() -> TimeoutError {
        TimeoutError(.deadline, timeout: deadlineTimeout)
    }

    /// The deadline passed: fail what waits (see the extension's comment for what stays).
    private func deadlineDidPass() {
        deadlinePassed = true
        guard state != .closed else { return }
        let timeout = timeoutForDeadline()
        if state == .connecting || gracefulClose != nil || !transportReady {
            logger.info("deadline passed while connecting, handshaking or closing: closing the stream")
            closeNow(error: timeout)
            return
        }
        withdrawPendingRead(timeout)
        failFlushWaiters(timeout)
    }

    /// A read is about to wait for the fd: it fails at once after a deadline, and arms the idle timer.
    func readWillWait() {
        readsSinceYield = 0  // the read goes back to the loop: it yields here
        if deadlinePassed {
            withdrawPendingRead(timeoutForDeadline())
            return
        }
        if idleTimeoutValue != nil && idleTimer == nil && state == .open { armIdleTimer() }
    }

    /// Withdraws the pending read (nothing consumed) and fails it with `error`; the stream stays open.
    func withdrawPendingRead(_ error: any Error) {
        guard let read = pendingRead else { return }
        pendingRead = nil
        read.delivery.fail(error)
        updateInterest()
    }

    // MARK: Idle timeout

    /// How long a read may wait without a single byte arriving, or `nil` (the default) for ever.
    /// Read on the loop thread; set with ``setIdleTimeout(_:)``.
    public var idleTimeout: Duration? { idleTimeoutValue }

    /// Sets ``idleTimeout``. When a read has waited that long and no byte has arrived since it
    /// started (or since the last byte), the stream closes with ``TimeoutError`` (`.idle`) as its
    /// ``error`` and the read fails with ``StreamClosedError`` whose `realError` is it. Bytes of a
    /// partial frame received before stay readable (as after any close). Time with no read pending
    /// does not count. Safe from any thread.
    public func setIdleTimeout(_ timeout: Duration?) {
        guard loop.inLoopThread else {
            loop.addCallback { self.setIdleTimeout(timeout) }
            return
        }
        idleTimeoutValue = timeout
        if let idleTimer { loop.removeTimeout(idleTimer) }
        idleTimer = nil
        guard timeout != nil, pendingRead != nil, state == .open else { return }
        lastReceived = IOLoop.time()
        armIdleTimer()
    }

    /// One timer per idle period: it fires at `lastReceived + idleTimeout` and re-arms itself if
    /// bytes came meanwhile, so receiving costs a clock read, not a timer update.
    private func armIdleTimer() {
        guard let timeout = idleTimeoutValue else { return }
        idleTimer = loop.callAt(lastReceived.saturatingAdd(timeout.clampedNanoseconds)) { [self] in
            self.idleTimer = nil
            guard self.state == .open, self.pendingRead != nil, let timeout = self.idleTimeoutValue else { return }
            if IOLoop.time() >= self.lastReceived.saturatingAdd(timeout.clampedNanoseconds) {
                self.logger.info("idle timeout: no bytes for \(timeout), closing")
                self.closeNow(error: TimeoutError(.idle, timeout: timeout))
            } else {
                self.armIdleTimer()
            }
        }
    }

    // MARK: Connect timeout

    /// Starts the connect timeout: unless the connection (and, on TLS streams, the handshake) is
    /// up by then, the stream closes with ``TimeoutError`` (`.connect`).
    func armConnectTimer(_ timeout: Duration?) {
        guard let timeout else { return }
        connectTimer = loop.callLater(timeout) { [self] in
            self.connectTimer = nil
            guard self.state != .closed, !self.connectWaiters.isEmpty else { return }
            self.closeNow(error: TimeoutError(.connect, timeout: timeout))
        }
    }

    func cancelConnectTimer() {
        if let connectTimer { loop.removeTimeout(connectTimer) }
        connectTimer = nil
    }

    /// Drops every timer of the stream (on close).
    func cancelTimers() {
        cancelConnectTimer()
        if let idleTimer { loop.removeTimeout(idleTimer) }
        idleTimer = nil
        if let deadlineTimer { loop.removeTimeout(deadlineTimer) }
        deadlineTimer = nil
    }
}
