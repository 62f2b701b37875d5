/// Bytes on the wire that do not follow a grammar: thrown by generated parsers, never a trap.
///
/// Names where (`message`, `field`, byte `offset` from the start of the top-level message) and
/// what (`kind`: what was expected, or which limit was hit).
public struct WireProtocolError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: Equatable, Sendable {
        /// A literal was expected (`expected`, as written in the grammar) and `found` came instead.
        case unexpectedBytes(expected: String, found: [UInt8])
        /// No alternative of a switch starts with `found`.
        case noAlternative(found: [UInt8])
        /// A read, length or count is over its limit (`value` is the length or count when known;
        /// `nil` when a delimiter or match did not end within `limit` bytes).
        case limitExceeded(limit: Int, value: Int?)
        /// A length or count is negative.
        case negativeLength(Int)
        /// A length computed from the input overflows.
        case arithmeticOverflow
        /// Bytes that should be a number (`expected`: "decimal integer", "hex integer", …) are not.
        case invalidNumber(expected: String, text: [UInt8])
        /// A string field is not valid UTF-8.
        case invalidUTF8
        /// None of an enumeration's values.
        case unknownValue(type: String, found: [UInt8])
        /// A regex group the grammar needs did not take part in the match.
        case missingGroup(String)
        /// The input ended inside the message.
        case truncated
        /// Nested deeper than the message's depth limit.
        case tooDeep(limit: Int)
        /// A hand-written conversion (``WireDecodable``) refused the bytes.
        case invalidValue(String)
        /// A message read from a frame (`bytes(n) as Message`) needs more bytes than the frame holds.
        case frameEndedEarly
        /// A message read from a frame ended with this many of the frame's bytes unread.
        case bytesLeftInFrame(Int)
        /// `same earlier`: the bytes that came (`found`) are not those of the earlier value
        /// `earlier` (`expected`) — e.g. a closing tag that does not repeat the opening one.
        case notSame(earlier: String, expected: [UInt8], found: [UInt8])
        /// `check COND`: the condition (as the grammar writes it) does not hold.
        case checkFailed(String)
        /// A text integer (`as u16`, `as i32 hex`, …) is a number, but not one `type` can hold.
        case outOfRange(type: String, text: [UInt8])
    }

    /// The innermost message being read.
    public let message: String
    /// The field being read (`""` between fields).
    public let field: String
    /// Where the failing read started, in bytes from the start of the top-level message.
    public let offset: Int
    public let kind: Kind

    public init(message: String, field: String, offset: Int, kind: Kind) {
        self.message = message
        self.field = field
        self.offset = offset
        self.kind = kind
    }

    public var description: String {
        let place = field.isEmpty ? message : "\(message).\(field)"
        return "\(place) at byte \(offset): \(kind)"
    }
}

extension WireProtocolError.Kind: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unexpectedBytes(let expected, let found): "expected \(expected), found \(WireText.quote(found))"
        case .noAlternative(let found): "no alternative starts with \(WireText.quote(found))"
        case .limitExceeded(let limit, let value?): "\(value) is over the limit of \(limit)"
        case .limitExceeded(let limit, nil): "not complete within the limit of \(limit) bytes"
        case .negativeLength(let value): "negative length or count \(value)"
        case .arithmeticOverflow: "length computation overflows"
        case .invalidNumber(let expected, let text): "expected a \(expected), found \(WireText.quote(text))"
        case .invalidUTF8: "invalid UTF-8"
        case .unknownValue(let type, let found): "\(WireText.quote(found)) is not a \(type)"
        case .missingGroup(let name): "regex group '\(name)' did not match"
        case .truncated: "input ended inside the message"
        case .tooDeep(let limit): "nested deeper than \(limit)"
        case .invalidValue(let reason): reason
        case .frameEndedEarly: "the message needs more bytes than its frame holds"
        case .bytesLeftInFrame(let count): "the message ended with \(count) bytes of its frame left"
        case .notSame(let earlier, let expected, let found):
            "expected the bytes of '\(earlier)', \(WireText.quote(expected)), found \(WireText.quote(found))"
        case .checkFailed(let condition): "check '\(condition)' fails"
        case .outOfRange(let type, let text): "\(WireText.quote(text)) is out of \(type)'s range"
        }
    }
}

/// A value that cannot be written as its grammar says (thrown by generated encoders).
public struct WireEncodingError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The message and field being written.
    public let message: String
    public let field: String
    /// Why, e.g. "contains the delimiter \"\\r\\n\"".
    public let reason: String

    public init(message: String, field: String, reason: String) {
        self.message = message
        self.field = field
        self.reason = reason
    }

    public var description: String { "cannot encode \(message).\(field): \(reason)" }
}

/// Short, printable renderings of wire bytes for error messages.
enum WireText {
    static func quote(_ bytes: [UInt8]) -> String {
        ReadTarget.describe(bytes.count > 32 ? Array(bytes.prefix(32)) + Array("...".utf8) : bytes)
    }
}
