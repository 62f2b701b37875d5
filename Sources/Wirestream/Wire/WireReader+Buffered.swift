/// The synchronous forms of ``WireReader``'s waiting reads, for a generated parser's twin over
/// ``BufferedBytes``: each does what its async form does with the bytes buffered, and throws
/// ``BufferedBytes/Incomplete`` where that form would wait or would need to know where the input ends.
extension WireReader where Source == BufferedBytes {
    /// In a twin, a nested message is read by its own twin directly (``WireMessage/readBuffered(_:depth:)``).
    @inlinable @inline(__always)
    public func readIfBuffered<M: WireMessage>(_: M.Type, depth: Int) -> M? { nil }

    /// `ownedBytes(_:)`: the bytes, when all of them are buffered.
    @inlinable
    public mutating func ownedBytes(_ count: Int) throws -> [UInt8] {
        try source.readBytes(count, partial: false) { frame($0, trimming: 0) { WireConvert.raw($0) } }
    }

    /// `rest(max:_:)` reads to EOF, which buffered bytes never show.
    @inlinable
    public mutating func rest<R>(max: Int, _ convert: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        throw BufferedBytes.Incomplete()
    }

    /// `peekMatches(_:)`: known once the literal's length is buffered, or a buffered byte differs.
    @inlinable
    public func peekMatches(_ literal: [UInt8]) throws -> Bool {
        if let verdict = try source.peekIfBuffered(literal.count, { $0.elementsEqual(literal) }) { return verdict }
        let seen = Swift.min(literal.count, source.bytes.count - source.consumed)
        let ahead = UnsafeRawBufferPointer(rebasing: source.bytes[source.consumed..<(source.consumed + seen)])
        if !ahead.elementsEqual(literal[0..<seen]) { return false }
        throw BufferedBytes.Incomplete()
    }

    /// `choose(_:consume:orElse:)`, deciding on the buffered bytes as the async form decides on
    /// the bytes it has seen.
    @inlinable
    public mutating func choose(_ literals: [[UInt8]], consume: Bool, orElse: Bool) throws -> Int {
        var want = 1
        while true {
            let (decision, found, next) = try source.peek(want) { ahead in
                Self.decide(literals, ahead: ahead, complete: false)
            }
            switch decision {
            case .chosen(let index):
                if consume {
                    let count = literals[index].count
                    try source.readBytes(count, partial: false) { _ in }
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

    /// `atEndOfInput()`: `false` while bytes are buffered; an end is never known here.
    @inlinable
    public func atEndOfInput() throws -> Bool {
        if source.consumed < source.bytes.count { return false }
        throw BufferedBytes.Incomplete()
    }

    /// `varint(maxBytes:)` over the buffered bytes.
    @inlinable
    public mutating func varint(maxBytes: Int) throws -> UInt {
        var value: UInt64 = 0
        var read: [UInt8] = []
        for index in 0..<maxBytes {
            let byte = try source.readBytes(1, partial: false) { $0[0] }
            if let done = try varintByte(byte, at: index, into: &value, read: &read) { return done }
        }
        throw fail(.invalidNumber(expected: "varint of at most \(maxBytes) bytes", text: read))
    }

    /// `subFrame(_:as:depth:)`: the frame is all here, so its message is parsed by its own twin.
    @inlinable
    public func subFrame<M: WireMessage>(_ frame: [UInt8], as _: M.Type, depth: Int) throws -> M {
        try frame.withUnsafeBytes { bytes in
            let inner = BufferedBytes(bytes, scratch: source.scratch)
            var reader = WireReader<BufferedBytes>(inner, message: message)
            let value = try M.readBuffered(&reader, depth: depth)
            if reader.offset != frame.count { throw fail(.bytesLeftInFrame(frame.count - reader.offset)) }
            return value
        }
    }
}
