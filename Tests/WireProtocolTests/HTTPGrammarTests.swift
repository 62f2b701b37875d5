import Testing
import WireHTTP
import Wirestream

/// The HTTP/1.0 grammar (Grammars/WireHTTP/http10.wire) on fixtures, at every split of the input.
struct HTTPGrammarTests {
    @Test func responseWithContentLength() async throws {
        let input = bytes("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length:   5  \r\n\r\nhello")
        let response = try await readEverySplit(input) { try await Response.read(from: $0) }
        #expect(response.head.major == 1 && response.head.minor == 0)
        #expect(response.head.status == 200)
        #expect(response.head.reason == "OK")
        #expect(response.head.headers == [Header(name: "Content-Type", value: "text/plain"), Header(name: "Content-Length", value: "5")])
        #expect(response.head.header("content-length") == "5")
        #expect(response.body == bytes("hello"))
    }

    @Test func responseUntilClose() async throws {
        let input = bytes("HTTP/1.1 404\r\nServer: test\r\n\r\nnot here\r\nat all")
        let response = try await readEverySplit(input) { try await Response.read(from: $0) }
        #expect(response.head.status == 404)
        #expect(response.head.reason == nil)
        #expect(response.body == bytes("not here\r\nat all"))
    }

    @Test func noContentHasNoBody() async throws {
        let input = bytes("HTTP/1.0 204 No Content\r\n\r\n")
        let response = try await readEverySplit(input) { try await Response.read(from: $0) }
        #expect(response.body.isEmpty)
    }

    @Test func streamedBodyArrivesInChunksAndIsNotStored() async throws {
        let body = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let input = bytes("HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n") + body
        var received: [UInt8] = []
        var chunks = 0
        let head = try await StreamedResponse.read(from: MemoryByteSource(input, chunkSize: 4096)) { chunk in
            received += chunk
            chunks += 1
        }
        #expect(head.head.status == 200)
        #expect(received == body)
        #expect(chunks > 20)  // handed over as it arrived, not once at the end
    }

    @Test func requestEncoder() throws {
        let request = Request(method: "GET", target: "/index.html", headers: [RequestHeader(name: "Host", value: "localhost")])
        #expect(try request.encoded() == bytes("GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n"))
    }

    @Test func requestEncoderRefusesAHeaderThatWouldSplitTheRequest() throws {
        let request = Request(method: "GET", target: "/", headers: [RequestHeader(name: "X", value: "a\r\nInjected: yes")])
        #expect(throws: WireEncodingError(message: "RequestHeader", field: "value", reason: "contains the delimiter \"\\r\\n\"")) {
            try request.encoded()
        }
    }

    // MARK: Bad input

    @Test func oversizeHeaderLineIsRefused() async throws {
        let input = bytes("HTTP/1.0 200 OK\r\nX: " + String(repeating: "a", count: 9000) + "\r\n\r\n")
        let error = await protocolError(input) { try await Response.read(from: $0) }
        #expect(error?.kind == .limitExceeded(limit: 8192, value: nil))
        #expect(error?.message == "Header")
        #expect(error?.offset == 17)
    }

    @Test func tooManyHeadersAreRefused() async throws {
        let input = bytes("HTTP/1.0 200 OK\r\n" + String(repeating: "A: b\r\n", count: 101) + "\r\n")
        let error = await protocolError(input) { try await Response.read(from: $0) }
        #expect(error?.kind == .limitExceeded(limit: 100, value: 101))
        #expect(error?.field == "headers")
    }

    @Test func badContentLengthIsRefused() async throws {
        let input = bytes("HTTP/1.0 200 OK\r\nContent-Length: 12x\r\n\r\n")
        let error = await protocolError(input) { try await Response.read(from: $0) }
        #expect(error?.kind == .invalidNumber(expected: "Content-Length", text: bytes("12x")))
        // Reported where the hook was called: after the head, computing `length`.
        #expect(error?.message == "Response")
        #expect(error?.field == "length")
        #expect(error?.offset == input.count)
    }

    @Test func bodyOverTheLimitIsRefusedBeforeReading() async throws {
        let input = bytes("HTTP/1.0 200 OK\r\nContent-Length: 999999999999\r\n\r\n")
        let error = await protocolError(input) { try await Response.read(from: $0) }
        #expect(error?.kind == .limitExceeded(limit: 64 << 20, value: 999_999_999_999))
        #expect(error?.field == "body")
    }

    @Test func truncatedBodyIsReported() async throws {
        let input = bytes("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nshort")
        let error = await protocolError(input) { try await Response.read(from: $0) }
        #expect(error?.kind == .truncated)
        #expect(error?.field == "body")
    }

    @Test func notAStatusLineIsRefused() async throws {
        // Refused as soon as the first bytes are there: the anchored status-line regex cannot match.
        let source = MemoryByteSource(chunks: [bytes("SSH-2.0-OpenSSH\r\n"), bytes("never reached")])
        await #expect(throws: WireProtocolError.self) { try await Response.read(from: source) }
        #expect(!source.atEOF)
        // The same error however the input is split: the first byte that cannot start a match.
        for (source, shown) in [(MemoryByteSource(bytes("SSH-2.0-OpenSSH\r\n")), "S"), (MemoryByteSource(bytes("SSH"), chunkSize: 1), "S")] {
            do {
                _ = try await Response.read(from: source)
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
