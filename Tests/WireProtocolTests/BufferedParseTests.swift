import Testing
import WireHTTP
import WireRedis
@testable import Wirestream

/// The synchronous twin of each generated parser (`readBuffered`, reached through
/// `readIfBuffered(from:)`): a message whose bytes are all buffered is parsed without an async call;
/// anything else — incomplete, malformed, over a budget — is left whole to the async parser.
struct BufferedParseTests {
    static let resp = bytes(
        "+OK\r\n-ERR wrong type\r\n:-42\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n"
            + "_\r\n#t\r\n,3.5\r\n(3492890328409238509324850943850943825024385\r\n!9\r\nSYNTAX no\r\n=8\r\ntxt:abcd\r\n"
            + "%2\r\n+a\r\n:1\r\n+b\r\n_\r\n~1\r\n+x\r\n>2\r\n+message\r\n$2\r\nhi\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n")

    /// A memory source with all of `input` delivered (a peek takes every chunk in).
    static func delivered(_ input: [UInt8]) async throws -> MemoryByteSource {
        let source = MemoryByteSource(input, chunkSize: 7)
        _ = try await source.peek(input.count) { $0.count }
        return source
    }

    @Test func theTwinReadsWhatTheAsyncParserReads() async throws {
        let expected = try await RESPGrammarTests.replies(MemoryByteSource(Self.resp))
        let source = try await Self.delivered(Self.resp)
        var replies: [Reply] = []
        while let reply = Reply.readIfBuffered(from: source) { replies.append(reply) }
        #expect(replies == expected)
        #expect(replies.count == 19 && source.offset == Self.resp.count)
    }

    @Test func anIncompleteMessageIsLeftWholeUntilItsLastByte() async throws {
        let message = bytes("*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n:12\r\n|1\r\n+a\r\n#t\r\n_\r\n")
        let whole = try #require(Reply.readIfBuffered(from: try await Self.delivered(message)))
        for cut in 1..<message.count {
            let source = try await Self.delivered(Array(message[..<cut]))
            #expect(Reply.readIfBuffered(from: source) == nil, "parsed from \(cut) bytes")
            #expect(source.offset == 0, "consumed from \(cut) bytes")
        }
        // Pipelined behind a complete one, an incomplete reply is left for the async read.
        let source = try await Self.delivered(bytes(":1\r\n") + message.dropLast())
        #expect(Reply.readIfBuffered(from: source) == .integer(1))
        #expect(Reply.readIfBuffered(from: source) == nil && source.offset == 4)
        #expect(whole == .array(elements: [
            .bulk(value: bytes("hello")), .map(entries: [Pair(key: .simple("k"), value: .integer(12))]),
            .attribute(attributes: [Pair(key: .simple("a"), value: .boolean(.true))], reply: .null),
        ]))
    }

    @Test(arguments: ["$-5\r\n", ":12x\r\n", "?\r\n", "$3\r\nabcde\r\n", "*2\r\n:1\r\n@\r\n", "$99999999999\r\n"])
    func badInputIsLeftToTheAsyncParserAndItsTypedError(_ input: String) async throws {
        let source = try await Self.delivered(bytes(input))
        #expect(Reply.readIfBuffered(from: source) == nil)
        #expect(source.offset == 0)
        let error = await #expect(throws: WireProtocolError.self) { _ = try await Reply.read(from: source) }
        let expected = await protocolError(bytes(input)) { try await Reply.read(from: $0) }
        #expect(error == expected)
    }

    /// Runs `body` in a task on a fresh loop thread, then closes the loop.
    static func onLoop<T: Sendable>(_ body: @escaping @Sendable (IOLoop) async throws -> T) async throws -> T {
        let loop = try IOLoop()
        loop.startThread(name: "buffered-parse")
        defer { loop.close() }
        return try await Task(executorPreference: loop) { try await body(loop) }.value
    }

    @Test func aResponseHeadOnAStreamIsParsedWithinItsBudgetOnly() async throws {
        let head = bytes("HTTP/1.1 200 OK\r\nServer: test\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nok")
        try await Self.onLoop { loop in
            let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
            defer { reader.close(); writer.close() }
            try await writer.write(head + head)
            _ = try await reader.peek(2 * head.count) { $0.count }  // all of it buffered

            let fits = LimitedByteSource(reader, limit: head.count)
            let parsed = try #require(ResponseHead.readIfBuffered(from: fits))
            #expect(parsed.status == 200 && parsed.headers.count == 3)
            #expect(fits.consumed == head.count - 2)  // the body is the client's
            #expect(try await reader.readBytes(2) == bytes("ok"))

            // Three bytes short of the head: left whole, and the async read names the budget.
            let short = LimitedByteSource(reader, limit: head.count - 5)
            #expect(ResponseHead.readIfBuffered(from: short) == nil)
            #expect(short.consumed == 0)
            await #expect(throws: ByteLimitExceededError.self) { _ = try await ResponseHead.read(from: short) }
        }
    }

    @Test func aStreamLendsItsBufferOnlyOnItsLoopWithNoReadPending() async throws {
        try await Self.onLoop { loop in
            let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
            defer { reader.close(); writer.close() }
            try await writer.write(bytes(":1\r\n:2\r\n"))
            _ = try await reader.peek(8) { $0.count }
            // Off the loop thread nothing is lent.
            let offLoop = await Task.detached { Reply.readIfBuffered(from: reader) }.value
            #expect(offLoop == nil)
            // With a read pending, nothing is lent either: the bytes are that read's.
            let waiting = Task(executorPreference: loop) { try await reader.readUntil(bytes("!")) }
            try await Task.sleep(for: .milliseconds(20))
            #expect(Reply.readIfBuffered(from: reader) == nil)
            waiting.cancel()
            _ = try? await waiting.value
            #expect(Reply.readIfBuffered(from: reader) == .integer(1))
            #expect(Reply.readIfBuffered(from: reader) == .integer(2))
            #expect(Reply.readIfBuffered(from: reader) == nil)
        }
    }

    @Test func aFloodOfBufferedRepliesStillYieldsToTheLoop() async throws {
        let count = 3_000
        let (parsedBeforeYield, all) = try await Self.onLoop { loop -> (Int, Int) in
            let (reader, writer) = try PipeIOStream.makePipe(loop: loop, maxBufferSize: 1 << 20, readChunkSize: 1 << 16)
            defer { reader.close() }
            try await writer.write(Array(repeating: bytes(":7\r\n"), count: count).flatMap { $0 })
            writer.close()
            _ = try await reader.peek(4 * count) { $0.count }
            var synchronous = 0
            while Reply.readIfBuffered(from: reader) != nil { synchronous += 1 }
            var total = synchronous
            while (try? await Reply.read(from: reader)) != nil { total += 1 }
            return (synchronous, total)
        }
        // Parses from the buffer count as reads: at most a batch of them before the task yields.
        #expect(parsedBeforeYield > 0 && parsedBeforeYield <= BaseIOStream.readsBetweenYields)
        #expect(all == count)
    }
}
