import Wirestream

extension SMTPReply {
    /// The grammar's `call sameCode(lines)`: every line of a reply carries one code (RFC 5321
    /// §4.2.1); a reply whose lines switch codes is refused as a protocol error. A hook because
    /// the check compares across lines, which the grammar's `same` (one earlier value) does not.
    public static func sameCode(_ lines: [SMTPReplyLine]) throws {
        guard let first = lines.first?.code else { return }
        if let other = lines.first(where: { $0.code != first }) {
            throw WireConversionFailure(.invalidValue("reply lines switch codes: \(first), then \(other.code)"))
        }
    }

    /// The reply code (every line's; 0 for a reply without lines, which the parser never makes).
    public var code: Int { lines.first.map { Int($0.code) } ?? 0 }

    /// The lines' texts.
    public var texts: [String] { lines.map(\.text) }

    /// 2xx: done; 3xx: go on (after `DATA`, `AUTH`).
    public var isPositive: Bool { code < 400 }
}
