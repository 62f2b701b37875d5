import Testing
import WireLines
import Wirestream

/// The line grammar (Grammars/WireLines/line.wire) on fixtures, at every split.
struct LineGrammarTests {
    @Test func lines() async throws {
        let input = bytes("héllo\nworld\r\n\n")
        let lines = try await readEverySplit(input) { source in
            [try await Line.read(from: source), try await Line.read(from: source), try await Line.read(from: source)]
        }
        #expect(lines.map(\.text) == ["héllo", "world\r", ""])
        #expect(try Line(text: "ok").encoded() == bytes("ok\n"))
        #expect(throws: WireEncodingError.self) { try Line(text: "two\nlines").encoded() }
    }

    @Test func oversizeLineIsRefused() async throws {
        let error = await protocolError(bytes(String(repeating: "x", count: 70_000) + "\n")) { try await Line.read(from: $0) }
        #expect(error?.kind == .limitExceeded(limit: 65_536, value: nil))
    }
}
