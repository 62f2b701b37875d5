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
    @inlinable
    public func readUntilRegex(_ pattern: Pattern, maxBytes: Int? = nil) async throws -> RegexMatch {
        let searcher = regexSearcher(pattern, maxBytes: maxBytes)
        let target = ReadTarget.search(searcher)
        if let match = try readBuffered(target, { searcher.match($0) }) { return match }
        return try await waitForRead(target, streaming: nil) { searcher.match($0) }
    }

    /// The borrowing form: lends the frame and its groups to `body` in place.
    @inlinable
    public func readUntilRegex<R>(
        _ pattern: Pattern, maxBytes: Int? = nil, _ body: (RegexMatchView) throws -> R
    ) async throws -> R {
        let searcher = regexSearcher(pattern, maxBytes: maxBytes)
        let target = ReadTarget.search(searcher)
        if let result = try readBuffered(target, { try body(searcher.view($0)) }) { return result }
        return try await waitForRead(target, streaming: nil) { try body(searcher.view($0)) }
    }

    /// The searcher for a regex read: the stream keeps the last one and reuses it for the same
    /// pattern and limit, so a loop of regex reads allocates nothing per read.
    @usableFromInline
    final func regexSearcher(_ pattern: Pattern, maxBytes: Int?) -> RegexSearcher {
        if let last = lastRegexSearcher, last.pattern === pattern, last.maxBytes == maxBytes, pendingRead == nil {
            last.reset()
            return last
        }
        let searcher = RegexSearcher(pattern: pattern, maxBytes: maxBytes, scratch: regexScratch)
        lastRegexSearcher = searcher
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
