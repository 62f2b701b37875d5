/// The conversions a grammar's `as TYPE` names, from lent bytes to typed values. They throw
/// ``WireConversionFailure``; the reader adds where.
public enum WireConvert {
    /// `as raw` (the default): the bytes themselves.
    @inlinable
    public static func raw(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](bytes)
    }

    /// `as string`: UTF-8, checked.
    @inlinable
    public static func string(_ bytes: UnsafeRawBufferPointer) throws -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw WireConversionFailure(.invalidUTF8)
        }
        return string
    }

    /// `as int`: a decimal integer with an optional `-`.
    @inlinable
    public static func int(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        try signed(bytes, radix: 10, expected: "decimal integer")
    }

    /// `as uint`: an unsigned decimal integer.
    @inlinable
    public static func uint(_ bytes: UnsafeRawBufferPointer) throws -> UInt {
        try magnitude(bytes, from: 0, radix: 10, expected: "unsigned decimal integer")
    }

    /// `as hex`: a hexadecimal integer with an optional `-`.
    @inlinable
    public static func hex(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        try signed(bytes, radix: 16, expected: "hex integer")
    }

    /// `as uhex`: an unsigned hexadecimal integer.
    @inlinable
    public static func uhex(_ bytes: UnsafeRawBufferPointer) throws -> UInt {
        try magnitude(bytes, from: 0, radix: 16, expected: "unsigned hex integer")
    }

    /// `as u16`, `as i64 hex`, …: decimal (radix 10) or hex (16) text as `T`, with `-` when `T`
    /// is signed; a number outside `T`'s range is `outOfRange`.
    @inlinable
    public static func sized<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, as _: T.Type, radix: UInt) throws -> T {
        let expected: StaticString = radix == 16 ? "hex integer" : "decimal integer"
        let value: T?
        if T.isSigned {
            value = T(exactly: try signed(bytes, radix: radix, expected: expected))
        } else {
            value = T(exactly: try magnitude(bytes, from: 0, radix: radix, expected: expected))
        }
        guard let value else { throw WireConversionFailure(.outOfRange(type: "\(T.self)", text: [UInt8](bytes.prefix(64)))) }
        return value
    }

    /// `as double`: a decimal floating-point number (also `inf`, `-inf`, `nan`).
    public static func double(_ bytes: UnsafeRawBufferPointer) throws -> Double {
        guard bytes.count <= 64, let text = String(validating: bytes, as: UTF8.self),
            !text.isEmpty, !text.hasPrefix("+"), let value = Double(text)
        else { throw WireConversionFailure(.invalidNumber(expected: "decimal number", text: [UInt8](bytes))) }
        return value
    }

    /// The bytes as `T`'s literal value (an enumeration of the grammar).
    @inlinable
    public static func value<T: WireEnumeration>(_ bytes: UnsafeRawBufferPointer, as _: T.Type) throws -> T {
        for candidate in T.allCases where candidate.wireLiteral.elementsEqual(bytes) {
            return candidate
        }
        throw WireConversionFailure(.unknownValue(type: "\(T.self)", found: [UInt8](bytes)))
    }

    /// A regex group's bytes; a group that did not take part fails with `missingGroup`.
    @inlinable
    public static func group(_ match: RegexMatchView, _ index: Int, _ name: StaticString) throws -> UnsafeRawBufferPointer {
        guard let bytes = match[index] else { throw WireConversionFailure(.missingGroup("\(name)")) }
        return bytes
    }

    @inlinable
    static func signed(_ bytes: UnsafeRawBufferPointer, radix: UInt, expected: StaticString) throws -> Int {
        let negative = bytes.first == UInt8(ascii: "-")
        let magnitude = try magnitude(bytes, from: negative ? 1 : 0, radix: radix, expected: expected)
        if negative {
            guard magnitude <= UInt(Int.max) + 1 else { throw invalid(bytes, expected) }
            return magnitude == UInt(Int.max) + 1 ? Int.min : -Int(magnitude)
        }
        guard magnitude <= UInt(Int.max) else { throw invalid(bytes, expected) }
        return Int(magnitude)
    }

    @inlinable
    static func magnitude(_ bytes: UnsafeRawBufferPointer, from start: Int, radix: UInt, expected: StaticString) throws -> UInt {
        guard bytes.count > start else { throw invalid(bytes, expected) }
        var value: UInt = 0
        for index in start..<bytes.count {
            let byte = bytes[index]
            let digit: UInt
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt(byte &- UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = UInt(byte &- UInt8(ascii: "a") &+ 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: digit = UInt(byte &- UInt8(ascii: "A") &+ 10)
            default: throw invalid(bytes, expected)
            }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: radix)
            let (sum, overflow2) = shifted.addingReportingOverflow(digit)
            if overflow1 || overflow2 { throw invalid(bytes, expected) }
            value = sum
        }
        return value
    }

    @usableFromInline
    static func invalid(_ bytes: UnsafeRawBufferPointer, _ expected: StaticString) -> WireConversionFailure {
        WireConversionFailure(.invalidNumber(expected: "\(expected)", text: [UInt8](bytes.prefix(64))))
    }
}

/// An enumeration declared in a grammar: a closed set of literal values.
public protocol WireEnumeration: CaseIterable {
    /// The value's bytes on the wire.
    var wireLiteral: [UInt8] { get }
}
