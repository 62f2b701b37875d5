/// A place in a grammar file (1-based line and column, columns counted in UTF-8 bytes).
public struct SourceLocation: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (a: Self, b: Self) -> Bool { (a.line, a.column) < (b.line, b.column) }
    public var description: String { "\(line):\(column)" }
}

/// A mistake in a grammar, printed as `FILE:LINE:COL: error: message` (the form SwiftPM and
/// editors show in place).
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public let location: SourceLocation
    public let message: String

    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): error: \(message)" }

    /// The diagnostic as the compiler prints it for `file`.
    public func formatted(file: String) -> String { "\(file):\(location.line):\(location.column): error: \(message)" }
}
