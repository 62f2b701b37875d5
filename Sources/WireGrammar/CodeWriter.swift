/// Indented Swift source, line by line.
struct CodeWriter {
    private(set) var text = ""
    private var indentation = 0

    mutating func line(_ line: String = "") {
        text += line.isEmpty ? "\n" : String(repeating: "    ", count: indentation) + line + "\n"
    }

    /// `opening {`, the body indented, `}`.
    mutating func block(_ opening: String, closing: String = "}", _ body: (inout CodeWriter) -> Void) {
        line(opening + " {")
        indentation += 1
        body(&self)
        indentation -= 1
        line(closing)
    }

    /// A copy whose text is `transform` of this one's.
    func rewritten(_ transform: (String) -> String) -> CodeWriter {
        var copy = self
        copy.text = transform(text)
        return copy
    }

    /// Another writer's lines, indented at this writer's level.
    mutating func append(_ other: CodeWriter) {
        for line in other.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            self.line(String(line))
        }
    }

    mutating func indented(_ body: (inout CodeWriter) -> Void) {
        indentation += 1
        body(&self)
        indentation -= 1
    }
}
