import Testing
import WireHTTP
import Wirestream

/// The HTTP grammar (Grammars/WireHTTP/http.wire) on fixtures, at every split of the input.
struct HTTPGrammarTests {
    @Test func responseHead() async throws {
        let input = bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length:   5  \r\n\r\n")
        let head = try await readEverySplit(input) { try await ResponseHead.read(from: $0) }
        #expect(head.major == 1 && head.minor == 1)
        #expect(head.status == 200)
        #expect(head.reason == "OK")
        // Split at the colon, the blanks around the value dropped, as the line is read.
        #expect(head.headers.map(\.line.content) == [.field(name: "Content-Type", value: "text/plain"), .field(name: "Content-Length", value: "5")])
    }

    @Test func statusLineWithoutReason() async throws {
        let head = try await readEverySplit(bytes("HTTP/1.0 404\r\nServer: test\r\n\r\n")) { try await ResponseHead.read(from: $0) }
        #expect(head.status == 404)
        #expect(head.reason == nil)
    }

    @Test func headerLinesAreReadWholeForTheClientToJudge() async throws {
        // Lines without a colon, names with spaces, values with NUL: each parses as a line, and
        // HTTPClient refuses it with an error of its own (HTTPHostileServerTests).
        let latin1 = bytes("Latin: caf") + [0xe9] + bytes("\r\n")  // "é" as one Latin-1 byte, not UTF-8
        let input = bytes("HTTP/1.0 200 OK\r\nBad Name: x\0y\r\nGood: x\0y\r\nno colon\r\n") + latin1 + bytes("\r\n")
        let head = try await readEverySplit(input) { try await ResponseHead.read(from: $0) }
        #expect(head.headers.map(\.line.content) == [
            .invalidName(bytes("Bad Name")), .controlCharacter(name: "Good"), .noColon(line: bytes("no colon\r")),
            .field(name: "Latin", value: "caf\u{e9}"),
        ])
        // A lone LF is refused by the line's hook as soon as it is read.
        let error = await protocolError(bytes("HTTP/1.0 200 OK\r\nlone: lf\nmore")) { try await ResponseHead.read(from: $0) }
        #expect(error?.kind == .invalidValue("a line ends with LF alone"))
        #expect(error?.message == "HeaderLine" && error?.offset == 26)  // where the hook runs: after the line
    }

    @Test func chunkFraming() async throws {
        let size = try await readEverySplit(bytes("1a2B;name=value\r\n")) { try await ChunkSize.read(from: $0) }
        #expect(size.size == 0x1a2b)
        let largest = try await ChunkSize.read(from: MemoryByteSource(bytes("ffffffffffffffff\r\n")))
        #expect(largest.size == UInt64.max)
        let tooLong = await protocolError(bytes("10000000000000000\r\n")) { try await ChunkSize.read(from: $0) }
        #expect(tooLong?.message == "ChunkSize")
        let notHex = await protocolError(bytes("zz\r\n")) { try await ChunkSize.read(from: $0) }
        #expect(notHex?.message == "ChunkSize")
        let trailers = try await readEverySplit(bytes("Checksum: abc\r\nX: y\r\n\r\n")) { try await Trailers.read(from: $0) }
        #expect(trailers.fields.count == 2)
        let end = await protocolError(bytes("xx")) { try await ChunkEnd.read(from: $0) }
        #expect(end?.kind == .unexpectedBytes(expected: "\"\\r\\n\"", found: bytes("xx")))
    }

    @Test func requestEncoder() throws {
        let request = RequestHead(method: "GET", target: "/index.html", version: .http10, headers: [RequestHeaderLine(name: "Host", value: "localhost")])
        #expect(try request.encoded() == bytes("GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n"))
        let keepAlive = RequestHead(method: "HEAD", target: "/", version: .http11, headers: [])
        #expect(try keepAlive.encoded() == bytes("HEAD / HTTP/1.1\r\n\r\n"))
    }

    @Test func requestEncoderRefusesAHeaderThatWouldSplitTheRequest() throws {
        let request = RequestHead(method: "GET", target: "/", version: .http10, headers: [RequestHeaderLine(name: "X", value: "a\r\nInjected: yes")])
        #expect(throws: WireEncodingError(message: "RequestHeaderLine", field: "value", reason: "contains the delimiter \"\\r\\n\"")) {
            try request.encoded()
        }
    }

    // MARK: Bad input

    @Test func oversizeHeaderLineIsRefused() async throws {
        let input = bytes("HTTP/1.0 200 OK\r\nX: " + String(repeating: "a", count: 70_000) + "\r\n\r\n")
        let error = await protocolError(input) { try await ResponseHead.read(from: $0) }
        #expect(error?.kind == .limitExceeded(limit: 65_536, value: nil))
        #expect(error?.message == "HeaderLine")
        #expect(error?.offset == 17)
    }

    @Test func notAStatusLineIsRefused() async throws {
        // Refused as soon as the first bytes are there: the anchored status-line regex cannot match.
        let source = MemoryByteSource(chunks: [bytes("SSH-2.0-OpenSSH\r\n"), bytes("never reached")])
        await #expect(throws: WireProtocolError.self) { try await ResponseHead.read(from: source) }
        #expect(!source.atEOF)
        // The same error however the input is split: the first byte that cannot start a match.
        for (source, shown) in [(MemoryByteSource(bytes("SSH-2.0-OpenSSH\r\n")), "S"), (MemoryByteSource(bytes("SSH"), chunkSize: 1), "S")] {
            do {
                _ = try await ResponseHead.read(from: source)
                Issue.record("no error")
            } catch let error as WireProtocolError {
                guard case .unexpectedBytes(let expected, let found) = error.kind else {
                    Issue.record("expected unexpectedBytes, got \(error)")
                    continue
                }
                #expect(expected.hasPrefix("a match of /HTTP\\/(?<major>"))
                #expect(found == bytes(shown))
                #expect(error.message == "ResponseHead")
                #expect(error.offset == 0)
            }
        }
    }
}
