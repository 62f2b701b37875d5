/// A ``ByteSource`` over bytes in memory, delivered in the chunks given, then EOF.
///
/// ```
///   MemoryByteSource(chunks: [Array("HTTP/1.0 2".utf8), Array("00 OK\r\n".utf8)])
///   readUntil("\r\n")  → looks at "HTTP/1.0 2", takes the next chunk, finds "HTTP/1.0 200 OK\r\n"
/// ```
/// A read sees one more chunk each time the buffered bytes do not satisfy it — the same order of
/// events as a stream receiving those chunks — so a parser's results can be checked for every split
/// of its input. Searches resume as the stream's do, and limits and errors are the stream's.
/// Reads never suspend.
public final class MemoryByteSource: ByteSource {
    private var buffer: [UInt8] = []
    private var start = 0  // first unconsumed byte of `buffer`
    // The whole input, and where each chunk of it ends: chunk i is input[ends[i-1]..<ends[i]].
    // One array, so a source of many tiny chunks costs no allocation per chunk.
    private let input: [UInt8]
    private var chunkEnds: [Int]
    private var nextChunk = 0  // the first chunk not yet delivered
    private var closedError: (any Error)??  // set once the source is closed: .some(nil) is a plain EOF
    private let scratch = RegexScratch()

    /// Bytes consumed so far: the offset of the next frame in the whole input.
    public private(set) var offset = 0

    /// A source delivering `chunks` one by one, then EOF.
    public convenience init(chunks: [[UInt8]]) {
        var ends: [Int] = []
        ends.reserveCapacity(chunks.count)
        var total = 0
        for chunk in chunks {
            total += chunk.count
            ends.append(total)
        }
        self.init(Array(chunks.joined()), chunkEnds: ends)
    }

    /// A source delivering `bytes` in chunks of `chunkSize` (the last may be shorter).
    public convenience init(_ bytes: [UInt8], chunkSize: Int = .max) {
        precondition(chunkSize > 0)
        self.init(bytes, chunkEnds: Array(stride(from: min(chunkSize, bytes.count), to: bytes.count, by: chunkSize)) + (bytes.isEmpty ? [] : [bytes.count]))
    }

    /// A source delivering `bytes` in chunks that end at `chunkEnds` (ascending, the last
    /// `bytes.count`).
    init(_ bytes: [UInt8], chunkEnds: [Int]) {
        precondition(chunkEnds.last ?? 0 == bytes.count, "the last chunk ends where the bytes do")
        self.input = bytes
        self.chunkEnds = chunkEnds
    }

    /// True once every chunk has been delivered.
    public var atEOF: Bool { nextChunk == chunkEnds.count }

    /// Closes the source as a stream closes: chunks not yet delivered are dropped, buffered
    /// bytes stay readable, `error` becomes every later failure's `realError`.
    public func close(error: (any Error)? = nil) {
        guard closedError == nil else { return }
        closedError = .some(error)
        nextChunk = chunkEnds.count
    }

    public func readUntil<R>(
        _ delimiter: [UInt8], maxBytes: Int? = nil, _ body: (UnsafeRawBufferPointer) throws -> R
    ) async throws -> R {
        return try read(.delimiter(delimiter, maxBytes: maxBytes), body)
    }

    public func readBytes<R>(
        _ count: Int, partial: Bool = false, _ body: (UnsafeRawBufferPointer) throws -> R
    ) async throws -> R {
        return try read(.bytes(count: count, partial: partial), body)
    }

    public func readUntilRegex<R>(
        _ pattern: Pattern, maxBytes: Int? = nil, _ body: (RegexMatchView) throws -> R
    ) async throws -> R {
        let searcher = RegexSearcher(pattern: pattern, maxBytes: maxBytes, scratch: scratch)
        return try read(.search(searcher)) { try body(searcher.view($0)) }
    }

    /// A memory source never waits: this is `readUntil`, and never `nil`.
    public func readUntilIfBuffered<R>(
        _ delimiter: [UInt8], maxBytes: Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        return try read(.delimiter(delimiter, maxBytes: maxBytes), body)
    }

    /// A memory source never waits: this is `readBytes`, and never `nil`.
    public func readBytesIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        return try read(.bytes(count: count, partial: false), body)
    }

    public func peek<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) async throws -> R {
        return try read(.peek(count: count), body)
    }

    /// A memory source never waits: this is `peek`, and never `nil`.
    public func peekIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        return try read(.peek(count: count), body)
    }

    /// The bytes delivered and not yet consumed, parsed without taking another chunk.
    public func parseBuffered<R>(_ parse: (BufferedBytes) throws -> R) -> R? {
        guard start < buffer.count else { return nil }
        let (value, consumed) = buffer.withUnsafeBytes { raw -> (R?, Int) in
            let bytes = BufferedBytes(UnsafeRawBufferPointer(rebasing: raw[start...]), scratch: scratch)
            return (try? parse(bytes), bytes.consumed)
        }
        guard let value else { return nil }
        start += consumed
        offset += consumed
        return value
    }

    /// Finds the target's frame (searching again after each new chunk, as a stream does), lends
    /// it to `body`, consumes it.
    private func read<R>(_ target: ReadTarget, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if let invalid = target.invalidArgument { throw invalid }
        var scanOffset = 0
        var scanned = 0
        while true {
            let end: Int?
            do {
                end = try buffer.withUnsafeBytes { raw in
                    try target.frameEnd(
                        in: UnsafeRawBufferPointer(rebasing: raw[start...]), scanOffset: &scanOffset,
                        atEOF: closedError != nil, bytesScanned: &scanned)
                }
            } catch {
                closedError = .some(error)  // an unsatisfiable read closes the source, as it closes a stream
                throw StreamClosedError(realError: error)
            }
            if let end {
                defer {
                    start += target.consumed(end)
                    offset += target.consumed(end)
                }
                return try buffer.withUnsafeBytes { raw in
                    try body(UnsafeRawBufferPointer(rebasing: raw[start..<(start + end)]))
                }
            }
            if let closedError { throw StreamClosedError(realError: closedError) }
            guard nextChunk < chunkEnds.count else {
                closedError = .some(nil)  // EOF: one more search at EOF (a regex may complete), then fail
                continue
            }
            if start > 0 && start * 2 >= buffer.count {
                buffer.removeFirst(start)
                start = 0
            }
            buffer += input[(nextChunk == 0 ? 0 : chunkEnds[nextChunk - 1])..<chunkEnds[nextChunk]]
            nextChunk += 1
        }
    }
}
