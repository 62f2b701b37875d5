import Glibc
import Testing

@testable import Wirestream

@Suite struct PatternTests {
    @Test func compilesWithJITAndExposesNamedGroups() throws {
        let pattern = try Pattern(#"HTTP/(?<version>1\.[01]) (?<code>[0-9]{3}) (?<reason>[^\r\n]*)\r\n"#)
        #expect(pattern.isJITCompiled)
        #expect(pattern.captureCount == 3)
        #expect(pattern.groupNumbers == ["version": 1, "code": 2, "reason": 3])
    }

    @Test(arguments: [
        ("(abc", "missing closing parenthesis", 4),
        ("a{2,1}", "numbers out of order in {} quantifier", 5),
        ("[z-a]", "range out of order in character class", 3),
        ("(?<n>a)(?<n>b)", "two named subpatterns have the same name (PCRE2_DUPNAMES not set)", 12),
    ])
    func aBadPatternIsATypedErrorWithPCRE2sMessageAndOffset(_ source: String, _ message: String, _ offset: Int) {
        #expect(throws: PatternError(pattern: source, offset: offset, message: message)) {
            try Pattern(source)
        }
    }

    @Test func aUTFPatternNamingAnImpossibleCodePointIsRejectedUpFront() {
        // A Swift String is always valid UTF-8, so the pattern text itself cannot be malformed;
        // what PCRE2 must refuse is a code point beyond U+10FFFF.
        #expect(throws: PatternError(pattern: "\\x{110000}", offset: 9, message: "character code point value in \\x{} or \\o{} is too large")) {
            try Pattern("\\x{110000}", options: .utf)
        }
    }
}

@Suite struct RegexReadTests {
    let statusLine = try! Pattern(#"HTTP/(?<version>1\.[01]) (?<code>[0-9]{3}) (?<reason>[^\r\n]*)\r\n"#)

    @Test(arguments: Transport.allCases)
    func returnsTheBytesThroughTheMatchAndItsGroups(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write(bytes("junk\r\nHTTP/1.0 404 Not Found\r\nServer: x\r\n"))
            let match = try await pair.reader.readUntilRegex(statusLine)
            #expect(text(match.bytes) == "junk\r\nHTTP/1.0 404 Not Found\r\n")
            #expect(match.matchRange == 6..<30)
            #expect(match["code"].map { text(Array($0)) } == "404")
            #expect(match["reason"].map { text(Array($0)) } == "Not Found")
            #expect(match[1].map { text(Array($0)) } == "1.0")
            // What followed the match stays buffered.
            #expect(text(try await pair.reader.readUntil(bytes("\r\n"))) == "Server: x\r\n")
        }
    }

    @Test(arguments: Transport.allCases)
    func anAnchoredPatternFailsAsSoonAsTheDataCannotMatch(_ transport: Transport) async throws {
        try await onLoop { loop in
            // Anchored by `\A` or by the option: both must start where the read starts.
            for anchored in [try Pattern(#"\AHTTP/1\.[01] "#), try Pattern(#"HTTP/1\.[01] "#, options: .anchored)] {
                #expect(anchored.isAnchored)
                // The peer stays connected and silent: the read must not wait for more data or its
                // limit, nor skip ahead to a later "H" that could start a match.
                let pair = try await makePair(transport, loop: loop)
                try await pair.writer.write(bytes("SSH-2.0 HTTP/1.0 "))
                let error = await expectStreamClosed { try await pair.reader.readUntilRegex(anchored, maxBytes: 1 << 20) }
                #expect(error as? PatternMismatchError == PatternMismatchError(pattern: anchored.source))
                // A prefix of a match is not a mismatch: it waits.
                let again = try await makePair(transport, loop: loop)
                try await again.writer.write(bytes("HTTP/1"))
                let waiting = spawn(on: loop) { try await again.reader.readUntilRegex(anchored).bytes }
                try await pause(20)
                try await again.writer.write(bytes(".0 200"))
                #expect(text(try await waiting.value) == "HTTP/1.0 ")
            }
            #expect(!(try Pattern("HTTP").isAnchored))
        }
    }

    @Test func borrowingAndCallbackFormsSeeTheSameGroups() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            try await pair.writer.write(bytes("HTTP/1.1 200 OK\r\nHTTP/1.0 301 Moved\r\n"))
            let (code, copy) = try await pair.reader.readUntilRegex(statusLine) { view in
                // The view reads the groups of the match it was lent with; out-of-range groups are nil.
                #expect(view.groups == [0..<17, 5..<8, 9..<12, 13..<15])
                #expect(view.groupNumbers == ["version": 1, "code": 2, "reason": 3])
                #expect(view[4] == nil && view[-1] == nil && view["nope"] == nil)
                return (Int(text(Array(view["code"]!)))!, view.copy())
            }
            #expect(code == 200)
            #expect(copy.bytes == bytes("HTTP/1.1 200 OK\r\n") && copy["reason"].map { text(Array($0)) } == "OK")
            let match: RegexMatch = try await awaitCallback { done in
                pair.reader.readUntilRegex(statusLine, callback: done)
            }
            #expect(match["reason"].map { text(Array($0)) } == "Moved")
        }
    }

    @Test func aGroupThatDidNotTakePartIsNil() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            try await pair.writer.write(bytes("b;"))
            let match = try await pair.reader.readUntilRegex(try Pattern("(?<a>a)?(?<b>b);"))
            #expect(match["a"] == nil)
            #expect(match["b"].map { text(Array($0)) } == "b")
        }
    }

    @Test(arguments: Transport.allCases)
    func longLineInSmallPiecesIsScannedInLinearTotalWork(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop, readChunkSize: 4096)
            let size = 8 * 1024 * 1024
            let line = [UInt8](repeating: UInt8(ascii: "a"), count: size - 2) + bytes("\r\n")
            let sent = spawn(on: loop) { [line] in try await pair.writer.write(line) }
            let match = try await pair.reader.readUntilRegex(try Pattern(#"\r?\n"#))
            try await sent.value
            #expect(match.bytes.count == size)
            #expect(match.matchRange == (size - 2)..<size)
            #expect(pair.reader.bytesScanned <= 2 * size)
        }
    }

    @Test(arguments: Transport.allCases)
    func failsAtMaxBytesWhenDataIsAlreadyBuffered(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write(bytes("x0123456789;"))
            #expect(text(try await pair.reader.readBytes(1)) == "x")
            let realError = await expectStreamClosed {
                try await pair.reader.readUntilRegex(try Pattern("[0-9]+;"), maxBytes: 8)
            }
            #expect(realError is UnsatisfiableReadError)
            #expect(pair.reader.error is UnsatisfiableReadError)
        }
    }

    @Test(arguments: Transport.allCases)
    func failsAtMaxBytesWhenTheDataArrivesLater(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let closed = CallbackBox<Void>()
            pair.reader.setCloseCallback { closed.complete(.success(())) }
            let read = spawn(on: loop) { try await pair.reader.readUntilRegex(try Pattern(#"\r?\n"#), maxBytes: 16) }
            try await pause(5)
            try await pair.writer.write([UInt8](repeating: 97, count: 40))
            let realError = await expectStreamClosed { try await read.value }
            #expect(realError is UnsatisfiableReadError)
            try await closed.value()
        }
    }

    @Test func aMatchInTheSamePacketEndingPastMaxBytesFailsAndAnExactFitSucceeds() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            try await pair.writer.write(bytes("123;4567;"))
            let pattern = try Pattern("[0-9]+;")
            #expect(text(try await pair.reader.readUntilRegex(pattern, maxBytes: 4).bytes) == "123;")
            let realError = await expectStreamClosed { try await pair.reader.readUntilRegex(pattern, maxBytes: 4) }
            #expect(realError is UnsatisfiableReadError)
        }
    }

    @Test(arguments: Transport.allCases)
    func aMatchThatCouldGrowWaitsForMoreDataOrEOF(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let read = spawn(on: loop) { try await pair.reader.readUntilRegex(try Pattern("[0-9]+")) }
            try await pair.writer.write(bytes("12"))
            #expect(try await eventually { pair.reader.isReading })  // "12" could become "123…": partial-hard says wait
            try await pair.writer.write(bytes("34"))
            try await pause(10)
            pair.writer.close()  // EOF: the complete match is final
            #expect(text(try await read.value.bytes) == "1234")
        }
    }

    @Test(arguments: Transport.allCases)
    func aPendingRegexReadTheBufferCannotSatisfyFailsOnClose(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let read = spawn(on: loop) { try await pair.reader.readUntilRegex(try Pattern(#"\r?\n"#)) }
            try await pair.writer.write(bytes("no end of line"))
            try await pause(5)
            pair.writer.close()
            let realError = await expectStreamClosed { try await read.value }
            #expect(realError == nil)
        }
    }

    @Test func invalidUTF8InTheSubjectOfAUTFPatternIsATypedError() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            let pattern = try Pattern(#"(?<word>\S+)\n"#, options: [.utf])
            try await pair.writer.write(bytes("héllo\n") + [0xFF, 0xFE] + bytes(" world\n"))
            let match = try await pair.reader.readUntilRegex(pattern)
            #expect(match["word"].map { String(decoding: $0, as: UTF8.self) } == "héllo")
            let realError = await expectStreamClosed { try await pair.reader.readUntilRegex(pattern) }
            let failure = try #require(realError as? PatternMatchError)
            #expect(failure.message == "invalid UTF-8 at byte 0 of the data read")
        }
    }

    @Test func aUTF8CharacterSplitBetweenReadsIsNotAnError() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            let read = spawn(on: loop) { try await pair.reader.readUntilRegex(try Pattern(#"(?<word>\S+)\n"#, options: [.utf])) }
            try await pair.writer.write([UInt8](bytes("hé").dropLast()))  // "h" and half of "é"
            #expect(try await eventually { pair.reader.isReading })
            try await pair.writer.write([0xA9] + bytes("llo\n"))
            let match = try await read.value
            #expect(match["word"].map { String(decoding: $0, as: UTF8.self) } == "héllo")
        }
    }
}

@Suite struct PatternStartBytesTests {
    func candidates(_ pattern: Pattern) -> [UInt8] {
        let all = [UInt8](0...255)
        return all.filter { byte in
            [byte].withUnsafeBytes { pattern.startBytes.firstCandidate(in: $0, from: 0, to: 1) == 0 }
        }
    }

    /// A read started inside a borrowing closure, while the frame is lent in place, fails with
    /// ``ReadInProgressError``: it would consume the bytes under the closure, and reset or free the
    /// stream's searcher whose groups the closure is reading (the fast path lends it unretained).
    @Test(arguments: [false, true])
    func aReadStartedInsideTheClosureIsRefusedAndTheLentMatchStaysIntact(_ samePattern: Bool) async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            let outer = try Pattern(#"(?<word>[a-z]+)=(?<n>[0-9]+)\n"#)
            let inner = samePattern ? outer : try Pattern(#"(?<x>[a-z])"#)
            try await pair.writer.write(bytes("abc=1\nxyz=22\nqq=3\n"))
            _ = try await pair.reader.readUntilRegex(outer)  // the stream now keeps `outer`'s searcher
            let reader = pair.reader
            var nested: [Result<[UInt8], any Error>] = []
            let seen = try await reader.readUntilRegex(outer) { view -> [String] in
                let before = [text(Array(view["word"]!)), text(Array(view["n"]!))]
                reader.readUntilRegex(inner, borrowing: { Array($0.bytes) }) { nested.append($0) }
                reader.readUntil(bytes("\n")) { nested.append($0) }
                return before + [text(Array(view["word"]!)), text(Array(view["n"]!))]
            }
            #expect(seen == ["xyz", "22", "xyz", "22"])
            #expect(nested.count == 2)
            #expect(nested.allSatisfy { if case .failure(let error) = $0 { error is ReadInProgressError } else { false } })
            // The stream reads on from the end of the lent frame.
            let last = try await reader.readUntilRegex(outer)
            #expect(last["word"].map { text(Array($0)) } == "qq")
        }
    }

    @Test func aPatternsPossibleFirstBytesComeFromPCRE2() throws {
        #expect(candidates(try Pattern(#"\r?\n"#)) == [10, 13])
        #expect(candidates(try Pattern("[0-9]+;")) == Array(48...57))
        #expect(candidates(try Pattern("GET ")) == [71])
        let caseless = candidates(try Pattern("get", options: .caseless))
        #expect(caseless.contains(71) && caseless.contains(103))  // never narrower than the truth
        // Unknown or unusable: every byte is a candidate.
        #expect(candidates(try Pattern("(?m)^abc")).count == 256)
        #expect(candidates(try Pattern("a*")).count == 256)  // can match the empty string
        #expect(candidates(try Pattern("(?<=x)y")).count == 256)  // lookbehind
    }

    /// Two-byte start sets scan block by block with memchr: the first candidate wherever it is,
    /// whichever of the two bytes comes first, across block boundaries.
    @Test func aTwoByteStartSetFindsTheEarliestCandidate() throws {
        let pattern = try Pattern(#"[\x00z]"#)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<300 {
            let length = Int(rng.next() % 1200) + 1
            var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            for _ in 0..<Int(rng.next() % 3) { bytes[Int(rng.next() % UInt64(length))] = rng.next() % 2 == 0 ? 0 : UInt8(ascii: "z") }
            let from = Int(rng.next() % UInt64(length))
            let expected = bytes[from...].firstIndex { $0 == 0 || $0 == UInt8(ascii: "z") }
            let found = bytes.withUnsafeBytes { pattern.startBytes.firstCandidate(in: $0, from: from, to: length) }
            #expect(found == expected)
        }
    }
}
