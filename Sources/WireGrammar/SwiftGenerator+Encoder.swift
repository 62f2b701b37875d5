/// Encoder generation for request messages: `encode(into:)` writes the items in grammar order,
/// deriving each length or count `let` from the field it measures.
extension SwiftGenerator {
    mutating func generateEncoder(_ message: MessageDeclaration) {
        let body = captured { generator in generator.emitEncoderBody(message) }
        let name = message.name
        code.block("extension \(name): WireRequest") { code in
            code.line("/// Appends this message's bytes to `writer`, checked against the grammar.")
            code.block("public func encode(into writer: inout WireWriter) throws") { code in
                code.line("let _outer = writer.message")
                code.line("writer.message = \(SwiftNames.stringLiteral(name))")
                code.append(body)
                code.line("writer.message = _outer")
                code.line("writer.field = \"\"")
            }
        }
    }

    private mutating func emitEncoderBody(_ message: MessageDeclaration) {
        switch message.body {
        case .sequence(let items):
            var values: [String: String] = [:]
            for field in storedFields(items) {
                values[field.name] = "self.\(SwiftNames.identifier(field.name))"
            }
            emitEncoding(items, values: values)
        case .choice(let choice):
            code.line("switch self {")
            for alternative in choice.cases {
                let payload = casePayload(alternative)
                let name = SwiftNames.identifier(alternative.name)
                var values: [String: String] = [:]
                var bindings: [String] = []
                for (index, field) in payload.enumerated() {
                    let local = "_v\(index)"
                    values[field.name.isEmpty ? "" : field.name] = local
                    bindings.append("let \(local)")
                }
                code.line("case .\(name)\(bindings.isEmpty ? "" : "(" + bindings.joined(separator: ", ") + ")"):")
                nested { generator in
                    generator.code.line("writer.field = \(SwiftNames.stringLiteral(alternative.name))")
                    if let literal = alternative.literal { generator.code.line("writer.literal(\(SwiftNames.bytes(literal.bytes)))") }
                    switch alternative.payload {
                    case .none: break
                    case .single(let read): generator.emitFieldEncoding(read, value: values[""] ?? "_v0", items: [], values: values)
                    case .block(let items): generator.emitEncoding(items, values: values)
                    }
                }
            }
            code.line("}")
        }
    }

    /// Items in order; `values` maps stored fields to the Swift expressions holding them.
    private mutating func emitEncoding(_ items: [Item], values: [String: String]) {
        var values = values
        let types = Dictionary(storedFields(items).map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        // Derived lets first: each solved from the size of the later field whose length uses it.
        for (index, item) in items.enumerated() {
            let name: String
            switch item {
            case .local(let local, _, .read), .local(let local, _, .expression): name = local
            default: continue
            }
            guard let derivation = Checker.derivation(of: name, in: Array(items[(index + 1)...])),
                let solved = solve(derivation, values: values)
            else { continue }
            let local = "_\(name)"
            code.line("let \(local) = \(solved)")
            values[name] = local
        }
        for item in items {
            switch item {
            case .literal(let literal):
                code.line("writer.literal(\(SwiftNames.bytes(literal.bytes)))")
            case .field(let name, _, let read):
                code.line("writer.field = \(SwiftNames.stringLiteral(name))")
                emitFieldEncoding(read, value: values[name] ?? "self.\(SwiftNames.identifier(name))", items: items, values: values)
            case .local(let name, _, .read(let read)):
                code.line("writer.field = \(SwiftNames.stringLiteral(name))")
                let value = values[name] ?? "0"
                switch read {
                case .binary(let binary, _):
                    code.line("try writer.binary(\(value), as: \(binary.swiftName).self, bigEndian: \(binary.bigEndian))")
                case .varint(let kind, _):
                    code.line("try writer.varint(\(value), maxBytes: \(kind.maxBytes))")
                case .until(let delimiter, let max, let conversion, _):
                    var number = value
                    if case .sized(let type, _)? = conversion { number = "try writer.sized(\(value), as: \(type.swiftName).self)" }
                    let (delimiterBytes, maxBytes) = (SwiftNames.bytes(delimiter.bytes), limit(max, default: Self.defaultUntilMax))
                    if conversion.map(Self.isHexText) ?? false {
                        code.line("try writer.delimited(WireFormat.hex(\(number)), delimiter: \(delimiterBytes), max: \(maxBytes))")
                    } else {
                        code.line("try writer.delimitedDecimal(\(number), delimiter: \(delimiterBytes), max: \(maxBytes))")
                    }
                default:
                    break  // the checker allows only integer framings here
                }
            case .same(let name, _):
                let value = values[name] ?? "self.\(SwiftNames.identifier(name))"
                code.line("writer.bytes.append(contentsOf: \(Self.bytesOf(value, types[name] ?? .bytes)))")
            case .check(let condition, _):
                let text = SwiftNames.stringLiteral("check '\(condition.text)' fails")
                code.line("guard \(encoderExpression(condition, values: values)) else { throw writer.fail(\(text)) }")
            case .local(_, _, .call), .local(_, _, .expression), .conditional, .regex:
                break  // refused by the checker for request messages
            }
        }
    }

    /// Writes one field's `value` as `read` frames it.
    private mutating func emitFieldEncoding(_ read: Read, value: String, items: [Item], values: [String: String]) {
        switch read {
        case .until(let delimiter, let max, let conversion, _):
            code.line("try writer.delimited(\(encodedBytes(value, conversion)), delimiter: \(SwiftNames.bytes(delimiter.bytes)), max: \(limit(max, default: Self.defaultUntilMax)))")
        case .bytes(let count, let max, let conversion, _, _):
            code.line("try writer.exact(\(encodedBytes(value, conversion)), count: \(encoderExpression(count, values: values)), max: \(limit(max, default: Self.defaultBytesMax)))")
        case .rest(_, let conversion, _, _):
            code.line("writer.bytes.append(contentsOf: \(encodedBytes(value, conversion)))")
        case .binary(let binary, _):
            code.line("writer.binary(\(value), bigEndian: \(binary.bigEndian))")
        case .varint(let kind, _):
            code.line("try writer.varint(\(value), maxBytes: \(kind.maxBytes))")
        case .reference:
            code.line("try \(value).encode(into: &writer)")
        case .repeatCount(let element, let count, let max, _):
            let expected = encoderExpression(count, values: values)
            code.line("try writer.checkCount(\(value).count, max: \(limit(max, default: Self.defaultCountMax)))")
            code.line("guard \(value).count == \(expected) else { throw writer.fail(\"has \\(\(value).count) elements where the grammar says \\(\(expected))\") }")
            emitEach(element, of: value, values: values)
        case .repeatUntil(let element, let terminator, let max, _):
            code.line("try writer.checkCount(\(value).count, max: \(limit(max, default: Self.defaultCountMax)))")
            emitEach(element, of: value, values: values)
            code.line("writer.literal(\(SwiftNames.bytes(terminator.bytes)))")
        case .repeatWhile(let element, let flag, _, _, let max, _):
            code.line("try writer.checkCount(\(value).count, max: \(limit(max, default: Self.defaultCountMax)))")
            code.line("if \(value).isEmpty { throw writer.fail(\"has no elements; its parser reads at least one\") }")
            code.line("for (_index, _element) in \(value).enumerated() where (\(flagIsSet(flag, of: element, value: "_element"))) != (_index < \(value).count - 1) {")
            nested { generator in
                generator.code.line("throw writer.fail(\"element \\(_index): '\(flag)' must be set on every element but the last\")")
            }
            code.line("}")
            emitEach(element, of: value, values: values)
        case .repeatUntilClose(let element, let max, _):
            code.line("try writer.checkCount(\(value).count, max: \(limit(max, default: Self.defaultCountMax)))")
            emitEach(element, of: value, values: values)  // the end of the stream ends it: nothing to write
        case .conditional:
            break  // refused by the checker for request messages
        }
    }

    /// Swift for the value a derivation gives: the field's size, then each linear step undone
    /// (`(size - offset) / scale`, refused by the writer when it does not divide).
    private func solve(_ derivation: Checker.Derivation, values: [String: String]) -> String? {
        func undo(_ size: String, scale: Int, offset: Int) -> String {
            scale == 1 && offset == 0 ? size : "try writer.solve(\(size), scale: \(scale), offset: \(offset))"
        }
        switch derivation {
        case .field(let field, let read, let scale, let offset):
            guard let value = values[field] else { return nil }
            let size: String
            if case .bytes(_, _, let conversion, _, _) = read {
                size = "\(encodedBytes(value, conversion)).count"
            } else {
                size = "\(value).count"
            }
            return undo(size, scale: scale, offset: offset)
        case .local(_, let source, let scale, let offset):
            guard let inner = solve(source, values: values) else { return nil }
            return undo("(\(inner))", scale: scale, offset: offset)
        }
    }

    /// `for _element in value { … }`: each element of a repetition as `element` frames it.
    private mutating func emitEach(_ element: Read, of value: String, values: [String: String]) {
        code.line("for _element in \(value) {")
        nested { generator in generator.emitFieldEncoding(element, value: "_element", items: [], values: values) }
        code.line("}")
    }

    /// The bytes a value is written as, for its conversion.
    private func encodedBytes(_ value: String, _ conversion: Conversion?) -> String {
        switch conversion {
        case nil, .raw?: value
        case .string?: "\(value).utf8"  // written from the string's own bytes: no array per field
        case .int?, .uint?, .sized(_, false)?: "WireFormat.decimal(\(value))"
        case .hex?, .uhex?, .sized(_, true)?: "WireFormat.hex(\(value))"
        case .double?: "WireFormat.double(\(value))"
        case .named(let name, _)?:
            checker.enumerations[name] != nil ? "\(value).wireLiteral"
                : checker.messages[name] != nil ? "try \(value).encoded()" : "try \(value).wireBytes()"
        }
    }

    /// A length or count expression over the encoder's values (wrapping arithmetic: a wrong
    /// result only fails the length check).
    private func encoderExpression(_ expression: Expression, values: [String: String]) -> String {
        switch expression {
        case .integer(let value, _): String(value)
        case .name(let name, _): "Int(truncatingIfNeeded: \(values[name] ?? SwiftNames.identifier(name)))"
        case .binary(let op, let a, let b, _):
            "(\(encoderExpression(a, values: values)) \(Self.wrapping[op] ?? op) \(encoderExpression(b, values: values)))"
        }
    }

    private static let wrapping = ["+": "&+", "-": "&-", "*": "&*"]

    private static func isHexText(_ conversion: Conversion) -> Bool {
        switch conversion {
        case .hex, .uhex, .sized(_, true): true
        default: false
        }
    }
}
