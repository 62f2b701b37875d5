import Testing
import WireRedis
import Wirestream

/// The RESP grammar (Grammars/WireRedis/resp.wire) on fixtures, at every split of the input.
struct RESPGrammarTests {
    /// Reads replies until the source is exhausted.
    static func replies(_ source: MemoryByteSource) async throws -> [Reply] {
        var replies: [Reply] = []
        while true {
            do {
                replies.append(try await Reply.read(from: source))
            } catch is StreamClosedError {
                return replies
            }
        }
    }

    /// A bulk string larger than the read buffer's chunks, arriving in pieces of random sizes: read
    /// into its value piece by piece, whole and in order, and the next reply after it intact. Past
    /// the stream's buffer limit it is still refused at once (the limit holds for the pieces too),
    /// and so past a `LimitedByteSource` budget.
    @Test func aLargeBulkStringArrivingInPiecesIsReadWholeWithinTheLimits() async throws {
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let input = bytes("$300000\r\n") + payload + bytes("\r\n+OK\r\n")
        let loop = IOLoop.shared
        let (reader, writer) = try PipeIOStream.makePipe(loop: loop, maxBufferSize: 1 << 20, readChunkSize: 4096)
        defer { reader.close() }
        let feeding = Task {
            var generator = SystemRandomNumberGenerator()
            var offset = 0
            while offset < input.count {
                let end = min(input.count, offset + Int.random(in: 1...20_000, using: &generator))
                try await writer.write(input[offset..<end])
                offset = end
                if Bool.random(using: &generator) { try await Task.sleep(for: .microseconds(200)) }
            }
            writer.close()
        }
        #expect(try await Reply.read(from: reader) == .bulk(value: payload))
        #expect(try await Reply.read(from: reader) == .simple("OK"))
        try await feeding.value

        let (small, smallWriter) = try PipeIOStream.makePipe(loop: loop, maxBufferSize: 100_000, readChunkSize: 4096)
        defer { small.close() }
        try await smallWriter.write(input[0..<50_000])
        let refused = await #expect(throws: StreamClosedError.self) { _ = try await Reply.read(from: small) }
        #expect(refused?.realError as? StreamBufferFullError == StreamBufferFullError(buffer: .read, limit: 100_000, size: 300_000))  // at once: 50 kB had come
        smallWriter.close()

        let (budgeted, budgetWriter) = try PipeIOStream.makePipe(loop: loop, maxBufferSize: 1 << 20)
        defer { budgeted.close() }
        try await budgetWriter.write(input[0..<50_000])
        let limited = LimitedByteSource(budgeted, limit: 200_000)
        let overBudget = await #expect(throws: ByteLimitExceededError.self) { _ = try await Reply.read(from: limited) }
        #expect(overBudget?.limit == 200_000)
        budgetWriter.close()
    }

    @Test func resp2Replies() async throws {
        let input = bytes("+OK\r\n-ERR wrong type\r\n:-42\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n")
        let replies = try await readEverySplit(input, Self.replies)
        #expect(replies == [
            .simple("OK"), .error("ERR wrong type"), .integer(-42), .bulk(value: bytes("hello")), .bulk(value: []),
            .bulk(value: nil), .array(elements: nil), .array(elements: []),
            .array(elements: [.bulk(value: bytes("a")), .array(elements: [.integer(1)])]),
        ])
    }

    @Test func resp3Replies() async throws {
        let input = bytes(
            "_\r\n#t\r\n#f\r\n,3.5\r\n,-inf\r\n(3492890328409238509324850943850943825024385\r\n!9\r\nSYNTAX no\r\n"
                + "=8\r\ntxt:abcd\r\n%2\r\n+a\r\n:1\r\n+b\r\n_\r\n~1\r\n+x\r\n>2\r\n+message\r\n$2\r\nhi\r\n"
                + "|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n")
        let replies = try await readEverySplit(input, Self.replies)
        #expect(replies == [
            .null, .boolean(.true), .boolean(.false), .double(3.5), .double(-.infinity),
            .bigNumber("3492890328409238509324850943850943825024385"), .blobError(message: "SYNTAX no"),
            .verbatim(text: "txt:abcd"),
            .map(entries: [Pair(key: .simple("a"), value: .integer(1)), Pair(key: .simple("b"), value: .null)]),
            .set(elements: [.simple("x")]), .push(elements: [.simple("message"), .bulk(value: bytes("hi"))]),
            .attribute(attributes: [Pair(key: .simple("ttl"), value: .integer(3600))], reply: .bulk(value: bytes("v"))),
        ])
    }

    @Test func commandEncoderWritesAnArrayOfBulkStrings() throws {
        let command = Command(arguments: ["SET", "key", "a\r\nb"].map { BulkString(value: bytes($0)) })
        #expect(try command.encoded() == bytes("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$4\r\na\r\nb\r\n"))
    }

    @Test func encodedCommandsReadBack() async throws {
        let command = Command(arguments: [BulkString(value: bytes("LRANGE")), BulkString(value: []), BulkString(value: bytes("-1"))])
        let decoded = try await readEverySplit(try command.encoded()) { try await Command.read(from: $0) }
        #expect(decoded == command)
    }

    // MARK: Bad input

    func replyError(_ input: String) async -> WireProtocolError? {
        await protocolError(bytes(input)) { try await Reply.read(from: $0) }
    }

    @Test func oversizeLineIsRefusedAtItsLimit() async throws {
        let error = await replyError("+" + String(repeating: "a", count: 70_000))
        #expect(error?.kind == .limitExceeded(limit: 65_536, value: nil))
        #expect(error?.field == "simple")
        #expect(error?.offset == 1)
    }

    @Test func lengthOverTheLimitIsRefusedBeforeReading() async throws {
        // Only the header is there: the limit, not a truncation, must be what fails.
        let error = await replyError("$600000000\r\n")
        #expect(error?.kind == .limitExceeded(limit: 512 << 20, value: 600_000_000))
        #expect(error?.field == "value")
        #expect(error?.offset == 12)
    }

    @Test func countOverTheLimitIsRefusedBeforeReading() async throws {
        let error = await replyError("*20000000\r\n")
        #expect(error?.kind == .limitExceeded(limit: 16_000_000, value: 20_000_000))
        #expect(error?.field == "elements")
    }

    @Test func negativeLengthIsRefused() async throws {
        let error = await replyError("$-5\r\n")
        #expect(error?.kind == .negativeLength(-5))
        let array = await replyError("*-2\r\n")
        #expect(array?.kind == .negativeLength(-2))
    }

    @Test func badIntegerIsRefused() async throws {
        let error = await replyError(":12a\r\n")
        #expect(error?.kind == .invalidNumber(expected: "decimal integer", text: bytes("12a")))
        #expect(error?.message == "Reply")
        #expect(error?.field == "integer")
        let overflow = await replyError(":99999999999999999999\r\n")
        #expect(overflow?.kind == .invalidNumber(expected: "decimal integer", text: bytes("99999999999999999999")))
    }

    @Test func truncatedMessageIsReported() async throws {
        let error = await replyError("*2\r\n$5\r\nhel")
        #expect(error?.kind == .truncated)
        #expect(error?.field == "value")
        #expect(error?.offset == 8)
    }

    @Test func nestingTooDeepIsRefused() async throws {
        let error = await replyError(String(repeating: "*1\r\n", count: 40) + ":1\r\n")
        #expect(error?.kind == .tooDeep(limit: 32))
        #expect(error?.offset == 33 * 4)
    }

    @Test func unknownTypeByteIsRefused() async throws {
        let error = await replyError("?x\r\n")
        #expect(error?.kind == .noAlternative(found: bytes("?")))
        #expect(error?.offset == 0)
    }

    @Test func missingCRLFAfterBulkIsRefused() async throws {
        let error = await replyError("$3\r\nabcXY")
        #expect(error?.kind == .unexpectedBytes(expected: "\"\\r\\n\"", found: bytes("XY")))
        #expect(error?.offset == 7)
    }

    @Test func invalidUTF8InASimpleStringIsRefused() async throws {
        let raw: [UInt8] = [UInt8(ascii: "+"), 0xC3, 0x28, 13, 10]
        let utf = await protocolError(raw) { try await Reply.read(from: $0) }
        #expect(utf?.kind == .invalidUTF8)
    }

    @Test func cleanEOFBetweenRepliesIsAStreamClose() async throws {
        let source = MemoryByteSource(bytes(":1\r\n"))
        #expect(try await Reply.read(from: source) == .integer(1))
        await #expect(throws: StreamClosedError.self) { try await Reply.read(from: source) }
    }

    /// Seeded random inputs over RESP's alphabet, and mutations of valid replies: every one parses
    /// or fails with a typed error — no trap, no other error.
    @Test func randomInputNeverTraps() async throws {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {  // SplitMix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let alphabet = Array("+-:$*_#,(!=%~>|0123456789-\r\ntfabc".utf8)
        let valid = bytes("*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n:12\r\n|1\r\n+a\r\n#t\r\n_\r\n")
        var parsed = 0
        var refused = 0
        for round in 0..<3000 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = (0..<Int(next() % 40)).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }
            } else {
                input = valid
                for _ in 0...Int(next() % 3) { input[Int(next() % UInt64(input.count))] = alphabet[Int(next() % UInt64(alphabet.count))] }
            }
            let source = MemoryByteSource(input, chunkSize: Int(next() % 7) + 1)
            do {
                _ = try await Reply.read(from: source)
                parsed += 1
            } catch is WireProtocolError {
                refused += 1
            } catch is StreamClosedError {
                #expect(input.isEmpty, "a clean close only for empty input: \(input)")
            }
        }
        #expect(parsed > 100 && refused > 1000)
    }

    @Test func encoderRefusesWhatItsParserWouldRefuse() throws {
        let tooMany = Command(arguments: Array(repeating: BulkString(value: []), count: 1_000_001))
        #expect(throws: WireEncodingError.self) { try tooMany.encoded() }
    }
}
