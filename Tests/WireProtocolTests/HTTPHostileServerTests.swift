import Foundation
import Testing
import WireHTTP
@testable import Wirestream

/// Every validation rule of HTTPClient against a server scripted to break it: each ends in its own
/// typed error within its deadline, and no descriptor is left open.
@Suite(.serialized) struct HTTPHostileServerTests {
    static func configuration() -> HTTPClientConfiguration {
        var configuration = HTTPClientConfiguration()
        configuration.connectTimeout = .seconds(5)
        configuration.idleTimeout = .seconds(5)
        configuration.totalTimeout = .seconds(10)
        return configuration
    }

    /// The error a GET gets from a server that answers `response` and then ends as `end` says.
    static func failure(
        of response: String, then end: ScriptedHTTPServer.End = .close,
        configuration: HTTPClientConfiguration = configuration(), method: HTTPMethod = .get,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> HTTPError.Kind? {
        let server = try ScriptedHTTPServer(always: response, then: end)
        defer { server.stop() }
        return await expectNoDescriptorLeak(sourceLocation: sourceLocation) {
            let client = HTTPClient(configuration: configuration)
            do {
                let response = try await client.execute(try HTTPRequest(method: method, url: server.url + "/"))
                Issue.record("got \(response.status) \(response.text.prefix(40)) from a misbehaving server", sourceLocation: sourceLocation)
                return nil
            } catch let error as HTTPError {
                return error.kind
            } catch {
                Issue.record("not an HTTPError: \(error)", sourceLocation: sourceLocation)
                return nil
            }
        }
    }

    // MARK: Content-Length

    @Test func aNegativeContentLength() async throws {
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: -1\r\n\r\nbody") == .invalidContentLength("-1"))
    }

    @Test func aContentLengthThatIsNotANumber() async throws {
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: 12x\r\n\r\n") == .invalidContentLength("12x"))
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: +5\r\n\r\nhello") == .invalidContentLength("+5"))
    }

    @Test func aContentLengthPastInt() async throws {
        let huge = "99999999999999999999999"
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: \(huge)\r\n\r\n") == .invalidContentLength(huge))
        let pastMax = "9223372036854775808"  // Int.max + 1: overflows only at its last digit
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: \(pastMax)\r\n\r\n") == .invalidContentLength(pastMax))
    }

    @Test func aContentLengthListWithAnEmptyItem() async throws {
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: 5,,5\r\n\r\nhello") == .invalidContentLength(""))
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: 5, \t\r\n\r\nhello") == .invalidContentLength(""))
    }

    @Test func conflictingContentLengths() async throws {
        let kind = try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
        #expect(kind == .conflictingContentLength(["5", "6"]))
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: 5, 7\r\n\r\nhello!!") == .conflictingContentLength(["5, 7"]))
    }

    @Test func repeatedEqualContentLengthsAreOneLength() async throws {
        let server = try ScriptedHTTPServer(always: "HTTP/1.0 200 OK\r\nContent-Length: 5\r\nContent-Length: 5 ,\t05\r\n\r\nhello")
        defer { server.stop() }
        let response = try await HTTPClient(configuration: Self.configuration()).get(server.url)
        #expect(response.text == "hello")
    }

    @Test func aDeclaredLengthOverTheLimitIsRefusedBeforeReading() async throws {
        var configuration = Self.configuration()
        configuration.maxBodyBytes = 1000
        // The server never sends the body: the refusal cannot have waited for it.
        let kind = try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: 1001\r\n\r\n", then: .stayOpen, configuration: configuration)
        #expect(kind == .bodyTooLarge(limit: 1000))
    }

    @Test func aBodyWithoutLengthOverTheLimit() async throws {
        var configuration = Self.configuration()
        configuration.maxBodyBytes = 1000
        let kind = try await Self.failure(of: "HTTP/1.0 200 OK\r\n\r\n" + String(repeating: "x", count: 5000), configuration: configuration)
        #expect(kind == .bodyTooLarge(limit: 1000))
    }

    // MARK: Lines and headers

    @Test func aGarbageStatusLine() async throws {
        #expect(try await Self.failure(of: "SSH-2.0-OpenSSH_9.2\r\n") == .malformedStatusLine(found: bytes("SSH-2.0-OpenSSH_9.2\r\n")))
        #expect(try await Self.failure(of: "HTTP/1.1 20 OK\r\n\r\n") == .malformedStatusLine(found: bytes("HTTP/1.1 20 OK\r\n")))
    }

    @Test func statusCodesOutside100To599() async throws {
        #expect(try await Self.failure(of: "HTTP/1.0 600 Nope\r\n\r\n") == .invalidStatus(600))
        #expect(try await Self.failure(of: "HTTP/1.0 099 Nope\r\n\r\n") == .invalidStatus(99))
    }

    @Test func lineFeedAloneEndsNoLine() async throws {
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\nContent-Length: 2\n\nhi") == .bareLineFeed)
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: 2\n\r\nhi") == .bareLineFeed)
        // Refused when the lone LF arrives, not after waiting for a CRLF that never comes.
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nA: b\nC: d\n\n", then: .stayOpen) == .bareLineFeed)
    }

    @Test func aHeaderWithoutAColon() async throws {
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nno colon\r\n\r\n") == .malformedHeaderLine(found: bytes("no colon\r\n")))
    }

    @Test func controlBytesInHeaders() async throws {
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nX-A: one\0two\r\n\r\n") == .controlCharacterInHeader(name: "X-A"))
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nX-A: bell\u{7}\r\n\r\n") == .controlCharacterInHeader(name: "X-A"))
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nX\u{1}A: z\r\n\r\n") == .invalidHeaderName(bytes("X\u{1}A")))
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nBad Name: z\r\n\r\n") == .invalidHeaderName(bytes("Bad Name")))
        // An obsolete folded line is refused, not joined.
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nX-A: one\r\n two: 2\r\n\r\n") == .invalidHeaderName(bytes(" two")))
    }

    @Test func headersOverTheByteLimit() async throws {
        var configuration = Self.configuration()
        configuration.maxHeaderBytes = 1024
        let lines = String(repeating: "X-Filler: " + String(repeating: "f", count: 90) + "\r\n", count: 20)
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\n" + lines + "\r\n", then: .stayOpen, configuration: configuration) == .headersTooLarge(limit: 1024))
        // A server that never ends its head is stopped at the limit too, not at the idle timeout.
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nX: " + String(repeating: "y", count: 5000), then: .stayOpen, configuration: configuration) == .headersTooLarge(limit: 1024))
    }

    @Test func tooManyHeaderLines() async throws {
        var configuration = Self.configuration()
        configuration.maxHeaderCount = 10
        let lines = (0..<11).map { "X-\($0): v\r\n" }.joined()
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\n" + lines + "\r\n", configuration: configuration) == .tooManyHeaders(limit: 10))
    }

    @Test func unsupportedCodings() async throws {
        #expect(try await Self.failure(of: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n") == .unsupportedTransferEncoding("gzip"))
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx") == .unsupportedContentEncoding("br"))
    }

    // MARK: The body

    @Test func aBodyShorterThanDeclared() async throws {
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nhello") == .bodyTruncated(expected: 10, received: 5))
    }

    @Test func aResetMidBody() async throws {
        let kind = try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "z", count: 1000), then: .reset)
        guard case .connectionReset = kind else {
            Issue.record("expected connectionReset, got \(String(describing: kind))")
            return
        }
    }

    @Test func aServerThatClosesWithoutAnswering() async throws {
        #expect(try await Self.failure(of: "") == .connectionClosedBeforeResponse)
        #expect(try await Self.failure(of: "HTTP/1.0 200 OK\r\nServer: x\r\n") == .connectionClosedBeforeResponse)
    }

    // MARK: Chunked bodies

    @Test func chunkedBodiesAreDecodedWithTheirTrailers() async throws {
        let server = try ScriptedHTTPServer(always: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nChecksum: 42\r\n\r\n")
        defer { server.stop() }
        let response = try await HTTPClient(configuration: Self.configuration()).get(server.url)
        #expect(response.text == "hello, world")
        #expect(response.trailers["checksum"] == "42")
    }

    @Test func brokenChunkFraming() async throws {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(try await Self.failure(of: head + "zz\r\nhello\r\n0\r\n\r\n") == .malformedChunk(found: bytes("zz\r\n")))
        let kind = try await Self.failure(of: head + "5\r\nhelloXX0\r\n\r\n")
        #expect(kind == .malformedChunk(found: bytes("XX0\r\n")), "\(String(describing: kind))")
        #expect(try await Self.failure(of: head + "5\r\nhello\r\n") == .bodyTruncated(expected: nil, received: 5))
        #expect(try await Self.failure(of: head + "10000000000000000\r\n") == .malformedChunk(found: bytes("10000000000000000\r\n")))
    }

    @Test func chunksOverTheLimit() async throws {
        var configuration = Self.configuration()
        configuration.maxBodyBytes = 100
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        // Refused at the size line, before the chunk's data is read.
        #expect(try await Self.failure(of: head + "65\r\n", then: .stayOpen, configuration: configuration) == .bodyTooLarge(limit: 100))
        #expect(try await Self.failure(of: head + "ffffffffffffffff\r\n", then: .stayOpen, configuration: configuration) == .bodyTooLarge(limit: 100))
        configuration.maxHeaderCount = 3
        let trailers = (0..<4).map { "T\($0): v\r\n" }.joined()
        #expect(try await Self.failure(of: head + "1\r\nx\r\n0\r\n" + trailers + "\r\n", configuration: configuration) == .trailersTooLarge(limit: 3))
    }

    // MARK: Timeouts

    @Test func aServerThatGoesQuietHitsTheIdleTimeout() async throws {
        var configuration = Self.configuration()
        configuration.idleTimeout = .milliseconds(300)
        let started = ContinuousClock.now
        let kind = try await Self.failure(of: "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nhel", then: .stayOpen, configuration: configuration)
        #expect(kind == .idleTimeout(.milliseconds(300)))
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aTricklingServerHitsTheTotalTimeout() async throws {
        // One byte every 50 ms never trips the idle timeout; the request's total timeout stops it.
        let server = try ScriptedHTTPServer { _ in ([], .stayOpen) }
        defer { server.stop() }
        let trickler = try TCPListener(host: "127.0.0.1", port: 0, loop: .shared)
        defer { trickler.close() }
        ProtocolClientTests.serveEach(trickler) { stream in
            _ = try? await stream.readUntil(Array("\r\n\r\n".utf8), maxBytes: 65_536)
            try? await stream.write("HTTP/1.0 200 OK\r\n\r\n")
            while (try? await stream.write("x")) != nil { try? await Task.sleep(for: .milliseconds(50)) }
            stream.close()
        }
        var configuration = Self.configuration()
        configuration.idleTimeout = .seconds(2)
        configuration.totalTimeout = .milliseconds(500)
        let started = ContinuousClock.now
        await expectNoDescriptorLeak {
            do {
                _ = try await HTTPClient(configuration: configuration).get("http://127.0.0.1:\(trickler.port)/")
                Issue.record("the trickle ended")
            } catch let error as HTTPError {
                #expect(error.kind == .deadlineExceeded(.milliseconds(500)))
            } catch {
                Issue.record("not an HTTPError: \(error)")
            }
        }
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    /// The leak check itself: a socket the body leaves open is reported; one that was open before
    /// and closes during the body neither counts nor hides the one left open.
    @Test func theLeakCheckReportsASocketLeftOpenAndNotOneClosedMeanwhile() async {
        let earlier = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let left = Locked<Int32>(-1)
        await withKnownIssue {
            await expectNoDescriptorLeak {
                close(earlier)
                // Usually gets `earlier`'s number back: a different socket under the same number.
                left.withLock { $0 = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0) }
            }
        } matching: { issue in
            let fd = left.withLock { $0 }
            return issue.comments.contains { $0.rawValue.hasPrefix("a descriptor leaked: [\"\(fd)→socket:") && !$0.rawValue.contains(",") }
        }
        close(left.withLock { $0 })
        _ = await expectNoDescriptorLeak { close(socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)) }
    }

    @Test func aConnectThatCannotCompleteHitsTheConnectTimeout() async throws {
        // A listening socket with a backlog of 0 that never accepts: once its queue is full, the
        // kernel drops further SYNs and a connect waits.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        let address = SocketAddress(ipAddress: "127.0.0.1", port: 0)!
        _ = address.withSockAddr { bind(fd, $0, $1) }
        listen(fd, 0)
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: bound.sin_port))
        var fillers: [IOStream] = []
        defer { fillers.forEach { $0.close() } }
        for _ in 0..<4 {
            let filler = IOStream(loop: .shared)
            filler.connect(host: "127.0.0.1", port: port, timeout: .seconds(30)) { _ in }
            fillers.append(filler)
        }
        try await Task.sleep(for: .milliseconds(100))
        var configuration = Self.configuration()
        configuration.connectTimeout = .milliseconds(300)
        do {
            _ = try await HTTPClient(configuration: configuration).get("http://127.0.0.1:\(port)/")
            Issue.record("connected to a full backlog")
        } catch let error as HTTPError {
            #expect(error.kind == .connectTimeout(.milliseconds(300)))
        }
    }

    @Test func aRefusedConnection() async throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: .shared)
        let port = listener.port
        listener.close()
        try await Task.sleep(for: .milliseconds(50))
        do {
            _ = try await HTTPClient(configuration: Self.configuration()).get("http://127.0.0.1:\(port)/")
            Issue.record("connected to a closed port")
        } catch let error as HTTPError {
            guard case .cannotConnect = error.kind else {
                Issue.record("expected cannotConnect, got \(error)")
                return
            }
        }
    }
}
