/// A plausible wire sample of a message, for its doc comment: numbers are 3, strings "abc",
/// lengths and counts follow from them, switches take their first alternative.
struct SampleWriter {
    let checker: Checker
    private var values: [String: Int] = [:]
    private var depth = 0

    init(checker: Checker) {
        self.checker = checker
    }

    mutating func sample(of message: MessageDeclaration) -> String {
        var bytes: [UInt8] = []
        write(message, into: &bytes)
        var text = ""
        for byte in bytes.prefix(160) {
            switch byte {
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            case 0x09: text += "\\t"
            case 0x20..<0x7F: text.append(Character(Unicode.Scalar(byte)))
            default: text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return bytes.count > 160 ? text + "..." : text
    }

    private mutating func write(_ message: MessageDeclaration, into bytes: inout [UInt8]) {
        guard depth < 3 else {
            bytes += Array("...".utf8)
            return
        }
        depth += 1
        let saved = values
        values = [:]
        switch message.body {
        case .sequence(let items):
            write(items, into: &bytes)
        case .choice(let choice):
            if let first = choice.cases.first {
                if let literal = first.literal, !choice.peek { bytes += literal.bytes }
                switch first.payload {
                case .none: break
                case .single(let read): write(read, into: &bytes)
                case .block(let items): write(items, into: &bytes)
                }
            }
        }
        values = saved
        depth -= 1
    }

    private mutating func write(_ items: [Item], into bytes: inout [UInt8]) {
        for item in items {
            switch item {
            case .literal(let literal):
                bytes += literal.bytes
            case .field(let name, _, let read), .local(let name, _, .read(let read)):
                if let value = write(read, into: &bytes) { values[name] = value }
            case .local(let name, _, .call):
                values[name] = 3
            case .local(let name, _, .expression(let computed)):
                values[name] = evaluate(computed)
            case .conditional(let condition, let inner, _):
                if evaluate(condition) != 0 { write(inner, into: &bytes) }
            case .regex(let pattern, _, _, _):
                bytes += Array("<match of /\(pattern)/>".utf8)
            case .same:
                bytes += Array("abc".utf8)  // what every earlier string or raw sample is
            case .check:
                break
            }
        }
    }

    /// Writes a sample of `read`; returns its integer value when it has one.
    @discardableResult
    private mutating func write(_ read: Read, into bytes: inout [UInt8]) -> Int? {
        switch read {
        case .until(let delimiter, _, let conversion, _):
            let (text, value) = sampleValue(conversion)
            bytes += text + delimiter.bytes
            return value
        case .bytes(let count, _, let conversion, _, _):
            let length = max(0, min(evaluate(count), 64))
            let (text, _) = sampleValue(conversion)
            bytes += (0..<length).map { text.isEmpty ? UInt8(ascii: "x") : text[$0 % text.count] }
            return nil
        case .rest:
            bytes += Array("...".utf8)
            return nil
        case .varint:
            bytes += [0x83, 0x01]  // 131
            return 131
        case .binary(let binary, _):
            var value = [UInt8](repeating: 0, count: binary.bytes)
            value[binary.bigEndian ? binary.bytes - 1 : 0] = 3
            bytes += value
            return 3
        case .reference(let name, _):
            if let message = checker.messages[name] { write(message, into: &bytes) }
            return nil
        case .repeatCount(let element, let count, _, _):
            for _ in 0..<max(0, min(evaluate(count), 3)) { write(element, into: &bytes) }
            return nil
        case .repeatUntil(let element, let terminator, _, _):
            write(element, into: &bytes)
            bytes += terminator.bytes
            return nil
        case .repeatWhile(let element, _, _, _, _, _):
            write(element, into: &bytes)
            return nil
        case .repeatUntilClose(let element, _, _):
            write(element, into: &bytes)
            write(element, into: &bytes)
            return nil
        case .conditional(let condition, let then, let otherwise, _):
            if let chosen = evaluate(condition) != 0 ? then : otherwise { return write(chosen, into: &bytes) }
            return nil
        }
    }

    private func sampleValue(_ conversion: Conversion?) -> ([UInt8], Int?) {
        switch conversion {
        case .int?, .uint?, .hex?, .uhex?, .sized?: (Array("3".utf8), 3)
        case .double?: (Array("1.5".utf8), nil)
        case .named(let name, _)?: (checker.enumerations[name]?.cases.first?.literal.bytes ?? Array("abc".utf8), nil)
        default: (Array("abc".utf8), nil)
        }
    }

    private func evaluate(_ expression: Expression) -> Int {
        switch expression {
        case .integer(let value, _): return value
        case .name(let name, _): return values[name] ?? 3
        case .binary(let op, let a, let b, _):
            let x = evaluate(a)
            let y = evaluate(b)
            switch op {
            case "+": return x &+ y
            case "-": return x &- y
            case "*": return x &* y
            case "<": return x < y ? 1 : 0
            case "<=": return x <= y ? 1 : 0
            case ">": return x > y ? 1 : 0
            case ">=": return x >= y ? 1 : 0
            case "==": return x == y ? 1 : 0
            case "!=": return x != y ? 1 : 0
            case "&&": return x != 0 && y != 0 ? 1 : 0
            default: return x != 0 || y != 0 ? 1 : 0
            }
        }
    }
}
