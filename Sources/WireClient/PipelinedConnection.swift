// WireClient: what every request/reply client of this package shares — one stream used by many
// tasks with replies matched in order (this file), deadlines per call, batches. The Redis,
// memcached, beanstalkd and SMTP clients are this machine with a different grammar.

import Wirestream

/// One stream, many callers: requests are written in call order, replies matched first-in
/// first-out to the callers waiting for them (automatic pipelining).
///
/// ```
///   task A: send(GET a) ──┐                      ┌──▶ A gets $1 "1"
///   task B: send(GET b) ──┼─▶ "GET a" "GET b" ──▶ server ──▶ "$1 1" "$1 2" ──┼──▶ B gets $1 "2"
///   task C: batch [x, y] ─┘   "x" "y" (one write)                          └──▶ C gets [x', y']
/// ```
///
/// - **Cancelled callers** stop waiting at once (`CancellationError`); their slot stays in the
///   FIFO and their reply, when it comes, is read and dropped — the next caller gets the next reply.
/// - **A caller's timeout** fails that caller with `TimeoutError` (`.deadline`) and closes the
///   connection: a server that did not answer one request in time cannot be trusted with the next,
///   and the replies still owed would arrive out of step. Every other waiting caller fails with
///   `StreamClosedError` whose `realError` is that timeout.
/// - **Bytes that do not parse** fail the caller whose reply they were with the
///   `WireProtocolError`; the connection closes and the others fail with `StreamClosedError`.
/// - **The peer closing** fails every waiting caller with `StreamClosedError`.
///
/// Replies are read by one reader task on the stream's loop, started when the first caller waits;
/// it idles (no read pending) while nobody waits — unless the connection is *listening* for
/// out-of-band messages (``listen(_:)``: RESP3 pub/sub pushes) — and ends when the stream closes.
/// Callers on the loop's executor pay no thread hop. Timeouts share one loop timer per connection.
public final class PipelinedConnection<Reply: WireMessage>: @unchecked Sendable {
    // @unchecked Sendable: `waiters` and `readerRunning` are touched only on the stream's loop
    // thread (every entry point hops there first); `stream` and the closures are immutable.
    public let stream: BaseIOStream
    @usableFromInline var waiters = FIFO<ReplyWaiter<Reply>>()
    @usableFromInline var reader = ReaderState.stopped
    @usableFromInline var timer: Timeout?
    @usableFromInline var timerDeadline = UInt64.max  // when `timer` fires (loop clock)
    @usableFromInline var listening = false  // read even while nobody waits: out-of-band messages may come
    @usableFromInline let outOfBand: (@Sendable (Reply) -> Bool)?
    @usableFromInline let onClose: (@Sendable () -> Void)?
    @usableFromInline let readReply: @Sendable (BaseIOStream) async throws -> Reply
    @usableFromInline let readBufferedReply: (@Sendable (BaseIOStream) -> Reply?)?

    @usableFromInline enum ReaderState {
        case stopped
        case reading
        case idle(UnsafeContinuation<Void, Never>)  // waiting for a caller, no read pending
    }

    /// Wraps a connected stream (and takes its close callback). `outOfBand`, if given, sees every
    /// reply first and returns true for those that answer no request (RESP3 pushes): they are not
    /// matched to a caller. `onClose` runs (on the loop) when the stream has closed.
    ///
    /// `readReply` reads one reply; a client passes `{ try await Reply.read(from: $0) }` written
    /// where `Reply` is concrete, so the generated parser is specialised for the stream (through
    /// this generic type it would run unspecialised: ~2x the cost per reply, measured).
    public init(
        stream: BaseIOStream, outOfBand: (@Sendable (Reply) -> Bool)? = nil, onClose: (@Sendable () -> Void)? = nil,
        readReply: @escaping @Sendable (BaseIOStream) async throws -> Reply = { try await Reply.read(from: $0) },
        readBufferedReply: (@Sendable (BaseIOStream) -> Reply?)? = nil
    ) {
        self.readBufferedReply = readBufferedReply
        self.stream = stream
        self.outOfBand = outOfBand
        self.onClose = onClose
        self.readReply = readReply
        stream.setCloseCallback { [weak self] in
            self?.streamClosed()
            onClose?()
        }
    }

    /// True once the stream is closed; every later call fails with `StreamClosedError`.
    public var isClosed: Bool { stream.isClosed }

    /// Callers waiting for a reply (cancelled ones whose reply is still owed included). Loop thread.
    public var pendingReplies: Int { waiters.count }

    // MARK: Sending

    /// Writes `request` (already encoded) and returns its reply.
    /// - Parameters:
    ///   - request: the request's bytes, as its grammar's encoder wrote them.
    ///   - timeout: how long to wait for the reply (`nil`: for ever). Past it the call
    ///     throws `TimeoutError` and the connection closes (see the type's discussion).
    /// - Throws: `StreamClosedError` if the connection is or becomes closed; `WireProtocolError`
    ///   if the reply does not parse; `CancellationError` if the task is cancelled meanwhile.
    @inlinable
    public func send(_ request: [UInt8], timeout: Duration? = nil) async throws -> Reply {
        let waiter = ReplyWaiter<Reply>(owed: 1)
        return try await submit(request, waiter, timeout: timeout) { .one($0) }
    }

    /// Writes every request in one go and returns their replies in the same order. A server's
    /// error reply is a reply like any other (one element of the result).
    /// - Throws: as ``send(_:timeout:)``, for the first request whose reply does not come; the
    ///   others' replies are then dropped as they arrive, or fail with the connection.
    public func send(batch requests: [[UInt8]], timeout: Duration? = nil) async throws -> [Reply] {
        try await send(encodedBatch: Array(requests.joined()), count: requests.count, timeout: timeout)
    }

    /// ``send(batch:timeout:)`` for requests already encoded one after another into `bytes`:
    /// `count` replies are read for them.
    @inlinable
    public func send(encodedBatch bytes: [UInt8], count: Int, timeout: Duration? = nil) async throws -> [Reply] {
        guard count > 0 else { return [] }
        let waiter = ReplyWaiter<Reply>(owed: count)
        return try await submit(bytes, waiter, timeout: timeout) { .many($0) }
    }

    /// Writes `request`, which the server does not answer (memcached's `noreply`), in order with
    /// the other callers' requests; returns once it is queued (no reply is matched to it).
    /// - Throws: `StreamClosedError` if the connection is closed.
    public func sendWithoutReply(_ request: [UInt8]) async throws {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            stream.loop.execute {
                guard !self.stream.isClosed else {
                    continuation.resume(throwing: StreamClosedError(realError: self.stream.error))
                    return
                }
                self.stream.queueWrite(request)
                continuation.resume()
            }
        }
    }

    /// Queues `request` with its `waiter` on the loop — at once when the caller runs there — once
    /// the waiter holds the caller's continuation (as `delivery` wraps it), and waits; cancelling
    /// the task gives the waiter up (its replies are then read and dropped).
    @inlinable
    func submit<Value: Sendable>(
        _ request: [UInt8], _ waiter: ReplyWaiter<Reply>, timeout: Duration?,
        delivery: @escaping @Sendable (UnsafeContinuation<Value, any Error>) -> ReplyWaiter<Reply>.Delivery
    ) async throws -> Value {
        let loop = stream.loop
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                if loop.inLoopThread {  // no hop: the caller is on the loop (its executor preference)
                    waiter.attach(delivery(continuation))
                    self.enqueue(request, waiter, timeout: timeout)
                } else {
                    loop.execute {
                        waiter.attach(delivery(continuation))
                        self.enqueue(request, waiter, timeout: timeout)
                    }
                }
            }
        } onCancel: {
            loop.addCallback { waiter.fail(CancellationError()) }
        }
    }

    /// Upgrades the connection to TLS in place (`STARTTLS`): the socket moves to a new
    /// `SSLIOStream` and a new connection over it is returned; this one is done. Nothing may be
    /// waiting for a reply.
    /// - Throws: `StartTLSError` (not plain TCP, replies still owed, bytes buffered), `TLSError`.
    public func startTLS(context: TLSContext, serverHostname: String?) async throws -> PipelinedConnection<Reply> {
        guard let plain = stream as? IOStream, !(stream is SSLIOStream) else {
            throw StartTLSError(reason: "the connection is not plain TCP")
        }
        let owed = await withUnsafeContinuation { continuation in stream.loop.execute { continuation.resume(returning: self.waiters.count) } }
        if owed > 0 { throw StartTLSError(reason: "\(owed) replies are still owed") }
        let secure = try await plain.startTLS(serverSide: false, context: context, serverHostname: serverHostname)
        stream.loop.execute { self.streamClosed() }  // the idle reader ends: its stream is gone
        return PipelinedConnection(
            stream: secure, outOfBand: outOfBand, onClose: onClose, readReply: readReply, readBufferedReply: readBufferedReply)
    }

    /// Whether to read while no caller waits, for out-of-band messages (a RESP3 connection with
    /// subscriptions). Such a reply that `outOfBand` does not take, arriving when nobody waits,
    /// answers nothing: the connection closes with `UnexpectedReplyError`.
    public func listen(_ on: Bool) {
        stream.loop.execute {
            self.listening = on
            if on { self.wakeReader() }
        }
    }

    /// Closes the connection at once; waiting callers fail with `StreamClosedError`.
    public func close() {
        stream.close()
    }

    /// Sends what is queued, shuts the connection down and waits for the peer to close it.
    public func closeGracefully(timeout: Duration = .seconds(10)) async throws {
        try await stream.closeGracefully(timeout: timeout)
    }

    // MARK: On the loop

    /// Queues the request's bytes and its waiter, then makes sure a reader runs.
    @inlinable
    func enqueue(_ request: [UInt8], _ waiter: ReplyWaiter<Reply>, timeout: Duration?) {
        guard !stream.isClosed else {
            waiter.fail(StreamClosedError(realError: stream.error))
            return
        }
        guard !waiter.isDone else { return }  // cancelled before it was sent: send nothing
        let deadline = timeout.map { Deadline.after($0).uptimeNanoseconds } ?? .max
        waiter.deadline = deadline
        waiter.timeout = timeout
        stream.queueWrite(request)
        waiters.append(waiter)
        if deadline < timerDeadline { armTimer(at: deadline) }
        wakeReader()
    }

    // One loop timer for every caller's timeout, armed at the earliest deadline: a request costs a
    // comparison, not a timer (replies come in order, so the oldest caller's deadline is usually it).
    @usableFromInline
    func armTimer(at deadline: UInt64) {
        if let timer { stream.loop.removeTimeout(timer) }
        timerDeadline = deadline
        timer = stream.loop.callAt(deadline) { [self] in self.timerFired() }
    }

    /// Fails every caller whose deadline has passed and closes the connection, or re-arms for the
    /// earliest deadline still pending.
    private func timerFired() {
        timer = nil
        timerDeadline = .max
        let now = IOLoop.time()
        let pending = waiters.elements.filter { !$0.isDone }
        let expired = pending.filter { $0.deadline <= now }
        guard let first = expired.first, let timeout = first.timeout else {
            if let next = pending.map(\.deadline).min(), next < .max { armTimer(at: next) }
            return
        }
        // A server that did not answer in time cannot be trusted with the next request, and the
        // replies still owed would arrive out of step: the reader sees the close and fails the rest.
        // Closed first, so a caller that wakes with its TimeoutError finds the connection closed.
        stream.close(error: TimeoutError(.deadline, timeout: timeout))
        for waiter in expired { waiter.fail(TimeoutError(.deadline, timeout: waiter.timeout ?? timeout)) }
    }

    /// Starts the reader task, or wakes it where it waits for callers.
    @inlinable
    func wakeReader() {
        switch reader {
        case .stopped:
            guard !waiters.isEmpty || listening, !stream.isClosed else { return }
            reader = .reading
            Task(executorPreference: stream.loop) { await self.readReplies() }
        case .idle(let waiting):
            reader = .reading
            waiting.resume()
        case .reading:
            return
        }
    }

    /// The reader: the replies each waiting caller is owed, in order; it waits (without a read
    /// pending) while nobody does and the connection is not listening, and ends when the stream closes.
    @inlinable
    func readReplies() async {
        while true {
            while !waiters.isEmpty || (listening && !stream.isClosed) {
                do {
                    // A buffered reply is parsed right here: an async call costs executor checks.
                    let reply: Reply
                    if let buffered = readBufferedReply?(stream) {
                        reply = buffered
                    } else {
                        reply = try await readReply(stream)
                    }
                    if let outOfBand, outOfBand(reply) { continue }
                    guard let next = waiters.first else {
                        failAll(UnexpectedReplyError(description: "a reply arrived when no request was waiting for one"))
                        continue
                    }
                    if next.receive(reply) { _ = waiters.popFirst() }
                } catch {
                    failAll(error)
                }
            }
            if stream.isClosed { break }
            await withUnsafeContinuation { reader = .idle($0) }
        }
        reader = .stopped
        if let timer { stream.loop.removeTimeout(timer) }
        timer = nil
        timerDeadline = .max
    }

    /// The stream closed: an idle reader wakes up to end.
    private func streamClosed() {
        if case .idle = reader { wakeReader() }
    }

    /// The connection cannot go on: the caller whose reply failed gets `error`, the rest a
    /// `StreamClosedError` whose `realError` is it.
    @usableFromInline
    func failAll(_ error: any Error) {
        let closed: StreamClosedError
        if let streamClosed = error as? StreamClosedError {
            closed = streamClosed
        } else {
            stream.close(error: error)
            closed = StreamClosedError(realError: error)
        }
        var first = true
        while let waiter = waiters.popFirst() {
            waiter.fail(first ? error : closed)
            first = false
        }
    }
}

/// A reply that answers no request: it came when nobody was waiting, and is not an out-of-band
/// message the protocol knows. The connection closes: what follows could not be matched either.
public struct UnexpectedReplyError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}
