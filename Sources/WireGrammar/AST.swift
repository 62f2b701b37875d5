/// The parsed form of a grammar file.
public struct Grammar {
    public var name: String?
    var declarations: [Declaration] = []
}

enum Declaration {
    case message(MessageDeclaration)
    case enumeration(EnumDeclaration)
    case externType(name: String, location: SourceLocation)
    case client(ClientDeclaration)

    /// The Swift type it declares.
    var name: String {
        switch self {
        case .message(let message): message.name
        case .enumeration(let enumeration): enumeration.name
        case .externType(let name, _): name
        case .client(let client): client.typeName
        }
    }

    var location: SourceLocation {
        switch self {
        case .message(let message): message.location
        case .enumeration(let enumeration): enumeration.location
        case .externType(_, let location): location
        case .client(let client): client.location
        }
    }
}

/// `client Name { requests A, B  reply R  [port N]  [greeting]  [one request per connection] }`:
/// how requests and replies pair up, from which a typed client on WireClient is generated.
struct ClientDeclaration {
    let name: String
    let location: SourceLocation
    let documentation: [String]
    let requests: [(name: String, location: SourceLocation)]
    let reply: (name: String, location: SourceLocation)
    let port: Int?
    /// The server speaks first (one reply before any request).
    let greeting: Bool
    /// A connection per request (HTTP/1.0) instead of pipelining on one.
    let onePerConnection: Bool

    /// `NameClient`, the generated typealias.
    var typeName: String { name + "Client" }
}

/// `[request] message Name [depth N] { items }` or `… = switch [peek] { cases }`.
struct MessageDeclaration {
    let name: String
    let location: SourceLocation
    let isRequest: Bool
    let depthLimit: Int?
    let documentation: [String]
    let body: MessageBody
}

enum MessageBody {
    case sequence([Item])
    case choice(Switch)
}

/// Alternatives chosen by the literal the input starts with (consumed unless `peek`).
struct Switch {
    let peek: Bool
    let location: SourceLocation
    var cases: [Case]
}

struct Case {
    /// `nil` for the `else` case.
    let literal: Literal?
    let name: String
    let location: SourceLocation
    let payload: CasePayload
}

enum CasePayload {
    case none
    case single(Read)
    case block([Item])
}

/// One step of a sequence.
enum Item {
    /// Bytes that must come next.
    case literal(Literal)
    /// A stored field.
    case field(name: String, location: SourceLocation, read: Read)
    /// A value read (or computed by a hook) for later lengths, counts and conditions; not stored.
    case local(name: String, location: SourceLocation, value: LocalValue)
    /// Items read only when `condition` holds; their fields are optional.
    case conditional(condition: Expression, items: [Item], location: SourceLocation)
    /// A regex read whose named groups become fields.
    case regex(pattern: String, location: SourceLocation, max: Limit?, captures: [Capture])
    /// `same name`: the next bytes must be the bytes of the earlier value `name` (a closing tag
    /// that repeats the opening one); the encoder writes that value again.
    case same(name: String, location: SourceLocation)
    /// `check COND`: a condition over earlier integers that the input must satisfy.
    case check(condition: Expression, location: SourceLocation)
}

enum LocalValue {
    case read(Read)
    /// `call name(arg, …)`: a static function written by hand beside the generated type.
    case call(function: String, arguments: [(String, SourceLocation)], location: SourceLocation)
    /// `let n = length - 2`: integer arithmetic over earlier values, nothing read.
    case expression(Expression)
}

struct Capture {
    let name: String
    let location: SourceLocation
    let conversion: Conversion
    let optional: Bool
}

struct Literal {
    let bytes: [UInt8]
    /// As written, quotes included (for messages).
    let text: String
    let location: SourceLocation
}

struct Limit {
    let value: Int
    let location: SourceLocation
}

/// How a frame's bytes become a value.
enum Conversion: Equatable {
    case raw, string, int, uint, hex, uhex, double
    /// An enumeration or extern type of the grammar.
    case named(String, SourceLocation)
    /// `as u16`, `as i64 hex`, …: decimal (or hex) text to a sized integer, range-checked.
    case sized(BinaryType, hex: Bool)

    static let builtin: [String: Conversion] = [
        "raw": .raw, "string": .string, "int": .int, "uint": .uint, "hex": .hex, "uhex": .uhex, "double": .double,
    ]

    var isInteger: Bool {
        if case .sized = self { return true }
        return [.int, .uint, .hex, .uhex].contains(self)
    }
}

/// The variable-length integer encodings.
enum VarintKind: String {
    /// Unsigned LEB128, protobuf's varint: up to 10 bytes, any 64-bit value.
    case varint
    /// MQTT's remaining length: up to 4 bytes, at most 268,435,455.
    case mqttlen

    var maxBytes: Int { self == .varint ? 10 : 4 }
    var maxValue: String { self == .varint ? "UInt64.max" : "268_435_455" }
}

/// A binary integer type: `u8`, `i16be`, `u32le`, …
struct BinaryType: Equatable {
    let signed: Bool
    let bytes: Int
    let bigEndian: Bool

    init?(_ word: String) {
        var rest = Substring(word)
        guard let first = rest.first, first == "u" || first == "i" else { return nil }
        signed = first == "i"
        rest = rest.dropFirst()
        if rest.hasSuffix("be") || rest.hasSuffix("le") {
            bigEndian = rest.hasSuffix("be")
            rest = rest.dropLast(2)
        } else {
            bigEndian = true
            guard rest == "8" else { return nil }  // only one-byte integers have no byte order
        }
        guard let bits = Int(rest), [8, 16, 32, 64].contains(bits) else { return nil }
        bytes = bits / 8
    }

    /// A sized integer written as text (`as u16`): no byte order.
    init?(text word: String) {
        guard let first = word.first, first == "u" || first == "i", let bits = Int(word.dropFirst()),
            [8, 16, 32, 64].contains(bits)
        else { return nil }
        signed = first == "i"
        bytes = bits / 8
        bigEndian = true
    }

    var swiftName: String { (signed ? "Int" : "UInt") + String(bytes * 8) }
}

/// How a value is framed on the wire.
indirect enum Read {
    case until(delimiter: Literal, max: Limit?, conversion: Conversion?, location: SourceLocation)
    case bytes(count: Expression, max: Limit?, conversion: Conversion?, stream: Bool, location: SourceLocation)
    case rest(max: Limit?, conversion: Conversion?, stream: Bool, location: SourceLocation)
    case binary(BinaryType, location: SourceLocation)
    /// A variable-length unsigned integer: 7 bits a byte, least significant first, the high bit
    /// set on every byte but the last (`varint`: LEB128/protobuf, ≤ 10 bytes; `mqttlen`: ≤ 4).
    case varint(VarintKind, location: SourceLocation)
    case reference(String, location: SourceLocation)
    case repeatCount(element: Read, count: Expression, max: Limit?, location: SourceLocation)
    case repeatUntil(element: Read, terminator: Literal, max: Limit?, location: SourceLocation)
    /// `Element * until close`: elements until a clean EOF between two of them.
    case repeatUntilClose(element: Read, max: Limit?, location: SourceLocation)
    /// `Element * while flag`: elements until one whose field `flag` is unset (absent, or 0);
    /// `* while flag == name`: until one whose enum field `flag` is not the case `name`.
    case repeatWhile(element: Read, flag: String, flagLocation: SourceLocation, flagCase: (String, SourceLocation)?, max: Limit?, location: SourceLocation)
    /// `condition ? a : b`, either side `null` (`nil`), making the field optional.
    case conditional(condition: Expression, then: Read?, else: Read?, location: SourceLocation)

    var location: SourceLocation {
        switch self {
        case .until(_, _, _, let location), .bytes(_, _, _, _, let location), .rest(_, _, _, let location),
            .binary(_, let location), .varint(_, let location), .reference(_, let location), .repeatCount(_, _, _, let location),
            .repeatUntil(_, _, _, let location), .repeatUntilClose(_, _, let location), .repeatWhile(_, _, _, _, _, let location),
            .conditional(_, _, _, let location):
            location
        }
    }

    var isStreamed: Bool {
        switch self {
        case .bytes(_, _, _, let stream, _), .rest(_, _, let stream, _): stream
        case .conditional(_, let a, let b, _): (a?.isStreamed ?? false) || (b?.isStreamed ?? false)
        default: false
        }
    }
}

/// Integer arithmetic and conditions over earlier fields.
indirect enum Expression {
    case integer(Int, SourceLocation)
    case name(String, SourceLocation)
    case binary(String, Expression, Expression, SourceLocation)

    var location: SourceLocation {
        switch self {
        case .integer(_, let location), .name(_, let location), .binary(_, _, _, let location): location
        }
    }

    static let comparisons: Set<String> = ["<", "<=", ">", ">=", "==", "!="]

    /// The expression as a grammar writes it (for error messages).
    var text: String {
        switch self {
        case .integer(let value, _): String(value)
        case .name(let name, _): name
        case .binary(let op, let a, let b, _):
            "\(a.parenthesised(inside: op)) \(op) \(b.parenthesised(inside: op))"
        }
    }

    /// Parentheses unless the operand binds tighter than `op` (so `a - (b - c)` keeps them).
    private func parenthesised(inside op: String) -> String {
        guard case .binary(let inner, _, _, _) = self else { return text }
        return Self.precedence(inner) > Self.precedence(op) ? text : "(\(text))"
    }

    private static func precedence(_ op: String) -> Int {
        switch op {
        case "*": 4
        case "+", "-": 3
        case "&&": 1
        case "||": 0
        default: 2  // comparisons
        }
    }
    static let logical: Set<String> = ["&&", "||"]
}

/// `enum Name { case = "literal" … }`
struct EnumDeclaration {
    let name: String
    let location: SourceLocation
    let documentation: [String]
    let cases: [(name: String, literal: Literal)]
}
