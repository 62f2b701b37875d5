/// The grammar compiler: source text in, Swift source or diagnostics out.
public enum WireCompiler {
    public struct Output: Sendable {
        /// The generated Swift, or `nil` when there were errors.
        public let swift: String?
        /// Every mistake found, in source order.
        public let diagnostics: [Diagnostic]
    }

    /// Another grammar compiled into the same Swift module.
    public struct Sibling: Sendable {
        public let fileName: String
        public let source: String

        public init(fileName: String, source: String) {
            self.fileName = fileName
            self.source = source
        }
    }

    /// Compiles `source`; `fileName` appears in the generated file's header. `siblings` are the
    /// target's other grammars: a type this one declares as well is reported at its line here.
    public static func compile(_ source: String, fileName: String, siblings: [Sibling] = []) -> Output {
        let (grammar, syntaxErrors) = parse(source)
        var checker = Checker(grammar: grammar)
        checker.check()
        let clashes = siblingClashes(grammar, siblings)
        let diagnostics = (syntaxErrors + checker.diagnostics + clashes).sorted { $0.location < $1.location }
        guard diagnostics.isEmpty else { return Output(swift: nil, diagnostics: diagnostics) }
        var generator = SwiftGenerator(checker: checker, sourceName: fileName)
        return Output(swift: generator.generate(), diagnostics: [])
    }

    /// The libFuzzer entry point of the grammar in `source`, for an executable that imports
    /// `module`, the target its parsers are generated into (see `WireFuzzTarget` in Wirestream).
    public static func fuzzTarget(_ source: String, fileName: String, module: String) -> Output {
        let (grammar, syntaxErrors) = parse(source)
        var checker = Checker(grammar: grammar)
        checker.check()
        let diagnostics = (syntaxErrors + checker.diagnostics).sorted { $0.location < $1.location }
        guard diagnostics.isEmpty else { return Output(swift: nil, diagnostics: diagnostics) }
        return Output(swift: FuzzTargetWriter(checker: checker, sourceName: fileName, module: module).generate(), diagnostics: [])
    }

    private static func parse(_ source: String) -> (Grammar, [Diagnostic]) {
        var lexer = Lexer(source)
        let tokens = lexer.tokenize()
        var parser = Parser(tokens: tokens)
        let grammar = parser.parse()
        return (grammar, lexer.diagnostics + parser.diagnostics)
    }

    /// Swift types of one module share one namespace: two grammars of a target that declare the
    /// same name would fail inside the generated files, far from the cause.
    private static func siblingClashes(_ grammar: Grammar, _ siblings: [Sibling]) -> [Diagnostic] {
        var elsewhere: [String: (file: String, line: Int)] = [:]
        for sibling in siblings {
            for declaration in parse(sibling.source).0.declarations where elsewhere[declaration.name] == nil {
                elsewhere[declaration.name] = (sibling.fileName, declaration.location.line)
            }
        }
        return grammar.declarations.compactMap { declaration in
            guard let other = elsewhere[declaration.name] else { return nil }
            return Diagnostic(declaration.location, "'\(declaration.name)' is also declared in \(other.file) (line \(other.line)), a grammar compiled into the same target: both would be one Swift type, so rename one (or move a grammar to a target of its own)")
        }
    }
}
