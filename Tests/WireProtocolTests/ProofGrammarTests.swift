import Testing
import Wirestream

/// The proof grammars in Proofs/: three framings real protocols use, declared in grammar alone
/// (no hooks) with parsers and generated encoders, checked against golden bytes fed whole, byte by
/// byte and split at every position, and round-tripped.
struct PostgresFramingTests {
    // Bytes as a PostgreSQL 15 server sends them after a successful startup.
    static let authenticationOk: [UInt8] = [0x52, 0, 0, 0, 8, 0, 0, 0, 0]
    static let serverVersion: [UInt8] = [0x53, 0, 0, 0, 0x18] + bytes("server_version\u{0}15.4\u{0}")
    static let readyForQuery: [UInt8] = [0x5A, 0, 0, 0, 5, 0x49]
    static let dataRow: [UInt8] = [0x44, 0, 0, 0, 0x0F, 0, 2, 0, 0, 0, 1, 0x31, 0xFF, 0xFF, 0xFF, 0xFF]

    @Test func aQueryIsWrittenAsPsqlWritesItAndReadsBack() async throws {
        let query = Query(text: QueryText(sql: "SELECT 1"))
        let golden: [UInt8] = [0x51, 0, 0, 0, 0x0D] + bytes("SELECT 1") + [0]  // 4 + 8 + 1 = 13
        #expect(try query.encoded() == golden)
        #expect(try await readEverySplit(golden) { try await Query.read(from: $0) } == query)
    }

    @Test func backendMessagesAreTypedThroughTheirFrames() async throws {
        let session = Self.authenticationOk + Self.serverVersion + Self.readyForQuery + Self.dataRow
        let messages = try await readEverySplit(session) { source in
            var messages: [BackendMessage] = []
            for _ in 0..<4 { messages.append(try await BackendMessage.read(from: source)) }
            return messages
        }
        #expect(messages == [
            .authentication(body: Authentication(code: 0)),
            .parameterStatus(body: ParameterStatus(name: "server_version", value: "15.4")),
            .readyForQuery(status: .idle),
            .dataRow(body: DataRow(columns: [Column(value: bytes("1")), Column(value: nil)])),
        ])
    }

    @Test func anyMessageRoundTripsWithItsLengthCountingItself() async throws {
        let session = Self.authenticationOk + Self.serverVersion + Self.readyForQuery + Self.dataRow
        let parsed = try await readEverySplit(session) { try await PGSession.read(from: $0) }
        #expect(parsed.messages.map(\.kind) == [0x52, 0x53, 0x5A, 0x44])
        #expect(parsed.messages[2].body == [0x49])
        #expect(try parsed.encoded() == session)
    }

    @Test func aFrameTheBodyDoesNotFillOrOverrunsIsATypedError() async throws {
        // 'S' whose length leaves one byte after the value's NUL.
        let long: [UInt8] = [0x53, 0, 0, 0, 0x19] + bytes("server_version\u{0}15.4\u{0}x")
        #expect(await protocolError(long) { try await BackendMessage.read(from: $0) }?.kind == .bytesLeftInFrame(1))
        let short: [UInt8] = [0x53, 0, 0, 0, 0x10] + bytes("server_version\u{0}")
        #expect(await protocolError(short) { try await BackendMessage.read(from: $0) }?.kind == .frameEndedEarly)
        let below: [UInt8] = [0x44, 0, 0, 0, 2]  // a length that does not even count itself
        #expect(await protocolError(below) { try await BackendMessage.read(from: $0) }?.kind == .negativeLength(-2))
        let badReady: [UInt8] = [0x5A, 0, 0, 0, 6, 0x49, 0x49]
        #expect(await protocolError(badReady) { try await BackendMessage.read(from: $0) }?.kind == .checkFailed("length == 5"))
        let unknownStatus: [UInt8] = [0x5A, 0, 0, 0, 5, 0x58]
        #expect(await protocolError(unknownStatus) { try await BackendMessage.read(from: $0) }?.kind
            == .unknownValue(type: "TransactionStatus", found: [0x58]))
    }
}

struct ProtobufFramingTests {
    @Test func theSpecificationsExampleFieldReadsAndWrites() async throws {
        // protobuf.dev "Encoding": field 2, string "testing" → 12 07 74 65 73 74 69 6e 67.
        let golden: [UInt8] = [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6E, 0x67]
        let field = DelimitedField(key: 0x12, value: bytes("testing"))
        #expect(try field.encoded() == golden)
        #expect(try await readEverySplit(golden) { try await DelimitedField.read(from: $0) } == field)
    }

    @Test func aNestedMessageIsFramedByItsVarintLength() async throws {
        let nested = NestedField(key: 0x1A, inner: DelimitedFields(fields: [
            DelimitedField(key: 0x12, value: bytes("testing")),
            DelimitedField(key: 0x22, value: Array(repeating: 0x61, count: 300)),  // length 300 = AC 02
        ]))
        let golden: [UInt8] = [0x1A, 0xB8, 0x02, 0x12, 0x07] + bytes("testing") + [0x22, 0xAC, 0x02]
            + Array(repeating: 0x61, count: 300)  // 9 + 303 = 312 = B8 02
        #expect(try nested.encoded() == golden)
        #expect(try await readEverySplit(golden) { try await NestedField.read(from: $0) } == nested)
    }

    @Test func overlongOrTruncatedVarintsAreTypedErrors() async throws {
        let eleven = [0x12] + Array(repeating: UInt8(0x80), count: 10) + [0x01]
        let overlong = await protocolError(eleven) { try await DelimitedField.read(from: $0) }
        #expect(overlong?.kind == .invalidNumber(expected: "varint of at most 10 bytes", text: Array(repeating: 0x80, count: 10)))
        let cut = await protocolError([0x12, 0x07, 0x74]) { try await DelimitedField.read(from: $0) }
        #expect(cut?.kind == .truncated)
        let inner = await protocolError([0x1A, 0x03, 0x12, 0x07, 0x74]) { try await NestedField.read(from: $0) }
        #expect(inner?.kind == .frameEndedEarly)
    }
}

struct SMTPReplyFramingTests {
    static let ehlo = bytes("250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n")

    @Test func anEHLOReplyIsOneFlatArrayAtEverySplitAndWritesBack() async throws {
        let reply = try await readEverySplit(Self.ehlo) { try await SMTPReply.read(from: $0) }
        #expect(reply.lines.map(\.text) == ["mail.example.org", "PIPELINING", "SIZE 10240000", "STARTTLS", "8BITMIME"])
        #expect(reply.lines.allSatisfy { $0.code == 250 })
        #expect(reply.lines.map(\.separator) == [.more, .more, .more, .more, .last])
        #expect(try reply.encoded() == Self.ehlo)
    }

    @Test func aOneLineReplyAndTheEncodersChecks() async throws {
        let reply = try await readEverySplit(bytes("220 ready\r\n")) { try await SMTPReply.read(from: $0) }
        #expect(reply == SMTPReply(lines: [SMTPReplyLine(code: 220, separator: .last, text: "ready")]))
        let misplaced = SMTPReply(lines: [SMTPReplyLine(code: 250, separator: .last, text: "a"), SMTPReplyLine(code: 250, separator: .last, text: "b")])
        #expect(throws: WireEncodingError.self) { try misplaced.encoded() }
        #expect(throws: WireEncodingError.self) { try SMTPReply(lines: [SMTPReplyLine(code: 2500, separator: .last, text: "x")]).encoded() }
    }

    @Test func badLinesAreTypedErrors() async throws {
        let separator = await protocolError(bytes("250+oops\r\n")) { try await SMTPReply.read(from: $0) }
        #expect(separator?.kind == .unknownValue(type: "SMTPSeparator", found: bytes("+")))
        let code = await protocolError(bytes("2x0 hi\r\n")) { try await SMTPReply.read(from: $0) }
        #expect(code?.kind == .invalidNumber(expected: "decimal integer", text: bytes("2x0")))
        let unfinished = await protocolError(bytes("250-more\r\n")) { try await SMTPReply.read(from: $0) }
        #expect(unfinished?.kind == .truncated)
        let lines = Array(repeating: "250-x\r\n", count: 128).joined() + "250 end\r\n"
        let tooMany = await protocolError(bytes(lines)) { try await SMTPReply.read(from: $0) }
        #expect(tooMany?.kind == .limitExceeded(limit: 128, value: 129))
    }
}
