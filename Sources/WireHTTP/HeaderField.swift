import Wirestream

/// One header (or trailer) line of a response, split at its first colon and checked where the
/// parser reads it (the grammar's `extern type HeaderField`): the name and value are made from the
/// buffered bytes, with no byte array per line in between.
///
/// A malformed line is not refused here: the fault is kept, and the client reports it, with its
/// own `HTTPError`, once the head is read (``HTTPHeaders`` in the order of the lines).
public struct HeaderField: Hashable, Sendable, WireDecodable {
    /// What the line holds.
    public enum Content: Hashable, Sendable {
        /// A well-formed field: the value without the blanks around it, UTF-8 (or Latin-1 when
        /// it is not: RFC 9110's obs-text, which legacy servers send).
        case field(name: String, value: String)
        /// No colon: the line as received, through its CR.
        case noColon(line: [UInt8])
        /// The name is empty or not a token (RFC 9110 §5.6.2).
        case invalidName([UInt8])
        /// A control byte other than tab in the value.
        case controlCharacter(name: String)
    }

    public let content: Content
    /// Whether the line ended with CR before its LF (the grammar's hook refuses it otherwise).
    public let endsWithCarriageReturn: Bool

    public init(content: Content, endsWithCarriageReturn: Bool = true) {
        self.content = content
        self.endsWithCarriageReturn = endsWithCarriageReturn
    }

    /// Splits and checks the line (`wireBytes`: everything before the LF). Throws nothing (a fault
    /// is kept in ``content``); `throws` as `WireDecodable` declares it, for the generated call.
    public init(wireBytes: UnsafeRawBufferPointer) throws {
        endsWithCarriageReturn = wireBytes.last == 0x0d
        let line = endsWithCarriageReturn ? UnsafeRawBufferPointer(rebasing: wireBytes.dropLast()) : wireBytes
        content = Self.parse(line, raw: wireBytes)
    }

    private static func parse(_ line: UnsafeRawBufferPointer, raw: UnsafeRawBufferPointer) -> Content {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return .noColon(line: Array(raw)) }
        let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else { return .invalidName(Array(name)) }
        let nameText = String(decoding: name, as: UTF8.self)
        let value = UnsafeRawBufferPointer(rebasing: line[blanksTrimmed((colon + 1)..<line.count, of: line)])
        var isASCII = true
        for byte in value {
            if (byte < 0x20 && byte != 0x09) || byte == 0x7f { return .controlCharacter(name: nameText) }
            if byte >= 0x80 { isASCII = false }
        }
        return .field(name: nameText, value: isASCII ? String(decoding: value, as: UTF8.self) : decodedValue(value))
    }
}

/// RFC 9110 §5.6.2 tchar.
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
         UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
         UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
         UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}

/// `range` of `bytes` without the spaces and tabs around it (HTTP's optional whitespace).
func blanksTrimmed<Bytes: RandomAccessCollection<UInt8>>(_ range: Range<Int>, of bytes: Bytes) -> Range<Int>
where Bytes.Index == Int {
    var start = range.lowerBound, end = range.upperBound
    while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
    while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
    return start..<end
}

/// A value with bytes past ASCII: UTF-8 if it is, else Latin-1. (ASCII, nearly every value, is
/// decoded directly: the generic validation cost two metadata lookups per header.)
private func decodedValue(_ bytes: UnsafeRawBufferPointer) -> String {
    if let text = String(validating: bytes, as: UTF8.self) { return text }
    return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
}
