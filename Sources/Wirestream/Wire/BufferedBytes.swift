/// The bytes a source has already buffered, read without waiting: what the synchronous twin of a
/// generated parser (`readBuffered(_:depth:)`) reads from, through ``ByteSource/parseBuffered(_:)``.
///
/// ```
///   buffered: "$3\r\nfoo\r\n:1\r\n$5\r\nhel"
///   Reply.readIfBuffered(from: stream)  → .bulk("foo"), 9 bytes consumed
///   Reply.readIfBuffered(from: stream)  → .integer(1), 4 bytes consumed
///   Reply.readIfBuffered(from: stream)  → nil: the async read parses it once the rest arrives
/// ```
///
/// Where a read here would have to wait — its frame is not all buffered — it throws
/// ``Incomplete`` instead, and the parse is abandoned with nothing consumed. A frame found here is
/// the frame the source's own read would return: the same search, the same limits, never at EOF.
///
/// Why a twin: each call of a `nonisolated` async function on a task with an executor preference
/// (every task on a loop) checks the executor on entry and on return, under the task's status
/// lock. A reply parsed from the buffer by the async parser paid four such checks; parsed here it
/// pays none.
public final class BufferedBytes: ByteSource {
    /// Thrown where the parse would wait for bytes that are not buffered: the caller falls back to
    /// the async parser, which reads the message from its start.
    public struct Incomplete: Error {
        @inlinable public init() {}
    }

    // @exclusivity(unchecked): one parse uses an instance, on one thread, and never overlaps its
    // own accesses; the dynamic checks were 8% of a pipelined Redis GET.
    @usableFromInline @exclusivity(unchecked) var bytes: UnsafeRawBufferPointer
    /// Bytes taken so far; the source consumes them once the whole message is parsed.
    @usableFromInline @exclusivity(unchecked) var consumed = 0
    /// Bytes examined by searches, for the source's `bytesScanned`.
    @usableFromInline @exclusivity(unchecked) var scanned = 0
    /// The source's PCRE2 match data, for regex reads (and the frames of nested messages).
    @usableFromInline let scratch: RegexScratch

    @usableFromInline
    init(_ bytes: UnsafeRawBufferPointer, scratch: RegexScratch) {
        self.bytes = bytes
        self.scratch = scratch
    }

    /// Shows the parse no more than `count` more bytes (a budget's remainder).
    @usableFromInline
    func limit(to count: Int) {
        bytes = UnsafeRawBufferPointer(rebasing: bytes[0..<Swift.min(bytes.count, consumed + Swift.max(count, 0))])
    }

    /// Starts over on `bytes`, for reuse by a source's next parse.
    @usableFromInline
    func reset(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        consumed = 0
        scanned = 0
    }

    /// The frame `target` would take from the bytes not yet taken, or `nil` if it is not all here.
    /// Limits throw as the source's reads do; invalid arguments are left to the async read.
    @usableFromInline
    func frame(for target: ReadTarget) throws -> UnsafeRawBufferPointer? {
        guard target.hasValidArguments else { throw Incomplete() }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[consumed...])
        var scanOffset = 0
        guard let end = try target.frameEnd(in: rest, scanOffset: &scanOffset, atEOF: false, bytesScanned: &scanned) else {
            return nil
        }
        return UnsafeRawBufferPointer(rebasing: rest[0..<end])
    }

    /// ``frame(for:)`` for a delimiter read, with the delimiter as it is (no ``ReadTarget`` built).
    @usableFromInline
    func delimitedFrame(_ delimiter: [UInt8], maxBytes: Int?) throws -> UnsafeRawBufferPointer? {
        guard !delimiter.isEmpty, (maxBytes ?? 0) >= 0 else { throw Incomplete() }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[consumed...])
        var scanOffset = 0
        guard let end = try ReadTarget.delimiterFrameEnd(
            delimiter, maxBytes: maxBytes, in: rest, scanOffset: &scanOffset, bytesScanned: &scanned)
        else { return nil }
        return UnsafeRawBufferPointer(rebasing: rest[0..<end])
    }

    /// Lends the frame for `target` to `body` and takes it; `nil` if it is not all buffered.
    @inlinable
    func lend<R>(_ target: ReadTarget, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        guard let frame = try frame(for: target) else { return nil }
        let value = try body(frame)
        consumed += target.consumed(frame.count)
        return value
    }

    @inlinable
    func lendOrThrow<R>(_ target: ReadTarget, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let value = try lend(target, body) else { throw Incomplete() }
        return value
    }

    // MARK: Synchronous reads (what the twin calls)

    /// `readUntil`, or ``Incomplete`` if the frame is not all buffered.
    @inlinable
    public func readUntil<R>(
        _ delimiter: [UInt8], maxBytes: Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        guard let value = try readUntilIfBuffered(delimiter, maxBytes: maxBytes, body) else { throw Incomplete() }
        return value
    }

    /// `readBytes`, or ``Incomplete`` if the bytes are not buffered.
    @inlinable
    public func readBytes<R>(_ count: Int, partial: Bool, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try lendOrThrow(.bytes(count: count, partial: partial), body)
    }

    /// `peek`, or ``Incomplete`` if fewer than `count` bytes are buffered (here no EOF is known).
    @inlinable
    public func peek<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try lendOrThrow(.peek(count: count), body)
    }

    /// `readUntilRegex`, or ``Incomplete`` if no match that cannot grow is buffered.
    @inlinable
    public func readUntilRegex<R>(_ pattern: Pattern, maxBytes: Int?, _ body: (RegexMatchView) throws -> R) throws -> R {
        let searcher = regexSearcher(pattern, maxBytes: maxBytes)
        return try lendOrThrow(.search(searcher)) { try body(searcher.view($0)) }
    }

    @usableFromInline
    func regexSearcher(_ pattern: Pattern, maxBytes: Int?) -> RegexSearcher {
        RegexSearcher(pattern: pattern, maxBytes: maxBytes, scratch: scratch)
    }

    // MARK: ByteSource

    @inlinable
    public func readUntilIfBuffered<R>(
        _ delimiter: [UInt8], maxBytes: Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        guard let frame = try delimitedFrame(delimiter, maxBytes: maxBytes) else { return nil }
        let value = try body(frame)
        consumed += frame.count
        return value
    }

    @inlinable
    public func readBytesIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try lend(.bytes(count: count, partial: false), body)
    }

    @inlinable
    public func peekIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try lend(.peek(count: count), body)
    }

    // The async requirements never wait either: they are the synchronous reads.

    public func readUntil<R>(
        _ delimiter: [UInt8], maxBytes: Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) async throws -> R {
        guard let value = try readUntilIfBuffered(delimiter, maxBytes: maxBytes, body) else { throw Incomplete() }
        return value
    }

    public func readBytes<R>(_ count: Int, partial: Bool, _ body: (UnsafeRawBufferPointer) throws -> R) async throws -> R {
        try lendOrThrow(.bytes(count: count, partial: partial), body)
    }

    public func readUntilRegex<R>(_ pattern: Pattern, maxBytes: Int?, _ body: (RegexMatchView) throws -> R) async throws -> R {
        let searcher = regexSearcher(pattern, maxBytes: maxBytes)
        return try lendOrThrow(.search(searcher)) { try body(searcher.view($0)) }
    }

    public func peek<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) async throws -> R {
        try lendOrThrow(.peek(count: count), body)
    }

    /// A parse of buffered bytes closes nothing: the message is read again by the async parser,
    /// which closes the real source if it must.
    public func close(error: (any Error)?) {}
}
