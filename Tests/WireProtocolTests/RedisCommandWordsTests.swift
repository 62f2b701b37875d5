import Testing
import Wirestream
@testable import WireRedis

/// The encoder the word forms go through (`send("GET", "k")`, pipelines of words, the generated
/// methods) writes exactly what the grammar's `Command` encoder writes, and refuses what it refuses.
@Suite struct RedisCommandWordsTests {
    static let cases: [[String]] = [
        ["PING"],
        ["GET", "key:bench"],
        ["SET", "", "an empty key, then a value over fifteen bytes (not a small string)"],
        ["SET", "ключ", "значение ✓ 🎉"],  // multi-byte UTF-8: lengths count bytes
        ["HELLO", "3", "AUTH", "default", "pa$$\r\nword"],  // CRLF and '$' inside a word are plain bytes
        Array(repeating: "x", count: 12),  // a two-digit count
        ["SET", "big", String(repeating: "v", count: 100_000)],  // a six-digit length
        [],
    ]

    @Test(arguments: cases)
    func wordsEncodeAsTheGrammarsCommand(_ words: [String]) throws {
        #expect(try CommandWords(words).encoded() == Command(words).encoded())
    }

    @Test func wordsAppendAfterWhatIsAlreadyWritten() throws {
        var writer = WireWriter(message: "", reservingCapacity: 0)
        try CommandWords(["GET", "a"]).encode(into: &writer)
        try CommandWords(["GET", "b"]).encode(into: &writer)
        #expect(writer.bytes == Array("*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n".utf8))
    }

    @Test func moreArgumentsThanTheGrammarAllowsAreRefusedAndNothingIsWritten() throws {
        let words = Array(repeating: "", count: CommandWords.maxArguments + 1)
        let grammars = #expect(throws: WireEncodingError.self) { try Command(words).encoded() }
        var writer = WireWriter(message: "")
        let refused = #expect(throws: WireEncodingError.self) { try CommandWords(words).encode(into: &writer) }
        #expect(refused != nil && refused == grammars)  // Command.arguments: the same reason
        #expect(writer.bytes.isEmpty)
    }
}
