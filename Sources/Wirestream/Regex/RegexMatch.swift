/// The frame of a `readUntilRegex`: the bytes through the end of the match, and the match's groups.
///
/// ```
///   bytes:  "HTTP/1.0 200 OK\r\n"
///   groups: 0 → 0..<17, "code" (1) → 9..<12, "reason" (2) → 13..<15
/// ```
public struct RegexMatch: Sendable, Equatable {
    /// Everything read, from the first unconsumed byte through the end of the match.
    public let bytes: [UInt8]
    /// The range of each group in `bytes` (index 0: the whole match); `nil` for a group that did not take part.
    public let groups: [Range<Int>?]
    /// Named groups and their numbers.
    public let groupNumbers: [String: Int]

    /// The bytes of group `index`, or `nil` if it did not take part.
    public subscript(index: Int) -> ArraySlice<UInt8>? {
        guard index < groups.count, let range = groups[index] else { return nil }
        return bytes[range]
    }

    /// The bytes of the named group, or `nil`.
    public subscript(name: String) -> ArraySlice<UInt8>? {
        groupNumbers[name].flatMap { self[$0] }
    }

    /// The range of the whole match within ``bytes``.
    public var matchRange: Range<Int> { groups[0]! }
}

/// A borrowed view of a `readUntilRegex` frame, lent in place to a parser's closure: the same
/// information as ``RegexMatch`` without copying the bytes.
public struct RegexMatchView {
    /// The frame, valid only inside the closure it was lent to.
    public let bytes: UnsafeRawBufferPointer
    /// The searcher that found the match, which holds its groups. Unowned and unchecked: the view
    /// lives only inside the closure, while the read holds the searcher. Holding the groups array
    /// and the name table instead cost two retains and releases per match (about a quarter of a
    /// buffered borrowing regex read).
    unowned(unsafe) let searcher: RegexSearcher

    init(bytes: UnsafeRawBufferPointer, searcher: RegexSearcher) {
        self.bytes = bytes
        self.searcher = searcher
    }

    /// Group ranges within `bytes` (index 0: the whole match).
    public var groups: [Range<Int>?] { searcher.groups }
    /// Named groups and their numbers.
    public var groupNumbers: [String: Int] { searcher.pattern.groupNumbers }

    public subscript(index: Int) -> UnsafeRawBufferPointer? {
        guard let range = searcher.group(index) else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[range])
    }

    public subscript(name: String) -> UnsafeRawBufferPointer? {
        searcher.pattern.groupNumbers[name].flatMap { self[$0] }
    }

    /// A copy that outlives the closure.
    public func copy() -> RegexMatch {
        RegexMatch(bytes: Array(bytes), groups: groups, groupNumbers: groupNumbers)
    }
}
