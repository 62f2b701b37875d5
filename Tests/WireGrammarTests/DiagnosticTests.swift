import Foundation
import Testing
@testable import WireGrammar

/// Bad grammars → the diagnostics the compiler owes, at the right line and column.
struct DiagnosticTests {
    struct BadGrammar: CustomTestStringConvertible, Sendable {
        let name: String
        let source: String
        /// "LINE:COL" and a fragment of the message.
        let location: String
        let message: String
        var testDescription: String { name }
    }

    static let cases: [BadGrammar] = [
        BadGrammar(name: "undefined message", source: """
            message A {
              b: Missing
            }
            """, location: "2:6", message: "undefined message 'Missing'"),
        BadGrammar(name: "undefined length name", source: """
            message A {
              data: bytes(n)
            }
            """, location: "2:15", message: "undefined name 'n'"),
        BadGrammar(name: "length used before it is parsed", source: """
            message A {
              data: bytes(n)
              let n = until "\\r\\n" as int
            }
            """, location: "2:15", message: "'n' is used before it is parsed (line 3)"),
        BadGrammar(name: "a type that hides Swift's", source: """
            message String { x: u8 }
            """, location: "1:9", message: "'String' would hide Swift's String, which the generated Swift uses"),
        BadGrammar(name: "a type that hides Wirestream's", source: """
            enum Pattern { a = "A" }
            """, location: "1:6", message: "'Pattern' would hide Wirestream's Pattern"),
        BadGrammar(name: "a type named like a generated hooks protocol", source: """
            message Frame { n: u8  call positive(n) }
            message FrameHooks { x: u8 }
            """, location: "2:9", message: "'FrameHooks' is the name of the protocol generated for 'Frame''s call hooks"),
        BadGrammar(name: "a client without a reply", source: """
            request message Ping { "PING\\r\\n" }
            client Pinger { requests Ping }
            """, location: "2:8", message: "client 'Pinger' needs 'reply Message'"),
        BadGrammar(name: "a client option that does not exist", source: """
            request message Ping { "PING\\r\\n" }
            message Pong { "PONG\\r\\n" }
            client Pinger { requests Ping  reply Pong  pipelining }
            """, location: "3:44", message: "unknown client option 'pipelining'"),
        BadGrammar(name: "a client that sends a message without an encoder", source: """
            message Ping { "PING\\r\\n" }
            message Pong { "PONG\\r\\n" }
            client Pinger { requests Ping  reply Pong }
            """, location: "3:26", message: "'Ping' is not a request message"),
        BadGrammar(name: "a client whose reply is undefined", source: """
            request message Ping { "PING\\r\\n" }
            client Pinger { requests Ping  reply Pong }
            """, location: "2:38", message: "undefined message 'Pong'"),
        BadGrammar(name: "a client whose reply streams", source: """
            request message Get { "GET\\r\\n" }
            message Body { data: rest stream }
            client Getter { requests Get  reply Body }
            """, location: "3:37", message: "'Body' streams a field"),
        BadGrammar(name: "two clients of one reply type", source: """
            request message Ping { "PING\\r\\n" }
            message Pong { "PONG\\r\\n" }
            client A { requests Ping  reply Pong }
            client B { requests Ping  reply Pong }
            """, location: "4:33", message: "'Pong' is already the reply of the client at line 3"),
        BadGrammar(name: "a client type that clashes with a message", source: """
            request message Ping { "PING\\r\\n" }
            message Pong { "PONG\\r\\n" }
            message PingerClient { x: u8 }
            client Pinger { requests Ping  reply Pong }
            """, location: "4:8", message: "'PingerClient' is already declared (line 3)"),
        BadGrammar(name: "while on a field that is not an enum", source: """
            message Reply { lines: Line * while code == more }
            message Line { code: until " " max 8 as int }
            """, location: "1:37", message: "'Line' has no enum field 'code'"),
        BadGrammar(name: "while with a case the enum lacks", source: """
            message Reply { lines: Line * while separator == again }
            message Line { separator: bytes(1) as Separator }
            enum Separator { more = "-", last = " " }
            """, location: "1:50", message: "'again' is not a case of 'Separator' (it has: more, last)"),
        BadGrammar(name: "same on an integer", source: """
            message A {
              n: until " " max 8 as int
              same n
            }
            """, location: "3:8", message: "compare numbers with 'check n == …'"),
        BadGrammar(name: "same on a value that may be absent", source: """
            message A {
              let flag = u8
              if flag == 1 { tag: until " " max 8 }
              same tag
            }
            """, location: "4:8", message: "'tag' may be absent"),
        BadGrammar(name: "same before the value is read", source: """
            message A {
              same tag
              tag: until " " max 8
            }
            """, location: "2:8", message: "'tag' is used before it is parsed (line 3)"),
        BadGrammar(name: "a check that does not compare", source: """
            message A {
              n: u8
              check n + 1
            }
            """, location: "3:11", message: "a condition compares"),
        BadGrammar(name: "a text integer with a byte order", source: """
            message A {
              n: until " " max 8 as u16be
            }
            """, location: "2:25", message: "a text integer is 'as u16' (decimal) or 'as u16 hex'"),
        BadGrammar(name: "a sized text integer that is not a size", source: """
            message A {
              n: until " " max 8 as u24
            }
            """, location: "2:25", message: "unknown conversion 'u24'"),
        BadGrammar(name: "an item after a repetition until close", source: """
            message A {
              items: B * until close max 4
              "END"
            }
            message B { x: until "\\n" max 8 }
            """, location: "2:12", message: "nothing can follow a repetition 'until close'"),
        BadGrammar(name: "a length the encoder cannot solve for", source: """
            request message A {
              let length = u32be
              data: bytes(length * length)
            }
            """, location: "2:7", message: "'length' cannot be encoded: no later field's length or count is linear in it"),
        BadGrammar(name: "a computed let no later field uses", source: """
            request message A {
              let length = u32be
              let twice = length * 2
              data: bytes(length)
            }
            """, location: "3:7", message: "'twice' cannot be encoded: use it in the length or count of a later field"),
        BadGrammar(name: "a computed let that is a condition", source: """
            message A {
              let n = u8
              let big = n > 2
            }
            """, location: "3:15", message: "a length or count cannot be a condition"),
        BadGrammar(name: "a while flag that cannot end the repetition", source: """
            message A {
              lines: Line * while text max 8
            }
            message Line { text: until "\\n" max 80 as string }
            """, location: "2:23", message: "'Line' has no field 'text' that may be absent or is an integer"),
        BadGrammar(name: "a message after a delimiter", source: """
            message A {
              inner: until ";" max 64 as B
            }
            message B { x: u8 }
            """, location: "2:30", message: "'B' is a message: a message is read from a frame of known size"),
        BadGrammar(name: "let _ around a read", source: """
            message A {
              let _ = u8
            }
            """, location: "2:7", message: "'let _ =' keeps nothing"),
        BadGrammar(name: "a name starting with an underscore", source: """
            message A {
              _x: u8
            }
            """, location: "2:3", message: "names cannot start with '_'"),
        BadGrammar(name: "a while without its flag", source: """
            message A {
              items: B * while
            }
            message B { x: u8 }
            """, location: "3:1", message: "expected the name of the element's field that says another follows"),
        BadGrammar(name: "a sub-frame of an undefined message", source: """
            message A {
              let n = u8
              inner: bytes(n) max 16 as Missing
            }
            """, location: "3:29", message: "undefined type 'Missing'"),
        BadGrammar(name: "unbounded rest", source: """
            message A {
              body: rest
            }
            """, location: "2:9", message: "unbounded read: 'rest' needs 'max N'"),
        BadGrammar(name: "duplicate alternative", source: """
            message A = switch {
              "+" => a
              "+" => b
            }
            """, location: "3:3", message: "unreachable alternative: \"+\" repeats \"+\" (line 2)"),
        BadGrammar(name: "alternative shadowed by a shorter prefix", source: """
            message A = switch {
              "GET" => short
              "GET /" => long
            }
            """, location: "3:3", message: "unreachable alternative: \"GET /\" starts with \"GET\""),
        BadGrammar(name: "alternative after else", source: """
            message A = switch peek {
              else => other { x: until "\\n" }
              "a" => a
            }
            """, location: "3:3", message: "alternative after 'else' (line 2) is unreachable"),
        BadGrammar(name: "left recursion through two messages", source: """
            message A {
              b: B
              "x"
            }
            message B {
              a: A
            }
            """, location: "1:9", message: "left recursion: A → B → A"),
        BadGrammar(name: "struct containing itself", source: """
            message A {
              "x"
              inner: A
            }
            """, location: "1:9", message: "'A' contains itself"),
        BadGrammar(name: "duplicate field", source: """
            message A {
              x: until "\\n"
              x: until "\\n"
            }
            """, location: "3:3", message: "duplicate name 'x' (line 2)"),
        BadGrammar(name: "duplicate declaration", source: """
            message A { x: until "\\n" }
            message A { y: until "\\n" }
            """, location: "2:9", message: "'A' is already declared (line 1)"),
        BadGrammar(name: "unknown conversion", source: """
            message A { x: until "\\n" as integer }
            """, location: "1:30", message: "unknown conversion 'integer'"),
        BadGrammar(name: "invalid regex", source: """
            message A { regex /(?<a>x/ { a: string } }
            """, location: "1:13", message: "invalid regex at offset 6: missing closing parenthesis"),
        BadGrammar(name: "regex without the named group", source: """
            message A { regex /(?<a>x)/ { b: string } }
            """, location: "1:31", message: "the regex has no group named 'b' (it has: a)"),
        BadGrammar(name: "request with a regex", source: """
            request message A { regex /(?<a>x)/ { a: string } }
            """, location: "1:21", message: "a request message cannot contain a regex read"),
        BadGrammar(name: "request let that cannot be derived", source: """
            request message A {
              let n = until " " as int
              x: until "\\n"
            }
            """, location: "2:7", message: "'n' cannot be encoded: no later field's length or count is linear in it"),
        BadGrammar(name: "length that is a string", source: """
            message A {
              n: until " " as string
              data: bytes(n)
            }
            """, location: "3:15", message: "'n' is a string, not an integer"),
        BadGrammar(name: "zero limit", source: """
            message A { x: until "\\n" max 0 }
            """, location: "1:31", message: "a limit must be positive"),
        BadGrammar(name: "unterminated string", source: """
            message A { x: until "\\n }
            """, location: "1:22", message: "unterminated string"),
        BadGrammar(name: "unknown escape", source: """
            message A { x: until "\\q" }
            """, location: "1:23", message: "unknown escape '\\q'"),
        BadGrammar(name: "missing colon", source: """
            message A {
              x until "\\n"
            }
            """, location: "2:5", message: "expected ':', found 'until'"),
        BadGrammar(name: "two streamed fields", source: """
            message A {
              let n = until "\\n" as int
              a: bytes(n) stream
              b: rest stream
            }
            """, location: "4:6", message: "only one field of a message can be streamed"),
        BadGrammar(name: "streamed message nested", source: """
            message A { b: rest stream }
            message B { a: A }
            """, location: "2:16", message: "'A' streams a field and can only be read at the top level"),
        BadGrammar(name: "enumeration read without framing", source: """
            enum E { a = "a" }
            message A { e: E }
            """, location: "2:16", message: "'E' needs framing"),
        BadGrammar(name: "request uses a non-request message", source: """
            message P { x: until "\\n" }
            request message A { p: P }
            """, location: "2:24", message: "'P' is part of request message 'A', so it must be a request message too"),
        BadGrammar(name: "length that may be absent", source: """
            message A {
              let flag = until " " as int
              if flag == 1 { let n = until " " as int }
              data: bytes(n)
            }
            """, location: "4:15", message: "'n' may be absent"),
    ]

    @Test("a bad grammar is reported at its line and column", arguments: cases)
    func reportsTheMistake(_ bad: BadGrammar) {
        let result = WireCompiler.compile(bad.source, fileName: "bad.wire")
        #expect(result.swift == nil)
        let printed = result.diagnostics.map { $0.formatted(file: "bad.wire") }
        #expect(
            printed.contains { $0.hasPrefix("bad.wire:\(bad.location): error: ") && $0.contains(bad.message) },
            "got: \(printed)")
    }

    @Test func severalMistakesAreReportedInOneRun() {
        let source = """
            message A {
              x: Missing
            }
            message B {
              y until "\\n"
            }
            message C {
              z: rest
            }
            """
        let lines = WireCompiler.compile(source, fileName: "g.wire").diagnostics.map(\.location.line)
        #expect(lines == [2, 5, 8])
    }

    @Test func theBundledGrammarsCompileCleanly() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appending(path: "Grammars")
        let grammars = try FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".wire") }
        #expect(grammars.count >= 4)
        for grammar in grammars {
            let source = try String(contentsOf: folder.appending(path: grammar), encoding: .utf8)
            let result = WireCompiler.compile(source, fileName: grammar)
            #expect(result.diagnostics.isEmpty, "\(grammar): \(result.diagnostics)")
            #expect(result.swift?.contains("import Wirestream") == true)
        }
    }
}
