/// What a generated encoder writes with: a byte buffer plus the message and field, for errors.
/// Every value is checked against its grammar (a delimited value must not contain its delimiter,
/// a length must match, limits hold) so an encoder never writes bytes its own parser would refuse.
public struct WireWriter {
    public var bytes: [UInt8]
    public var message: StaticString
    public var field: StaticString = ""

    @inlinable
    public init(message: StaticString, reservingCapacity capacity: Int = 64) {
        self.message = message
        self.bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// A literal of the grammar.
    @inlinable
    public mutating func literal(_ literal: [UInt8]) {
        bytes.append(contentsOf: literal)
    }

    /// A value followed by `delimiter` (`until "…"` fields), refused if it contains the delimiter
    /// or if value plus delimiter exceed `max`.
    @inlinable
    public mutating func delimited(_ value: some Collection<UInt8>, delimiter: [UInt8], max: Int) throws {
        if value.count + delimiter.count > max { throw fail("\(value.count + delimiter.count) bytes exceed the limit of \(max)") }
        let start = bytes.count
        bytes.append(contentsOf: value)  // specialised for the caller's collection: no generic calls
        try appendDelimiter(delimiter, after: start)
    }

    /// An integer written in decimal, followed by `delimiter` (a length or count field `as int`):
    /// the digits go straight into the buffer, with no array or string made for them.
    @inlinable
    public mutating func delimitedDecimal<T: BinaryInteger>(_ value: T, delimiter: [UInt8], max: Int) throws {
        // Digits and '-' could clash with a delimiter made of them: the general path checks.
        guard let number = Int(exactly: value), !delimiter.contains(where: { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else {
            return try delimited(WireFormat.decimal(value), delimiter: delimiter, max: max)
        }
        try WireFormat.withDecimalDigits(number) { digits in
            if digits.count + delimiter.count > max { throw fail("\(digits.count + delimiter.count) bytes exceed the limit of \(max)") }
            bytes.append(contentsOf: digits)
        }
        bytes.append(contentsOf: delimiter)
    }

    /// Appends `delimiter` after the value written from `start`, or removes that value and throws
    /// if it contains the delimiter.
    @usableFromInline
    mutating func appendDelimiter(_ delimiter: [UInt8], after start: Int) throws {
        let clash = bytes.withUnsafeBytes { written in
            delimiter.withUnsafeBytes { ReadTarget.find($0, in: UnsafeRawBufferPointer(rebasing: written[start...])) } != nil
        }
        if clash {
            bytes.removeSubrange(start...)
            throw fail("contains the delimiter \(WireText.quote(delimiter))")
        }
        bytes.append(contentsOf: delimiter)
    }

    /// A value of exactly `count` bytes (`bytes(N)` fields).
    @inlinable
    public mutating func exact(_ value: some Collection<UInt8>, count: Int, max: Int) throws {
        guard value.count == count else { throw fail("has \(value.count) bytes where the grammar says \(count)") }
        guard count <= max else { throw fail("\(count) bytes exceed the limit of \(max)") }
        bytes.append(contentsOf: value)
    }

    /// A binary integer (`u16be` …).
    @inlinable
    public mutating func binary<T: FixedWidthInteger>(_ value: T, bigEndian: Bool) {
        withUnsafeBytes(of: bigEndian ? value.bigEndian : value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// An `Int` (a derived length or count) as the binary type `T`, refused if it does not fit.
    @inlinable
    public mutating func binary<T: FixedWidthInteger>(_ value: Int, as _: T.Type, bigEndian: Bool) throws {
        guard let narrow = T(exactly: value) else { throw fail("\(value) does not fit in \(T.self)") }
        binary(narrow, bigEndian: bigEndian)
    }

    /// The `n` with `scale × n + offset == size`: a length the grammar defines through an
    /// expression (`bytes(length - 2)`), solved from the size being written; refused when no
    /// integer fits or the result is negative.
    @inlinable
    public func solve(_ size: Int, scale: Int, offset: Int) throws -> Int {
        let (difference, overflow) = size.subtractingReportingOverflow(offset)
        guard !overflow, scale != 0, difference % scale == 0, difference / scale >= 0 else {
            throw fail("\(size) cannot be written as \(scale) × n + \(offset) for a whole n ≥ 0")
        }
        return difference / scale
    }

    /// A variable-length unsigned integer (`varint`, `mqttlen`): 7 bits a byte, least significant
    /// first; refused when negative or when it needs more than `maxBytes` bytes.
    @inlinable
    public mutating func varint(_ value: some BinaryInteger, maxBytes: Int) throws {
        guard value >= 0, let unsigned = UInt64(exactly: value) else { throw fail("\(value) is negative") }
        var rest = unsigned
        var written = 0
        repeat {
            written += 1
            if written > maxBytes { throw fail("\(value) needs more than \(maxBytes) bytes") }
            let low = UInt8(truncatingIfNeeded: rest & 0x7F)
            rest >>= 7
            bytes.append(rest == 0 ? low : low | 0x80)
        } while rest != 0
    }

    /// An `Int` (a derived length or count) for a sized text field (`as u16`), refused if it does not fit.
    @inlinable
    public func sized<T: FixedWidthInteger>(_ value: Int, as _: T.Type) throws -> T {
        guard let narrow = T(exactly: value) else { throw fail("\(value) does not fit in \(T.self)") }
        return narrow
    }

    /// A repetition count, checked against its limit.
    @inlinable
    public func checkCount(_ count: Int, max: Int) throws {
        if count > max { throw fail("\(count) elements exceed the limit of \(max)") }
    }

    @inlinable
    public func fail(_ reason: String) -> WireEncodingError {
        WireEncodingError(message: "\(message)", field: "\(field)", reason: reason)
    }
}

/// Text forms the encoders write for `as int`, `as hex`, … fields.
public enum WireFormat {
    @inlinable
    public static func decimal<T: BinaryInteger>(_ value: T) -> [UInt8] {
        if let value = Int(exactly: value) { return decimal(value) }
        return Array(String(value).utf8)
    }

    /// The digits of `value`, without going through `String` (every length prefix of every
    /// request is one of these).
    @inlinable
    public static func decimal(_ value: Int) -> [UInt8] {
        withDecimalDigits(value) { Array($0) }
    }

    /// Lends the decimal digits of `value` (with a leading '-' if negative), written on the stack.
    @inlinable
    public static func withDecimalDigits<R>(_ value: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: Int.min has 20 characters
        return try withUnsafeMutableBytes(of: &digits) { buffer in
            var start = buffer.count
            var rest = value.magnitude
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
            if value < 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "-")
            }
            return try body(UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
    }

    @inlinable
    public static func hex<T: BinaryInteger>(_ value: T) -> [UInt8] { Array(String(value, radix: 16).utf8) }

    public static func double(_ value: Double) -> [UInt8] {
        if value.isInfinite { return Array((value < 0 ? "-inf" : "inf").utf8) }
        return Array(value.description.utf8)
    }
}
