// Layer Wire/: the runtime that grammar-generated parsers and encoders call — WireReader,
// WireWriter, conversions, WireMessage/WireRequest and WireProtocolError. It reads through
// ByteSource only, never a concrete stream.

/// What a generated parser reads with: a ``ByteSource`` plus where the parser is (message, field,
/// byte offset), so every failure becomes a ``WireProtocolError`` that names its place.
///
/// Each read lends its frame to a conversion in place (nothing copied on the way) and checks its
/// limit before any memory is spent: a length or count over its `max` is refused before reading.
/// An EOF before the first byte of the top-level message is a clean close and stays a
/// ``StreamClosedError``; an EOF later is ``WireProtocolError/Kind/truncated``.
public struct WireReader<Source: ByteSource> {
    public let source: Source
    /// Bytes consumed since the top-level message began.
    public var offset = 0
    /// The message and field being read, for errors.
    public var message: StaticString
    public var field: StaticString = ""

    @inlinable
    public init(_ source: Source, message: StaticString) {
        self.source = source
        self.message = message
    }

    // MARK: Framing

    // Generated parsers call the source's borrowing reads directly (one async call per frame, no
    // wrapper frames) and convert the lent frame with these synchronous helpers, which advance
    // `offset` only once a frame is accepted: a failure is reported where its frame began.

    /// Converts a frame without its last `trimming` bytes (a delimiter), then counts it as consumed.
    @inlinable @inline(__always)
    public mutating func frame<R>(
        _ frame: UnsafeRawBufferPointer, trimming: Int, _ convert: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        let value = try convert(UnsafeRawBufferPointer(rebasing: frame[0..<(frame.count - trimming)]))
        offset &+= frame.count
        return value
    }

    /// Checks a frame read for a literal of the grammar (`text` as written there).
    @inlinable @inline(__always)
    public mutating func literal(_ frame: UnsafeRawBufferPointer, _ literal: [UInt8], _ text: StaticString) throws {
        guard frame.elementsEqual(literal) else {
            throw WireConversionFailure(.unexpectedBytes(expected: "\(text)", found: [UInt8](frame)))
        }
        offset &+= frame.count
    }

    /// Checks a frame read for `same name`: it must be the bytes of the earlier value `name`.
    @inlinable @inline(__always)
    public mutating func same(_ frame: UnsafeRawBufferPointer, _ earlier: some Collection<UInt8>, _ name: StaticString) throws {
        guard frame.elementsEqual(earlier) else {
            throw WireConversionFailure(.notSame(earlier: "\(name)", expected: Array(earlier), found: [UInt8](frame)))
        }
        offset &+= frame.count
    }

    /// The one byte of a frame (a switch's type byte).
    @inlinable @inline(__always)
    public mutating func byte(_ frame: UnsafeRawBufferPointer) -> UInt8 {
        offset &+= 1
        return frame[0]
    }

    /// Converts a regex match's groups, then counts the matched frame as consumed.
    @inlinable @inline(__always)
    public mutating func match<R>(_ match: RegexMatchView, _ convert: (RegexMatchView) throws -> R) rethrows -> R {
        let value = try convert(match)
        offset &+= match.bytes.count
        return value
    }

    /// A binary integer of `T`'s size from a frame of that size.
    @inlinable @inline(__always)
    public mutating func binary<T: FixedWidthInteger>(_ frame: UnsafeRawBufferPointer, _: T.Type, bigEndian: Bool) -> T {
        offset &+= MemoryLayout<T>.size
        let raw = frame.loadUnaligned(as: T.self)
        return bigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
    }

    // The reads below advance `offset` as they consume; their errors, like every other, are turned
    // into WireProtocolErrors once, by the top-level `read(from:)` (``translate(_:at:)``).

    /// Exactly `count` bytes, lent to `chunk` piece by piece as they arrive (a streamed field).
    @inlinable
    public mutating func bytes(
        _ count: Int, max: Int, chunks chunk: (UnsafeRawBufferPointer) throws -> Void
    ) async throws {
        try checkLength(count, max: max)
        var remaining = count
        while remaining > 0 {
            let taken = try await source.readBytes(Swift.min(remaining, 65_536), partial: true) { piece in
                try chunk(piece)
                return piece.count
            }
            remaining -= taken
            offset &+= taken
        }
    }

    /// Exactly `count` bytes as an array of their own. A large value (over 64 KiB, within the
    /// source's ``ByteSource/maxFrameBytes``) is read piece by piece straight into the array,
    /// reserved once: it is copied once, and never has to fit the read buffer whole.
    @inlinable
    public mutating func ownedBytes(_ count: Int) async throws -> [UInt8] {
        if count <= 65_536 || count > source.maxFrameBytes ?? Int.max {
            return try await source.readBytes(count, partial: false) { frame($0, trimming: 0) { WireConvert.raw($0) } }
        }
        var value: [UInt8] = []
        value.reserveCapacity(count)
        while value.count < count {
            try await source.readBytes(count - value.count, partial: true) { value.append(contentsOf: $0) }
        }
        offset &+= count
        return value
    }

    /// Everything until EOF, at most `max` bytes, converted whole.
    @inlinable
    public mutating func rest<R>(max: Int, _ convert: (UnsafeRawBufferPointer) throws -> R) async throws -> R {
        var collected: [UInt8] = []
        let count = try await source.streamUntilClose(maxBytes: max) { collected.append(contentsOf: $0) }
        let value = try collected.withUnsafeBytes(convert)
        offset &+= count
        return value
    }

    /// Everything until EOF, lent to `chunk` piece by piece (a streamed field), at most `max` bytes.
    @inlinable
    public mutating func rest(max: Int, chunks chunk: (UnsafeRawBufferPointer) throws -> Void) async throws {
        offset &+= try await source.streamUntilClose(maxBytes: max, to: chunk)
    }

    // MARK: Lookahead

    /// Whether the input continues with `literal`, without consuming it (`false` if the input ends
    /// before the literal could be complete; the next read reports the truncation). Looks one
    /// byte further at a time, so a mismatch in the first byte is seen without waiting for more.
    @inlinable
    public func peekMatches(_ literal: [UInt8]) async throws -> Bool {
        var want = Swift.min(1, literal.count)
        while true {
            let verdict: Bool? = try await source.peek(want) { ahead in
                let seen = Swift.min(literal.count, ahead.count)
                guard UnsafeRawBufferPointer(rebasing: ahead[0..<seen]).elementsEqual(literal[0..<seen]) else { return false }
                if seen == literal.count { return true }
                return ahead.count < want ? false : nil  // ended early: no; else look one byte further
            }
            if let verdict { return verdict }
            want += 1
        }
    }

    /// `peekMatches(_:)` when the source can tell without waiting (the literal's length is
    /// buffered, or the input ended), else `nil`. Synchronous: a repetition ended by a literal
    /// (HTTP's header lines up to the empty line) pays no async call per element.
    @inlinable
    public func peekMatchesIfBuffered(_ literal: [UInt8]) throws -> Bool? {
        // Fewer bytes than the literal only at the end of input: then it cannot match.
        try source.peekIfBuffered(literal.count) { ahead in ahead.elementsEqual(literal) }
    }

    /// The index of the first of `literals` the input starts with (consumed if `consume`), for a
    /// switch; tried in declaration order. With `orElse`, -1 when none matches (the `else`).
    ///
    /// Looks ahead only as far as it must, one more byte at a time while the first possible literal
    /// is incomplete — so a short reply (`END\r\n`) is recognised without waiting for bytes a
    /// longer alternative would need. (Buffered bytes make each step a plain function call.)
    /// - Throws: ``WireProtocolError/Kind/noAlternative(found:)`` when none matches.
    @inlinable
    public mutating func choose(_ literals: [[UInt8]], consume: Bool, orElse: Bool) async throws -> Int {
        var want = 1
        while true {
            let (decision, found, next) = try await source.peek(want) { ahead in
                Self.decide(literals, ahead: ahead, complete: ahead.count < want)
            }
            switch decision {
            case .chosen(let index):
                if consume {
                    let count = literals[index].count
                    try await source.readBytes(count, partial: false) { _ in }
                    offset &+= count
                }
                return index
            case .none:
                if orElse { return -1 }
                throw WireConversionFailure(.noAlternative(found: found))
            case .needMore:
                want = next
            }
        }
    }

    @usableFromInline
    enum Decision {
        case chosen(Int), none, needMore
    }

    /// Walks `literals` in order against the bytes seen so far: the first still possible one
    /// decides — chosen if complete, else more bytes are needed (unless the input has ended).
    @usableFromInline
    static func decide(_ literals: [[UInt8]], ahead: UnsafeRawBufferPointer, complete: Bool) -> (Decision, [UInt8], Int) {
        for (index, literal) in literals.enumerated() {
            let seen = Swift.min(literal.count, ahead.count)
            guard UnsafeRawBufferPointer(rebasing: ahead[0..<seen]).elementsEqual(literal[0..<seen]) else { continue }
            if seen == literal.count { return (.chosen(index), [], 0) }
            if !complete { return (.needMore, [], ahead.count + 1) }
        }
        return (.none, [UInt8](ahead), 0)
    }

    // MARK: Limits and nesting

    /// Checks a length or count before anything is read.
    @inlinable
    public func checkLength(_ count: Int, max: Int) throws {
        if count < 0 { throw fail(.negativeLength(count)) }
        if count > max { throw fail(.limitExceeded(limit: max, value: count)) }
    }

    /// `count`, once checked (for use as a read's argument).
    @inlinable @inline(__always)
    public func length(_ count: Int, max: Int) throws -> Int {
        try checkLength(count, max: max)
        return count
    }

    /// Enters a nested message: fails past `limit`; returns the outer message's name for ``leave(_:)``.
    @inlinable
    public mutating func enter(_ message: StaticString, depth: Int, limit: Int) throws -> StaticString {
        if depth > limit { throw fail(.tooDeep(limit: limit)) }
        let outer = self.message
        self.message = message
        return outer
    }

    @inlinable
    public mutating func leave(_ outer: StaticString) {
        message = outer
        field = ""
    }

    /// An integer as `Int`, refused if it does not fit (lengths and counts are `Int`s).
    @inlinable
    public func int<T: BinaryInteger>(_ value: T) throws -> Int {
        guard let int = Int(exactly: value) else { throw fail(.arithmeticOverflow) }
        return int
    }

    @inlinable
    public func add(_ a: Int, _ b: Int) throws -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { throw fail(.arithmeticOverflow) }
        return sum
    }

    @inlinable
    public func subtract(_ a: Int, _ b: Int) throws -> Int {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        if overflow { throw fail(.arithmeticOverflow) }
        return difference
    }

    @inlinable
    public func multiply(_ a: Int, _ b: Int) throws -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { throw fail(.arithmeticOverflow) }
        return product
    }

    // MARK: Errors

    /// A protocol error at the current field, at `offset` (by default where the reader is).
    @inlinable
    public func fail(_ kind: WireProtocolError.Kind, at offset: Int? = nil) -> WireProtocolError {
        WireProtocolError(message: "\(message)", field: "\(field)", offset: offset ?? self.offset, kind: kind)
    }

    /// A message read from `frame`, the bytes of a `bytes(n) as Message` field: it must use every
    /// byte of the frame. Errors inside it keep their offsets within the frame.
    /// - Throws: `.frameEndedEarly` when the message needs more; `.bytesLeftInFrame` when it ends first.
    @inlinable
    public func subFrame<M: WireMessage>(_ frame: [UInt8], as _: M.Type, depth: Int) async throws -> M {
        var inner = WireReader<MemoryByteSource>(MemoryByteSource(frame), message: message)
        let value: M
        do {
            value = try await M.read(&inner, depth: depth)
        } catch let closed as StreamClosedError where closed.realError == nil {
            throw fail(.frameEndedEarly)
        }
        if inner.offset != frame.count { throw fail(.bytesLeftInFrame(frame.count - inner.offset)) }
        return value
    }

    /// A nested message if all of its bytes are buffered, parsed by its synchronous twin (see
    /// ``WireMessage/readIfBuffered(from:)``); else `nil`, with nothing consumed.
    @inlinable
    public mutating func readIfBuffered<M: WireMessage>(_: M.Type, depth: Int) -> M? {
        let (message, field) = (self.message, self.field)
        guard let (value, taken) = source.parseBuffered({ bytes -> (M, Int) in
            var inner = WireReader<BufferedBytes>(bytes, message: message)
            inner.field = field
            return (try M.readBuffered(&inner, depth: depth), bytes.consumed)
        }) else { return nil }
        offset &+= taken
        return value
    }

    /// A variable-length unsigned integer of at most `maxBytes` bytes (`varint`: 10, `mqttlen`: 4).
    /// - Throws: `.invalidNumber` when it runs longer or overflows 64 bits; `.truncated` at EOF.
    @inlinable
    public mutating func varint(maxBytes: Int) async throws -> UInt {
        var value: UInt64 = 0
        var read: [UInt8] = []
        for index in 0..<maxBytes {
            let byte: UInt8
            if let buffered = try source.readBytesIfBuffered(1, { $0[0] }) {
                byte = buffered
            } else {
                byte = try await source.readBytes(1, partial: false) { $0[0] }
            }
            if let done = try varintByte(byte, at: index, into: &value, read: &read) { return done }
        }
        throw fail(.invalidNumber(expected: "varint of at most \(maxBytes) bytes", text: read))
    }

    /// Takes the varint's byte at `index` into `value`; the whole value if it is the last byte.
    @inlinable
    mutating func varintByte(_ byte: UInt8, at index: Int, into value: inout UInt64, read: inout [UInt8]) throws -> UInt? {
        offset &+= 1
        read.append(byte)
        let payload = UInt64(byte & 0x7F)
        // The tenth byte holds the 64th bit only.
        if index == 9 && payload > 1 { throw fail(.invalidNumber(expected: "varint within 64 bits", text: read)) }
        value |= payload << UInt64(7 * index)
        return byte & 0x80 == 0 ? UInt(value) : nil
    }

    /// True at a clean end of the input (EOF with nothing left), where a repetition `until close`
    /// ends; a source closed by an error throws it.
    @inlinable
    public func atEndOfInput() async throws -> Bool {
        do {
            return try await source.peek(1) { $0.isEmpty }
        } catch let closed as StreamClosedError where closed.realError == nil {
            return true
        }
    }

    @usableFromInline
    func hasLeftoverBytes() async -> Bool {
        ((try? await source.peek(1) { $0.count }) ?? 0) > 0
    }

    /// The error a failed read becomes (called once, by the top-level `read(from:)`, with the
    /// offset where the failing read began): conversions and stream limits turn into
    /// ``WireProtocolError``s; a clean EOF before the message began stays a ``StreamClosedError``;
    /// other stream errors (resets, TLS) pass through unchanged.
    @inlinable
    public func translate(_ error: any Error, at start: Int) async -> any Error {
        switch error {
        case let failure as WireConversionFailure:
            return fail(failure.kind, at: start)
        case let closed as StreamClosedError:
            switch closed.realError {
            case nil:
                // Nothing of the message consumed and nothing left over: the peer closed between messages.
                if start == 0, await !hasLeftoverBytes() { return closed }
                return fail(.truncated, at: start)
            case let unsatisfiable as UnsatisfiableReadError:
                return fail(.limitExceeded(limit: unsatisfiable.maxBytes, value: nil), at: start)
            case let mismatch as PatternMismatchError:
                // What came instead: the first byte only. How much more is buffered depends on how
                // the input was split, and an error must not (a mismatch needs at least one byte).
                let found = (try? await source.peek(1) { [UInt8]($0) }) ?? []
                return fail(.unexpectedBytes(expected: "a match of /\(mismatch.pattern)/", found: found), at: start)
            default:
                return closed
            }
        case let unsatisfiable as UnsatisfiableReadError:
            return fail(.limitExceeded(limit: unsatisfiable.maxBytes, value: nil), at: start)
        default:
            return error
        }
    }
}
