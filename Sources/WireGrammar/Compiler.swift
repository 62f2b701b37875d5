/// The grammar compiler: source text in, Swift source or diagnostics out.
public enum WireCompiler {
    public struct Output: Sendable {
        /// The generated Swift, or `nil` when there were errors.
        public let swift: String?
        /// Every mistake found, in source order.
        public let diagnostics: [Diagnostic]
    }

    /// Compiles `source`; `fileName` appears in the generated file's header.
    public static func compile(_ source: String, fileName: String) -> Output {
        var lexer = Lexer(source)
        let tokens = lexer.tokenize()
        var parser = Parser(tokens: tokens)
        let grammar = parser.parse()
        var checker = Checker(grammar: grammar)
        checker.check()
        let diagnostics = (lexer.diagnostics + parser.diagnostics + checker.diagnostics).sorted { $0.location < $1.location }
        guard diagnostics.isEmpty else { return Output(swift: nil, diagnostics: diagnostics) }
        var generator = SwiftGenerator(checker: checker, sourceName: fileName)
        return Output(swift: generator.generate(), diagnostics: [])
    }
}
