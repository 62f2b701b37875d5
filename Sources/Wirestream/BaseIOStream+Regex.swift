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
    public func readUntilRegex(_ pattern: Pattern, maxBytes: Int? = nil) async throws -> RegexMatch {
        try await readUntilRegex(pattern, maxBytes: maxBytes) { $0.copy() }
    }

    /// The borrowing form: lends the frame and its groups to `body` in place.
    public func readUntilRegex<R>(
        _ pattern: Pattern, maxBytes: Int? = nil, _ body: (RegexMatchView) throws -> R
    ) async throws -> R {
        let searcher = RegexSearcher(pattern: pattern, maxBytes: maxBytes, scratch: regexScratch)
        return try await performRead(.search(searcher), streaming: nil) { frame in
            try body(RegexMatchView(bytes: frame, groups: searcher.groups, groupNumbers: pattern.groupNumbers))
        }
    }

    /// The callback form of ``readUntilRegex(_:maxBytes:)``.
    public func readUntilRegex(
        _ pattern: Pattern, maxBytes: Int? = nil, callback: @escaping (Result<RegexMatch, any Error>) -> Void
    ) {
        readUntilRegex(pattern, maxBytes: maxBytes, borrowing: { $0.copy() }, callback: callback)
    }

    /// The borrowing callback form: `body` gets the frame in place, its result goes to `callback`.
    public func readUntilRegex<R>(
        _ pattern: Pattern, maxBytes: Int? = nil, borrowing body: @escaping (RegexMatchView) throws -> R,
        callback: @escaping (Result<R, any Error>) -> Void
    ) {
        let searcher = RegexSearcher(pattern: pattern, maxBytes: maxBytes, scratch: regexScratch)
        startRead(.search(searcher), streaming: nil, CallbackReadCompletion(transform: { frame in
            try body(RegexMatchView(bytes: frame, groups: searcher.groups, groupNumbers: pattern.groupNumbers))
        }, callback: callback))
    }
}
