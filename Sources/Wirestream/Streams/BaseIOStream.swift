// Layer Streams/: the non-blocking byte streams on a loop — BaseIOStream (buffers, reads, writes,
// close, limits, timeouts) and its transports IOStream (TCP), PipeIOStream and TCPListener, the
// ByteSource seam parsers read from, and the stream errors.

import CLinux
import Glibc
import Logging
import Synchronization

/// A non-blocking byte stream on an ``IOLoop``: Tornado's `BaseIOStream`.
///
/// A stream serves one read and any number of queued writes at a time. Reads wait for a target —
/// a byte count, a delimiter, EOF — and complete with exactly that frame; what arrives beyond it
/// stays buffered for the next read.
///
/// ```
///   peer sends:   "GET / HTTP/1.0\r\nHost: a\r\n\r\nbody…"
///   readUntil("\r\n\r\n")   → "GET / HTTP/1.0\r\nHost: a\r\n\r\n"
///   readBytes(4)            → "body"
/// ```
///
/// Every operation has a callback form (the callback runs on the loop thread) and an `async throws`
/// form. Callback forms must be called on the loop thread (or before the loop runs); async forms work
/// from any task, and are fastest on the loop's task executor (`withTaskExecutorPreference(loop)`),
/// where a read the buffer already satisfies returns without suspending.
///
/// **Close.** Once closed, every pending and later operation fails with ``StreamClosedError``
/// whose `realError` is ``error`` — except reads the buffer can still satisfy: bytes received before
/// the close stay readable. The close callback runs after the pending operations were failed or
/// satisfied.
///
/// **Limits.** More than ``maxBufferSize`` buffered bytes without a satisfiable read closes the
/// stream with ``StreamBufferFullError``; `maxBytes` on a delimiter read closes it with
/// ``UnsatisfiableReadError``; a write past ``maxWriteBufferSize`` fails with ``StreamBufferFullError``.
///
/// **Subclassing.** A subclass provides the file descriptor and its I/O: ``fileno()``,
/// ``closeFD()``, ``readFromFD(into:)``, ``writeToFD(_:)`` and ``getFDError()``.
open class BaseIOStream: @unchecked Sendable {
    // @unchecked Sendable: a stream is confined to its loop. All mutable state is touched only on
    // the loop thread; public entry points called elsewhere hop to the loop first.

    enum State {
        case open
        case connecting  // resolving or connecting; reads wait, writes queue
        case closed
    }

    /// The loop this stream lives on.
    public let loop: IOLoop
    /// The most bytes the read buffer may hold (default 100 MB).
    public let maxBufferSize: Int
    /// The most bytes read from the fd in one call (default 64 KiB, at most half of `maxBufferSize`).
    public let readChunkSize: Int
    /// The most bytes queued for writing (`nil`: unlimited, the default).
    public let maxWriteBufferSize: Int?
    /// Where the stream reports unsatisfiable reads (info) and I/O errors (warning).
    public let logger: Logger

    /// The error that closed the stream, if any.
    public internal(set) var error: (any Error)?
    /// Bytes examined by delimiter and pattern searches so far. Each byte is scanned about once
    /// however the data is split into reads; tests and benchmarks read this to prove it.
    @exclusivity(unchecked) public internal(set) var bytesScanned = 0

    // @exclusivity(unchecked) on the hot state below: a stream is loop-confined and these are never
    // accessed overlappingly; the dynamic exclusivity checks were ~10% of a buffered read.
    @exclusivity(unchecked) var state: State = .open
    /// `state == .closed`, readable off the loop (``isClosed``); set by ``markClosed()`` only.
    private let closedFlag = Atomic(false)
    let readBuffer = ReadBuffer()
    @exclusivity(unchecked) var pendingRead: PendingRead?
    @exclusivity(unchecked) var pendingScanOffset = 0  // resume the pending read's search here
    /// Reads completed without a return to the loop: async reads served from the buffer since the
    /// reading task last yielded, callback reads in a chain (see ``readsBetweenYields``).
    @exclusivity(unchecked) var readsSinceYield = 0
    var writeQueue = WriteQueue()
    private var flushWaiters = FIFO<FlushWaiter>()
    private var bytesQueued: UInt64 = 0
    private var bytesFlushed: UInt64 = 0
    private var flushScheduled = false  // a deferred flush (from queueWrite) is queued on the loop
    /// The last read from the fd returned less than it asked for, and the loop has reported no
    /// readiness since: the kernel holds nothing for us, so a new read waits for the loop's next
    /// report instead of first calling `read` for an EAGAIN — one system call in four of a
    /// request/reply cycle (`writev`, `read`, `epoll_wait`, `read`). Never set where `readFromFD`
    /// buffers (``readFromFDBuffers``).
    private var fdDrained = false
    @exclusivity(unchecked) private var registeredEvents: IOEvents?  // nil: not registered with the loop
    private var completionDepth = 0  // read completions running now (callbacks that may start reads)
    private var deferredInlineRead = false  // a read started inside a completion waits for it to return
    private var trampolining = false  // finishRead is running deferred reads in a loop
    private var inFrameHandler = false  // a continuous read's handler is running (it may close the stream)
    private var closeCallback: (() -> Void)?
    /// PCRE2 match data reused by every regex read of this stream (allocated on first use).
    @usableFromInline final lazy var regexScratch = RegexScratch()
    /// The ``BufferedBytes`` the next ``parseBuffered(_:)`` reuses (taken while a parse runs).
    @usableFromInline @exclusivity(unchecked) final var idleBufferedBytes: BufferedBytes?
    /// Reused by the next regex read with the same pattern.
    @usableFromInline @exclusivity(unchecked) final var lastRegexSearcher: RegexSearcher? {
        didSet { lastRegexSearcherRef = lastRegexSearcher.map { Unmanaged.passUnretained($0) } }
    }
    /// `lastRegexSearcher` unretained, for the buffered fast path (which it must outlive).
    @usableFromInline @exclusivity(unchecked) final var lastRegexSearcherRef: Unmanaged<RegexSearcher>?
    /// A frame is lent in place to a caller's closure (a borrowing read's body, a parse of the
    /// buffered bytes): a read started from it fails with ``ReadInProgressError`` — it would
    /// consume the bytes under the closure — and the regex searcher it may hold is left alone.
    @usableFromInline @exclusivity(unchecked) final var lendingFrame = false
    var connectWaiters: [(Result<Void, any Error>) -> Void] = []

    // Timeouts (BaseIOStream+Timeouts.swift): each a loop timer, armed only while something waits.
    var deadlineValue: Deadline?
    var deadlineTimeout: Duration = .zero  // how long the deadline was when it was set, for its error
    var deadlineTimer: Timeout?
    var deadlinePassed = false  // the deadline fired: waits fail at once until a new one is set
    var idleTimeoutValue: Duration?
    var lastReceived: UInt64 = 0  // loop clock at the last received chunk (kept only with an idle timeout)
    var idleTimer: Timeout?
    var connectTimer: Timeout?
    /// A graceful close under way (BaseIOStream+GracefulClose.swift).
    var gracefulClose: GracefulClose?

    /// - Parameters:
    ///   - loop: the loop the stream runs on (default: ``IOLoop/current``).
    ///   - maxBufferSize: read buffer limit in bytes (default 104,857,600).
    ///   - readChunkSize: bytes per read call (default 65,536; capped at `maxBufferSize / 2`).
    ///   - maxWriteBufferSize: write queue limit in bytes (default unlimited).
    ///   - logger: where to log; default label `wirestream.iostream`.
    public init(
        loop: IOLoop = .current, maxBufferSize: Int? = nil, readChunkSize: Int? = nil,
        maxWriteBufferSize: Int? = nil, logger: Logger? = nil
    ) {
        ws_ignore_sigpipe()  // a write to a closed peer must be an EPIPE error, not a process kill
        self.loop = loop
        let maxBuffer = maxBufferSize ?? 104_857_600
        self.maxBufferSize = maxBuffer
        // As in Tornado: one read call never fills more than half the buffer, so a read
        // that is satisfied early never trips the limit.
        self.readChunkSize = max(1, min(readChunkSize ?? 65_536, maxBuffer / 2))
        self.maxWriteBufferSize = maxWriteBufferSize
        self.logger = logger ?? Logger(label: "wirestream.iostream")
    }

    // MARK: - Subclass contract

    /// The file descriptor, or -1 when there is none yet.
    open func fileno() -> Int32 { -1 }
    /// Closes the file descriptor.
    open func closeFD() {}
    /// Reads into `buffer`. Returns the byte count, 0 at EOF, or `nil` if it would block.
    open func readFromFD(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        fatalError("\(type(of: self)) must override readFromFD(into:)")
    }
    /// Writes from the vectors (as many as the fd takes). Returns the byte count, or `nil` if it
    /// would block. A subclass without gather writes may write the first vector only.
    open func writeToFD(_ vectors: UnsafeBufferPointer<iovec>) throws -> Int? {
        fatalError("\(type(of: self)) must override writeToFD(_:)")
    }
    /// The pending error of the fd (e.g. `SO_ERROR`), if any.
    open func getFDError() -> (any Error)? { nil }
    /// Whether ``readFromFD(into:)`` may leave bytes read from the fd inside the stream where
    /// epoll cannot see them (TLS records decrypted but not yet returned). False (the default):
    /// every unread byte is in the kernel, so a short read means the fd is drained.
    open var readFromFDBuffers: Bool { false }

    /// Turns Nagle's algorithm off or on where the transport has it (``IOStream``: `TCP_NODELAY`);
    /// elsewhere (pipes) it does nothing, as in Tornado.
    /// - Throws: ``SystemError`` where the transport refuses the option.
    open func setNoDelay(_ enabled: Bool) throws {}

    /// Shuts down the write side for a graceful close (TCP: `shutdown(SHUT_WR)`; TLS: close_notify
    /// first). Returns true if the stream should then wait for the peer's EOF before closing;
    /// false (the default, e.g. pipes) closes at once.
    func shutdownOutput() -> Bool { false }

    /// False while the transport cannot carry data yet and cannot be resumed if abandoned
    /// (a TLS handshake in progress): a deadline passing then closes the stream.
    var transportReady: Bool { true }

    // MARK: - State

    /// True once the stream is closed (Tornado's `closed()`). Safe to ask from any thread (clients
    /// check a connection before handing it to a caller's task): it reads a flag set once, atomically.
    public var isClosed: Bool { closedFlag.load(ordering: .acquiring) }
    /// True while a read is pending (Tornado's `reading()`).
    public var isReading: Bool { pendingRead != nil }
    /// True while written bytes wait to be handed to the kernel (Tornado's `writing()`).
    public var isWriting: Bool { !writeQueue.isEmpty }

    /// Runs `callback` on the loop once the stream closes (after pending operations were failed
    /// or satisfied). Replaces an earlier callback. Set on a stream that is already closed, it
    /// runs soon, on the loop (as in Tornado 4): a caller always learns that the stream is gone.
    public func setCloseCallback(_ callback: (() -> Void)?) {
        guard loop.inLoopThread else { return hop { self.setCloseCallback(callback) } }
        if state == .closed {
            if let callback { loop.callSoon(callback) }
            return
        }
        closeCallback = callback
        updateInterest()
    }

    /// Runs `body` on the loop thread later: how a callback form called from another thread gets
    /// to the loop instead of racing it. (`body` holds loop-confined state; it runs only there.)
    func hop(_ body: @escaping () -> Void) {
        let transfer = UncheckedTransfer(body)
        loop.addCallback { transfer.value() }
    }

    /// Removes and returns the close callback (for a stream that hands its socket on).
    func takeCloseCallback() -> (() -> Void)? {
        defer { closeCallback = nil }
        return closeCallback
    }

    // MARK: - Reads (callback forms)

    /// Reads `count` bytes; with `partial`, completes as soon as 1…`count` bytes are buffered.
    /// `readBytes(0)` completes at once with no bytes.
    /// Fails with ``StreamClosedError`` if the stream closes first.
    public func readBytes(
        _ count: Int, partial: Bool = false, callback: @escaping (Result<[UInt8], any Error>) -> Void
    ) {
        startRead(.bytes(count: count, partial: partial), delivering: callback)
    }

    /// Reads `count` bytes and hands them to `handler` in chunks of `min(remaining, buffered)`
    /// as they arrive (Tornado's `read_bytes(streaming_callback=)`); `callback` gets the outcome
    /// when all `count` were delivered.
    public func streamBytes(
        _ count: Int, to handler: @escaping (UnsafeRawBufferPointer) -> Void,
        callback: @escaping (Result<Void, any Error>) -> Void
    ) {
        let streaming = handler
        startRead(.streamingBytes(remaining: count), streaming: streaming,
                  CallbackReadCompletion(transform: { _ in () }, callback: callback))
    }

    /// Reads through the end of `delimiter`. With `maxBytes`, a delimiter that does not end within
    /// the first `maxBytes` bytes closes the stream with ``UnsatisfiableReadError`` (recorded as
    /// ``error``) and the read fails with ``StreamClosedError``.
    public func readUntil(
        _ delimiter: [UInt8], maxBytes: Int? = nil,
        callback: @escaping (Result<[UInt8], any Error>) -> Void
    ) {
        startRead(.delimiter(delimiter, maxBytes: maxBytes), delivering: callback)
    }

    /// The borrowing form of ``readUntil(_:maxBytes:callback:)``: `body` gets the frame in place
    /// (no array is allocated) and its result goes to `callback`. `body` must not use the stream.
    @inlinable
    public final func readUntil<R>(
        _ delimiter: [UInt8], maxBytes: Int? = nil,
        borrowing body: @escaping (UnsafeRawBufferPointer) throws -> R,
        callback: @escaping (Result<R, any Error>) -> Void
    ) {
        startRead(.delimiter(delimiter, maxBytes: maxBytes), transform: body, callback: callback)
    }

    /// The borrowing form of ``readBytes(_:partial:callback:)``.
    @inlinable
    public final func readBytes<R>(
        _ count: Int, partial: Bool = false,
        borrowing body: @escaping (UnsafeRawBufferPointer) throws -> R,
        callback: @escaping (Result<R, any Error>) -> Void
    ) {
        startRead(.bytes(count: count, partial: partial), transform: body, callback: callback)
    }

    /// Reads through the end of `delimiter`, as ``readUntil(_:maxBytes:callback:)``, and delivers the
    /// frame as a ``ReadFrame`` that shares the read buffer's memory: no allocation, no copy.
    public func readFrame(
        until delimiter: [UInt8], maxBytes: Int? = nil,
        callback: @escaping (Result<ReadFrame, any Error>) -> Void
    ) {
        startRead(.delimiter(delimiter, maxBytes: maxBytes), deliveringFrame: callback)
    }

    /// Reads `count` bytes (with `partial`, 1…`count`), as ``readBytes(_:partial:callback:)``, and
    /// delivers them as a ``ReadFrame`` that shares the read buffer's memory.
    public func readFrame(
        count: Int, partial: Bool = false, callback: @escaping (Result<ReadFrame, any Error>) -> Void
    ) {
        startRead(.bytes(count: count, partial: partial), deliveringFrame: callback)
    }

    /// Reads one frame cut by `framing` — delimited, fixed-size or length-prefixed, as the frames
    /// of ``readFrames(_:to:)`` are — and delivers it as a ``ReadFrame`` without its length prefix.
    /// One read per frame: a length-prefixed frame costs one callback, not one for its prefix and
    /// one for its payload. A length over the framing's `maxLength` fails the read with
    /// ``UnsatisfiableReadError`` (closing the stream) as soon as the prefix arrives.
    public func readFrame(_ framing: Framing, callback: @escaping (Result<ReadFrame, any Error>) -> Void) {
        startRead(framing.target, deliveringFrame: callback, skipping: framing.headerBytes)
    }

    /// Reads everything until the peer closes. On a closed stream, returns what is buffered.
    public func readUntilClose(callback: @escaping (Result<[UInt8], any Error>) -> Void) {
        startRead(.untilClose, delivering: callback)
    }

    /// Hands everything until the peer closes to `handler` chunk by chunk — what is already
    /// buffered first — then calls `callback` (Tornado's `read_until_close(streaming_callback=)`).
    public func streamUntilClose(
        to handler: @escaping (UnsafeRawBufferPointer) -> Void,
        callback: @escaping (Result<Void, any Error>) -> Void
    ) {
        startRead(.untilClose, streaming: handler, CallbackReadCompletion(transform: { _ in () }, callback: callback))
    }

    /// Reads into `buffer`: fills it completely, or with `partial` completes with 1…`buffer.count`
    /// bytes. The result is the byte count. `buffer` must stay valid until the callback runs.
    public func readInto(
        _ buffer: UnsafeMutableRawBufferPointer, partial: Bool = false,
        callback: @escaping (Result<Int, any Error>) -> Void
    ) {
        startRead(.bytes(count: buffer.count, partial: partial), transform: { frame in
            buffer.copyMemory(from: frame)
            return frame.count
        }, callback: callback)
    }

    // MARK: - Writes

    /// Queues `data` and calls `callback` once it has been handed to the kernel. The array is
    /// referenced, not copied (small writes are coalesced with their neighbours).
    ///
    /// Fails with ``StreamClosedError`` on a closed (or gracefully closing) stream. A write that
    /// would queue more than ``maxWriteBufferSize`` bytes closes the stream with
    /// ``StreamBufferFullError`` — as `queueWrite` does: a request dropped from the middle of a
    /// pipelined sequence would desynchronise the protocol — and fails with ``StreamClosedError``
    /// whose `realError` is it. An empty write completes at once.
    public func write(_ data: [UInt8], callback: @escaping (Result<Void, any Error>) -> Void) {
        guard loop.inLoopThread else { return hop { self.write(data, callback: callback) } }
        completeWrite(callback) { try $0.enqueue(data[...]) }
    }

    /// Writes any bytes: an `ArraySlice<UInt8>` is referenced like an array; contiguous storage
    /// (`UnsafeRawBufferPointer`, Foundation `Data`, `String.UTF8View`, …) is copied once, straight
    /// into the queue (it need not outlive the call); anything else is gathered once.
    public func write(_ data: some Collection<UInt8>, callback: @escaping (Result<Void, any Error>) -> Void) {
        guard loop.inLoopThread else {
            let bytes = data as? [UInt8] ?? Array(data)  // copied now: `data` may not outlive the call
            return hop { self.write(bytes, callback: callback) }
        }
        completeWrite(callback) { try $0.enqueue(contentsOf: data) }
    }

    /// Writes the UTF-8 bytes of `string`, copied once into the queue.
    public func write(_ string: String, callback: @escaping (Result<Void, any Error>) -> Void) {
        guard loop.inLoopThread else { return hop { self.write(string, callback: callback) } }
        completeWrite(callback) { try $0.enqueue(string: string) }
    }

    private func completeWrite(
        _ callback: @escaping (Result<Void, any Error>) -> Void, _ enqueue: (BaseIOStream) throws -> Void
    ) {
        do {
            try enqueue(self)
        } catch {
            callback(.failure(writeRefused(error)))
            return
        }
        flushWaiters.append(FlushWaiter(target: bytesQueued, callback: callback))
        flushOrWait()
        if deadlinePassed { failFlushWaiters(timeoutForDeadline()) }
    }

    /// Queues `data` without waiting: the way to pipeline many requests. Safe from any thread.
    ///
    /// Queued bytes leave together at the end of the loop iteration (or before the next read
    /// waits), coalesced into as few system calls as possible. Errors surface through the stream:
    /// a closed stream ignores the write (every later operation fails anyway), and a write past
    /// ``maxWriteBufferSize`` closes the stream with ``StreamBufferFullError``, as `write` does.
    public func queueWrite(_ data: [UInt8]) {
        guard loop.inLoopThread else {
            loop.addCallback { self.queueWrite(data) }
            return
        }
        completeQueueWrite { try $0.enqueue(data[...]) }
    }

    /// Queues any bytes without waiting (an `ArraySlice<UInt8>` is referenced; contiguous storage is
    /// copied once, before the call returns; off the loop thread the bytes are copied into an array
    /// first, to cross threads).
    public func queueWrite(_ data: some Collection<UInt8>) {
        guard loop.inLoopThread else {
            queueWrite(data as? [UInt8] ?? Array(data))
            return
        }
        completeQueueWrite { try $0.enqueue(contentsOf: data) }
    }

    /// Queues the UTF-8 bytes of `string` without waiting.
    public func queueWrite(_ string: String) {
        guard loop.inLoopThread else {
            loop.addCallback { self.queueWrite(string) }
            return
        }
        completeQueueWrite { try $0.enqueue(string: string) }
    }

    private func completeQueueWrite(_ enqueue: (BaseIOStream) throws -> Void) {
        do {
            try enqueue(self)
        } catch {
            _ = writeRefused(error)
            return
        }
        if !flushScheduled && state == .open {
            flushScheduled = true
            loop.callSoon { [self] in if self.flushScheduled { self.flushNow() } }
        }
    }

    /// What a refused write reports: past the write buffer limit the stream closes with the limit
    /// error (as a read past ``maxBufferSize`` does); on a closed stream the close's error.
    func writeRefused(_ error: any Error) -> any Error {
        guard let full = error as? StreamBufferFullError else { return error }
        logger.warning("write buffer full, closing: \(full)")
        closeNow(error: full)
        return StreamClosedError(realError: full)
    }

    /// Calls `callback` once everything queued so far has been handed to the kernel.
    public func flush(callback: @escaping (Result<Void, any Error>) -> Void) {
        guard loop.inLoopThread else { return hop { self.flush(callback: callback) } }
        if state == .closed {
            callback(.failure(StreamClosedError(realError: error)))
            return
        }
        flushWaiters.append(FlushWaiter(target: bytesQueued, callback: callback))
        flushOrWait()
        if deadlinePassed { failFlushWaiters(timeoutForDeadline()) }
    }

    // MARK: - Close

    /// Closes the stream. Pending reads the buffer can satisfy complete; other pending operations
    /// fail with ``StreamClosedError`` whose `realError` is `error` (also recorded as ``error``).
    /// Closing a closed stream does nothing. Safe from any thread.
    public func close(error: (any Error)? = nil) {
        guard loop.inLoopThread else {
            let transfer = UncheckedTransfer(error)
            loop.addCallback { self.closeNow(error: transfer.value) }
            return
        }
        closeNow(error: error)
    }

    /// The stream's state becomes `.closed`, for good.
    func markClosed() {
        state = .closed
        closedFlag.store(true, ordering: .releasing)
    }

    func closeNow(error closingError: (any Error)?) {
        guard state != .closed else { return }
        if let closingError { self.error = closingError }
        markClosed()
        if registeredEvents != nil {
            loop.removeHandler(fileno())
            registeredEvents = nil
        }
        flushScheduled = false
        cancelTimers()
        closeFD()
        streamDidClose()
        // Reads the buffer can still satisfy complete before anything is failed — except a
        // continuous read whose handler is closing the stream: it asked for no more frames.
        if let read = pendingRead, !inFrameHandler {
            if case .untilClose = read.target {
                deliverStreamingChunk()
                finishRead(at: readBuffer.count)
            } else {
                deliverStreamingChunk()
                if let end = try? findReadPosition() { finishRead(at: end) }
            }
        }
        let closedError = StreamClosedError(realError: self.error)
        if let read = pendingRead {
            pendingRead = nil
            read.delivery.fail(closedError)
        }
        writeQueue.removeAll()
        while let waiter = flushWaiters.popFirst() { waiter.fire(.failure(closedError)) }
        let connecting = connectWaiters
        connectWaiters = []
        for waiter in connecting { waiter(.failure(closedError)) }
        finishGracefulClose()
        if let callback = closeCallback {
            closeCallback = nil
            loop.callSoon(callback)
        }
    }

    /// Called once when the stream closes, after the fd is closed (subclasses cancel timers here).
    func streamDidClose() {}

    // MARK: - Read machinery

    @usableFromInline
    final func startRead(_ target: ReadTarget, streaming: ((UnsafeRawBufferPointer) -> Void)?, _ completion: ReadCompletion) {
        startRead(target, streaming: streaming, .completion(completion))
    }

    /// A copying callback read: the frame goes to `callback` as a new array.
    func startRead(_ target: ReadTarget, delivering callback: @escaping (Result<[UInt8], any Error>) -> Void) {
        var frame: [UInt8] = []
        if deliverBuffered(target, lend: { frame = [UInt8]($0) }, deliver: { callback(.success(frame)) }) { return }
        startRead(target, streaming: nil, .bytes(callback))
    }

    /// An owned-frame callback read: the frame, less its first `headerBytes`, goes to `callback`
    /// as a ``ReadFrame``.
    func startRead(
        _ target: ReadTarget, deliveringFrame callback: @escaping (Result<ReadFrame, any Error>) -> Void,
        skipping headerBytes: Int = 0
    ) {
        var frame = ReadFrame()
        if deliverBuffered(target, lend: { frame = ownedFrame($0, skipping: headerBytes) },
                           deliver: { callback(.success(frame)) }) { return }
        startRead(target, streaming: nil, .frame(callback, headerBytes: headerBytes))
    }

    /// `frame`, lying in the read buffer, as an owned ``ReadFrame``.
    @inlinable @inline(__always)
    final func ownedFrame(_ frame: UnsafeRawBufferPointer) -> ReadFrame {
        // A small frame is loaded right here, in the caller: no call, no reference count.
        if frame.count <= ReadFrame.inlineCapacity { return ReadFrame(loadingInline: frame.baseAddress, count: frame.count) }
        return sharedFrame(frame)
    }

    /// `frame` as a frame larger than ``ReadFrame/inlineCapacity``: shared with the buffer's block,
    /// or copied when the block is large (``ReadBuffer/ownedFrame(_:pinLimit:)``).
    @usableFromInline
    final func sharedFrame(_ frame: UnsafeRawBufferPointer) -> ReadFrame {
        readBuffer.ownedFrame(frame, pinLimit: idleBufferLimit)
    }

    /// `frame` without its first `headerBytes` (a length prefix), as an owned ``ReadFrame``.
    final func ownedFrame(_ frame: UnsafeRawBufferPointer, skipping headerBytes: Int) -> ReadFrame {
        ownedFrame(UnsafeRawBufferPointer(rebasing: frame[headerBytes...]))
    }

    /// The size up to which an emptied read buffer keeps its block, and a block a small frame may pin.
    var idleBufferLimit: Int { max(4 * readChunkSize, 262_144) }

    /// A borrowing callback read: `transform` gets the frame in place, its result goes to `callback`.
    /// Inlinable, so it is specialized for the caller's `R`: unspecialized, looking up the metadata
    /// of `Result<R, any Error>` cost more than the rest of a buffered read.
    @inlinable
    final func startRead<R>(
        _ target: ReadTarget, transform: @escaping (UnsafeRawBufferPointer) throws -> R,
        callback: @escaping (Result<R, any Error>) -> Void
    ) {
        var outcome: Result<R, any Error>?
        // A transform that throws still consumes its frame, as on the waiting path.
        if deliverBuffered(target, lend: { frame in outcome = Result { try transform(frame) } },
                           deliver: { callback(outcome!) }) { return }
        startRead(target, streaming: nil, CallbackReadCompletion(transform: transform, callback: callback))
    }

    /// How deep copying callback reads served from the buffer may nest (see ``deliverBuffered(_:lend:deliver:)``).
    static let maxNestedCompletions = 16

    /// The callback forms' fast path, as ``readBuffered(_:_:)`` is the async forms': on the
    /// loop thread, with no read pending and the frame already buffered, `transform` gets the
    /// frame in place, the frame is consumed, and the result goes to `callback` right here — no
    /// pending read, no completion object. A read started inside a completion is served so too,
    /// up to ``maxNestedCompletions`` deep; deeper, it waits for the completion to return and the
    /// trampoline in ``finishRead(at:)`` to run it — so a chain of thousands of buffered reads pays
    /// the slow path once per 16, and the stack stays bounded.
    ///
    /// `lend` converts the frame while it is in the buffer; `deliver` runs once it is consumed.
    @usableFromInline
    final func deliverBuffered(
        _ target: ReadTarget, lend: (UnsafeRawBufferPointer) -> Void, deliver: () -> Void
    ) -> Bool {
        // The thread first: off the loop, `completionDepth` is the loop's to change.
        guard loop.inLoopThread, completionDepth < Self.maxNestedCompletions, let frame = bufferedFrame(for: target) else {
            return false
        }
        lendingFrame = true
        lend(frame)
        lendingFrame = false
        frameConsumed(target.consumed(frame.count))
        completionDepth += 1
        deliver()
        completionDepth -= 1
        runDeferredReads()
        return true
    }

    func startRead(_ target: ReadTarget, streaming: ((UnsafeRawBufferPointer) -> Void)?, _ delivery: ReadDelivery) {
        guard loop.inLoopThread else { return hop { self.startRead(target, streaming: streaming, delivery) } }
        if let invalid = target.invalidArgument {
            delivery.fail(invalid)
            return
        }
        guard pendingRead == nil && !lendingFrame else {
            delivery.fail(ReadInProgressError())  // (lending: a read started while a frame is lent in place)
            return
        }
        pendingRead = PendingRead(target: target, streaming: streaming, delivery: delivery)
        pendingScanOffset = 0
        if idleTimeoutValue != nil { lastReceived = IOLoop.time() }  // idle time counts from here
        if completionDepth > 0 || trampolining {
            // Started from a read's completion: the completing frame below tries it when the
            // callback returns, so a chain of reads satisfied from the buffer loops, not recurses.
            deferredInlineRead = true
            return
        }
        tryInlineRead()
    }

    /// Tornado's `_try_inline_read`: satisfy the read from the buffer, else from the fd right now
    /// (one speculative read), else wait for the fd.
    func tryInlineRead() {
        guard pendingRead != nil else { return }
        do {
            deliverStreamingChunk()
            if let end = try findReadPosition() {
                finishRead(at: end)
                return
            }
            switch state {
            case .closed:
                if case .untilClose? = pendingRead?.target {
                    finishRead(at: readBuffer.count)  // the rest of the stream is what is buffered
                } else if let read = pendingRead {
                    pendingRead = nil
                    read.delivery.fail(StreamClosedError(realError: error))
                }
                return
            case .connecting:
                readWillWait()  // reads start once connected
                return
            case .open:
                break
            }
            if flushScheduled { flushNow() }  // send queued requests before waiting for replies
            if !fdDrained, let end = try readToBufferLoop() {
                finishRead(at: end)
                return
            }
        } catch {
            handleReadError(error)
            return
        }
        guard state == .open else { return }
        readWillWait()
        updateInterest()
    }

    /// Where the pending read's frame ends in the buffer, or `nil` if it is not there yet.
    func findReadPosition() throws -> Int? {
        guard let target = pendingRead?.target else { return nil }
        if case .bytes(let count, partial: false) = target, count > maxBufferSize {
            // The buffer could never hold the frame: fail now (as a buffer that filled up would),
            // not after waiting for bytes that a hostile peer may never send.
            throw StreamBufferFullError(buffer: .read, limit: maxBufferSize, size: count)
        }
        return try frameEnd(for: target, scanOffset: &pendingScanOffset)
    }

    /// Where a frame for `target` ends in the buffered bytes, or `nil` if it is not complete.
    @inline(__always)
    func frameEnd(for target: ReadTarget, scanOffset: inout Int) throws -> Int? {
        try target.frameEnd(
            in: readBuffer.bytes, scanOffset: &scanOffset, atEOF: state == .closed, bytesScanned: &bytesScanned)
    }

    /// Hands buffered bytes to a streaming read's callback.
    private func deliverStreamingChunk() {
        guard let read = pendingRead, let streaming = read.streaming, !readBuffer.isEmpty else { return }
        switch read.target {
        case .streamingBytes(let remaining):
            let n = min(remaining, readBuffer.count)
            guard n > 0 else { return }
            streaming(UnsafeRawBufferPointer(rebasing: readBuffer.bytes[0..<n]))
            readBuffer.consume(n)
            pendingRead?.target = .streamingBytes(remaining: remaining - n)
        case .untilClose:
            streaming(readBuffer.bytes)
            readBuffer.consume(readBuffer.count)
        default:
            return
        }
    }

    /// Lends the first `end` bytes to the pending read, consumes them, then reports success.
    func finishRead(at end: Int) {
        guard let read = pendingRead.take() else { return }
        if case .handler(let handler, let headerBytes) = read.delivery {
            return deliverFrames(read, to: handler, skipping: headerBytes, firstEnd: end)
        }
        let frame = UnsafeRawBufferPointer(rebasing: readBuffer.bytes[0..<end])
        var bytes: [UInt8] = []
        var owned = ReadFrame()
        switch read.delivery {
        case .bytes: bytes = [UInt8](frame)
        case .frame(_, let headerBytes): owned = ownedFrame(frame, skipping: headerBytes)
        case .completion(let completion):
            lendingFrame = true
            completion.take(frame)
            lendingFrame = false
        case .handler: preconditionFailure("a continuous read is delivered by deliverFrames")
        }
        frameConsumed(read.target.consumed(end))
        readsSinceYield &+= 1  // a chain of completions counts toward the trampoline's yield
        completionDepth += 1
        switch read.delivery {
        case .bytes(let callback): callback(.success(bytes))
        case .frame(let callback, _): callback(.success(owned))
        case .completion(let completion): completion.succeed()
        case .handler: break
        }
        completionDepth -= 1
        runDeferredReads()
    }

    /// A continuous read's delivery: the frame ending at `firstEnd`, then every complete frame
    /// after it in the buffer, each to `handler`, in one loop. The read stays pending throughout
    /// (so the handler cannot start another); once the buffer holds no complete frame, the
    /// trampoline reads on, as for a read started from a completion.
    private func deliverFrames(_ read: PendingRead, to handler: any FrameHandler, skipping headerBytes: Int, firstEnd: Int) {
        pendingRead = read
        completionDepth += 1
        var end = firstEnd
        // Closed already (closeNow, or a read started on a closed stream): every complete frame
        // left in the buffer goes out now, without a yield, before the read fails.
        let draining = state == .closed
        // In the loop only a close can end the read (the handler cannot start another), so it
        // checks `state` and uses `read.target` as it is: copying `pendingRead` for each frame
        // (its target, closure and handler) cost more retains and releases than the frame itself.
        while true {
            let frame = ownedFrame(UnsafeRawBufferPointer(rebasing: readBuffer.bytes[0..<end]), skipping: headerBytes)
            frameConsumed(end)
            pendingScanOffset = 0
            readsSinceYield &+= 1
            inFrameHandler = true
            let more = handler.handleFrame(frame)
            inFrameHandler = false
            guard draining || state != .closed else { break }  // closed by the handler: framesEnded has run
            guard more else {
                pendingRead = nil
                handler.framesEnded(nil)
                break
            }
            if readsSinceYield >= Self.readsBetweenYields && !draining {
                deferredInlineRead = true  // the trampoline hands the next frame to the loop
                break
            }
            do {
                guard let next = try frameEnd(for: read.target, scanOffset: &pendingScanOffset) else {
                    // No complete frame buffered: the trampoline reads from the fd, or on a
                    // closed stream ends the read with StreamClosedError.
                    deferredInlineRead = true
                    break
                }
                end = next
            } catch {
                handleReadError(error)
                break
            }
        }
        completionDepth -= 1
        runDeferredReads()
    }

    /// Consumes a delivered frame's bytes; an emptied buffer shrinks and the stream watches again.
    @usableFromInline
    final func frameConsumed(_ count: Int) {
        readBuffer.consume(count)
        if readBuffer.isEmpty { readBuffer.shrinkIfIdle(keeping: idleBufferLimit) }
        watchAgainIfNeeded()
    }

    /// The trampoline: once the outermost completion has returned, runs the read one started
    /// (deferred, so chained reads loop instead of recursing), and the read that one started, ….
    /// After ``readsBetweenYields`` reads in a row it hands the next to the loop instead: a peer
    /// that sends faster than the callbacks parse keeps every read satisfied at once, and a chain
    /// that never returned to the loop would keep it from its timers (a deadline among them).
    private func runDeferredReads() {
        guard completionDepth == 0, !trampolining, deferredInlineRead else { return }
        trampolining = true
        while deferredInlineRead {
            deferredInlineRead = false
            if readsSinceYield >= Self.readsBetweenYields {
                readsSinceYield = 0
                loop.callSoon { [self] in tryInlineRead() }  // a no-op if the read ended meanwhile
                break
            }
            tryInlineRead()
        }
        trampolining = false
    }

    /// Reads chunks until the pending read is satisfied, the fd would block, or EOF.
    /// Stops pulling from the fd as soon as the read's target is met (flow control).
    private func readToBufferLoop() throws -> Int? {
        // A bounded number of chunks per call, so one fast peer cannot starve the loop.
        for _ in 0..<64 {
            guard state == .open, pendingRead != nil, !fdDrained else { break }
            if try readToBuffer() == 0 { break }
            deliverStreamingChunk()
            if let end = try findReadPosition() { return end }
        }
        return try findReadPosition()
    }

    /// One read call into the buffer's tail. Returns the byte count (0: would block or EOF; EOF closes).
    func readToBuffer() throws -> Int {
        let tail = readBuffer.reserveTail(readChunkSize)
        guard let n = try readFromFD(into: UnsafeMutableRawBufferPointer(rebasing: tail[0..<readChunkSize])) else {
            if !readFromFDBuffers { fdDrained = true }
            return 0
        }
        if n == 0 {
            closeNow(error: nil)
            return 0
        }
        readBuffer.commit(n)
        if n < readChunkSize && !readFromFDBuffers { fdDrained = true }
        if idleTimeoutValue != nil { lastReceived = IOLoop.time() }
        if readBuffer.count > maxBufferSize {
            throw StreamBufferFullError(buffer: .read, limit: maxBufferSize, size: readBuffer.count)
        }
        return n
    }

    func handleReadError(_ error: any Error) {
        // A read that hit its own limit fails with it: closeNow must not then satisfy it from the
        // closed stream's buffer (a regex match "complete at EOF" that was over the limit before).
        let limitHit = error is UnsatisfiableReadError || error is PatternMismatchError || error is StreamBufferFullError
        let failedRead = limitHit ? pendingRead : nil
        if limitHit { pendingRead = nil }
        if error is UnsatisfiableReadError || error is PatternMismatchError {
            logger.info("Unsatisfiable read, closing connection: \(error)")
        } else if let system = error as? SystemError, system.isConnectionReset {
            // The peer went away: an ordinary event, recorded but not logged.
        } else {
            logger.warning("error on read: \(error)")
        }
        closeNow(error: error)
        failedRead?.delivery.fail(StreamClosedError(realError: error))
    }

    // MARK: - Write machinery

    /// Queues an array slice by reference (a copy only when small, into the coalescing buffer).
    func enqueue(_ data: ArraySlice<UInt8>) throws {
        try checkWritable(adding: data.count)
        writeQueue.append(data)
        bytesQueued += UInt64(data.count)
    }

    /// Queues a copy of bytes the queue cannot keep.
    func enqueue(copying data: UnsafeRawBufferPointer) throws {
        try checkWritable(adding: data.count)
        writeQueue.append(copying: data)
        bytesQueued += UInt64(data.count)
    }

    func enqueue<Bytes: Collection<UInt8>>(contentsOf data: Bytes) throws {
        if let slice = data as? ArraySlice<UInt8> { return try enqueue(slice) }
        if let array = data as? [UInt8] { return try enqueue(array[...]) }
        let copied: Void? = try data.withContiguousStorageIfAvailable { try enqueue(copying: UnsafeRawBufferPointer($0)) }
        if copied == nil { try enqueue(ArraySlice(data)) }  // not contiguous: gathered once
    }

    func enqueue(string: String) throws {
        var string = string
        try string.withUTF8 { try enqueue(copying: UnsafeRawBufferPointer($0)) }
    }

    private func checkWritable(adding count: Int) throws {
        // After closeGracefully the write side is closing: nothing more may be queued.
        guard state != .closed, gracefulClose == nil else { throw StreamClosedError(realError: error) }
        if let limit = maxWriteBufferSize, writeQueue.count + count > limit {
            throw StreamBufferFullError(buffer: .write, limit: limit, size: writeQueue.count + count)
        }
    }

    /// Flushes now unless the stream is connecting or already waiting for the fd to drain.
    private func flushOrWait() {
        let waitingForFD = registeredEvents?.contains(.write) == true && !flushScheduled
        if state == .open && !waitingForFD {
            flushNow()
        } else {
            completeFlushWaiters()
        }
    }

    /// Hands queued bytes to the kernel until it would block.
    func flushNow() {
        flushScheduled = false
        guard state == .open else { return }
        do {
            while !writeQueue.isEmpty {
                guard let n = try writeQueue.send({ try writeToFD($0) }), n > 0 else { break }
                bytesFlushed += UInt64(n)
            }
        } catch {
            if let system = error as? SystemError, system.isConnectionReset {
                // The peer went away: recorded, not logged.
            } else {
                logger.warning("error on write: \(error)")
            }
            closeNow(error: error)
            return
        }
        completeFlushWaiters()
        if state == .open { updateInterest() }
    }

    /// Fails every flush waiter with `error`; their bytes stay queued and are still sent.
    func failFlushWaiters(_ error: any Error) {
        var survivors = FIFO<FlushWaiter>()
        while let waiter = flushWaiters.popFirst() {
            if waiter.survivesDeadline { survivors.append(waiter) } else { waiter.fire(.failure(error)) }
        }
        flushWaiters = survivors
    }

    /// Calls `callback` once the bytes queued so far have been handed to the kernel (internal:
    /// for the graceful close, which must not be failed by a deadline like a user's flush).
    func whenFlushed(_ callback: @escaping (Result<Void, any Error>) -> Void) {
        flushWaiters.append(FlushWaiter(target: bytesQueued, callback: callback, survivesDeadline: true))
        flushOrWait()
    }

    private func completeFlushWaiters() {
        while let first = flushWaiters.first, first.target <= bytesFlushed {
            _ = flushWaiters.popFirst()
            first.fire(.success(()))
        }
    }

    // MARK: - Event handling

    /// A frame was consumed, perhaps outside the event handler (a read satisfied from the buffer,
    /// or by a speculative read): a stream not watching for readability re-checks whether it
    /// should, or an idle one would not notice the peer closing — nor read on once the buffer is
    /// below a chunk again. (With a chunk or more buffered and no read pending it does not read
    /// on: flow control.) Watching already, it costs one comparison.
    @usableFromInline @inline(__always)
    final func watchAgainIfNeeded() {
        if registeredEvents?.contains(.read) != true && state == .open { updateInterest() }
    }

    /// Registers with the loop for what the stream now waits for (Tornado's `_handle_events` tail).
    func updateInterest() {
        guard state != .closed else { return }
        let fd = fileno()
        guard fd >= 0 else { return }
        let wanted = desiredEvents()
        if let registered = registeredEvents {
            guard wanted != registered else { return }
            do {
                try loop.updateHandler(fd, events: wanted)
                registeredEvents = wanted
            } catch {
                closeNow(error: error)
            }
        } else {
            do {
                // The loop keeps a registered stream alive (as Tornado's does) until close removes it.
                try loop.addHandler(fd, events: wanted) { [self] events in self.handleEvents(events) }
                registeredEvents = wanted
            } catch {
                closeNow(error: error)
            }
        }
    }

    /// What the stream waits for now. ``SSLIOStream`` adds what the TLS engine needs.
    func desiredEvents() -> IOEvents {
        var wanted: IOEvents = []
        if state == .connecting {
            wanted.insert(.write)
        } else {
            if pendingRead != nil { wanted.insert(.read) }
            if !writeQueue.isEmpty { wanted.insert(.write) }
            if isLingering { wanted.insert(.read) }  // graceful close: watch for the peer's EOF
            // Idle: listen anyway, to notice the peer closing — while less than a chunk is
            // buffered, so at most two chunks pile up unread (flow control). Not only when the
            // buffer is empty: a reply read in two steps (an HTTP head, then its body) would
            // otherwise unregister and register again, two epoll_ctl calls per request.
            if wanted.isEmpty && readBuffer.count < readChunkSize { wanted.insert(.read) }
        }
        return wanted
    }

    func handleEvents(_ events: IOEvents) {
        guard state != .closed else { return }
        if state == .connecting {
            handleConnectEvent(events)
            if state != .open {
                updateInterest()
                return
            }
        }
        if events.contains(.read) || !events.intersection(.error).isEmpty { fdDrained = false }
        if events.contains(.read) {
            if pendingRead != nil {
                tryInlineRead()
            } else if isLingering {
                discardUntilEOF()
            } else if readBuffer.count < maxBufferSize {
                do { _ = try readToBuffer() } catch { handleReadError(error) }
            }
        }
        guard state == .open else { return }
        if events.contains(.write) || flushScheduled { flushNow() }
        guard state == .open else { return }
        if !events.intersection(.error).isEmpty && !events.contains(.read) {
            if events.rawValue & WS_EPOLLERR == 0 {
                keepBytesLeftAtHangUp()  // the peer hung up; what it sent before is still ours
            } else {
                closeNow(error: getFDError())
            }
            return
        }
        updateInterest()
    }

    /// A hang-up (a pipe's writer closed) reported while no read was pending: the bytes the peer
    /// sent before are still in the fd. Read them into the buffer, through EOF, so later reads get
    /// them — closing at once would drop them. Bounded by `maxBufferSize` as any read.
    private func keepBytesLeftAtHangUp() {
        do {
            while state == .open, try readToBuffer() > 0 {}
        } catch {
            handleReadError(error)
            return
        }
        if state == .open { closeNow(error: nil) }  // no EOF reported: nothing more will come
    }

    /// Stops watching the current fd, e.g. before a subclass replaces it with another.
    func detachFromLoop() {
        if registeredEvents != nil {
            loop.removeHandler(fileno())
            registeredEvents = nil
        }
    }

    /// The fd became writable (or failed) while connecting. Overridden by ``IOStream``.
    func handleConnectEvent(_ events: IOEvents) {}

    /// Marks the connection established: reads and queued writes start.
    func finishConnecting() {
        guard state == .connecting else { return }
        state = .open
        connectionEstablished()
    }

    /// The transport is up: report the connect and start reads and queued writes.
    /// ``SSLIOStream`` runs its handshake first.
    func connectionEstablished() {
        cancelConnectTimer()
        let waiters = connectWaiters
        connectWaiters = []
        for waiter in waiters { waiter(.success(())) }
        guard state == .open else { return }
        if !writeQueue.isEmpty { flushNow() }
        if pendingRead != nil { tryInlineRead() }
        updateInterest()
    }

}

/// Someone waiting for the bytes queued up to `target` to reach the kernel.
final class FlushWaiter {
    let target: UInt64
    let survivesDeadline: Bool  // the graceful close's own waiter: only its own timeout ends it
    private var callback: ((Result<Void, any Error>) -> Void)?

    init(target: UInt64, callback: @escaping (Result<Void, any Error>) -> Void, survivesDeadline: Bool = false) {
        self.target = target
        self.callback = callback
        self.survivesDeadline = survivesDeadline
    }

    /// Calls the callback once; later calls do nothing (completion and cancellation may race).
    func fire(_ result: Result<Void, any Error>) {
        guard let callback else { return }
        self.callback = nil
        callback(result)
    }
}
