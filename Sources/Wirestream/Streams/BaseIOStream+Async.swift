/// The `async` forms of the stream operations.
///
/// Each works from any task. On the loop's task executor
/// (`withTaskExecutorPreference(stream.loop) { … }`) a read that the buffer already satisfies
/// returns without suspending, allocating or making a system call.
///
/// **Cancellation.** Cancelling the task of a pending read withdraws the read: it throws
/// `CancellationError`, nothing is consumed (reads consume their frame only on success), and the
/// stream stays open and usable. A streaming read that already delivered chunks keeps them
/// delivered. Cancelling a pending write or flush throws `CancellationError`, but its bytes stay
/// queued and are still sent — bytes handed to a stream cannot be taken back.
extension BaseIOStream {
    // MARK: Reads
    //
    // The everyday reads are always inlined, their buffered path then part of the caller: these
    // functions are `nonisolated(nonsending)`, and from a caller that is not (a module without
    // that feature) the optimizer otherwise kept some of them as async calls, each with a
    // task-allocated frame — owned lines 0.76 s → 0.90 s, copying lines 0.90 s → 1.17 s per 20 M.

    /// Reads `count` bytes (with `partial`, 1…`count` as soon as any are buffered).
    /// - Throws: ``StreamClosedError`` if the stream closes first.
    @inlinable @inline(__always)
    public func readBytes(_ count: Int, partial: Bool = false) async throws -> [UInt8] {
        let target = ReadTarget.bytes(count: count, partial: partial)
        if let bytes = try readBuffered(target, { [UInt8]($0) }) { return bytes }
        return try await waitForRead(target, streaming: nil) { [UInt8]($0) }
    }

    /// Reads `count` bytes (or 1…`count` with `partial`) and lends them to `body` in place; returns
    /// its result. The bytes are consumed afterwards, even if `body` throws.
    @inlinable @inline(__always)
    public func readBytes<R>(
        _ count: Int, partial: Bool = false, _ body: (UnsafeRawBufferPointer) throws -> R
    ) async throws -> R {
        let target = ReadTarget.bytes(count: count, partial: partial)
        if let result = try readBuffered(target, body) { return result }
        return try await waitForRead(target, streaming: nil, body)
    }

    /// The bodies handed to `withoutActuallyEscaping` (a streaming read's, a waiting read's),
    /// typed so they run where their caller does: a closure literal there is checked as if it
    /// were sent to another executor, and the region checker rejects it.
    typealias StreamingRead = nonisolated(nonsending) (@escaping (UnsafeRawBufferPointer) -> Void) async throws -> Void
    @usableFromInline
    typealias ReadWait = nonisolated(nonsending) (@escaping (UnsafeRawBufferPointer) throws -> Void) async throws -> Void

    /// Hands `count` bytes to `handler` in chunks as they arrive (on the loop thread).
    public func streamBytes(_ count: Int, to handler: (UnsafeRawBufferPointer) -> Void) async throws {
        let read: StreamingRead = { streaming in
            try await self.performRead(.streamingBytes(remaining: count), streaming: streaming) { _ in () }
        }
        try await withoutActuallyEscaping(handler, do: read)
    }

    /// Reads through the end of `delimiter`.
    /// - Throws: ``StreamClosedError``; when the delimiter does not end within `maxBytes`, its
    ///   `realError` is ``UnsatisfiableReadError`` and the stream is closed.
    @inlinable @inline(__always)
    public func readUntil(_ delimiter: [UInt8], maxBytes: Int? = nil) async throws -> [UInt8] {
        if let frame = bufferedDelimitedFrame(delimiter, maxBytes: maxBytes) {
            let bytes = [UInt8](frame)
            frameConsumed(frame.count)
            return bytes
        }
        return try await waitForRead(.delimiter(delimiter, maxBytes: maxBytes), streaming: nil) { [UInt8]($0) }
    }

    /// The borrowing delimiter read: lends the frame (delimiter included) to `body` in place.
    @inlinable @inline(__always)
    public func readUntil<R>(
        _ delimiter: [UInt8], maxBytes: Int? = nil, _ body: (UnsafeRawBufferPointer) throws -> R
    ) async throws -> R {
        if let result = try readUntilIfBuffered(delimiter, maxBytes: maxBytes, body) { return result }
        return try await waitForRead(.delimiter(delimiter, maxBytes: maxBytes), streaming: nil, body)
    }

    /// Reads through the end of `delimiter`, as ``readUntil(_:maxBytes:)``, and returns the frame as
    /// a ``ReadFrame`` that shares the read buffer's memory: no allocation, no copy.
    @inlinable @inline(__always)
    public func readFrame(until delimiter: [UInt8], maxBytes: Int? = nil) async throws -> ReadFrame {
        if let frame = bufferedDelimitedFrame(delimiter, maxBytes: maxBytes) {
            let owned = ownedFrame(frame)
            frameConsumed(frame.count)
            return owned
        }
        return try await waitForRead(.delimiter(delimiter, maxBytes: maxBytes), streaming: nil) { self.ownedFrame($0) }
    }

    /// Reads `count` bytes (with `partial`, 1…`count` as soon as any are buffered), as
    /// ``readBytes(_:partial:)``, and returns them as a ``ReadFrame`` that shares the read buffer's memory.
    @inlinable @inline(__always)
    public func readFrame(count: Int, partial: Bool = false) async throws -> ReadFrame {
        let target = ReadTarget.bytes(count: count, partial: partial)
        if let frame = bufferedOwnedFrame(for: target) { return frame }
        return try await waitForRead(target, streaming: nil) { self.ownedFrame($0) }
    }

    /// Reads one frame cut by `framing`, as ``readFrame(_:callback:)``: a length-prefixed frame in
    /// one read, returned without its prefix.
    public func readFrame(_ framing: Framing) async throws -> ReadFrame {
        let headerBytes = framing.headerBytes
        if let frame = bufferedOwnedFrame(for: framing.target, skipping: headerBytes) { return frame }
        return try await waitForRead(framing.target, streaming: nil) { self.ownedFrame($0, skipping: headerBytes) }
    }

    /// Reads everything until EOF. On a closed stream, returns what is buffered.
    public func readUntilClose() async throws -> [UInt8] {
        try await performRead(.untilClose, streaming: nil) { [UInt8]($0) }
    }

    /// Hands everything until EOF to `handler`, buffered bytes first.
    public func streamUntilClose(to handler: (UnsafeRawBufferPointer) -> Void) async throws {
        let read: StreamingRead = { streaming in
            try await self.performRead(.untilClose, streaming: streaming) { _ in () }
        }
        try await withoutActuallyEscaping(handler, do: read)
    }

    /// Lends the next `count` bytes to `body` without consuming them (lookahead); fewer than
    /// `count` only when the stream reaches EOF first.
    /// - Throws: ``StreamClosedError`` if the stream closes with nothing buffered.
    @inlinable
    public func peek<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) async throws -> R {
        let target = ReadTarget.peek(count: count)
        if let result = try readBuffered(target, body) { return result }
        return try await waitForRead(target, streaming: nil, body)
    }

    /// Reads into `buffer` (fully, or 1…`buffer.count` bytes with `partial`); returns the count.
    public func readInto(_ buffer: UnsafeMutableRawBufferPointer, partial: Bool = false) async throws -> Int {
        try await performRead(.bytes(count: buffer.count, partial: partial), streaming: nil) { frame in
            buffer.copyMemory(from: frame)
            return frame.count
        }
    }

    /// The fast path: if called on the loop thread with no read pending and the buffer already
    /// holds the frame, lends it to `body`, consumes it and returns the result — synchronously, so
    /// an async read satisfied from the buffer costs a function call (no suspension, no executor
    /// switch, no allocation). Otherwise returns `nil` and the caller takes the async path.
    ///
    /// Inlinable, so it is specialized for the caller's `R`; the work is in the two non-generic
    /// calls it makes (unspecialized, storing the `R?` through value witnesses cost more than the
    /// bookkeeping around the search).
    @inlinable
    final func readBuffered<R>(_ target: ReadTarget, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        guard let frame = bufferedFrame(for: target) else { return nil }
        return try lend(frame, consuming: target.consumed(frame.count), body)
    }

    /// Lends `frame`, lying in the read buffer, to `body`, then consumes `count` bytes — even if
    /// `body` throws, as for every read. While it runs no read can start (``lendingFrame``).
    @inlinable
    final func lend<R>(
        _ frame: UnsafeRawBufferPointer, consuming count: Int, _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        lendingFrame = true
        defer {
            lendingFrame = false
            frameConsumed(count)
        }
        return try body(frame)
    }

    /// ``readBuffered(_:_:)`` for the owned-frame reads, with no closure: passing one (even
    /// `ownedFrame` itself) cost a retain and release of the stream per frame, as much again as
    /// the frame's own reference to the buffer's block.
    @usableFromInline
    final func bufferedOwnedFrame(for target: ReadTarget, skipping headerBytes: Int = 0) -> ReadFrame? {
        guard let frame = bufferedFrame(for: target) else { return nil }
        let owned = ownedFrame(frame, skipping: headerBytes)
        frameConsumed(target.consumed(frame.count))
        return owned
    }

    /// Whether a fast path may serve a read (or a parse) from the buffer now: on the loop thread
    /// (checked first: off the loop, the rest is the loop's to change), no read pending, no frame
    /// lent, bytes buffered, and the reader not due to yield.
    @inline(__always)
    final var mayServeFromBuffer: Bool {
        loop.inLoopThread && pendingRead == nil && !lendingFrame && !readBuffer.isEmpty
            && readsSinceYield < Self.readsBetweenYields
    }

    /// The frame for `target` if a fast path may serve it now: in the buffer, on the loop thread,
    /// no read pending, and the reader not due to yield. Counts the read toward that yield.
    @usableFromInline
    final func bufferedFrame(for target: ReadTarget) -> UnsafeRawBufferPointer? {
        // An invalid read (negative count, …) is left to the waiting path: startRead fails it with
        // InvalidReadError, for every form, in one place.
        // The thread first: off the loop, the buffer and the pending read are the loop's to change.
        guard mayServeFromBuffer, target.hasValidArguments else { return nil }
        var scanOffset = 0
        guard let end = try? frameEnd(for: target, scanOffset: &scanOffset) else { return nil }
        readsSinceYield &+= 1
        return UnsafeRawBufferPointer(rebasing: readBuffer.bytes[0..<end])
    }

    /// ``bufferedFrame(for:)`` for a delimiter read, with the delimiter as it is (no
    /// ``ReadTarget`` built: see ``ReadTarget/delimiterFrameEnd(_:maxBytes:in:scanOffset:bytesScanned:)``).
    @usableFromInline
    final func bufferedDelimitedFrame(_ delimiter: [UInt8], maxBytes: Int?) -> UnsafeRawBufferPointer? {
        // Invalid arguments are left to the waiting path, which fails them (as bufferedFrame does).
        guard mayServeFromBuffer, !delimiter.isEmpty, (maxBytes ?? 0) >= 0 else { return nil }
        var scanOffset = 0
        guard let end = try? ReadTarget.delimiterFrameEnd(
            delimiter, maxBytes: maxBytes, in: readBuffer.bytes, scanOffset: &scanOffset, bytesScanned: &bytesScanned)
        else { return nil }
        readsSinceYield &+= 1
        return UnsafeRawBufferPointer(rebasing: readBuffer.bytes[0..<end])
    }

    /// The read, for callers that have not tried ``readBuffered(_:_:)``: tries it, then waits.
    func performRead<R>(
        _ target: ReadTarget, streaming: ((UnsafeRawBufferPointer) -> Void)?,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) async throws -> R {
        if streaming == nil, let result = try readBuffered(target, body) { return result }
        return try await waitForRead(target, streaming: streaming, body)
    }

    /// How many reads a task on the loop gets from the buffer in a row before it yields once (and
    /// a chain of callback reads before its next read goes through the loop).
    /// A peer that sends faster than the task parses keeps the buffer full, and a parse that never
    /// suspends would keep the loop from its timers — a caller's deadline among them (a flood of
    /// memcached values held a 2 s deadline for 13 s under AddressSanitizer). One yield per 1,024
    /// reads costs well under 1% of the fastest reads.
    static let readsBetweenYields = 1024

    /// The read after ``readBuffered(_:_:)`` found no frame (or the task is due to yield): starts
    /// it on the loop and waits.
    ///
    /// Inlinable, and generic only down to here: the wait itself (``suspendForRead(_:streaming:_:)``)
    /// takes a closure that stores `body`'s result in this frame, so it runs with no generic
    /// parameter — unspecialized, a waiting read spent more time looking up the metadata of its
    /// completion object and result types than on the read.
    @inlinable
    final func waitForRead<R>(
        _ target: ReadTarget, streaming: ((UnsafeRawBufferPointer) -> Void)?,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) async throws -> R {
        if takeDueYield() {
            await Task.yield()
            if streaming == nil, let result = try readBuffered(target, body) { return result }
        }
        var result: R?
        func take(_ frame: UnsafeRawBufferPointer) throws { result = try body(frame) }
        let wait: ReadWait = { take in
            try await self.suspendForRead(target, streaming: streaming, take)
        }
        try await withoutActuallyEscaping(take, do: wait)
        return result!  // suspendForRead returns only after `take` stored it
    }

    /// True (and the count starts again) when a task on the loop has had ``readsBetweenYields``
    /// reads from the buffer in a row: it yields before the next.
    @usableFromInline
    final func takeDueYield() -> Bool {
        guard loop.inLoopThread, readsSinceYield >= Self.readsBetweenYields else { return false }
        readsSinceYield = 0
        return true
    }

    /// Starts the read on the loop and waits for it; `take` converts the frame while it is lent.
    @usableFromInline
    final func suspendForRead(
        _ target: ReadTarget, streaming: ((UnsafeRawBufferPointer) -> Void)?,
        _ take: @escaping (UnsafeRawBufferPointer) throws -> Void
    ) async throws {
        let completion = AsyncReadCompletion(transform: take, streaming: streaming)
        let start = UncheckedTransfer(target)
        let begin: @Sendable () -> Void = { [self] in
            if completion.cancelled.load(ordering: .acquiring) {
                completion.fail(CancellationError())
            } else {
                self.startRead(start.value, streaming: completion.streamingForwarder, completion)
            }
        }
        let onLoop = loop.inLoopThread
        if onLoop {
            begin()  // may complete at once (a speculative read found the frame)
            if let result = completion.result { return try result.get() }
        }
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                if onLoop {
                    completion.attach(continuation)
                } else {
                    // Attach on the loop too: the completion is only ever touched there.
                    loop.addCallback {
                        completion.attach(continuation)
                        begin()
                    }
                }
            }
        } onCancel: {
            completion.cancelled.store(true, ordering: .releasing)
            loop.addCallback { self.cancelRead(completion) }
        }
    }

    private func cancelRead(_ completion: ReadCompletion) {
        guard case .completion(let pending)? = pendingRead?.delivery, pending === completion else { return }
        pendingRead = nil
        completion.fail(CancellationError())
        updateInterest()
    }

    // MARK: Writes

    /// Queues `data` and returns once it has been handed to the kernel (the array is referenced).
    /// - Throws: ``StreamClosedError`` on a closed stream or if it closes first — past
    ///   ``maxWriteBufferSize`` the stream closes and `realError` is ``StreamBufferFullError``.
    public func write(_ data: [UInt8]) async throws {
        try await withOperation(cancellable: true) { stream, callback in stream.write(data, callback: callback) }
    }

    /// Queues any bytes (`ArraySlice<UInt8>` referenced; `UnsafeRawBufferPointer`, `Data`, … copied
    /// once) and returns once they have been handed to the kernel. The bytes are queued before the
    /// first suspension, so `data` need only be valid for the call.
    public func write(_ data: some Collection<UInt8>) async throws {
        guard loop.inLoopThread else {
            // Crossing to the loop thread: the bytes travel as an array (one copy, made now).
            let bytes = data as? [UInt8] ?? Array(data)
            return try await write(bytes)
        }
        do { try enqueue(contentsOf: data) } catch { throw writeRefused(error) }
        try await flush()  // waits for everything queued so far: these bytes included
    }

    /// Queues the UTF-8 bytes of `string` and returns once they have been handed to the kernel.
    public func write(_ string: String) async throws {
        try await withOperation(cancellable: true) { stream, callback in stream.write(string, callback: callback) }
    }

    /// Returns once everything queued so far has been handed to the kernel.
    public func flush() async throws {
        try await withOperation(cancellable: true) { stream, callback in stream.flush(callback: callback) }
    }

    /// Runs a callback-form operation on the loop and awaits its callback; returns without
    /// suspending when called on the loop and the operation completes at once. With `cancellable`,
    /// cancelling the task throws `CancellationError` (the operation itself goes on).
    func withOperation(
        cancellable: Bool = false,
        _ operation: @escaping @Sendable (BaseIOStream, @escaping (Result<Void, any Error>) -> Void) -> Void
    ) async throws {
        let outcome = OneShot<Void>()
        let onLoop = loop.inLoopThread
        if onLoop {
            operation(self) { outcome.complete($0) }
            if let result = outcome.result { return try result.get() }
        }
        let wait = { [self] in
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                if onLoop {
                    outcome.attach(continuation)
                } else {
                    self.loop.addCallback {
                        outcome.attach(continuation)
                        operation(self) { outcome.complete($0) }
                    }
                }
            }
        }
        guard cancellable else { return try await wait() }
        try await withTaskCancellationHandler {
            try await wait()
        } onCancel: {
            loop.addCallback { outcome.complete(.failure(CancellationError())) }
        }
    }
}

/// A result that may arrive before or after the task suspends; first outcome wins.
final class OneShot<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: touched only on the stream's loop thread.
    private(set) var result: Result<Value, any Error>?
    private var continuation: UnsafeContinuation<Value, any Error>?

    func attach(_ continuation: UnsafeContinuation<Value, any Error>) {
        if let result {
            continuation.resume(with: result)
        } else {
            self.continuation = continuation
        }
    }

    func complete(_ outcome: Result<Value, any Error>) {
        guard result == nil else { return }
        result = outcome
        if let continuation {
            self.continuation = nil
            continuation.resume(with: outcome)
        }
    }
}
