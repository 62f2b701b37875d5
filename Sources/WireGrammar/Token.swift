/// One lexical unit of a grammar file.
struct Token: Equatable {
    enum Kind: Equatable {
        case identifier(String)
        /// An integer, size suffixes applied (`64KB` is 65536).
        case integer(Int)
        /// A quoted literal, escapes resolved; `text` is the source spelling.
        case string([UInt8], text: String)
        /// A `/…/` regex, passed to PCRE2 as written.
        case regex(String)
        case symbol(String)
        case endOfFile
    }

    let kind: Kind
    let location: SourceLocation
    /// `///` comment lines right before this token (documentation for declarations).
    var documentation: [String] = []

    var identifier: String? {
        if case .identifier(let name) = kind { return name }
        return nil
    }

    func isSymbol(_ symbol: String) -> Bool { kind == .symbol(symbol) }
    func isWord(_ word: String) -> Bool { kind == .identifier(word) }

    var display: String {
        switch kind {
        case .identifier(let name): "'\(name)'"
        case .integer(let value): "'\(value)'"
        case .string(_, let text): text
        case .regex(let source): "/\(source)/"
        case .symbol(let symbol): "'\(symbol)'"
        case .endOfFile: "end of file"
        }
    }
}
