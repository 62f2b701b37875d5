/// `readUntilRegex`: read through the end of the first match of a PCRE2 pattern.
extension BaseIOStream {
    /// Reads through the end of the first match of `pattern` and returns the bytes and the groups.
    ///
    /// The search is incremental (it resumes where a match could still start) and independent of
    /// how the data was split into reads: a match that touches the end of the buffered data and
    /// could grow waits for more data or EOF. With `maxBytes`, a match ending past `maxBytes`, or
    /// no match within `maxBytes` buffered bytes, closes the stream with ``UnsatisfiableReadError``
    /// and the read fails with ``StreamClosedError``. On close, a pending read the buffer can
    /// satisfy is satisfied.
    @inlinable @inline(__always)
    public func readUntilRegex(_ pattern: Pattern, maxBytes: Int? = nil) async throws -> RegexMatch {
        if let match = try readBufferedRegex(pattern, maxBytes: maxBytes, { $0.copy() }) { return match }
        return try await readUntilRegexNotServed(pattern, maxBytes: maxBytes) { $0.copy() }
    }

    /// The borrowing form: lends the frame and its groups to `body` in place.
    ///
    /// Always inlined: the buffered fast path is then part of the caller, and a match served from
    /// the buffer costs no async call (each one's executor checks took half a `\r?\n` line's time).
    @inlinable @inline(__always)
    public func readUntilRegex<R>(
        _ pattern: Pattern, maxBytes: Int? = nil, _ body: (RegexMatchView) throws -> R
    ) async throws -> R {
        if let result = try readBufferedRegex(pattern, maxBytes: maxBytes, body) { return result }
        return try await readUntilRegexNotServed(pattern, maxBytes: maxBytes, body)
    }

    /// A regex read the fast path did not serve: another pattern than the last read's (a stream
    /// alternating two: still served from the buffer, with the searcher just made), or a wait.
    @inlinable
    final func readUntilRegexNotServed<R>(
        _ pattern: Pattern, maxBytes: Int?, _ body: (RegexMatchView) throws -> R
    ) async throws -> R {
        let searcher = regexSearcher(pattern, maxBytes: maxBytes)
        let target = ReadTarget.search(searcher)
        if let result = try readBuffered(target, { try body(searcher.view($0)) }) { return result }
        return try await waitForRead(target, streaming: nil) { try body(searcher.view($0)) }
    }

    /// The buffered fast path of a regex read, for the pattern and limit of the stream's last
    /// regex read: it uses that read's searcher, which the stream holds, unretained — a retain and
    /// release per read were a fifth of a `\r?\n` line. While `body` runs no read can start
    /// (``lendingFrame``), so nothing resets or replaces that searcher.
    /// `nil`: the slow path decides (another pattern, no frame buffered, or an error to report).
    @inlinable
    final func readBufferedRegex<R>(_ pattern: Pattern, maxBytes: Int?, _ body: (RegexMatchView) throws -> R) throws -> R? {
        guard loop.inLoopThread, let stored = lastRegexSearcherRef else { return nil }  // the thread first: the loop's state
        return try stored._withUnsafeGuaranteedRef { searcher -> R? in
            guard searcher.pattern === pattern, searcher.maxBytes == maxBytes, let frame = bufferedRegexFrame(searcher) else {
                return nil
            }
            return try lend(frame, consuming: frame.count) { try body(searcher.view($0)) }
        }
    }

    /// The frame `searcher` finds in the buffer, if a fast path may serve it now (see
    /// ``bufferedFrame(for:)``); counts the read toward the yield.
    @usableFromInline
    final func bufferedRegexFrame(_ searcher: RegexSearcher) -> UnsafeRawBufferPointer? {
        guard mayServeFromBuffer, (searcher.maxBytes ?? 0) >= 0 else { return nil }
        searcher.reset()
        var scanOffset = 0
        guard let end = try? searcher.frameEnd(
            in: readBuffer.bytes, scanOffset: &scanOffset, atEOF: state == .closed, bytesScanned: &bytesScanned) else {
            return nil
        }
        readsSinceYield &+= 1
        return UnsafeRawBufferPointer(rebasing: readBuffer.bytes[0..<end])
    }

    /// The searcher for a regex read: the stream keeps the last one and reuses it for the same
    /// pattern and limit, so a loop of regex reads allocates nothing per read.
    /// Off the loop thread (the read then hops to the loop) it touches none of the stream's
    /// state: the searcher is new, with match data of its own.
    @usableFromInline
    final func regexSearcher(_ pattern: Pattern, maxBytes: Int?) -> RegexSearcher {
        guard loop.inLoopThread else { return RegexSearcher(pattern: pattern, maxBytes: maxBytes, scratch: RegexScratch()) }
        if !lendingFrame, let last = lastRegexSearcher, last.pattern === pattern, last.maxBytes == maxBytes,
           pendingRead == nil {
            last.reset()
            return last
        }
        let searcher = RegexSearcher(pattern: pattern, maxBytes: maxBytes, scratch: regexScratch)
        if !lendingFrame { lastRegexSearcher = searcher }
        return searcher
    }

    /// The callback form of ``readUntilRegex(_:maxBytes:)``.
    public func readUntilRegex(
        _ pattern: Pattern, maxBytes: Int? = nil, callback: @escaping (Result<RegexMatch, any Error>) -> Void
    ) {
        readUntilRegex(pattern, maxBytes: maxBytes, borrowing: { $0.copy() }, callback: callback)
    }

    /// The borrowing callback form: `body` gets the frame in place, its result goes to `callback`.
    @inlinable
    public func readUntilRegex<R>(
        _ pattern: Pattern, maxBytes: Int? = nil, borrowing body: @escaping (RegexMatchView) throws -> R,
        callback: @escaping (Result<R, any Error>) -> Void
    ) {
        let searcher = regexSearcher(pattern, maxBytes: maxBytes)
        startRead(.search(searcher), transform: { frame in try body(searcher.view(frame)) }, callback: callback)
    }
}
