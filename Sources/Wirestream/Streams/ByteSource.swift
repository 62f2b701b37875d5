/// Where a parser reads from: the seam between the stream core and the wire-grammar parsers.
///
/// Every read lends its frame to `body` in place (no intermediate array) and consumes it once
/// `body` returns. A stream (``BaseIOStream``) is a byte source, and so is ``MemoryByteSource``,
/// which replays bytes split into chunks exactly as given — for tests and fuzzers, so the same
/// parser is driven by a socket or by memory, and its results can be checked against every split.
///
/// Errors are the streams': ``StreamClosedError`` at EOF (or after a close), with `realError`
/// ``UnsatisfiableReadError`` when a frame does not end within `maxBytes`.
public protocol ByteSource: AnyObject {
    /// Lends the bytes through the end of `delimiter` (ending within `maxBytes`), then consumes them.
    func readUntil<R>(
        _ delimiter: [UInt8], maxBytes: Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) async throws -> R

    /// Lends exactly `count` bytes (with `partial`, 1…`count` as soon as any are there), then consumes them.
    func readBytes<R>(_ count: Int, partial: Bool, _ body: (UnsafeRawBufferPointer) throws -> R) async throws -> R

    /// Lends the bytes through the end of the first match of `pattern`, with its groups, then consumes them.
    func readUntilRegex<R>(_ pattern: Pattern, maxBytes: Int?, _ body: (RegexMatchView) throws -> R) async throws -> R

    /// Lends the next `count` bytes without consuming them (fewer only at EOF): lookahead.
    func peek<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) async throws -> R

    /// `readUntil` if it can complete without waiting (the frame is buffered), else `nil` — then
    /// call the async form. A synchronous call, so a parser reading buffered frames pays no
    /// async call per frame. (Default: always `nil`.)
    func readUntilIfBuffered<R>(
        _ delimiter: [UInt8], maxBytes: Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R?

    /// `readBytes(count, partial: false)` if it can complete without waiting, else `nil`.
    func readBytesIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R?

    /// `peek` if it can complete without waiting, else `nil`. (Default: always `nil`.)
    func peekIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R?

    /// Runs `parse` over the bytes buffered now — a generated parser's synchronous twin — and
    /// consumes what it took if it returns. `nil`, with nothing consumed, if `parse` throws
    /// (``BufferedBytes/Incomplete`` where it would have waited) or the source cannot lend its
    /// buffer now (a stream off its loop thread, or with a read pending). `parse` must not keep
    /// the ``BufferedBytes``: the source reuses it. (Default: always `nil`.)
    func parseBuffered<R>(_ parse: (BufferedBytes) throws -> R) -> R?

    /// The largest frame one read may lend (a stream's ``BaseIOStream/maxBufferSize``); `nil`: no
    /// limit of the source's own. A reader that takes a large frame in pieces checks it first, so
    /// the limit holds as if the frame were lent whole. (Default: `nil`.)
    var maxFrameBytes: Int? { get }

    /// Closes the source, recording `error` as the reason (`nil`: an orderly close). Reads the
    /// buffered bytes satisfy still complete; every other read fails with ``StreamClosedError``.
    func close(error: (any Error)?)
}

extension ByteSource {
    public var maxFrameBytes: Int? { nil }

    public func readUntilIfBuffered<R>(
        _ delimiter: [UInt8], maxBytes: Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? { nil }

    public func readBytesIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? { nil }

    public func peekIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? { nil }

    public func parseBuffered<R>(_ parse: (BufferedBytes) throws -> R) -> R? { nil }
}

extension ByteSource {
    /// Lends every chunk until EOF to `chunk` in turn, as it arrives, and returns the number of
    /// bytes lent; a plain EOF ends the read. Once more than `maxBytes` would have been lent it fails
    /// as every `maxBytes` read does: the source closes with ``UnsatisfiableReadError`` and the
    /// read throws ``StreamClosedError`` whose `realError` is it. A source closed by an error
    /// throws that error's ``StreamClosedError``.
    public func streamUntilClose(
        maxBytes: Int? = nil, chunkSize: Int = 65_536, to chunk: (UnsafeRawBufferPointer) throws -> Void
    ) async throws -> Int {
        if let maxBytes, maxBytes < 0 { throw InvalidReadError(.negativeMaxBytes(maxBytes)) }
        var total = 0
        while true {
            let limit = maxBytes.map { $0 - total } ?? chunkSize
            // One byte past the limit tells "exactly at the limit, then EOF" from "over the limit".
            let want = min(chunkSize, max(limit, 0) + 1)
            do {
                let count = try await readBytes(want, partial: true) { bytes in
                    if let maxBytes, total + bytes.count > maxBytes {
                        throw UnsatisfiableReadError(maxBytes: maxBytes, searchingFor: "end of stream")
                    }
                    try chunk(bytes)
                    return bytes.count
                }
                total += count
            } catch let error as StreamClosedError where error.realError == nil {
                return total
            } catch let error as UnsatisfiableReadError {
                close(error: error)
                throw StreamClosedError(realError: error)
            }
        }
    }
}

extension BaseIOStream: ByteSource {
    public var maxFrameBytes: Int? { maxBufferSize }

    @inlinable
    public func readUntilIfBuffered<R>(
        _ delimiter: [UInt8], maxBytes: Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        guard let frame = bufferedDelimitedFrame(delimiter, maxBytes: maxBytes) else { return nil }
        return try lend(frame, consuming: frame.count, body)
    }

    @inlinable
    public func readBytesIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try readBuffered(.bytes(count: count, partial: false), body)
    }

    @inlinable
    public func peekIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try readBuffered(.peek(count: count), body)
    }

    @inlinable
    public func parseBuffered<R>(_ parse: (BufferedBytes) throws -> R) -> R? {
        guard let bytes = lendBuffer() else { return nil }
        lendingFrame = true
        let value = try? parse(bytes)
        lendingFrame = false
        returnBuffer(bytes, consuming: value != nil)
        return value
    }

    /// The buffered bytes as ``BufferedBytes``, if a parse may read them now
    /// (``mayServeFromBuffer``). The stream keeps one instance for its parses; none can nest,
    /// as a parse lends the frame.
    @usableFromInline
    final func lendBuffer() -> BufferedBytes? {
        guard mayServeFromBuffer else { return nil }
        guard let bytes = idleBufferedBytes.take() else { return BufferedBytes(readBuffer.bytes, scratch: regexScratch) }
        bytes.reset(readBuffer.bytes)
        return bytes
    }

    /// A parse is over: if it succeeded, consumes what it took (it counts as one read).
    @usableFromInline
    final func returnBuffer(_ bytes: BufferedBytes, consuming: Bool) {
        if consuming {
            readsSinceYield &+= 1
            bytesScanned += bytes.scanned
            frameConsumed(bytes.consumed)
        }
        bytes.reset(UnsafeRawBufferPointer(start: nil, count: 0))
        idleBufferedBytes = bytes
    }
}
