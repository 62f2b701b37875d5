/// A ``ByteSource`` that lets at most `limit` bytes be consumed through it: a budget for a whole
/// message, where a grammar's limits bound each read.
///
/// A generated parser's `max` values are fixed when the grammar compiles; a client that takes its
/// limits from configuration (HTTP's header bytes) reads through this instead. Each read's
/// `maxBytes` is lowered to what is left of the budget, so the limit holds before memory is spent,
/// and a read that needs more fails with ``ByteLimitExceededError`` (the base source has closed, as
/// every `maxBytes` read that fails closes it).
///
/// Its reads are inlinable: a parser generic over its source is then specialized through this one
/// down to the stream's own read (unspecialized, each wait looked up its result type's metadata).
public final class LimitedByteSource<Base: ByteSource>: ByteSource {
    public let base: Base
    public let limit: Int
    /// Bytes consumed so far.
    public var consumed: Int { consumedBytes }
    @usableFromInline var consumedBytes = 0

    public init(_ base: Base, limit: Int) {
        precondition(limit >= 0, "a byte budget cannot be negative")
        self.base = base
        self.limit = limit
    }

    @usableFromInline
    var remaining: Int { limit - consumedBytes }

    /// The read's own limit, or what is left of the budget if that is lower (then `true`).
    @usableFromInline
    func cap(_ maxBytes: Int?) -> (Int, byBudget: Bool) {
        guard let maxBytes, maxBytes <= remaining else { return (remaining, true) }
        return (maxBytes, false)
    }

    /// Turns the base's "not within maxBytes" into the budget's error when the budget set the cap.
    @usableFromInline
    func translated(_ error: any Error, cap: Int, byBudget: Bool) -> any Error {
        guard byBudget else { return error }
        let unsatisfiable = (error as? UnsatisfiableReadError) ?? ((error as? StreamClosedError)?.realError as? UnsatisfiableReadError)
        guard let unsatisfiable, unsatisfiable.maxBytes == cap else { return error }
        return ByteLimitExceededError(limit: limit)
    }

    /// The base's buffered bytes, as far as the budget reaches: a message that needs more is left
    /// to the async read, which reports the budget.
    @inlinable
    public func parseBuffered<R>(_ parse: (BufferedBytes) throws -> R) -> R? {
        let budget = remaining
        var taken = 0
        let value = base.parseBuffered { bytes -> R in
            bytes.limit(to: budget)
            let value = try parse(bytes)
            taken = bytes.consumed
            return value
        }
        if value != nil { consumedBytes += taken }
        return value
    }

    @inlinable
    public func readUntil<R>(
        _ delimiter: [UInt8], maxBytes: Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) async throws -> R {
        let (cap, byBudget) = cap(maxBytes)
        do {
            return try await base.readUntil(delimiter, maxBytes: cap) { frame in
                consumedBytes += frame.count
                return try body(frame)
            }
        } catch {
            throw translated(error, cap: cap, byBudget: byBudget)
        }
    }

    @inlinable
    public func readUntilIfBuffered<R>(
        _ delimiter: [UInt8], maxBytes: Int?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        let (cap, byBudget) = cap(maxBytes)
        do {
            return try base.readUntilIfBuffered(delimiter, maxBytes: cap) { frame in
                consumedBytes += frame.count
                return try body(frame)
            }
        } catch {
            throw translated(error, cap: cap, byBudget: byBudget)
        }
    }

    @inlinable
    public func readBytes<R>(_ count: Int, partial: Bool, _ body: (UnsafeRawBufferPointer) throws -> R) async throws -> R {
        if count > remaining, !partial || remaining == 0 {
            base.close(error: ByteLimitExceededError(limit: limit))
            throw ByteLimitExceededError(limit: limit)
        }
        return try await base.readBytes(partial ? min(count, remaining) : count, partial: partial) { bytes in
            consumedBytes += bytes.count
            return try body(bytes)
        }
    }

    /// What is left of the budget, or less if the source underneath lends less.
    public var maxFrameBytes: Int? { min(remaining, base.maxFrameBytes ?? Int.max) }

    @inlinable
    public func readBytesIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        if count > remaining {
            base.close(error: ByteLimitExceededError(limit: limit))
            throw ByteLimitExceededError(limit: limit)
        }
        return try base.readBytesIfBuffered(count) { bytes in
            consumedBytes += bytes.count
            return try body(bytes)
        }
    }

    @inlinable
    public func readUntilRegex<R>(_ pattern: Pattern, maxBytes: Int?, _ body: (RegexMatchView) throws -> R) async throws -> R {
        let (cap, byBudget) = cap(maxBytes)
        do {
            return try await base.readUntilRegex(pattern, maxBytes: cap) { match in
                consumedBytes += match.bytes.count
                return try body(match)
            }
        } catch {
            throw translated(error, cap: cap, byBudget: byBudget)
        }
    }

    @inlinable
    public func peek<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) async throws -> R {
        try await base.peek(count, body)
    }

    @inlinable
    public func peekIfBuffered<R>(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try base.peekIfBuffered(count, body)
    }

    public func close(error: (any Error)?) {
        base.close(error: error)
    }
}

/// A ``LimitedByteSource`` was asked for more bytes than its budget has left.
public struct ByteLimitExceededError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The whole budget, in bytes.
    public let limit: Int

    public init(limit: Int) { self.limit = limit }

    public var description: String { "more than the \(limit) bytes allowed" }
}
