/// Builds the ``Grammar`` from tokens. On a syntax error it reports it and skips to the next
/// declaration, so one run reports a mistake per declaration.
struct Parser {
    private let tokens: [Token]
    private var position = 0
    private(set) var diagnostics: [Diagnostic] = []

    private struct SyntaxError: Error {}

    init(tokens: [Token]) {
        self.tokens = tokens
    }

    private static let declarationWords: Set<String> = ["message", "request", "enum", "extern", "grammar", "client"]
    private static let readWords: Set<String> = ["until", "bytes", "rest", "null"]

    mutating func parse() -> Grammar {
        var grammar = Grammar()
        while !current.kind.isEnd {
            do {
                if current.isWord("grammar") {
                    advance()
                    grammar.name = try identifier("a grammar name")
                } else {
                    grammar.declarations.append(try declaration())
                }
            } catch {
                recover()
            }
        }
        return grammar
    }

    // MARK: Declarations

    private mutating func declaration() throws -> Declaration {
        let documentation = current.documentation
        if current.isWord("extern") {
            advance()
            try expectWord("type")
            let location = current.location
            return .externType(name: try typeName(), location: location)
        }
        if current.isWord("client") {
            advance()
            return .client(try client(documentation: documentation))
        }
        if current.isWord("enum") {
            advance()
            let location = current.location
            let name = try typeName()
            try expect("{")
            var cases: [(String, Literal)] = []
            while !current.isSymbol("}") {
                let caseName = try identifier("an enumeration case")
                try expect("=")
                cases.append((caseName, try literal()))
                _ = accept(",")
            }
            advance()
            return .enumeration(EnumDeclaration(name: name, location: location, documentation: documentation, cases: cases))
        }
        let isRequest = current.isWord("request")
        if isRequest { advance() }
        guard current.isWord("message") else {
            throw error(isRequest ? "expected 'message' after 'request'" : "expected a declaration ('message', 'request message', 'enum' or 'extern type'), found \(current.display)")
        }
        advance()
        let location = current.location
        let name = try typeName()
        var depthLimit: Int?
        if current.isWord("depth") {
            advance()
            depthLimit = try positiveInteger("a depth limit")
        }
        let body: MessageBody
        if accept("=") {
            body = .choice(try switchBody())
        } else {
            body = .sequence(try block())
        }
        return .message(MessageDeclaration(
            name: name, location: location, isRequest: isRequest, depthLimit: depthLimit,
            documentation: documentation, body: body))
    }

    private mutating func client(documentation: [String]) throws -> ClientDeclaration {
        let location = current.location
        let name = try typeName()
        try expect("{")
        var requests: [(String, SourceLocation)] = []
        var reply: (String, SourceLocation)?
        var port: Int?
        var greeting = false
        var onePerConnection = false
        while !current.isSymbol("}") {
            if current.kind.isEnd { throw error("expected '}' before end of file") }
            let optionLocation = current.location
            let option = try identifier("a client option ('requests', 'reply', 'port', 'greeting' or 'one request per connection')")
            switch option {
            case "requests", "request":
                repeat {
                    let requestLocation = current.location
                    requests.append((try identifier("a request message"), requestLocation))
                } while accept(",")
            case "reply":
                let replyLocation = current.location
                reply = (try identifier("the reply message"), replyLocation)
            case "port":
                port = try positiveInteger("a port")
            case "greeting":
                greeting = true
            case "one":
                for word in ["request", "per", "connection"] { try expectWord(word) }
                onePerConnection = true
            default:
                diagnostics.append(Diagnostic(optionLocation, "unknown client option '\(option)': a client says 'requests A, B', 'reply R', and optionally 'port N', 'greeting' (the server speaks first) or 'one request per connection'"))
                throw SyntaxError()
            }
            _ = accept(";")
        }
        advance()
        guard let reply else {
            diagnostics.append(Diagnostic(location, "client '\(name)' needs 'reply Message': the message every reply is read as"))
            throw SyntaxError()
        }
        if requests.isEmpty {
            diagnostics.append(Diagnostic(location, "client '\(name)' needs 'requests A, B': the request messages it sends"))
            throw SyntaxError()
        }
        return ClientDeclaration(
            name: name, location: location, documentation: documentation, requests: requests, reply: reply, port: port,
            greeting: greeting, onePerConnection: onePerConnection)
    }

    private mutating func switchBody() throws -> Switch {
        let location = current.location
        try expectWord("switch")
        let peek = current.isWord("peek")
        if peek { advance() }
        try expect("{")
        var result = Switch(peek: peek, location: location, cases: [])
        var sawElse: SourceLocation?
        while !current.isSymbol("}") {
            let caseLocation = current.location
            var literal: Literal?
            if current.isWord("else") {
                advance()
                sawElse = caseLocation
            } else {
                if let elseLocation = sawElse {
                    diagnostics.append(Diagnostic(caseLocation, "alternative after 'else' (line \(elseLocation.line)) is unreachable"))
                }
                literal = try self.literal()
            }
            try expect("=>")
            let name = try identifier("an alternative name")
            let payload: CasePayload
            if accept("(") {
                payload = .single(try read())
                try expect(")")
            } else if current.isSymbol("{") {
                payload = .block(try block())
            } else {
                payload = .none
            }
            result.cases.append(Case(literal: literal, name: name, location: caseLocation, payload: payload))
        }
        advance()
        return result
    }

    private mutating func block() throws -> [Item] {
        try expect("{")
        var items: [Item] = []
        while !current.isSymbol("}") {
            if current.kind.isEnd { throw error("expected '}' before end of file") }
            items.append(try item())
            _ = accept(";")
        }
        advance()
        return items
    }

    // MARK: Items

    private mutating func item() throws -> Item {
        let location = current.location
        if case .string = current.kind { return .literal(try literal()) }
        if current.isWord("let") {
            advance()
            let nameLocation = current.location
            let name = try identifier("a name")
            try expect("=")
            if current.isWord("call") { return .local(name: name, location: nameLocation, value: try call()) }
            if name == "_" {
                diagnostics.append(Diagnostic(nameLocation, "'let _ =' keeps nothing: a read is made whether or not it is named, so name it ('let skipped = …'); a check of its own is 'call f(…)' with no 'let'"))
                throw SyntaxError()
            }
            if startsCondition() || startsProduct() {
                // `let n = length - 2` computes; `let n = length > 0 ? bytes(…) : null` reads.
                let start = position
                let computed = try expression()
                if !current.isSymbol("?") { return .local(name: name, location: nameLocation, value: .expression(computed)) }
                position = start
            }
            return .local(name: name, location: nameLocation, value: .read(try read()))
        }
        if current.isWord("call") {
            // A check whose result is not kept: `call checkVersion(major, minor)`.
            return .local(name: "_", location: location, value: try call())
        }
        if current.isWord("same"), case .identifier = tokens[position + 1].kind {
            // `same code`: the bytes of the earlier value `code` again.
            advance()
            let nameLocation = current.location
            return .same(name: try identifier("the name of an earlier value"), location: nameLocation)
        }
        if current.isWord("check"), !isFieldColon(at: position + 1) {
            advance()
            return .check(condition: try expression(), location: location)
        }
        if current.isWord("if") {
            advance()
            let condition = try expression()
            return .conditional(condition: condition, items: try block(), location: location)
        }
        if current.isWord("regex") {
            advance()
            guard case .regex(let pattern) = current.kind else { throw error("expected a /regex/ after 'regex'") }
            advance()
            let max = try optionalLimit()
            try expect("{")
            var captures: [Capture] = []
            while !current.isSymbol("}") {
                let captureLocation = current.location
                let name = try identifier("a group name")
                try expect(":")
                let conversion = try self.conversion()
                let optional = accept("?")
                captures.append(Capture(name: name, location: captureLocation, conversion: conversion, optional: optional))
                if !accept(",") { break }
            }
            try expect("}")
            return .regex(pattern: pattern, location: location, max: max, captures: captures)
        }
        guard let name = current.identifier else {
            throw error("expected a field ('name: …'), 'let', 'if', 'regex', 'same', 'check', 'call' or a \"literal\", found \(current.display)")
        }
        advance()
        try expect(":")
        return .field(name: name, location: location, read: try read())
    }

    // MARK: Reads

    private mutating func read() throws -> Read {
        if startsCondition() {
            let location = current.location
            let condition = try expression()
            try expect("?")
            let then = try optionalRead()
            try expect(":")
            let otherwise = try optionalRead()
            return .conditional(condition: condition, then: then, else: otherwise, location: location)
        }
        let element = try primaryRead()
        guard current.isSymbol("*") else { return element }
        let location = current.location
        advance()
        if current.isWord("while") {
            advance()
            let flagLocation = current.location
            let flag = try identifier("the name of the element's field that says another follows")
            var flagCase: (String, SourceLocation)?
            if accept("==") {
                let caseLocation = current.location
                flagCase = (try identifier("a case of the field's enum"), caseLocation)
            }
            return .repeatWhile(element: element, flag: flag, flagLocation: flagLocation, flagCase: flagCase, max: try optionalLimit(), location: location)
        }
        if current.isWord("until") {
            advance()
            if current.isWord("close") {
                advance()
                return .repeatUntilClose(element: element, max: try optionalLimit(), location: location)
            }
            let terminator = try literal()
            return .repeatUntil(element: element, terminator: terminator, max: try optionalLimit(), location: location)
        }
        let count = try additive()
        return .repeatCount(element: element, count: count, max: try optionalLimit(), location: location)
    }

    /// `call function(argument, …)`: a hand-written hook's result.
    private mutating func call() throws -> LocalValue {
        let callLocation = current.location
        advance()  // "call"
        let function = try identifier("a function name")
        try expect("(")
        var arguments: [(String, SourceLocation)] = []
        while !current.isSymbol(")") {
            let argumentLocation = current.location
            arguments.append((try identifier("an argument"), argumentLocation))
            if !accept(",") { break }
        }
        try expect(")")
        return .call(function: function, arguments: arguments, location: callLocation)
    }

    private mutating func optionalRead() throws -> Read? {
        if current.isWord("null") {
            advance()
            return nil
        }
        return try read()
    }

    /// `value * …` in a `let`: a product when `value` starts with a lowercase letter (values do;
    /// message names, which `Message * count` repeats, start with a capital).
    private func startsProduct() -> Bool {
        guard let word = current.identifier, let first = word.first, first.isLowercase else { return false }
        if case .symbol("*") = tokens[position + 1].kind { return true }
        return false
    }

    /// A read starts with a condition when it is `name <op> …` or a number.
    private func startsCondition() -> Bool {
        if case .integer = current.kind { return true }
        if current.isSymbol("(") { return true }
        guard let word = current.identifier, !Self.readWords.contains(word) else { return false }
        if case .symbol(let symbol) = tokens[position + 1].kind {
            return Expression.comparisons.contains(symbol) || Expression.logical.contains(symbol) || symbol == "+" || symbol == "-"
        }
        return false
    }

    private mutating func primaryRead() throws -> Read {
        let location = current.location
        guard let word = current.identifier else { throw error("expected a read ('until', 'bytes(…)', 'rest', a binary integer or a message), found \(current.display)") }
        advance()
        switch word {
        case "until":
            let delimiter = try literal()
            let max = try optionalLimit()
            return .until(delimiter: delimiter, max: max, conversion: try optionalConversion(), location: location)
        case "bytes":
            try expect("(")
            let count = try additive()
            try expect(")")
            let max = try optionalLimit()
            let conversion = try optionalConversion()
            return .bytes(count: count, max: max, conversion: conversion, stream: acceptWord("stream"), location: location)
        case "rest":
            let max = try optionalLimit()
            let conversion = try optionalConversion()
            return .rest(max: max, conversion: conversion, stream: acceptWord("stream"), location: location)
        default:
            if let binary = BinaryType(word) { return .binary(binary, location: location) }
            if let kind = VarintKind(rawValue: word) { return .varint(kind, location: location) }
            return .reference(word, location: location)
        }
    }

    private mutating func optionalLimit() throws -> Limit? {
        guard current.isWord("max") else { return nil }
        advance()
        let location = current.location
        guard case .integer(let value) = current.kind else { throw error("expected a number after 'max', found \(current.display)") }
        advance()
        return Limit(value: value, location: location)
    }

    private mutating func optionalConversion() throws -> Conversion? {
        guard acceptWord("as") else { return nil }
        return try conversion()
    }

    private mutating func conversion() throws -> Conversion {
        let location = current.location
        let name = try identifier("a type")
        if let builtin = Conversion.builtin[name] { return builtin }
        if let sized = BinaryType(text: name) {
            // `as u16 hex`: hex text; `hex` followed by ':' is the next field's name instead.
            let hex = current.isWord("hex") && !isFieldColon(at: position + 1) && acceptWord("hex")
            return .sized(sized, hex: hex)
        }
        if BinaryType(name) != nil {
            diagnostics.append(Diagnostic(location, "'\(name)' has a byte order, which text has not: a text integer is 'as \(name.dropLast(2))' (decimal) or 'as \(name.dropLast(2)) hex'; a binary one is read with '\(name)' alone"))
            throw SyntaxError()
        }
        return .named(name, location)
    }

    // MARK: Expressions (|| < && < comparison < + - < *)

    private mutating func expression() throws -> Expression {
        var left = try conjunction()
        while current.isSymbol("||") {
            let location = current.location
            advance()
            left = .binary("||", left, try conjunction(), location)
        }
        return left
    }

    private mutating func conjunction() throws -> Expression {
        var left = try comparison()
        while current.isSymbol("&&") {
            let location = current.location
            advance()
            left = .binary("&&", left, try comparison(), location)
        }
        return left
    }

    private mutating func comparison() throws -> Expression {
        let left = try additive()
        guard case .symbol(let symbol) = current.kind, Expression.comparisons.contains(symbol) else { return left }
        let location = current.location
        advance()
        return .binary(symbol, left, try additive(), location)
    }

    private mutating func additive() throws -> Expression {
        var left = try multiplicative()
        while current.isSymbol("+") || current.isSymbol("-") {
            guard case .symbol(let symbol) = current.kind else { break }
            let location = current.location
            advance()
            left = .binary(symbol, left, try multiplicative(), location)
        }
        return left
    }

    private mutating func multiplicative() throws -> Expression {
        var left = try operand()
        // `*` inside `bytes(…)` and counts multiplies; after a read it means repetition, which
        // the read parser handles before it gets here.
        while current.isSymbol("*") {
            let location = current.location
            advance()
            left = .binary("*", left, try operand(), location)
        }
        return left
    }

    private mutating func operand() throws -> Expression {
        let location = current.location
        switch current.kind {
        case .integer(let value):
            advance()
            return .integer(value, location)
        case .identifier(let name):
            advance()
            return .name(name, location)
        case .symbol("("):
            advance()
            let inner = try expression()
            try expect(")")
            return inner
        case .symbol("-"):
            advance()
            if case .integer(let value) = current.kind {
                advance()
                return .integer(-value, location)
            }
            return .binary("-", .integer(0, location), try operand(), location)
        default:
            throw error("expected a number or a name, found \(current.display)")
        }
    }

    private func isFieldColon(at index: Int) -> Bool {
        if case .symbol(":") = tokens[index].kind { return true }
        return false
    }

    // MARK: Tokens

    private var current: Token { tokens[position] }

    private mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    private mutating func accept(_ symbol: String) -> Bool {
        guard current.isSymbol(symbol) else { return false }
        advance()
        return true
    }

    private mutating func acceptWord(_ word: String) -> Bool {
        guard current.isWord(word) else { return false }
        advance()
        return true
    }

    private mutating func expect(_ symbol: String) throws {
        guard accept(symbol) else { throw error("expected '\(symbol)', found \(current.display)") }
    }

    private mutating func expectWord(_ word: String) throws {
        guard acceptWord(word) else { throw error("expected '\(word)', found \(current.display)") }
    }

    private mutating func identifier(_ what: String) throws -> String {
        guard let name = current.identifier else { throw error("expected \(what), found \(current.display)") }
        advance()
        return name
    }

    private mutating func typeName() throws -> String {
        let location = current.location
        let name = try identifier("a type name")
        if let first = name.first, !first.isUppercase {
            diagnostics.append(Diagnostic(location, "type name '\(name)' must start with an uppercase letter"))
        }
        return name
    }

    private mutating func positiveInteger(_ what: String) throws -> Int {
        guard case .integer(let value) = current.kind, value > 0 else { throw error("expected \(what) (a positive number), found \(current.display)") }
        advance()
        return value
    }

    private mutating func literal() throws -> Literal {
        guard case .string(let bytes, let text) = current.kind else { throw error("expected a \"literal\", found \(current.display)") }
        let location = current.location
        advance()
        if bytes.isEmpty { diagnostics.append(Diagnostic(location, "empty literal")) }
        return Literal(bytes: bytes, text: text, location: location)
    }

    private mutating func error(_ message: String) -> SyntaxError {
        diagnostics.append(Diagnostic(current.location, message))
        return SyntaxError()
    }

    /// Skips to the next top-level declaration keyword outside braces.
    private mutating func recover() {
        var depth = 0
        advance()
        while !current.kind.isEnd {
            if current.isSymbol("{") { depth += 1 }
            if current.isSymbol("}") { depth = max(0, depth - 1) }
            if depth == 0, let word = current.identifier, Self.declarationWords.contains(word), current.location.column == 1 {
                return
            }
            advance()
        }
    }
}

extension Token.Kind {
    var isEnd: Bool { self == .endOfFile }
}
