/// Checks a parsed grammar and works out what code generation needs: the type of every name,
/// the regex group numbers, which messages stream a field, how encoders derive lengths.
///
/// Catches: undefined and duplicate names, names used before they are parsed, non-integer
/// lengths, unbounded reads, bad limits, invalid regexes and missing groups, unreachable
/// alternatives, left recursion, structs that contain themselves, streamed fields in the wrong
/// place, and request messages that cannot be encoded.
struct Checker {
    let grammar: Grammar
    private(set) var diagnostics: [Diagnostic] = []

    private(set) var messages: [String: MessageDeclaration] = [:]
    /// How each `* while flag` tells its last element: the flag field is absent, or 0.
    private(set) var flagKinds: [FlagKey: FlagKind] = [:]

    struct FlagKey: Hashable {
        let message: String
        let field: String
    }

    enum FlagKind {
        case optional
        case integer
        /// `* while flag == name`: the enum field is the case `name`.
        case enumCase(String)
    }
    /// The hand-written hooks each message's `call`s need, in order of first use.
    private(set) var hooks: [String: [Hook]] = [:]

    /// One `call fn(a, b)`: the static function the generated parser calls.
    struct Hook {
        let function: String
        let arguments: [(name: String, type: ValueType)]
        /// `let n = call …` needs an `Int`; a check (`call …` alone) returns nothing.
        let returnsLength: Bool
        let location: SourceLocation

        var signature: String {
            let parameters = arguments.map { "_ \(SwiftNames.identifier($0.name)): \($0.type.swiftName)" }
            return "static func \(SwiftNames.identifier(function))(\(parameters.joined(separator: ", "))) throws\(returnsLength ? " -> Int" : "")"
        }
    }
    private(set) var enumerations: [String: EnumDeclaration] = [:]
    private(set) var externTypes: Set<String> = []
    /// Group numbers of each regex, by the regex item's location.
    private(set) var regexGroups: [SourceLocation: [String: Int]] = [:]
    /// Messages with a streamed field (their parser takes a chunk handler).
    private(set) var streamingMessages: Set<String> = []

    init(grammar: Grammar) {
        self.grammar = grammar
    }

    mutating func check() {
        collectDeclarations()
        for case .message(let message) in grammar.declarations {
            checkMessage(message)
        }
        for (message, _) in hooks {
            if let clash = grammar.declarations.first(where: { $0.name == message + "Hooks" }) {
                error(clash.location, "'\(clash.name)' is the name of the protocol generated for '\(message)''s call hooks: name it differently")
            }
        }
        checkClients()
        checkStreamingUse()
        checkLeftRecursion()
        checkSelfContainment()
    }

    // MARK: Declarations

    private mutating func collectDeclarations() {
        var seen: [String: SourceLocation] = [:]
        for declaration in grammar.declarations {
            if let earlier = seen[declaration.name] {
                error(declaration.location, "'\(declaration.name)' is already declared (line \(earlier.line))")
                continue
            }
            seen[declaration.name] = declaration.location
            if let owner = Self.reservedNames[declaration.name] {
                error(declaration.location, "'\(declaration.name)' would hide \(owner)'s \(declaration.name), which the generated Swift uses: name it differently (e.g. '\(declaration.name)Value')")
            }
            switch declaration {
            case .message(let message): messages[message.name] = message
            case .enumeration(let enumeration):
                enumerations[enumeration.name] = enumeration
                checkEnumeration(enumeration)
            case .externType(let name, _): externTypes.insert(name)
            case .client: break  // checked once every message is known
            }
        }
    }

    /// Types the generated Swift names unqualified, and where they come from. Other names (RESP's
    /// `Pair`, `Boolean`) are the grammar's module's own; a program that imports two modules
    /// declaring one qualifies it (`WireRedis.Pair`).
    static let reservedNames: [String: String] = {
        var names: [String: String] = [:]
        // Exactly the names generated files use (`T?` is sugar, so a message may be called `Optional`).
        for name in ["Swift", "Array", "Double", "Int", "Int8", "Int16", "Int32", "Int64", "UInt", "UInt8", "UInt16", "UInt32",
                     "UInt64", "String", "Void", "Sendable", "Hashable", "CaseIterable", "UnsafeRawBufferPointer"] {
            names[name] = "Swift"
        }
        for name in ["Wirestream", "ByteSource", "Pattern", "WireConvert", "WireFormat", "WireEnumeration", "WireMessage",
                     "WireRequest", "WireReader", "WireWriter", "WireConversionFailure"] {
            names[name] = "Wirestream"
        }
        return names
    }()

    private mutating func checkEnumeration(_ enumeration: EnumDeclaration) {
        var names: Set<String> = []
        var values: Set<[UInt8]> = []
        if enumeration.cases.isEmpty { error(enumeration.location, "enumeration '\(enumeration.name)' has no values") }
        for (name, literal) in enumeration.cases {
            if !names.insert(name).inserted { error(literal.location, "duplicate case '\(name)' in '\(enumeration.name)'") }
            if !values.insert(literal.bytes).inserted { error(literal.location, "duplicate value \(literal.text) in '\(enumeration.name)'") }
        }
    }

    // MARK: Messages

    /// Names visible while checking a sequence, in parse order.
    private struct Scope {
        var types: [String: ValueType] = [:]
        var locations: [String: SourceLocation] = [:]
        /// Every name the message declares anywhere, to tell "used too early" from "undefined".
        var declaredLater: [String: SourceLocation] = [:]
    }

    private mutating func checkMessage(_ message: MessageDeclaration) {
        var streamed: [SourceLocation] = []
        switch message.body {
        case .sequence(let items):
            var scope = Scope()
            collectNames(items, into: &scope.declaredLater)
            checkItems(items, in: message, scope: &scope, streamed: &streamed)
        case .choice(let choice):
            checkSwitch(choice, in: message, streamed: &streamed)
        }
        if streamed.count > 1 {
            error(streamed[1], "only one field of a message can be streamed ('\(message.name)' streams another at line \(streamed[0].line))")
        }
        if !streamed.isEmpty { streamingMessages.insert(message.name) }
        if message.isRequest { checkEncodable(message) }
    }

    private mutating func checkSwitch(_ choice: Switch, in message: MessageDeclaration, streamed: inout [SourceLocation]) {
        var names: Set<String> = []
        var earlier: [Literal] = []
        if choice.cases.isEmpty { error(choice.location, "a switch needs at least one alternative") }
        for alternative in choice.cases {
            if !names.insert(alternative.name).inserted {
                error(alternative.location, "duplicate alternative name '\(alternative.name)'")
            }
            if let literal = alternative.literal {
                if let shadow = earlier.first(where: { literal.bytes.starts(with: $0.bytes) }) {
                    let why = shadow.bytes == literal.bytes ? "repeats" : "starts with"
                    error(literal.location, "unreachable alternative: \(literal.text) \(why) \(shadow.text) (line \(shadow.location.line)), which is tried first")
                }
                earlier.append(literal)
            }
            var scope = Scope()
            switch alternative.payload {
            case .none:
                break
            case .single(let read):
                _ = checkRead(read, in: message, scope: scope, streamed: &streamed)
            case .block(let items):
                collectNames(items, into: &scope.declaredLater)
                checkItems(items, in: message, scope: &scope, streamed: &streamed)
            }
        }
    }

    private func collectNames(_ items: [Item], into names: inout [String: SourceLocation]) {
        for item in items {
            switch item {
            case .field(let name, let location, _), .local(let name, let location, _):
                if names[name] == nil { names[name] = location }
            case .conditional(_, let inner, _):
                collectNames(inner, into: &names)
            case .regex(_, _, _, let captures):
                for capture in captures where names[capture.name] == nil { names[capture.name] = capture.location }
            case .literal, .same, .check:
                break
            }
        }
    }

    private mutating func checkItems(
        _ items: [Item], in message: MessageDeclaration, scope: inout Scope, streamed: inout [SourceLocation]
    ) {
        for (index, item) in items.enumerated() {
            if index < items.count - 1, let untilClose = Self.untilCloseRead(item) {
                error(untilClose.location, "nothing can follow a repetition 'until close': the input has ended there")
            }
            switch item {
            case .literal:
                break
            case .same(let name, let location):
                checkSame(name, at: location, scope: scope)
            case .check(let condition, _):
                checkCondition(condition, scope: scope)
            case .field(let name, let location, let read):
                if let type = checkRead(read, in: message, scope: scope, streamed: &streamed) {
                    declare(name, location, type, in: &scope)
                }
            case .local(let name, let location, .read(let read)):
                if read.isStreamed { error(read.location, "a 'let' cannot be streamed; stream a field instead") }
                if let type = checkRead(read, in: message, scope: scope, streamed: &streamed) {
                    declare(name, location, type, in: &scope)
                }
            case .local(let name, let location, .call(let function, let arguments, let callLocation)):
                let types = arguments.map { lookUp($0.0, $0.1, scope: scope) }
                if types.allSatisfy({ $0 != nil }) {
                    let hook = Hook(function: function, arguments: zip(arguments, types).map { ($0.0, $1!) }, returnsLength: name != "_", location: callLocation)
                    addHook(hook, to: message.name)
                }
                if name != "_" { declare(name, location, .int, in: &scope) }  // "_": a check, nothing kept
            case .local(let name, let location, .expression(let computed)):
                checkInteger(computed, scope: scope)
                declare(name, location, .int, in: &scope)
            case .conditional(let condition, let inner, _):
                checkCondition(condition, scope: scope)
                // Inside the block its names are present; after it they are optional.
                var inside = scope
                checkItems(inner, in: message, scope: &inside, streamed: &streamed)
                for (name, type) in inside.types where scope.types[name] == nil {
                    declare(name, inside.locations[name]!, type.asOptional, in: &scope)
                }
            case .regex(let pattern, let location, let max, let captures):
                checkLimit(max)
                switch RegexInspector.groups(of: pattern) {
                case .failure(let failure):
                    error(SourceLocation(line: location.line, column: location.column), "invalid regex at offset \(failure.offset): \(failure.message)")
                case .success(let groups):
                    regexGroups[location] = groups
                    for capture in captures {
                        if groups[capture.name] == nil {
                            let known = groups.keys.sorted().joined(separator: ", ")
                            error(capture.location, "the regex has no group named '\(capture.name)'" + (known.isEmpty ? " (it has no named groups)" : " (it has: \(known))"))
                        }
                        guard let type = conversionType(capture.conversion) else { continue }
                        let captured = capture.optional ? ValueType.optional(type) : type
                        declare(capture.name, capture.location, captured, in: &scope)
                    }
                }
            }
        }
    }

    /// One Swift function per hook name: every call of it must agree on the argument types and
    /// on whether it computes a length.
    private mutating func addHook(_ hook: Hook, to message: String) {
        if let earlier = hooks[message, default: []].first(where: { $0.function == hook.function }) {
            if earlier.signature != hook.signature {
                error(hook.location, "'\(hook.function)' is called at line \(earlier.location.line) as `\(earlier.signature)` and here as `\(hook.signature)`: one hook has one signature (name them differently)")
            }
            return
        }
        hooks[message, default: []].append(hook)
    }

    /// `same name` repeats bytes: the earlier value must be the bytes it was read from.
    private mutating func checkSame(_ name: String, at location: SourceLocation, scope: Scope) {
        guard let type = lookUp(name, location, scope: scope) else { return }
        switch type {
        case .bytes, .string, .enumeration:
            break
        case .optional:
            error(location, "'\(name)' may be absent (it is read conditionally), so there are no bytes to repeat")
        default:
            let hint = type.isInteger ? ": its text need not be the same bytes (\"07\" is 7); compare numbers with 'check \(name) == …'" : ""
            error(location, "'same' repeats raw bytes, a string or an enum value, and '\(name)' is \(type.description)\(hint)")
        }
    }

    private mutating func declare(_ name: String, _ location: SourceLocation, _ type: ValueType, in scope: inout Scope) {
        if let earlier = scope.locations[name] {
            error(location, "duplicate name '\(name)' (line \(earlier.line))")
            return
        }
        scope.types[name] = type
        scope.locations[name] = location
    }

    // MARK: Reads

    /// The type `read` produces, or nil after reporting why it has none.
    private mutating func checkRead(
        _ read: Read, in message: MessageDeclaration, scope: Scope, streamed: inout [SourceLocation], insideRead: Bool = false
    ) -> ValueType? {
        // A streamed part of a larger read (a side of `?:`) counts once, as that read.
        if read.isStreamed && !insideRead { streamed.append(read.location) }
        switch read {
        case .until(let delimiter, let max, let conversion, _):
            _ = delimiter
            checkLimit(max)
            if refuseMessageConversion(conversion) { return nil }
            return conversion.map { conversionType($0) } ?? .bytes
        case .bytes(let count, let max, let conversion, let stream, let location):
            checkLimit(max)
            checkInteger(count, scope: scope)
            if stream && conversion != nil && conversion != .raw { error(location, "a streamed field is raw bytes; drop 'as …'") }
            if case .named(let name, _)? = conversion, messages[name] != nil { return .message(name) }  // a sub-frame
            return conversion.map { conversionType($0) } ?? .bytes
        case .rest(let max, let conversion, let stream, let location):
            checkLimit(max)
            if refuseMessageConversion(conversion) { return nil }
            if max == nil && !stream { error(location, "unbounded read: 'rest' needs 'max N' (or 'stream' to hand it over in chunks)") }
            if stream && conversion != nil && conversion != .raw { error(location, "a streamed field is raw bytes; drop 'as …'") }
            return conversion.map { conversionType($0) } ?? .bytes
        case .binary(let binary, _):
            return .binary(binary)
        case .varint:
            return .uint
        case .reference(let name, let location):
            if messages[name] != nil { return .message(name) }
            if enumerations[name] != nil || externTypes.contains(name) {
                error(location, "'\(name)' needs framing: write e.g. 'until \"\\r\\n\" as \(name)'")
            } else if let first = name.first, first.isLowercase {
                error(location, "undefined message '\(name)' (a read is 'until', 'bytes(…)', 'rest', a binary integer such as 'u32be', or a message)")
            } else {
                error(location, "undefined message '\(name)'")
            }
            return nil
        case .repeatCount(let element, let count, let max, _):
            checkLimit(max)
            checkInteger(count, scope: scope)
            return checkElement(element, in: message, scope: scope, streamed: &streamed).map(ValueType.array)
        case .repeatUntil(let element, _, let max, _), .repeatUntilClose(let element, let max, _):
            checkLimit(max)
            return checkElement(element, in: message, scope: scope, streamed: &streamed).map(ValueType.array)
        case .repeatWhile(let element, let flag, let flagLocation, let flagCase, let max, _):
            checkLimit(max)
            let type = checkElement(element, in: message, scope: scope, streamed: &streamed).map(ValueType.array)
            checkFlag(flag, at: flagLocation, equals: flagCase, of: element)
            return type
        case .conditional(let condition, let then, let otherwise, let location):
            checkCondition(condition, scope: scope)
            let a = then.flatMap { checkRead($0, in: message, scope: scope, streamed: &streamed, insideRead: true) }
            let b = otherwise.flatMap { checkRead($0, in: message, scope: scope, streamed: &streamed, insideRead: true) }
            if then == nil && otherwise == nil { error(location, "both sides of the condition are null") }
            if let a, let b, a != b { error(location, "the two sides of the condition read different types (\(a.swiftName) and \(b.swiftName))") }
            if let then, let otherwise, then.isStreamed != otherwise.isStreamed {
                error(location, "stream both sides of the condition or neither")
            }
            guard let type = a ?? b else { return nil }
            return then == nil || otherwise == nil ? type.asOptional : type
        }
    }

    private mutating func checkElement(
        _ element: Read, in message: MessageDeclaration, scope: Scope, streamed: inout [SourceLocation]
    ) -> ValueType? {
        if element.isStreamed { error(element.location, "elements of a repetition cannot be streamed") }
        return checkRead(element, in: message, scope: scope, streamed: &streamed, insideRead: true)
    }

    /// The flag of `X * while flag` must be a field of the message X that may be absent (it is
    /// read under a condition, or an optional regex group) or is an integer (0 ends the repetition).
    private mutating func checkFlag(
        _ flag: String, at location: SourceLocation, equals flagCase: (String, SourceLocation)?, of element: Read
    ) {
        guard case .reference(let name, _) = element, let target = messages[name], case .sequence(let items) = target.body else {
            error(location, "'* while \(flag)' repeats a message with fields (a struct message), so that its field '\(flag)' can say another follows")
            return
        }
        if let (caseName, caseLocation) = flagCase {
            guard let enumeration = Self.enumFieldType(flag, in: items).flatMap({ enumerations[$0] }) else {
                error(location, "'\(name)' has no enum field '\(flag)': '* while \(flag) == \(caseName)' compares an enum field with one of its cases")
                return
            }
            guard enumeration.cases.contains(where: { $0.name == caseName }) else {
                let known = enumeration.cases.map(\.name).joined(separator: ", ")
                error(caseLocation, "'\(caseName)' is not a case of '\(enumeration.name)' (it has: \(known))")
                return
            }
            flagKinds[FlagKey(message: name, field: flag)] = .enumCase(caseName)
            return
        }
        guard let kind = Self.flagKind(flag, in: items, optional: false) else {
            error(location, "'\(name)' has no field '\(flag)' that may be absent or is an integer: '* while' needs one to tell the last element (or write '* while \(flag) == someCase' for an enum field)")
            return
        }
        flagKinds[FlagKey(message: name, field: flag)] = kind
    }

    /// The enum a stored, non-optional field `flag` of `items` is converted to, if it is one.
    static func enumFieldType(_ flag: String, in items: [Item]) -> String? {
        for case .field(flag, _, let read) in items {
            switch read {
            case .until(_, _, .named(let type, _)?, _), .bytes(_, _, .named(let type, _)?, _, _), .rest(_, .named(let type, _)?, _, _):
                return type
            default:
                return nil
            }
        }
        return nil
    }

    /// Whether `flag` is an optional or an integer stored field of `items`; `nil` if neither.
    static func flagKind(_ flag: String, in items: [Item], optional: Bool) -> FlagKind? {
        for item in items {
            switch item {
            case .field(flag, _, let read):
                if optional { return .optional }
                if case .conditional(_, let a, let b, _) = read, a == nil || b == nil { return .optional }
                if case .binary = read { return .integer }
                if case .varint = read { return .integer }
                if case .until(_, _, let conversion?, _) = read, conversion.isInteger { return .integer }
                if case .bytes(_, _, let conversion?, _, _) = read, conversion.isInteger { return .integer }
                return nil
            case .regex(_, _, _, let captures):
                if let capture = captures.first(where: { $0.name == flag }) {
                    if optional || capture.optional { return .optional }
                    return capture.conversion.isInteger ? .integer : nil
                }
            case .conditional(_, let inner, _):
                if let kind = flagKind(flag, in: inner, optional: true) { return kind }
            default:
                continue
            }
        }
        return nil
    }

    /// Only a `bytes(n)` frame can hold a message (its end is known before the message is read).
    private mutating func refuseMessageConversion(_ conversion: Conversion?) -> Bool {
        guard case .named(let name, let location)? = conversion, messages[name] != nil else { return false }
        error(location, "'\(name)' is a message: a message is read from a frame of known size, 'bytes(n) as \(name)'")
        return true
    }

    private mutating func conversionType(_ conversion: Conversion) -> ValueType? {
        switch conversion {
        case .raw: return .bytes
        case .string: return .string
        case .int, .hex: return .int
        case .uint, .uhex: return .uint
        case .sized(let type, _): return .binary(type)
        case .double: return .double
        case .named(let name, let location):
            if enumerations[name] != nil { return .enumeration(name) }
            if externTypes.contains(name) { return .extern(name) }
            if messages[name] != nil {
                error(location, "'\(name)' is a message, not a conversion: read it as a field of its own")
            } else if let first = name.first, first.isLowercase {
                error(location, "unknown conversion '\(name)' (one of: \(Conversion.builtin.keys.sorted().joined(separator: ", ")), an enum, or an 'extern type')")
            } else {
                error(location, "undefined type '\(name)' (declare it with 'enum' or 'extern type')")
            }
            return nil
        }
    }

    private mutating func checkLimit(_ limit: Limit?) {
        if let limit, limit.value <= 0 { error(limit.location, "a limit must be positive") }
    }

    // MARK: Expressions

    private mutating func lookUp(_ name: String, _ location: SourceLocation, scope: Scope) -> ValueType? {
        if let type = scope.types[name] { return type }
        if let later = scope.declaredLater[name] {
            error(location, "'\(name)' is used before it is parsed (line \(later.line))")
        } else {
            error(location, "undefined name '\(name)'")
        }
        return nil
    }

    private mutating func checkInteger(_ expression: Expression, scope: Scope) {
        switch expression {
        case .integer:
            break
        case .name(let name, let location):
            guard let type = lookUp(name, location, scope: scope) else { return }
            if case .optional = type {
                error(location, "'\(name)' may be absent (it is read conditionally) and cannot be a length or count")
            } else if !type.isInteger {
                error(location, "'\(name)' is \(type.description), not an integer: read it 'as int'")
            }
        case .binary(let op, let a, let b, let location):
            if Expression.comparisons.contains(op) || Expression.logical.contains(op) {
                error(location, "a length or count cannot be a condition ('\(op)')")
            }
            checkInteger(a, scope: scope)
            checkInteger(b, scope: scope)
        }
    }

    private mutating func checkCondition(_ expression: Expression, scope: Scope) {
        guard case .binary(let op, let a, let b, let location) = expression else {
            error(expression.location, "a condition compares: write e.g. 'n >= 0'")
            return
        }
        if Expression.logical.contains(op) {
            checkCondition(a, scope: scope)
            checkCondition(b, scope: scope)
        } else if Expression.comparisons.contains(op) {
            checkInteger(a, scope: scope)
            checkInteger(b, scope: scope)
        } else {
            error(location, "a condition compares: write e.g. 'n >= 0'")
        }
    }

    // MARK: Clients

    /// A client reads every reply as one message (not streamed), sends request messages, and is
    /// the only client of its reply type (its generated `connect` extends `ProtocolClient<Reply>`).
    private mutating func checkClients() {
        var replies: [String: SourceLocation] = [:]
        for case .client(let client) in grammar.declarations {
            let (reply, replyLocation) = client.reply
            if messages[reply] == nil {
                error(replyLocation, "undefined message '\(reply)' (a client's reply is a message of the grammar)")
            } else if streamingMessages.contains(reply) {
                error(replyLocation, "'\(reply)' streams a field: a client's reply is read whole (stream bodies with the message's own read(from:chunks:))")
            } else if let earlier = replies[reply] {
                error(replyLocation, "'\(reply)' is already the reply of the client at line \(earlier.line): one client per reply type")
            }
            replies[reply] = replyLocation
            for (request, location) in client.requests {
                guard let message = messages[request] else {
                    error(location, "undefined message '\(request)'")
                    continue
                }
                if !message.isRequest { error(location, "'\(request)' is not a request message: declare it 'request message \(request)' so it has an encoder") }
            }
            if let port = client.port, port > 65535 { error(client.location, "port \(port) is over 65535") }
        }
    }

    // MARK: Whole-grammar rules

    /// A message with a streamed field returns after its chunks were handed over; it cannot be
    /// nested in another message, whose value would have to hold it.
    private mutating func checkStreamingUse() {
        for case .message(let message) in grammar.declarations {
            forEachReference(in: message) { name, location in
                if streamingMessages.contains(name) {
                    error(location, "'\(name)' streams a field and can only be read at the top level, not inside '\(message.name)'")
                }
            }
        }
    }

    /// A message that can reach itself before consuming a byte would recurse forever.
    private mutating func checkLeftRecursion() {
        var reported: Set<String> = []
        for case .message(let message) in grammar.declarations where !reported.contains(message.name) {
            if let cycle = leftCycle(from: message.name, path: [message.name]) {
                error(message.location, "left recursion: \(cycle.joined(separator: " → ")) reads itself before consuming any input")
                reported.formUnion(cycle)
            }
        }
    }

    private func leftCycle(from name: String, path: [String]) -> [String]? {
        guard let message = messages[name] else { return nil }
        for next in leadingReferences(of: message) {
            if next == path[0] { return path + [next] }
            if path.contains(next) { continue }
            if let cycle = leftCycle(from: next, path: path + [next]) { return cycle }
        }
        return nil
    }

    /// Messages that may be read first, before any byte of `message` is consumed.
    private func leadingReferences(of message: MessageDeclaration) -> [String] {
        switch message.body {
        case .sequence(let items):
            return leading(items).names
        case .choice(let choice):
            guard choice.peek || choice.cases.contains(where: { $0.literal == nil }) else { return [] }
            return choice.cases.filter { choice.peek || $0.literal == nil }.flatMap { alternative -> [String] in
                switch alternative.payload {
                case .none: []
                case .single(let read): leading(read).names
                case .block(let items): leading(items).names
                }
            }
        }
    }

    /// Leading references of a sequence and whether it can end without consuming anything.
    private func leading(_ items: [Item]) -> (names: [String], mayBeEmpty: Bool) {
        var names: [String] = []
        for item in items {
            let step: (names: [String], mayBeEmpty: Bool)
            switch item {
            case .literal(let literal): step = ([], literal.bytes.isEmpty)
            case .field(_, _, let read), .local(_, _, .read(let read)): step = leading(read)
            case .local(_, _, .call), .local(_, _, .expression), .same, .check: step = ([], true)
            case .conditional(_, let inner, _): step = (leading(inner).names, true)
            case .regex: step = ([], false)
            }
            names += step.names
            if !step.mayBeEmpty { return (names, false) }
        }
        return (names, true)
    }

    /// The `* until close` repetition an item reads, if it does (directly).
    private static func untilCloseRead(_ item: Item) -> Read? {
        switch item {
        case .field(_, _, let read), .local(_, _, .read(let read)):
            if case .repeatUntilClose = read { return read }
            return nil
        default:
            return nil
        }
    }

    private func leading(_ read: Read) -> (names: [String], mayBeEmpty: Bool) {
        switch read {
        case .until, .binary, .varint: return ([], false)
        case .bytes, .rest: return ([], true)
        case .reference(let name, _): return ([name], false)
        case .repeatCount(let element, _, _, _): return (leading(element).names, true)
        case .repeatUntil(let element, _, _, _): return (leading(element).names, false)
        case .repeatUntilClose(let element, _, _): return (leading(element).names, true)
        case .repeatWhile(let element, _, _, _, _, _): return (leading(element).names, false)
        case .conditional(_, let a, let b, _):
            return ((a.map { leading($0).names } ?? []) + (b.map { leading($0).names } ?? []), true)
        }
    }

    /// Swift structs cannot contain themselves; the language needs a repetition or a switch
    /// message (an indirect enum) in between.
    private mutating func checkSelfContainment() {
        for case .message(let message) in grammar.declarations {
            guard case .sequence = message.body else { continue }
            if let path = structCycle(from: message.name, path: [message.name]) {
                error(message.location, "'\(message.name)' contains itself (\(path.joined(separator: " → "))): put the recursion inside a repetition or a switch message")
            }
        }
    }

    private func structCycle(from name: String, path: [String]) -> [String]? {
        guard let message = messages[name], case .sequence(let items) = message.body else { return nil }
        for next in directStructFields(items) {
            if next == path[0] { return path + [next] }
            if path.contains(next) { continue }
            if let cycle = structCycle(from: next, path: path + [next]) { return cycle }
        }
        return nil
    }

    private func directStructFields(_ items: [Item]) -> [String] {
        items.flatMap { item -> [String] in
            switch item {
            case .field(_, _, let read): directStructReads(read)
            case .conditional(_, let inner, _): directStructFields(inner)
            default: []
            }
        }
    }

    private func directStructReads(_ read: Read) -> [String] {
        switch read {
        case .reference(let name, _): [name]
        case .conditional(_, let a, let b, _): (a.map(directStructReads) ?? []) + (b.map(directStructReads) ?? [])
        default: []
        }
    }

    private func forEachReference(in message: MessageDeclaration, _ body: (String, SourceLocation) -> Void) {
        func visit(_ read: Read) {
            switch read {
            case .reference(let name, let location): body(name, location)
            case .bytes(_, _, .named(let name, let location)?, _, _) where messages[name] != nil: body(name, location)
            case .repeatCount(let element, _, _, _), .repeatUntil(let element, _, _, _), .repeatUntilClose(let element, _, _),
                .repeatWhile(let element, _, _, _, _, _):
                visit(element)
            case .conditional(_, let a, let b, _):
                if let a { visit(a) }
                if let b { visit(b) }
            default: break
            }
        }
        func visit(_ items: [Item]) {
            for item in items {
                switch item {
                case .field(_, _, let read), .local(_, _, .read(let read)): visit(read)
                case .conditional(_, let inner, _): visit(inner)
                default: break
                }
            }
        }
        switch message.body {
        case .sequence(let items): visit(items)
        case .choice(let choice):
            for alternative in choice.cases {
                switch alternative.payload {
                case .none: break
                case .single(let read): visit(read)
                case .block(let items): visit(items)
                }
            }
        }
    }

    // MARK: Encoders

    /// A request message is written as well as read: every part must be writable from the
    /// stored fields, and every `let` must be a length or count the encoder can derive.
    private mutating func checkEncodable(_ message: MessageDeclaration) {
        func checkRead(_ read: Read) {
            switch read {
            case .reference(let name, let location):
                if let referenced = messages[name], !referenced.isRequest {
                    error(location, "'\(name)' is part of request message '\(message.name)', so it must be a request message too")
                }
            case .conditional(_, _, _, let location):
                error(location, "a request message cannot contain a conditional read (its encoder could not choose)")
            case .repeatCount(let element, _, _, _), .repeatUntil(let element, _, _, _), .repeatUntilClose(let element, _, _),
                .repeatWhile(let element, _, _, _, _, _):
                checkRead(element)
            case .bytes(_, _, _, true, let location), .rest(_, _, true, let location):
                error(location, "a request message cannot stream a field (its encoder writes values)")
            default:
                break
            }
        }
        func checkItems(_ items: [Item]) {
            for (index, item) in items.enumerated() {
                switch item {
                case .literal, .same, .check: break  // the encoder writes the value again / verifies it
                case .field(_, _, let read): checkRead(read)
                case .local(let name, let location, .read(let read)):
                    checkRead(read)
                    if !Self.isIntegerFraming(read) {
                        error(location, "'\(name)' cannot be encoded: a 'let' in a request message must be an integer length or count")
                    } else if Self.derivation(of: name, in: Array(items[(index + 1)...])) == nil {
                        error(location, "'\(name)' cannot be encoded: no later field's length or count is linear in it, so the encoder cannot derive it (use e.g. 'bytes(\(name))', 'bytes(\(name) - 2)' or '… * \(name)')")
                    }
                case .local(_, let location, .call):
                    error(location, "a request message cannot call hand-written code to compute a value (its encoder could not invert it)")
                case .local(let name, let location, .expression):
                    if Self.derivation(of: name, in: Array(items[(index + 1)...])) == nil {
                        error(location, "'\(name)' cannot be encoded: use it in the length or count of a later field (e.g. 'bytes(\(name))') so the encoder can derive it")
                    }
                case .conditional(_, _, let location):
                    error(location, "a request message cannot contain 'if' (its encoder could not choose)")
                case .regex(_, let location, _, _):
                    error(location, "a request message cannot contain a regex read (its encoder cannot write a match)")
                }
            }
        }
        switch message.body {
        case .sequence(let items): checkItems(items)
        case .choice(let choice):
            for alternative in choice.cases {
                switch alternative.payload {
                case .none: break
                case .single(let read): checkRead(read)
                case .block(let items): checkItems(items)
                }
            }
        }
    }

    static func isIntegerFraming(_ read: Read) -> Bool {
        switch read {
        case .binary, .varint: true
        case .until(_, _, let conversion?, _): conversion.isInteger
        default: false
        }
    }

    /// How the encoder finds `name` from what it writes later: the size of a later field whose
    /// length or count is linear in it (`bytes(name)`, `bytes(length - 2)`, `X * (n * 4)`), or —
    /// through a computed `let` that is linear in it — from that `let`'s own derivation.
    ///
    /// ```
    ///   let length = u32be            length = (payload.count - (-2)) / 1
    ///   payload: bytes(length - 2)    count  = 1 * length + (-2)
    /// ```
    indirect enum Derivation {
        /// `name = (size - offset) / scale`, where size is the field's byte or element count.
        case field(name: String, read: Read, scale: Int, offset: Int)
        /// `name = (value - offset) / scale`, where value is the computed `let` `local`.
        case local(name: String, source: Derivation, scale: Int, offset: Int)
    }

    static func derivation(of name: String, in items: [Item]) -> Derivation? {
        for (index, item) in items.enumerated() {
            switch item {
            case .field(let field, _, .bytes(let count, _, _, _, _)), .field(let field, _, .repeatCount(_, let count, _, _)):
                guard let (scale, offset) = linear(count, in: name), scale != 0, case .field(_, _, let read) = item else { continue }
                return .field(name: field, read: read, scale: scale, offset: offset)
            case .local(let local, _, .expression(let computed)):
                guard let (scale, offset) = linear(computed, in: name), scale != 0,
                    let source = derivation(of: local, in: Array(items[(index + 1)...]))
                else { continue }
                return .local(name: local, source: source, scale: scale, offset: offset)
            default:
                continue
            }
        }
        return nil
    }

    /// `expression` as `scale × name + offset` when it is linear in `name` with integer
    /// coefficients (other names make it unsolvable here); `nil` otherwise or on overflow.
    static func linear(_ expression: Expression, in name: String) -> (scale: Int, offset: Int)? {
        switch expression {
        case .integer(let value, _):
            return (0, value)
        case .name(let other, _):
            return other == name ? (1, 0) : nil
        case .binary(let op, let a, let b, _):
            guard let left = linear(a, in: name), let right = linear(b, in: name) else { return nil }
            func checked(_ result: (Int, Bool), _ more: (Int, Bool)) -> (scale: Int, offset: Int)? {
                result.1 || more.1 ? nil : (result.0, more.0)
            }
            switch op {
            case "+": return checked(left.scale.addingReportingOverflow(right.scale), left.offset.addingReportingOverflow(right.offset))
            case "-": return checked(left.scale.subtractingReportingOverflow(right.scale), left.offset.subtractingReportingOverflow(right.offset))
            case "*" where left.scale == 0:
                return checked(right.scale.multipliedReportingOverflow(by: left.offset), right.offset.multipliedReportingOverflow(by: left.offset))
            case "*" where right.scale == 0:
                return checked(left.scale.multipliedReportingOverflow(by: right.offset), left.offset.multipliedReportingOverflow(by: right.offset))
            default:
                return nil  // a product of two unknowns, or a comparison
            }
        }
    }

    private mutating func error(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(location, message))
    }
}
