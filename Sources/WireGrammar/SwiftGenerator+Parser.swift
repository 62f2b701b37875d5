/// Parser generation: `read(_:depth:)` for each message, one statement per grammar item.
extension SwiftGenerator {
    /// Names visible to expressions: grammar name → Swift local and its type.
    struct Names {
        var locals: [String: (swift: String, type: ValueType)] = [:]
    }

    mutating func generateParser(_ message: MessageDeclaration) {
        let streams = checker.streamingMessages.contains(message.name)
        let chunkParameter = streams ? ", chunks: (UnsafeRawBufferPointer) throws -> Void" : ""
        let depth = message.depthLimit ?? Self.defaultDepth
        patterns = []
        let body = captured { generator in generator.generateParserBody(message) }
        let patterns = self.patterns
        let name = message.name
        let usesSource = body.text.contains("_source.")
        code.block("extension \(name)\(streams ? "" : ": WireMessage")") { code in
            for (index, pattern) in patterns.enumerated() {
                code.line("/// `/\(pattern)/`, anchored where the message continues; compiled by wirec when it")
                code.line("/// generated this file, so `try!` cannot fail.")
                code.line("@usableFromInline static let _pattern\(index) = try! Pattern(\(SwiftNames.stringLiteral(pattern)), options: .anchored)")
                code.line()
            }
            if streams {
                code.line("/// Reads one message from `source`, handing the streamed field to `chunks` as it arrives.")
                code.line("@inlinable")
                code.block("public static func read(from source: some ByteSource\(chunkParameter)) async throws -> \(name)") { code in
                    code.line("var reader = WireReader(source, message: \(SwiftNames.stringLiteral(name)))")
                    code.block("do") { code in code.line("return try await read(&reader, depth: 0, chunks: chunks)") }
                    code.block("catch") { code in code.line("throw await reader.translate(error, at: reader.offset)") }
                }
                code.line()
            }
            code.line("/// Reads one message with `_wire`, nested `_depth` levels deep. Inlinable, so it is")
            code.line("/// specialised for the caller's source type (its `call` hooks are public).")
            code.line("@inlinable")
            code.block("public static func read<S: ByteSource>(_ _wire: inout WireReader<S>, depth _depth: Int\(chunkParameter)) async throws -> \(name)") { code in
                code.line("let _outer = try _wire.enter(\(SwiftNames.stringLiteral(name)), depth: _depth, limit: \(depth))")
                if usesSource { code.line("let _source = _wire.source  // one reference for the message's reads") }
                code.append(body)
            }
            // The twin: the same statements over `BufferedBytes`, whose reads (and the reader's,
            // there) are synchronous overloads of the same names; nested messages by their twins.
            let twin = body.rewritten {
                $0.replacing("try await ", with: "try ")
                    .replacing(".read(&_wire, depth: _depth + 1)", with: ".readBuffered(&_wire, depth: _depth + 1)")
            }
            if !streams && !twin.text.contains("await") {
                code.line()
                code.line("/// The synchronous twin of `read(_:depth:)`: the same reads over bytes already buffered,")
                code.line("/// throwing `BufferedBytes.Incomplete` where `read` would wait.")
                code.line("@inlinable")
                code.block("public static func readBuffered(_ _wire: inout WireReader<BufferedBytes>, depth _depth: Int) throws -> \(name)") { code in
                    code.line("let _outer = try _wire.enter(\(SwiftNames.stringLiteral(name)), depth: _depth, limit: \(depth))")
                    if usesSource { code.line("let _source = _wire.source  // one reference for the message's reads") }
                    code.append(twin)
                }
            }
        }
    }

    private mutating func generateParserBody(_ message: MessageDeclaration) {
        switch message.body {
        case .sequence(let items):
            var names = Names()
            emitItems(items, names: &names)
            let fields = storedFields(items)
            code.line("_wire.leave(_outer)")
            let arguments = fields.map { "\(SwiftNames.identifier($0.name)): \(names.locals[$0.name]?.swift ?? SwiftNames.identifier($0.name))" }
            code.line("return \(message.name)(\(arguments.joined(separator: ", ")))")
        case .choice(let choice):
            code.line("let _result: \(message.name)")
            let literals = choice.cases.compactMap(\.literal)
            let hasElse = choice.cases.contains { $0.literal == nil }
            if !choice.peek && !hasElse && literals.allSatisfy({ $0.bytes.count == 1 }) {
                code.line("_wire.field = \"\"")
                emitFramedRead(
                    into: "_prefix", type: .binary(BinaryType("u8")!), sync: "readBytesIfBuffered(1, ",
                    async: "readBytes(1, partial: false) ", closure: "{ _wire.byte($0) }")
                code.line("switch _prefix {")
                for alternative in choice.cases {
                    let literal = alternative.literal!
                    code.line("case \(literal.bytes[0]):  // \(literal.text)")
                    emitCase(alternative, in: message)
                }
                code.line("default:")
                code.indented { code in code.line("throw _wire.fail(.noAlternative(found: [_prefix]), at: _wire.offset - 1)") }
                code.line("}")
            } else {
                let list = "[" + literals.map { SwiftNames.bytes($0.bytes) }.joined(separator: ", ") + "]"
                code.line("_wire.field = \"\"")
                code.line("switch try await _wire.choose(\(list), consume: \(!choice.peek), orElse: \(hasElse)) {")
                var index = 0
                var elseCase: Case?
                for alternative in choice.cases {
                    guard let literal = alternative.literal else {
                        elseCase = alternative
                        continue
                    }
                    code.line("case \(index):  // \(literal.text)")
                    index += 1
                    emitCase(alternative, in: message)
                }
                code.line("default:")
                if let elseCase {
                    emitCase(elseCase, in: message)
                } else {
                    code.indented { code in code.line("throw _wire.fail(.noAlternative(found: []))") }
                }
                code.line("}")
            }
            code.line("_wire.leave(_outer)")
            code.line("return _result")
        }
    }

    /// One alternative's reads, indented under its `case`.
    private mutating func emitCase(_ alternative: Case, in message: MessageDeclaration) {
        nested { generator in generator.emitCaseBody(alternative, in: message) }
    }

    private mutating func emitCaseBody(_ alternative: Case, in message: MessageDeclaration) {
        let name = SwiftNames.identifier(alternative.name)
        // Errors name the alternative until its first field or let names itself.
        switch alternative.payload {
        case .block(let items) where items.first.map(Self.namesItsField) ?? false:
            break
        default:
            code.line("_wire.field = \(SwiftNames.stringLiteral(alternative.name))")
        }
        switch alternative.payload {
        case .none:
            code.line("_result = .\(name)")
        case .single(let read):
            let names = Names()
            emitRead(read, into: "_value", names: names)
            code.line(read.isStreamed ? "_result = .\(name)" : "_result = .\(name)(_value)")
        case .block(let items):
            var names = Names()
            emitItems(items, names: &names)
            let fields = storedFields(items)
            if fields.isEmpty {
                code.line("_result = .\(name)")
            } else {
                let arguments = fields.map { "\(SwiftNames.identifier($0.name)): \(names.locals[$0.name]?.swift ?? SwiftNames.identifier($0.name))" }
                code.line("_result = .\(name)(\(arguments.joined(separator: ", ")))")
            }
        }
    }

    private static func namesItsField(_ item: Item) -> Bool {
        switch item {
        case .field, .local: true
        default: false
        }
    }

    // MARK: Items

    mutating func emitItems(_ items: [Item], names: inout Names) {
        for item in items {
            switch item {
            case .literal(let literal):
                emitLiteral(literal)
            case .field(let name, _, let read), .local(let name, _, .read(let read)):
                fieldLiteral = SwiftNames.stringLiteral(name)
                code.line("_wire.field = \(fieldLiteral)")
                let local = SwiftNames.identifier(name)
                emitRead(read, into: local, names: names)
                if !read.isStreamed { names.locals[name] = (local, type(of: read)) }
            case .local(let name, _, .call(let function, let arguments, _)):
                let values = arguments.map { names.locals[$0.0]?.swift ?? SwiftNames.identifier($0.0) }
                let call = "try Self._wire_\(function)(\(values.joined(separator: ", ")))"
                if name == "_" {  // a check: its result is not kept (and needs no name)
                    code.line("_wire.field = \(SwiftNames.stringLiteral(function))")
                    code.line(call)
                } else {
                    let local = SwiftNames.identifier(name)
                    code.line("_wire.field = \(SwiftNames.stringLiteral(name))")
                    code.line("let \(local): Int = \(call)")
                    names.locals[name] = (local, .int)
                }
            case .local(let name, _, .expression(let computed)):
                let local = SwiftNames.identifier(name)
                let value = expression(computed, names: names)
                code.line("_wire.field = \(SwiftNames.stringLiteral(name))")
                code.line("let \(local): Int = \(tryPrefix(value))\(value)")
                names.locals[name] = (local, .int)
            case .conditional(let condition, let inner, _):
                // Names read inside the block are optional after it: declared here, set inside.
                var inside = names
                var declared: [(name: String, outer: String)] = []
                for field in storedFields(inner) where names.locals[field.name] == nil {
                    let outer = unique(field.name)
                    code.line("var \(outer): \(field.type.asOptional.swiftName) = nil")
                    declared.append((field.name, outer))
                }
                let test = expression(condition, names: names)
                code.line("if \(tryPrefix(test))\(test) {")
                nested { generator in
                    generator.emitItems(inner, names: &inside)
                    for (name, outer) in declared {
                        if let local = inside.locals[name] { generator.code.line("\(outer) = \(local.swift)") }
                    }
                }
                code.line("}")
                for (name, outer) in declared {
                    if let type = inside.locals[name]?.type { names.locals[name] = (outer, type.asOptional) }
                }
            case .same(let name, _):
                guard let earlier = names.locals[name] else { break }
                let bytes = Self.bytesOf(earlier.swift, earlier.type)
                let check = "{ try _wire.same($0, \(bytes), \(SwiftNames.stringLiteral(name))) }"
                code.line("if try _source.readBytesIfBuffered(\(bytes).count, \(check)) == nil {")
                code.indented { code in code.line("try await _source.readBytes(\(bytes).count, partial: false) \(check)") }
                code.line("}")
            case .check(let condition, _):
                let test = expression(condition, names: names)
                code.line("guard \(tryPrefix(test))\(test) else { throw _wire.fail(.checkFailed(\(SwiftNames.stringLiteral(condition.text)))) }")
            case .regex(let pattern, let location, let max, let captures):
                let index = patterns.count
                patterns.append(pattern)
                let groups = checker.regexGroups[location] ?? [:]
                code.line("_wire.field = \(SwiftNames.stringLiteral(captures.first?.name ?? ""))")
                let values = captures.map { capture -> String in
                    let number = groups[capture.name] ?? 0
                    let convert = conversionCall(capture.conversion, bytes: "$0")
                    if capture.optional {
                        let mapped = "_match[\(number)].map { \(convert) }"
                        return convert.contains("try ") ? "try " + mapped : mapped  // raw never throws
                    }
                    let call = conversionCall(capture.conversion, bytes: "WireConvert.group(_match, \(number), \(SwiftNames.stringLiteral(capture.name)))")
                    return call.hasPrefix("try ") ? call : "try " + call
                }
                fieldLiteral = SwiftNames.stringLiteral(captures.first?.name ?? "")
                let bound = captures.map { SwiftNames.identifier($0.name) }
                let target = captures.isEmpty ? "_" : "(\(bound.joined(separator: ", ")))"
                let closure = captures.isEmpty ? "{ _ in }" : "{ _match in (\(values.joined(separator: ", "))) }"
                code.line("let \(target) = try await _source.readUntilRegex(Self._pattern\(index), maxBytes: \(limit(max, default: Self.defaultUntilMax))) { try _wire.match($0) \(closure) }")
                for capture in captures {
                    var captured = type(ofConversion: capture.conversion)
                    if capture.optional { captured = .optional(captured) }
                    names.locals[capture.name] = (SwiftNames.identifier(capture.name), captured)
                }
            }
        }
    }

    // MARK: Reads

    /// Statements that read `read` into a new local `target` (nothing for a streamed read).
    mutating func emitRead(_ read: Read, into target: String, names: Names) {
        switch read {
        case .repeatCount(let element, let count, let max, _):
            let countLocal = unique("count")
            let elementType = type(of: element)
            let countCode = expression(count, names: names)
            code.line("let \(countLocal) = \(tryPrefix(countCode))\(countCode)")
            code.line("try _wire.checkLength(\(countLocal), max: \(limit(max, default: Self.defaultCountMax)))")
            code.line("var \(target): [\(elementType.swiftName)] = []")
            code.line("\(target).reserveCapacity(Swift.min(\(countLocal), 1024))")
            let field = fieldLiteral
            code.line("for _ in 0..<\(countLocal) {")
            nested { generator in
                generator.emitValue(element, into: "_element", names: names)
                generator.code.line("\(target).append(_element)")
                generator.code.line("_wire.field = \(field)")
            }
            code.line("}")
        case .repeatUntil(let element, let terminator, let max, _):
            let literal = SwiftNames.bytes(terminator.bytes)
            // The buffered check first, synchronously: an async call per element costs two executor checks.
            emitOpenRepetition(element, max: max, into: target, names: names, loop: "while true",
                               first: "if let _fast = try _wire.peekMatchesIfBuffered(\(literal)) { if _fast { break } } else if try await _wire.peekMatches(\(literal)) { break }")
            emitLiteral(terminator)
        case .repeatWhile(let element, let flag, _, _, let max, _):
            emitOpenRepetition(element, max: max, into: target, names: names, loop: "while true",
                               last: "if !(\(flagIsSet(flag, of: element, value: "_element"))) { break }  // the last element")
        case .repeatUntilClose(let element, let max, _):
            emitOpenRepetition(element, max: max, into: target, names: names, loop: "while try await !_wire.atEndOfInput()")
        case .conditional(let condition, let then, let otherwise, _):
            let resultType = type(of: read)
            let test = expression(condition, names: names)
            if read.isStreamed {
                code.line("if \(tryPrefix(test))\(test) {")
                emitBranch(then, into: nil, names: names)
                code.line("} else {")
                emitBranch(otherwise, into: nil, names: names)
                code.line("}")
                return
            }
            code.line("let \(target): \(resultType.swiftName)")
            code.line("if \(tryPrefix(test))\(test) {")
            emitBranch(then, into: target, names: names)
            code.line("} else {")
            emitBranch(otherwise, into: target, names: names)
            code.line("}")
        case .bytes(let count, let max, _, true, _):
            let countCode = expression(count, names: names)
            code.line("try await _wire.bytes(\(tryPrefix(countCode))\(countCode), max: \(limit(max, default: Self.defaultBytesMax)), chunks: chunks)")
        case .rest(let max, _, true, _):
            code.line("try await _wire.rest(max: \(max?.value ?? Int.max), chunks: chunks)")
        default:
            emitValue(read, into: target, names: names)
        }
    }

    /// One side of a conditional read, indented: into `target` (`nil` for `null`), or streamed.
    private mutating func emitBranch(_ read: Read?, into target: String?, names: Names) {
        nested { generator in
            if let read {
                if let target {
                    let temporary = generator.unique("branch")
                    generator.emitRead(read, into: temporary, names: names)
                    generator.code.line("\(target) = \(temporary)")
                } else {
                    generator.emitRead(read, into: "_", names: names)
                }
            } else if let target {
                generator.code.line("\(target) = nil")
            }
        }
    }

    /// The field being read (a Swift literal), to restore after nested messages reset it.

    /// `try ` where an expression calls the reader's checked arithmetic.
    func tryPrefix(_ code: String) -> String { code.contains("_wire.") ? "try " : "" }

    /// Statements reading one value into a new local `target`. Framed reads try the source's
    /// synchronous `…IfBuffered` form first (a buffered frame costs a function call) and await
    /// the async form only when the frame is not there yet.
    mutating func emitValue(_ read: Read, into target: String, names: Names) {
        switch read {
        case .until(let delimiter, let max, let conversion, _):
            let arguments = "\(SwiftNames.bytes(delimiter.bytes)), maxBytes: \(limit(max, default: Self.defaultUntilMax))"
            emitFramedRead(
                into: target, type: type(of: read), sync: "readUntilIfBuffered(\(arguments), ",
                async: "readUntil(\(arguments)) ", closure: frameClosure(conversion, trimming: delimiter.bytes.count))
        case .bytes(let count, let max, let conversion, _, _):
            let countCode = expression(count, names: names)
            let length = unique("length")
            code.line("let \(length) = try _wire.length(\(countCode), max: \(limit(max, default: Self.defaultBytesMax)))")
            if case .named(let name, _)? = conversion, checker.messages[name] != nil {
                // A sub-frame: the frame's bytes first, then the message read from them alone.
                let frame = unique("frame")
                emitFramedRead(
                    into: frame, type: .bytes, sync: "readBytesIfBuffered(\(length), ",
                    async: "readBytes(\(length), partial: false) ", closure: frameClosure(nil, trimming: 0))
                code.line("let \(target) = try await _wire.subFrame(\(frame), as: \(name).self, depth: _depth + 1)")
                return
            }
            if conversion == nil || conversion == .raw {
                // Raw bytes not yet buffered: read into the value itself, piece by piece (a large
                // frame never has to fit the read buffer whole).
                code.line("let \(target): [UInt8]")
                code.line("if let _fast = try _source.readBytesIfBuffered(\(length), \(frameClosure(conversion, trimming: 0))) {")
                code.indented { code in code.line("\(target) = _fast") }
                code.line("} else {")
                code.indented { code in code.line("\(target) = try await _wire.ownedBytes(\(length))") }
                code.line("}")
                return
            }
            emitFramedRead(
                into: target, type: type(of: read), sync: "readBytesIfBuffered(\(length), ",
                async: "readBytes(\(length), partial: false) ", closure: frameClosure(conversion, trimming: 0))
        case .varint(let kind, _):
            code.line("let \(target) = try await _wire.varint(maxBytes: \(kind.maxBytes))")
        case .binary(let binary, _):
            emitFramedRead(
                into: target, type: type(of: read), sync: "readBytesIfBuffered(\(binary.bytes), ",
                async: "readBytes(\(binary.bytes), partial: false) ",
                closure: "{ _wire.binary($0, \(binary.swiftName).self, bigEndian: \(binary.bigEndian)) }")
        case .rest(let max, let conversion, _, _):
            code.line("let \(target) = try await _wire.rest(max: \(max?.value ?? Int.max)) { \(conversionCall(conversion, bytes: "$0")) }")
        case .reference(let name, _):
            // Buffered, the nested message is parsed by its twin: no async call, so none of the
            // executor checks one pays on entry and return (two per HTTP header line).
            code.line("let \(target): \(name)")
            code.line("if let _fast = _wire.readIfBuffered(\(name).self, depth: _depth + 1) {")
            code.indented { code in code.line("\(target) = _fast") }
            code.line("} else {")
            code.indented { code in code.line("\(target) = try await \(name).read(&_wire, depth: _depth + 1)") }
            code.line("}")
        case .repeatCount, .repeatUntil, .repeatUntilClose, .repeatWhile, .conditional:
            emitRead(read, into: target, names: names)
        }
    }

    /// The capacity an open repetition's array gets with its first element.
    static let openRepetitionFirstCapacity = 16

    /// A repetition whose length is not known in advance (`* until`, `* while`, `* until close`):
    /// `loop` heads the loop, each element is checked against the limit before it is read, and
    /// `last` (if any) runs after each element to end the loop.
    private mutating func emitOpenRepetition(
        _ element: Read, max: Limit?, into target: String, names: Names, loop: String, first: String? = nil,
        last: String? = nil
    ) {
        let limit = limit(max, default: Self.defaultCountMax)
        code.line("var \(target): [\(type(of: element).swiftName)] = []")
        let field = fieldLiteral
        code.line("\(loop) {")
        nested { generator in
            if let first { generator.code.line(first) }
            generator.code.line("if \(target).count == \(limit) { throw _wire.fail(.limitExceeded(limit: \(limit), value: \(limit) + 1)) }")
            generator.emitValue(element, into: "_element", names: names)
            // Room for a few at the first element: growing one at a time reallocated at 1, 2, 4
            // and 8 (an HTTP head's headers); an empty list still allocates nothing.
            generator.code.line("if \(target).isEmpty { \(target).reserveCapacity(Swift.min(\(limit), \(Self.openRepetitionFirstCapacity))) }")
            generator.code.line("\(target).append(_element)")
            generator.code.line("_wire.field = \(field)")
            if let last { generator.code.line(last) }
        }
        code.line("}")
    }

    /// `let target: T` from `_source.<sync>closure)` if buffered, else from `await _source.<async>closure`.
    private mutating func emitFramedRead(into target: String, type: ValueType, sync: String, async: String, closure: String) {
        code.line("let \(target): \(type.swiftName)")
        code.line("if let _fast = try _source.\(sync)\(closure)) {")
        code.indented { code in code.line("\(target) = _fast") }
        code.line("} else {")
        code.indented { code in code.line("\(target) = try await _source.\(async)\(closure)") }
        code.line("}")
    }

    /// The bytes a `same` item repeats: the earlier value's own bytes (no copy for strings).
    static func bytesOf(_ value: String, _ type: ValueType) -> String {
        switch type {
        case .string: "\(value).utf8"
        case .enumeration: "\(value).wireLiteral"
        default: value
        }
    }

    /// Reads the literal's length and checks it is the literal (buffered: without awaiting).
    mutating func emitLiteral(_ literal: Literal) {
        let check = "{ try _wire.literal($0, \(SwiftNames.bytes(literal.bytes)), \(SwiftNames.stringLiteral(literal.text))) }"
        code.line("if try _source.readBytesIfBuffered(\(literal.bytes.count), \(check)) == nil {")
        code.indented { code in code.line("try await _source.readBytes(\(literal.bytes.count), partial: false) \(check)") }
        code.line("}")
    }

    /// `{ try _wire.frame($0, trimming: n) { conversion } }`: converts a lent frame, counts it.
    func frameClosure(_ conversion: Conversion?, trimming: Int) -> String {
        let convert = conversionCall(conversion, bytes: "$0")
        let mark = convert.hasPrefix("try ") ? "try " : ""
        return "{ \(mark)_wire.frame($0, trimming: \(trimming)) { \(convert) } }"
    }

    /// The conversion of lent `bytes` as Swift.
    func conversionCall(_ conversion: Conversion?, bytes: String) -> String {
        switch conversion {
        case nil, .raw?: "WireConvert.raw(\(bytes))"
        case .string?: "try WireConvert.string(\(bytes))"
        case .int?: "try WireConvert.int(\(bytes))"
        case .uint?: "try WireConvert.uint(\(bytes))"
        case .hex?: "try WireConvert.hex(\(bytes))"
        case .uhex?: "try WireConvert.uhex(\(bytes))"
        case .double?: "try WireConvert.double(\(bytes))"
        case .sized(let type, let hex)?: "try WireConvert.sized(\(bytes), as: \(type.swiftName).self, radix: \(hex ? 16 : 10))"
        case .named(let name, _)?:
            checker.enumerations[name] != nil ? "try WireConvert.value(\(bytes), as: \(name).self)" : "try \(name)(wireBytes: \(bytes))"
        }
    }

    /// An integer or condition expression; `try` goes in front of the whole expression.
    func expression(_ expression: Expression, names: Names) -> String {
        switch expression {
        case .integer(let value, _):
            return String(value)
        case .name(let name, _):
            guard let local = names.locals[name] else { return SwiftNames.identifier(name) }
            return local.type == .int ? local.swift : "_wire.int(\(local.swift))"
        case .binary(let op, let a, let b, _):
            let left = self.expression(a, names: names)
            let right = self.expression(b, names: names)
            switch op {
            case "+": return "_wire.add(\(left), \(right))"
            case "-": return "_wire.subtract(\(left), \(right))"
            case "*": return "_wire.multiply(\(left), \(right))"
            default: return "(\(left) \(op) \(right))"
            }
        }
    }
}
