import Testing
import WireGrammar

/// `wirec --fuzz-target`: what the entry point lists for each kind of message, and that a grammar
/// with mistakes gets its diagnostics instead of an entry point.
struct FuzzTargetWriterTests {
    static let grammar = """
        grammar Sample
        message Reply { text: until "\\r\\n" max 64 as string }
        request message Ask { text: until "\\r\\n" max 64 as string }
        message Envelope = switch peek {
          "PING" => ping { "PING\\n" }
          else => data {
            let length = until ":" max 8 as uint
            payload: bytes(length) max 1MB stream
          }
        }
        """

    @Test func replyRequestAndStreamedMessagesGetTheirEntries() throws {
        let output = WireCompiler.fuzzTarget(Self.grammar, fileName: "sample.wire", module: "SampleModule")
        #expect(output.diagnostics.isEmpty)
        let swift = try #require(output.swift)
        #expect(swift.contains("import SampleModule"))
        #expect(swift.contains(".message(Reply.self),"))
        #expect(swift.contains(".request(Ask.self),"))
        // A streamed field arrives through `chunks`: its bytes are part of what both runs compare.
        #expect(swift.contains("WireFuzzMessage(name: \"Envelope\", read: { source in"))
        #expect(swift.contains("try await Envelope.read(from: source, chunks: { streamed += $0 })"))
        #expect(swift.contains("LLVMFuzzerRunDriver(&argc, &argv)"))
    }

    @Test func aGrammarWithMistakesGetsDiagnosticsNotAnEntryPoint() {
        let output = WireCompiler.fuzzTarget("grammar Broken\nmessage M { x: until }", fileName: "broken.wire", module: "M")
        #expect(output.swift == nil)
        #expect(!output.diagnostics.isEmpty)
    }
}
