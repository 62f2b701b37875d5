/// Splits a grammar into tokens. Mistakes (an unterminated string, a bad escape) are reported
/// and lexing goes on, so one run reports as much as it can.
struct Lexer {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var lineStart = 0
    private(set) var diagnostics: [Diagnostic] = []

    init(_ source: String) {
        bytes = Array(source.utf8)
    }

    private static let symbols = ["=>", "<=", ">=", "==", "!=", "&&", "||",
                                  "{", "}", "(", ")", ":", "=", ",", "?", "*", "+", "-", "<", ">", ";"]
    private static let sizeSuffixes: [(String, Int)] = [
        ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("K", 1000), ("M", 1_000_000), ("G", 1_000_000_000),
    ]

    mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        var documentation: [String] = []
        while true {
            skipSpace(collecting: &documentation)
            let location = SourceLocation(line: line, column: index - lineStart + 1)
            guard index < bytes.count else {
                tokens.append(Token(kind: .endOfFile, location: location))
                return tokens
            }
            var token = Token(kind: next(at: location), location: location)
            token.documentation = documentation
            documentation = []
            tokens.append(token)
        }
    }

    private mutating func skipSpace(collecting documentation: inout [String]) {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\n"):
                index += 1
                line += 1
                lineStart = index
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                index += 1
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "/"):
                let start = index
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                if text.hasPrefix("///") {
                    documentation.append(String(text.dropFirst(3).drop(while: { $0 == " " })))
                } else {
                    documentation = []  // a plain comment ends a doc block
                }
            default:
                return
            }
        }
    }

    private func peek(_ offset: Int) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private mutating func next(at location: SourceLocation) -> Token.Kind {
        let byte = bytes[index]
        if Self.isIdentifierStart(byte) {
            let start = index
            while index < bytes.count && Self.isIdentifierContinue(bytes[index]) { index += 1 }
            return .identifier(String(decoding: bytes[start..<index], as: UTF8.self))
        }
        if byte == UInt8(ascii: "_") {
            let start = index
            index += 1
            if index < bytes.count && Self.isIdentifierContinue(bytes[index]) {
                while index < bytes.count && Self.isIdentifierContinue(bytes[index]) { index += 1 }
                let name = String(decoding: bytes[start..<index], as: UTF8.self)
                diagnostics.append(Diagnostic(location, "'\(name)': names cannot start with '_' (the generated code's own names do)"))
                return .identifier(String(name.drop { $0 == "_" }))
            }
            return .identifier("_")  // `let _ = call check(…)`: a check whose result is not kept
        }
        if Self.isDigit(byte) { return number(at: location) }
        if byte == UInt8(ascii: "\"") { return string(at: location) }
        if byte == UInt8(ascii: "/") { return regex(at: location) }
        for symbol in Self.symbols where bytes[index...].starts(with: symbol.utf8) {
            index += symbol.utf8.count
            return .symbol(symbol)
        }
        index += 1
        diagnostics.append(Diagnostic(location, "unexpected character '\(Character(Unicode.Scalar(byte)))'"))
        return .symbol("?unknown")
    }

    private mutating func number(at location: SourceLocation) -> Token.Kind {
        var value = 0
        var overflow = false
        while index < bytes.count && (Self.isDigit(bytes[index]) || bytes[index] == UInt8(ascii: "_")) {
            if bytes[index] != UInt8(ascii: "_") {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(bytes[index] - UInt8(ascii: "0")))
                overflow = overflow || o1 || o2
                value = sum
            }
            index += 1
        }
        for (suffix, scale) in Self.sizeSuffixes where bytes[index...].starts(with: suffix.utf8) {
            let after = index + suffix.utf8.count
            if after < bytes.count && Self.isIdentifierContinue(bytes[after]) { continue }
            index = after
            let (scaled, o) = value.multipliedReportingOverflow(by: scale)
            overflow = overflow || o
            value = scaled
            break
        }
        if overflow { diagnostics.append(Diagnostic(location, "number is too large")) }
        return .integer(value)
    }

    private mutating func string(at location: SourceLocation) -> Token.Kind {
        let start = index
        index += 1
        var value: [UInt8] = []
        while index < bytes.count && bytes[index] != UInt8(ascii: "\"") && bytes[index] != UInt8(ascii: "\n") {
            if bytes[index] == UInt8(ascii: "\\") {
                let escapeLocation = SourceLocation(line: line, column: index - lineStart + 1)
                index += 1
                guard index < bytes.count else { break }
                switch bytes[index] {
                case UInt8(ascii: "r"): value.append(13)
                case UInt8(ascii: "n"): value.append(10)
                case UInt8(ascii: "t"): value.append(9)
                case UInt8(ascii: "0"): value.append(0)
                case UInt8(ascii: "\\"), UInt8(ascii: "\""): value.append(bytes[index])
                case UInt8(ascii: "x"):
                    if index + 2 < bytes.count, let high = Self.hexValue(bytes[index + 1]), let low = Self.hexValue(bytes[index + 2]) {
                        value.append(high << 4 | low)
                        index += 2
                    } else {
                        diagnostics.append(Diagnostic(escapeLocation, "'\\x' needs two hex digits"))
                    }
                default:
                    diagnostics.append(Diagnostic(
                        escapeLocation, "unknown escape '\\\(Character(Unicode.Scalar(bytes[index])))' (use \\r \\n \\t \\0 \\\\ \\\" or \\xHH)"))
                }
                index += 1
            } else {
                value.append(bytes[index])
                index += 1
            }
        }
        if index < bytes.count && bytes[index] == UInt8(ascii: "\"") {
            index += 1
        } else {
            diagnostics.append(Diagnostic(location, "unterminated string"))
        }
        return .string(value, text: String(decoding: bytes[start..<index], as: UTF8.self))
    }

    private mutating func regex(at location: SourceLocation) -> Token.Kind {
        index += 1
        let start = index
        while index < bytes.count && bytes[index] != UInt8(ascii: "/") && bytes[index] != UInt8(ascii: "\n") {
            index += bytes[index] == UInt8(ascii: "\\") && index + 1 < bytes.count ? 2 : 1
        }
        let source = String(decoding: bytes[start..<min(index, bytes.count)], as: UTF8.self)
        if index < bytes.count && bytes[index] == UInt8(ascii: "/") {
            index += 1
        } else {
            diagnostics.append(Diagnostic(location, "unterminated regex (a regex is written /…/ on one line)"))
        }
        return .regex(source)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
    private static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
    }
    private static func isIdentifierContinue(_ byte: UInt8) -> Bool {
        isIdentifierStart(byte) || isDigit(byte) || byte == UInt8(ascii: "_")
    }
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }
}
