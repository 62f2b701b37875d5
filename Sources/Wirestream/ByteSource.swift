/// Where a parser reads from: the seam between the stream core and the wire-grammar parsers.
///
/// Every read lends its frame to `body` in place (no intermediate array) and consumes it once
/// `body` returns. A stream (``BaseIOStream``) is a byte source, and so is ``MemoryByteSource``,
/// which replays bytes split into chunks exactly as given — for tests and fuzzers, so the same
/// parser is driven by a socket or by memory, and its results can be checked against every split.
///
/// Errors are the streams': ``StreamClosedError`` at EOF (or after a close), with `realError`
/// ``UnsatisfiableReadError`` when a frame does not end within `maxBytes`.
///
/// Still to come with the grammar compiler (issue 5): `peek` (lookahead without consuming) and a
/// limited, throwing `readUntilClose(maxBytes:_:)` for streamed fields.
public protocol ByteSource: AnyObject {
    /// Lends the bytes through the end of `delimiter` (ending within `maxBytes`), then consumes them.
    func readUntil<R>(
        _ delimiter: [UInt8], maxBytes: Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) async throws -> R

    /// Lends exactly `count` bytes (with `partial`, 1…`count` as soon as any are there), then consumes them.
    func readBytes<R>(_ count: Int, partial: Bool, _ body: (UnsafeRawBufferPointer) throws -> R) async throws -> R

    /// Lends the bytes through the end of the first match of `pattern`, with its groups, then consumes them.
    func readUntilRegex<R>(_ pattern: Pattern, maxBytes: Int?, _ body: (RegexMatchView) throws -> R) async throws -> R
}

extension BaseIOStream: ByteSource {}
