import Testing
import Wirestream

/// A hand-written conversion for the grammar's `extern type Celsius`: "21.5C". Public, as the
/// generated parsers that use it are.
public struct Celsius: Hashable, Sendable, WireDecodable, WireEncodable {
    public let degrees: Double

    public init(_ degrees: Double) { self.degrees = degrees }

    public init(wireBytes: UnsafeRawBufferPointer) throws {
        let text = String(decoding: wireBytes, as: UTF8.self)
        guard text.hasSuffix("C"), let degrees = Double(text.dropLast()) else {
            throw WireConversionFailure(.invalidValue("\(text) is not a temperature like 21.5C"))
        }
        self.degrees = degrees
    }

    public func wireBytes() throws -> [UInt8] { Array("\(degrees)C".utf8) }
}

/// features.wire: the language features the bundled grammars do not use.
struct FeatureGrammarTests {
    static let record = Record(
        version: 2, name: "sensor-α", temperature: Celsius(21.5), offset: -7, big: 1 << 40, delta: -255,
        mask: 0xBEEF, unit: .feet, samples: [-2, 300], tags: [Tag(name: "a"), Tag(name: "bc")])

    /// Decimal length fields are written without `String`: the same text as `String(n)` for every
    /// edge, the limit counted with the delimiter, and a delimiter made of digits still checked.
    @Test func decimalFieldsAreWrittenAsStringWouldAndWithinTheirLimits() throws {
        for value in [0, 7, 10, -5, 123_456_789, Int.max, Int.min] {
            #expect(WireFormat.decimal(value) == Array(String(value).utf8))
            var writer = WireWriter(message: "Test")
            try writer.delimitedDecimal(value, delimiter: [13, 10], max: 32)
            #expect(writer.bytes == Array("\(value)\r\n".utf8))
        }
        #expect(WireFormat.decimal(UInt64.max) == Array(String(UInt64.max).utf8))  // past Int: the String path
        var writer = WireWriter(message: "Test")
        try writer.delimitedDecimal(12_345, delimiter: [13, 10], max: 7)
        #expect(throws: WireEncodingError.self) { try writer.delimitedDecimal(123_456, delimiter: [13, 10], max: 7) }
        #expect(writer.bytes == Array("12345\r\n".utf8))  // the refused value left nothing behind
        #expect(throws: WireEncodingError.self) { try writer.delimitedDecimal(1_234, delimiter: Array("3".utf8), max: 32) }
    }

    @Test func binaryRecordEncodesAsTheGrammarSays() throws {
        var expected = bytes("REC") + [2]
        expected += [9, 0] + Array("sensor-α".utf8)  // u16le length of the UTF-8 name
        expected += bytes("21.5C;")
        expected += [0xFF, 0xFF, 0xFF, 0xF9]  // i32be -7
        expected += [0, 0, 0, 0, 0, 1, 0, 0]  // u64le 2^40
        expected += bytes("-ff;beef;ft;") + [2] + [0xFF, 0xFE, 0x01, 0x2C] + bytes("a,bc,.")
        #expect(try Self.record.encoded() == expected)
    }

    @Test func binaryRecordReadsBackAtEverySplit() async throws {
        let decoded = try await readEverySplit(try Self.record.encoded()) { try await Record.read(from: $0) }
        #expect(decoded == Self.record)
    }

    @Test func externTypeRefusalIsATypedError() async throws {
        var input = try Self.record.encoded()
        let at = input.firstIndex(of: UInt8(ascii: ";"))! - 1  // "21.5C;" → "21.5F;"
        input[at] = UInt8(ascii: "F")
        let error = await protocolError(input) { try await Record.read(from: $0) }
        #expect(error?.kind == .invalidValue("21.5F is not a temperature like 21.5C"))
        #expect(error?.field == "temperature")
        #expect(error?.offset == 15)
    }

    @Test func unknownEnumerationValueIsRefused() async throws {
        var input = try Self.record.encoded()
        let at = input.firstIndex(of: UInt8(ascii: "t"))!  // "ft" → "fx"
        input[at] = UInt8(ascii: "x")
        let error = await protocolError(input) { try await Record.read(from: $0) }
        #expect(error?.kind == .unknownValue(type: "Unit", found: bytes("fx")))
    }

    @Test func encoderChecksCountsAndDelimiters() throws {
        var tooMany = Self.record
        tooMany.samples = Array(repeating: 1, count: 9)
        #expect(throws: WireEncodingError.self) { try tooMany.encoded() }
        var badTag = Self.record
        badTag.tags = [Tag(name: "a,b")]
        #expect(throws: WireEncodingError(message: "Tag", field: "name", reason: "contains the delimiter \",\"")) {
            try badTag.encoded()
        }
    }

    @Test func encoderRefusesSizesTheGrammarFixes() async throws {
        #expect(try Fixed(code: "abcd", pair: [1, 2]).encoded() == bytes("abcd") + [1, 2])
        #expect(throws: WireEncodingError(message: "Fixed", field: "code", reason: "has 3 bytes where the grammar says 4")) {
            try Fixed(code: "abc", pair: [1, 2]).encoded()
        }
        #expect(throws: WireEncodingError(message: "Fixed", field: "pair", reason: "has 3 elements where the grammar says 2")) {
            try Fixed(code: "abcd", pair: [1, 2, 3]).encoded()
        }
        let decoded = try await readEverySplit(bytes("wxyz") + [7, 9]) { try await Fixed.read(from: $0) }
        #expect(decoded == Fixed(code: "wxyz", pair: [7, 9]))
    }

    @Test func optionalParts() async throws {
        let none = try await readEverySplit(bytes("0 !")) { try await Optional.read(from: $0) }
        #expect(none == Optional(padded: nil, note: nil))
        let padded = try await readEverySplit(bytes("1 2 abcde!")) { try await Optional.read(from: $0) }
        #expect(padded == Optional(padded: bytes("abcde"), note: nil))
        let noted = try await readEverySplit(bytes("2 1 xyzhello\n!")) { try await Optional.read(from: $0) }
        #expect(noted == Optional(padded: bytes("xyz"), note: "hello"))
    }

    @Test func nestedOptionalParts() async throws {
        let cases: [(String, Nested)] = [
            ("0 !", Nested(first: nil, second: nil, third: nil)),
            ("1 a !", Nested(first: "a", second: nil, third: nil)),
            ("2 a b !", Nested(first: "a", second: "b", third: nil)),
            ("3 a b c !", Nested(first: "a", second: "b", third: "c")),
        ]
        for (input, expected) in cases {
            #expect(try await readEverySplit(bytes(input)) { try await Nested.read(from: $0) } == expected)
        }
    }

    @Test func arithmeticOnHostileLengthsDoesNotOverflow() async throws {
        let error = await protocolError(bytes("1 9223372036854775807 ")) { try await Optional.read(from: $0) }
        #expect(error?.kind == .arithmeticOverflow)
        #expect(error?.field == "padded")
    }

    @Test func lookaheadWithFallbackAndStreamedField() async throws {
        var chunks: [[UInt8]] = []
        let ping = try await Envelope.read(from: MemoryByteSource(bytes("PING\n"))) { chunks.append([UInt8]($0)) }
        #expect(ping == .ping)
        let payload = [UInt8](repeating: 5, count: 200_000)
        let data = try await Envelope.read(from: MemoryByteSource(bytes("200000:") + payload, chunkSize: 10_000)) {
            chunks.append([UInt8]($0))
        }
        #expect(data == .data)
        #expect(chunks.count >= 20)
        #expect(Array(chunks.joined()) == payload)
    }
}

/// `Item * until close`: items until a clean EOF between two of them.
struct RepetitionUntilCloseTests {
    static let journal = Journal(entries: [JournalEntry(text: "one"), JournalEntry(text: ""), JournalEntry(text: "three")])

    @Test func entriesUntilTheEndOfTheInputAtEverySplitAndBack() async throws {
        let wire = try Self.journal.encoded()
        #expect(wire == [0, 3] + bytes("one") + [0, 0] + [0, 5] + bytes("three"))  // nothing marks the end
        #expect(try await readEverySplit(wire) { try await Journal.read(from: $0) } == Self.journal)
        #expect(try await readEverySplit([]) { try await Journal.read(from: $0) } == Journal(entries: []))
    }

    @Test func anEndInsideAnEntryIsATruncation() async throws {
        let cut = try Array(Self.journal.encoded().dropLast(2))  // "thr" of "three"
        let error = await protocolError(cut) { try await Journal.read(from: $0) }
        #expect(error?.kind == .truncated)
        let halfLength = [0, 3] + bytes("one") + [0]  // EOF inside the next entry's length
        #expect(await protocolError(halfLength) { try await Journal.read(from: $0) }?.kind == .truncated)
    }

    @Test func moreEntriesThanTheLimitAreRefusedEitherWay() async throws {
        let entry: [UInt8] = [0, 1] + bytes("x")
        let five = Array(repeating: entry, count: 5).flatMap { $0 }
        let error = await protocolError(five) { try await Journal.read(from: $0) }
        #expect(error?.kind == .limitExceeded(limit: 4, value: 5))
        #expect(throws: WireEncodingError.self) {
            try Journal(entries: Array(repeating: JournalEntry(text: "x"), count: 5)).encoded()
        }
    }
}

extension Framed {
    /// The grammar's `call checkKind(kind)` (a requirement of the generated `FramedHooks`): kind 0 is reserved.
    public static func checkKind(_ kind: UInt16) throws {
        if kind == 0 { throw WireConversionFailure(.invalidValue("kind 0 is reserved")) }
    }
}

/// `let name = expression` and `call` as a check of its own.
struct ComputedLetTests {
    @Test func aLengthThatCountsTheHeaderIsComputedWithALet() async throws {
        let wire: [UInt8] = [0, 0, 0, 5, 0, 7] + bytes("abc")
        #expect(try await readEverySplit(wire) { try await Framed.read(from: $0) } == Framed(kind: 7, payload: "abc"))
    }

    @Test func aComputedLengthBelowZeroIsANegativeLengthError() async throws {
        let error = await protocolError([0, 0, 0, 1, 0, 7]) { try await Framed.read(from: $0) }
        #expect(error?.kind == .negativeLength(-1))
    }

    @Test func aCheckRefusesInputWithoutBindingAName() async throws {
        let error = await protocolError([0, 0, 0, 3, 0, 0] + bytes("x")) { try await Framed.read(from: $0) }
        #expect(error?.kind == .invalidValue("kind 0 is reserved"))
    }
}

/// Encoders solve lengths that count more than the payload (`bytes(length - 2)`, `words * 4`).
struct SolvedLengthTests {
    @Test func aLengthCountingTheHeaderIsDerivedAndReadBackAtEverySplit() async throws {
        let frame = TypedFrame(kind: 7, payload: bytes("abc"))
        let wire: [UInt8] = [0, 0, 0, 5, 0, 7] + bytes("abc")
        #expect(try frame.encoded() == wire)
        #expect(try await readEverySplit(wire) { try await TypedFrame.read(from: $0) } == frame)
        // Through a computed let: the same bytes.
        let named = NamedFrame(kind: 7, payload: bytes("abc"))
        #expect(try named.encoded() == wire)
        #expect(try await readEverySplit(wire) { try await NamedFrame.read(from: $0) } == named)
    }

    @Test func aLengthInUnitsMustDivide() async throws {
        let words = Words(data: [UInt8](repeating: 1, count: 8))
        #expect(try words.encoded() == [2] + [UInt8](repeating: 1, count: 8))
        #expect(try await readEverySplit(try words.encoded()) { try await Words.read(from: $0) } == words)
        #expect(throws: WireEncodingError.self) { try Words(data: [1, 2, 3]).encoded() }  // 3 is no whole number of words
    }
}

/// `Element * while flag`: a flat array of elements, the last one marked by its own field.
struct RepetitionWhileTests {
    @Test func multiLineRepliesReadAsOneFlatArrayAtEverySplit() async throws {
        let wire = bytes("250-mail.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n")
        let reply = try await readEverySplit(wire) { try await MultiLineReply.read(from: $0) }
        #expect(reply.lines.map(\.text) == ["mail.example", "PIPELINING", "SIZE 1000"])
        #expect(reply.lines.map(\.code) == [250, 250, 250])
        #expect(reply.lines.map { $0.more != nil } == [true, true, false])
        let single = try await readEverySplit(bytes("221 bye\r\n")) { try await MultiLineReply.read(from: $0) }
        #expect(single.lines.count == 1)
    }

    @Test func moreLinesThanTheLimitAreRefused() async throws {
        let nine = Array(repeating: bytes("250-x\r\n"), count: 9).flatMap { $0 } + bytes("250 end\r\n")
        let error = await protocolError(nine) { try await MultiLineReply.read(from: $0) }
        #expect(error?.kind == .limitExceeded(limit: 8, value: 9))
    }

    @Test func theEncoderWritesAChainAndRefusesAMisplacedEnd() async throws {
        let chain = Chain(links: [Link(next: 1, value: 10), Link(next: 1, value: 20), Link(next: 0, value: 30)])
        let wire: [UInt8] = [1, 0, 10, 1, 0, 20, 0, 0, 30]
        #expect(try chain.encoded() == wire)
        #expect(try await readEverySplit(wire) { try await Chain.read(from: $0) } == chain)
        #expect(throws: WireEncodingError.self) { try Chain(links: [Link(next: 0, value: 1), Link(next: 0, value: 2)]).encoded() }
        #expect(throws: WireEncodingError.self) { try Chain(links: [Link(next: 1, value: 1)]).encoded() }
        #expect(throws: WireEncodingError.self) { try Chain(links: []).encoded() }
    }
}

/// `varint` (LEB128, protobuf) and `mqttlen` (MQTT's remaining length): parsers and encoders.
struct VarintTests {
    @Test func tlvRecordsWithVarintLengthsAtEverySplit() async throws {
        let stream = TLVStream(records: [
            TLV(tag: 1, value: bytes("hi")),
            TLV(tag: 2, value: [UInt8](repeating: 7, count: 300)),  // 300 = 0xAC 0x02
            TLV(tag: 3, value: []),
        ])
        let wire = try stream.encoded()
        #expect(Array(wire.prefix(4)) == [1, 2] + bytes("hi"))
        #expect(Array(wire[4..<7]) == [2, 0xAC, 0x02])
        #expect(Array(wire.suffix(2)) == [3, 0])
        #expect(try await readEverySplit(wire) { try await TLVStream.read(from: $0) } == stream)
    }

    @Test func mqttRemainingLengths() async throws {
        let packet = MQTTPacket(header: 0x30, body: [UInt8](repeating: 1, count: 321))  // 321 = 0xC1 0x02
        let wire = try packet.encoded()
        #expect(Array(wire.prefix(3)) == [0x30, 0xC1, 0x02])
        #expect(try await readEverySplit(wire) { try await MQTTPacket.read(from: $0) } == packet)
        // Five length bytes are one too many for MQTT.
        let error = await protocolError([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]) { try await MQTTPacket.read(from: $0) }
        guard case .invalidNumber(_, let text)? = error?.kind else {
            Issue.record("expected invalidNumber, got \(String(describing: error))")
            return
        }
        #expect(text == [0x80, 0x80, 0x80, 0x80])
    }

    @Test func varintValuesAtTheEdges() async throws {
        for (value, wire) in [(UInt(0), [UInt8(0)]), (127, [0x7F]), (128, [0x80, 0x01]), (UInt(UInt64.max), [UInt8](repeating: 0xFF, count: 9) + [0x01])] {
            #expect(try Counter(count: value).encoded() == wire)
            #expect(try await readEverySplit(wire) { try await Counter.read(from: $0) } == Counter(count: value))
        }
        // An eleventh byte, or a tenth that overflows 64 bits, is refused.
        #expect(await protocolError([UInt8](repeating: 0xFF, count: 9) + [0x02]) { try await Counter.read(from: $0) } != nil)
        #expect(await protocolError([UInt8](repeating: 0x80, count: 10) + [0x00]) { try await Counter.read(from: $0) } != nil)
        #expect(await protocolError([0x80]) { try await Counter.read(from: $0) }?.kind == .truncated)
        var writer = WireWriter(message: "MQTTPacket")
        #expect(throws: WireEncodingError.self) { try writer.varint(268_435_456, maxBytes: 4) }
    }
}

/// Sub-frames: `bytes(length) as Message`, and their encoders.
struct SubFrameTests {
    @Test func aMessageInItsFrameReadsBackAtEverySplit() async throws {
        let parcel = Parcel(kind: 1, body: Point(x: 3, y: -4, label: "p"))
        let wire: [UInt8] = [1, 0, 6, 0, 3, 0xFF, 0xFC] + bytes("p;.")
        #expect(try parcel.encoded() == wire)
        #expect(try await readEverySplit(wire) { try await Parcel.read(from: $0) } == parcel)
    }

    @Test func aFrameTooShortOrTooLongForItsMessageIsATypedError() async throws {
        // The frame holds 5 bytes; the point needs 6 ("p;" included).
        let short: [UInt8] = [1, 0, 5, 0, 3, 0xFF, 0xFC] + bytes("p;.")
        #expect(await protocolError(short) { try await Parcel.read(from: $0) }?.kind == .frameEndedEarly)
        // The frame holds 7: one byte is left after the point.
        let long: [UInt8] = [1, 0, 7, 0, 3, 0xFF, 0xFC] + bytes("p;x.")
        #expect(await protocolError(long) { try await Parcel.read(from: $0) }?.kind == .bytesLeftInFrame(1))
    }
}

/// `same name` (bytes equal to an earlier value), `check COND`, and sized text integers.
struct EqualityAndSizedIntegerTests {
    @Test func aClosingTagThatRepeatsTheOpeningOneParsesAndEncodes() async throws {
        let input = bytes("<<EOF\nhello\nEOF\n")
        let document = try await readEverySplit(input) { try await HereDocument.read(from: $0) }
        #expect(document == HereDocument(tag: "EOF", body: "hello"))
        #expect(try document.encoded() == input)
    }

    @Test func aClosingTagThatDiffersIsATypedMismatchAtEverySplit() async throws {
        let error = await protocolError(bytes("<<EOF\nhello\nEOX\n")) { try await HereDocument.read(from: $0) }
        #expect(error?.kind == .notSame(earlier: "tag", expected: bytes("EOF"), found: bytes("EOX")))
        #expect(error?.offset == 12)
        #expect(error?.message == "HereDocument")
    }

    @Test func anEmptyEarlierValueRepeatsAsNothing() async throws {
        let input = bytes("<<\nbody\n\n")
        let document = try await readEverySplit(input) { try await HereDocument.read(from: $0) }
        #expect(document == HereDocument(tag: "", body: "body"))
        #expect(try document.encoded() == input)
    }

    @Test func anEnumValueRepeatsItsLiteral() async throws {
        let input = bytes("R:R:10-ff\n")
        let range = try await readEverySplit(input) { try await ChannelRange.read(from: $0) }
        #expect(range == ChannelRange(channel: .red, low: 10, high: 0xFF))
        #expect(try range.encoded() == input)
        let error = await protocolError(bytes("R:G:10-ff\n")) { try await ChannelRange.read(from: $0) }
        #expect(error?.kind == .notSame(earlier: "channel", expected: bytes("R"), found: bytes("G")))
    }

    @Test func aFailedCheckNamesItsConditionWhenParsingAndEncoding() async throws {
        let error = await protocolError(bytes("G:G:300-ff\n")) { try await ChannelRange.read(from: $0) }
        #expect(error?.kind == .checkFailed("low <= high"))
        #expect(error?.offset == 11)
        #expect(throws: WireEncodingError(message: "ChannelRange", field: "high", reason: "check 'low <= high' fails")) {
            try ChannelRange(channel: .green, low: 2, high: 1).encoded()
        }
    }

    @Test func sizedTextIntegersAreRangeChecked() async throws {
        let value = try await readEverySplit(bytes("-128,18446744073709551615,3\nabc")) { try await Sized.read(from: $0) }
        #expect(value == Sized(small: -128, wide: UInt64.max, items: bytes("abc")))
        #expect(type(of: value.small) == Int8.self && type(of: value.wide) == UInt64.self)

        let small = await protocolError(bytes("-129,1,0\n")) { try await Sized.read(from: $0) }
        #expect(small?.kind == .outOfRange(type: "Int8", text: bytes("-129")))
        #expect(small?.field == "small")
        let count = await protocolError(bytes("1,1,10000\n")) { try await Sized.read(from: $0) }
        #expect(count?.kind == .outOfRange(type: "UInt16", text: bytes("10000")))
        let negative = await protocolError(bytes("1,-1,0\n")) { try await Sized.read(from: $0) }
        #expect(negative?.kind == .invalidNumber(expected: "decimal integer", text: bytes("-1")))
    }

    @Test func aDerivedLengthMustFitItsSizedTextType() throws {
        #expect(try ShortText(text: "hi").encoded() == bytes("2:hi"))
        #expect(throws: WireEncodingError(message: "ShortText", field: "length", reason: "300 does not fit in UInt8")) {
            try ShortText(text: String(repeating: "x", count: 300)).encoded()
        }
    }
}
