import Foundation
import Testing
import WireHTTP
import Wirestream

/// What HTTPClient sends and how it follows, against scripted servers that record every request.
@Suite(.serialized) struct HTTPClientBehaviourTests {
    static func client(_ change: (inout HTTPClientConfiguration) -> Void = { _ in }) -> HTTPClient {
        var configuration = HTTPHostileServerTests.configuration()
        change(&configuration)
        return HTTPClient(configuration: configuration)
    }

    static func ok(_ body: String, extra: String = "") -> [UInt8] {
        Array("HTTP/1.0 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)".utf8)
    }

    @Test func theRequestHeadIsHTTP10WithTheHeadersTheClientOwns() async throws {
        let server = try ScriptedHTTPServer { _ in (Self.ok("hi"), .close) }
        defer { server.stop() }
        var headers: HTTPHeaders = ["X-Trace": "abc"]
        headers.add("Accept", "text/plain")
        let response = try await Self.client().execute(
            try HTTPRequest(method: .post, url: "http://user:p%40ss@127.0.0.1:\(server.port)/a%20b?x=1#frag", headers: headers, body: .string("payload")))
        #expect(response.text == "hi")
        let seen = try #require(server.requests.first)
        #expect(seen.requestLine == "POST /a%20b?x=1 HTTP/1.0")  // percent-encoding kept, fragment dropped
        #expect(seen.header("Host") == "127.0.0.1:\(server.port)")
        #expect(seen.header("Authorization") == "Basic dXNlcjpwQHNz")  // user:p@ss
        #expect(seen.header("Accept-Encoding") == "gzip, deflate")
        #expect(seen.header("Content-Length") == "7")
        #expect(seen.header("X-Trace") == "abc" && seen.header("Accept") == "text/plain")
        #expect(seen.body == bytes("payload"))
    }

    /// Whether this machine has an IPv6 loopback to listen on.
    static let hasIPv6Loopback = (try? TCPListener(host: "::1", port: 0, loop: .shared)).map { listener in
        listener.close()
        return true
    } ?? false

    @Test(.enabled(if: hasIPv6Loopback, "needs an IPv6 loopback")) func anIPv6LiteralURL() async throws {
        let server = try ScriptedHTTPServer(host: "::1") { _ in (Self.ok("over IPv6"), .close) }
        defer { server.stop() }
        let response = try await Self.client().get("http://[::1]:\(server.port)/six")
        #expect(response.text == "over IPv6")
        #expect(server.requests.first?.header("Host") == "[::1]:\(server.port)")
        #expect(server.requests.first?.requestLine == "GET /six HTTP/1.0")
    }

    @Test func bodiesFromFilesAndStreams() async throws {
        let server = try ScriptedHTTPServer { seen in (Self.ok("\(seen.body.count)"), .close) }
        defer { server.stop() }
        let path = NSTemporaryDirectory() + "wire-upload-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let contents = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(contents).write(to: URL(fileURLWithPath: path))
        let client = Self.client()
        let fromFile = try await client.execute(try HTTPRequest(method: .put, url: server.url + "/f", body: .file(path: path)))
        #expect(fromFile.text == "200000")
        #expect(server.requests.last?.body == contents)

        let pieces: [[UInt8]] = [bytes("one,"), bytes("two,"), bytes("three")]
        let stream = HTTPRequestBody.stream(length: 13) {
            AsyncThrowingStream { continuation in
                for piece in pieces { continuation.yield(piece) }
                continuation.finish()
            }
        }
        let fromStream = try await client.execute(try HTTPRequest(method: .post, url: server.url + "/s", body: stream))
        #expect(fromStream.text == "13" && server.requests.last?.body == bytes("one,two,three"))

        let short = HTTPRequestBody.stream(length: 20) {
            AsyncThrowingStream { continuation in
                continuation.yield(bytes("only this"))
                continuation.finish()
            }
        }
        await #expect { try await client.execute(try HTTPRequest(method: .post, url: server.url + "/s", body: short)) } throws: {
            ($0 as? HTTPError)?.kind == .requestBodyLength(declared: 20, sent: 9)
        }
        await #expect { try await client.execute(try HTTPRequest(method: .put, url: server.url, body: .file(path: "/nonexistent/x"))) } throws: {
            if case .requestBodyFile = ($0 as? HTTPError)?.kind { return true }
            return false
        }
    }

    @Test func requestHeadersThatWouldSplitTheRequestAreRefused() async throws {
        let server = try ScriptedHTTPServer { _ in (Self.ok(""), .close) }
        defer { server.stop() }
        for (name, value) in [("X-A", "one\r\nInjected: yes"), ("X-A", "bare\nfeed"), ("Bad Name", "v"), ("X-A", "nul\0")] {
            await #expect { try await Self.client().execute(try HTTPRequest(url: server.url, headers: [name: value])) } throws: {
                ($0 as? HTTPError)?.kind == .invalidRequestHeader(name: name)
            }
        }
        #expect(server.requests.isEmpty)  // nothing was sent
    }

    /// Header values: ASCII as sent, blanks around them dropped; UTF-8 decoded; bytes that are not
    /// UTF-8 read as Latin-1 (RFC 9110's obs-text, from legacy servers), never dropped or replaced.
    @Test func headerValuesAreASCIIUTF8OrLatin1() async throws {
        let head = Array("HTTP/1.0 200 OK\r\nX-Plain: \t plain value \r\nX-Utf8: caf".utf8) + [0xC3, 0xA9]
            + Array("\r\nX-Latin1: caf".utf8) + [0xE9] + Array("\r\nContent-Length: 2\r\n\r\nok".utf8)
        let server = try ScriptedHTTPServer { _ in (head, .close) }
        defer { server.stop() }
        let response = try await Self.client().get(server.url)
        #expect(response.headers["X-Plain"] == "plain value")
        #expect(response.headers["X-Utf8"] == "café")
        #expect(response.headers["X-Latin1"] == "café")
        #expect(response.text == "ok")
    }

    @Test func interimResponsesAreSkipped() async throws {
        let server = try ScriptedHTTPServer(always: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal")
        defer { server.stop() }
        let response = try await Self.client().get(server.url)
        #expect(response.status == 200 && response.text == "real")
    }

    /// The head arriving in pieces, split before a header line, inside one and inside the empty
    /// line that ends it: the header loop's buffered check finds too little and waits for more,
    /// and the response is the same as in one piece.
    @Test func aHeadInPiecesParsesAsInOne() async throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: .shared)
        defer { listener.close() }
        let pieces = ["HTTP/1.0 200 OK\r\n", "Content-Length: 4\r", "\nX-One: 1\r\n", "X-Tw", "o: 2\r\n", "\r", "\nbody"]
        ProtocolClientTests.serveEach(listener) { stream in
            try? stream.setNoDelay(true)  // Nagle would hold a piece back until the last is acknowledged and merge them
            _ = try? await stream.readUntil(Array("\r\n\r\n".utf8), maxBytes: 1 << 16)
            for piece in pieces {
                try? await stream.write(Array(piece.utf8))
                try? await Task.sleep(for: .milliseconds(20))  // each piece is read on its own
            }
            stream.close()
        }
        let response = try await Self.client().get("http://127.0.0.1:\(listener.port)/")
        #expect(response.status == 200 && response.text == "body")
        #expect(response.headers["X-One"] == "1" && response.headers["X-Two"] == "2")
    }

    // MARK: Redirects

    @Test func redirectMethodsFollowRFC9110() async throws {
        let server = try ScriptedHTTPServer { seen in
            let path = seen.requestLine.split(separator: " ")[1]
            switch path {
            case "/303": return (Array("HTTP/1.0 303 See Other\r\nLocation: /landing\r\n\r\n".utf8), .close)
            case "/302": return (Array("HTTP/1.0 302 Found\r\nLocation: landing\r\n\r\n".utf8), .close)
            case "/307": return (Array("HTTP/1.0 307 Temporary\r\nLocation: /landing?kept\r\nContent-Length: 0\r\n\r\n".utf8), .close)
            default:
                let method = seen.requestLine.split(separator: " ")[0]
                return (Self.ok("\(method) \(path) \(String(decoding: seen.body, as: UTF8.self))"), .close)
            }
        }
        defer { server.stop() }
        let client = Self.client()
        func post(_ path: String) async throws -> String {
            try await client.execute(try HTTPRequest(method: .post, url: server.url + path, headers: ["Content-Type": "text/plain"], body: .string("data"))).text
        }
        #expect(try await post("/303") == "GET /landing ")
        #expect(try await post("/302") == "GET /landing ")
        #expect(try await post("/307") == "POST /landing?kept data")
        #expect(server.requests.last?.header("Content-Type") == "text/plain")
        // A streamed body cannot be sent twice: a 307 asking for it again is an error, not a loss.
        let once = HTTPRequestBody.stream(length: 4) {
            AsyncThrowingStream { continuation in
                continuation.yield(bytes("data"))
                continuation.finish()
            }
        }
        await #expect { try await client.execute(try HTTPRequest(method: .post, url: server.url + "/307", body: once)) } throws: {
            if case .invalidRedirect = ($0 as? HTTPError)?.kind { return true }
            return false
        }
    }

    @Test func credentialsStayWithTheirOrigin() async throws {
        let other = try ScriptedHTTPServer { _ in (Self.ok("elsewhere"), .close) }
        defer { other.stop() }
        let origin = try ScriptedHTTPServer { seen in
            seen.requestLine.contains("/away")
                ? (Array("HTTP/1.0 302 Found\r\nLocation: \(other.url)/landed\r\n\r\n".utf8), .close)
                : seen.requestLine.contains("/here")
                ? (Array("HTTP/1.0 301 Moved\r\nLocation: /stay\r\n\r\n".utf8), .close)
                : (Self.ok("stayed"), .close)
        }
        defer { origin.stop() }
        let client = Self.client()
        let url = "http://ada:secret@127.0.0.1:\(origin.port)"
        #expect(try await client.execute(try HTTPRequest(url: url + "/here", headers: ["Cookie": "a=1"])).text == "stayed")
        #expect(origin.requests.last?.header("Authorization") == "Basic YWRhOnNlY3JldA==")
        #expect(origin.requests.last?.header("Cookie") == "a=1")
        let away = try await client.execute(try HTTPRequest(url: url + "/away", headers: ["Authorization": "Bearer t", "Cookie": "a=1"]))
        #expect(away.text == "elsewhere" && away.url.port == other.port)
        let seen = try #require(other.requests.last)
        #expect(seen.header("Authorization") == nil && seen.header("Cookie") == nil)
    }

    @Test func aRedirectWithoutUsableLocation() async throws {
        let server = try ScriptedHTTPServer(always: "HTTP/1.0 302 Found\r\nLocation: ftp://127.0.0.1/x\r\n\r\n")
        defer { server.stop() }
        await #expect { try await Self.client().get(server.url) } throws: {
            if case .invalidRedirect = ($0 as? HTTPError)?.kind { return true }
            return false
        }
    }

    // MARK: Content-Encoding

    /// `bytes` compressed by Python's zlib (gzip, zlib-wrapped or raw deflate).
    static func compressed(_ bytes: [UInt8], _ format: String) throws -> [UInt8] {
        let script = switch format {
        case "gzip": "import sys,gzip; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read()))"
        case "zlib": "import sys,zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))"
        default: "import sys,zlib; c=zlib.compressobj(9, zlib.DEFLATED, -15); sys.stdout.buffer.write(c.compress(sys.stdin.buffer.read())+c.flush())"
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: Data(bytes))
        try input.fileHandleForWriting.close()
        let result = try output.fileHandleForReading.readToEnd() ?? Data()
        process.waitUntilExit()
        return [UInt8](result)
    }

    static func serve(encoded body: [UInt8], coding: String, chunked: Bool = false) throws -> ScriptedHTTPServer {
        try ScriptedHTTPServer { _ in
            var response = Array("HTTP/1.1 200 OK\r\nContent-Encoding: \(coding)\r\n".utf8)
            if chunked {
                response += Array("Transfer-Encoding: chunked\r\n\r\n".utf8)
                for piece in stride(from: 0, to: body.count, by: 1000).map({ body[$0..<min($0 + 1000, body.count)] }) {
                    response += Array("\(String(piece.count, radix: 16))\r\n".utf8) + piece + Array("\r\n".utf8)
                }
                response += Array("0\r\n\r\n".utf8)
            } else {
                response += Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
            }
            return (response, .close)
        }
    }

    @Test func gzipAndBothDeflatesAreDecoded() async throws {
        let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 3000).utf8)
        for (format, coding, chunked) in [("gzip", "gzip", false), ("gzip", "gzip", true), ("zlib", "deflate", false), ("raw", "deflate", true)] {
            let server = try Self.serve(encoded: try Self.compressed(text, format), coding: coding, chunked: chunked)
            defer { server.stop() }
            let response = try await Self.client().get(server.url)
            #expect(response.body == text, "\(format) as \(coding), chunked: \(chunked)")
        }
        // Two gzip members in a row are one body, as gunzip reads them.
        let twice = try Self.compressed(bytes("first "), "gzip") + Self.compressed(bytes("second"), "gzip")
        let server = try Self.serve(encoded: twice, coding: "gzip")
        defer { server.stop() }
        #expect(try await Self.client().get(server.url).text == "first second")
    }

    @Test func piecesLentInPlace() async throws {
        // By length, until close, chunked and gzip'd: forEachPiece gives the same bytes as iterating.
        let text = Array(String(repeating: "lent, not copied. ", count: 5000).utf8)
        let plain = try ScriptedHTTPServer { _ in (Array("HTTP/1.0 200 OK\r\nContent-Length: \(text.count)\r\n\r\n".utf8) + text, .close) }
        defer { plain.stop() }
        let untilClose = try ScriptedHTTPServer { _ in (Array("HTTP/1.0 200 OK\r\n\r\n".utf8) + text, .close) }
        defer { untilClose.stop() }
        let gzipped = try Self.serve(encoded: try Self.compressed(text, "gzip"), coding: "gzip", chunked: true)
        defer { gzipped.stop() }
        for server in [plain, untilClose, gzipped] {
            let received = try await Self.client().execute(try HTTPRequest(url: server.url)) { response in
                var received: [UInt8] = []
                try await response.body.forEachPiece { received += $0 }
                return received
            }
            #expect(received == text, "\(server.url)")
        }
        // The streamed limit holds for lent pieces too.
        let limited = Self.client { $0.maxStreamedBodyBytes = 1000 }
        await #expect { try await limited.execute(try HTTPRequest(url: untilClose.url)) { try await $0.body.forEachPiece { _ in } } } throws: {
            ($0 as? HTTPError)?.kind == .bodyTooLarge(limit: 1000)
        }
    }

    @Test func badCompressedBodies() async throws {
        let valid = try Self.compressed(Array(String(repeating: "z", count: 10_000).utf8), "gzip")
        for body in [bytes("not gzip at all"), Array(valid.prefix(valid.count / 2)), valid + bytes("trailing junk")] {
            let server = try Self.serve(encoded: body, coding: "gzip")
            defer { server.stop() }
            await #expect { try await Self.client().get(server.url) } throws: {
                if case .decompressionFailed = ($0 as? HTTPError)?.kind { return true }
                return false
            }
        }
    }

    @Test func aCompressionBombStopsAtTheLimit() async throws {
        // 64 MiB of zeros is ~64 KiB compressed; the decoded limit stops it, in memory and in time.
        let bomb = try Self.compressed([UInt8](repeating: 0, count: 64 << 20), "gzip")
        #expect(bomb.count < 100_000)
        let server = try Self.serve(encoded: bomb, coding: "gzip")
        defer { server.stop() }
        await #expect { try await Self.client { $0.maxBodyBytes = 1 << 20 }.get(server.url) } throws: {
            ($0 as? HTTPError)?.kind == .bodyTooLarge(limit: 1 << 20)
        }
    }

    // MARK: Keep-alive

    @Test func keepAliveSendsHTTP11AndReusesTheConnection() async throws {
        let server = try ScriptedHTTPServer { seen in
            (Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8), .keepAlive)
        }
        defer { server.stop() }
        let client = Self.client { $0.keepAlive = .init(maxConnectionsPerHost: 1) }
        for _ in 0..<10 { #expect(try await client.get(server.url).text == "ok") }
        #expect(server.connectionCount == 1)
        #expect(server.requests.allSatisfy { $0.requestLine.hasSuffix("HTTP/1.1") })
        client.shutdown()
        await expectNoConnections(toPort: server.port)
    }

    @Test func aConnectionTheServerClosedWhileIdleIsReplacedUnseen() async throws {
        // The server answers each connection's first request and then closes it: every reuse meets
        // a closed connection, and the client sends again on a new one.
        let server = try ScriptedHTTPServer { _ in (Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8), .close) }
        defer { server.stop() }
        let client = Self.client { $0.keepAlive = .init(maxConnectionsPerHost: 2) }
        for _ in 0..<5 { #expect(try await client.get(server.url).text == "ok") }
        #expect(server.requests.count == 5)
        #expect(server.connectionCount == 5)
        client.shutdown()
    }

    @Test func aNewConnectionClosedWithoutAnAnswerIsNotRetried() async throws {
        // Only a reused connection may have been closed while idle; a new one closing is the answer.
        let server = try ScriptedHTTPServer(always: "", then: .close)
        defer { server.stop() }
        let client = Self.client { $0.keepAlive = .init(maxConnectionsPerHost: 4) }
        await #expect { try await client.get(server.url) } throws: { ($0 as? HTTPError)?.kind == .connectionClosedBeforeResponse }
        #expect(server.connectionCount == 1)
        client.shutdown()
    }

    @Test func anUploadTheServerNeverReadsHitsTheIdleTimeout() async throws {
        // The server accepts and reads nothing: once the socket buffers are full, no byte of the
        // body moves. Without a total timeout, the idle timeout must still end the request.
        let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: .shared)
        defer { listener.close() }
        ProtocolClientTests.serveEach(listener) { stream in
            try? await Task.sleep(for: .seconds(5))
            stream.close()
        }
        let client = Self.client {
            $0.totalTimeout = nil
            $0.idleTimeout = .milliseconds(300)
        }
        let started = ContinuousClock.now
        let body = HTTPRequestBody.bytes([UInt8](repeating: 0x61, count: 64 << 20))
        await #expect { try await client.execute(try HTTPRequest(method: .put, url: "http://127.0.0.1:\(listener.port)/", body: body)) } throws: {
            ($0 as? HTTPError)?.kind == .idleTimeout(.milliseconds(300))
        }
        #expect(ContinuousClock.now - started < .seconds(4))
    }

    @Test func responsesThatAllowItAreReused() async throws {
        // HTTP/1.1 by default, HTTP/1.0 when it says keep-alive (a token compared without case):
        // both requests share one connection.
        for response in [
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.0 200 OK\r\nConnection: foo, keep-alive\r\nContent-Length: 2, 2\r\n\r\nok",
        ] {
            let server = try ScriptedHTTPServer(always: response, then: .keepAlive)
            defer { server.stop() }
            let client = Self.client { $0.keepAlive = .init() }
            for _ in 0..<2 { #expect(try await client.get(server.url).body == Array("ok".utf8)) }
            #expect(server.connectionCount == 1, "\(response)")
            client.shutdown()
        }
    }

    @Test func responsesThatEndTheConnectionAreNotReused() async throws {
        // A body until close, `Connection: close`, and a 1.0 response without keep-alive: each
        // request needs a new connection, and the client closes the ones the server keeps open.
        for (response, end) in [
            ("HTTP/1.1 200 OK\r\n\r\nuntil close", ScriptedHTTPServer.End.close),
            ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", .stayOpen),
            ("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", .stayOpen),
            // `close` anywhere in the list, in any case, wins over keep-alive.
            ("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 2\r\n\r\nok", .stayOpen),
            // Both framings (a smuggling sign): the body is read as chunked, the connection not reused.
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n", .stayOpen),
        ] {
            let server = try ScriptedHTTPServer(always: response, then: end)
            defer { server.stop() }
            let client = Self.client { $0.keepAlive = .init() }
            for _ in 0..<2 { #expect(try await client.get(server.url).status == 200) }
            #expect(server.connectionCount == 2, "\(response)")
            await expectNoConnections(toPort: server.port)
            client.shutdown()
        }
    }
}

/// `HTTPURL`: parsing and resolving references.
struct HTTPURLTests {
    @Test func parts() throws {
        let url = try HTTPURL("https://user:pw@[::1]:8443/a%20b?q=1#top")
        #expect(url.scheme == .https && url.host == "::1" && url.port == 8443)
        #expect(url.target == "/a%20b?q=1" && url.user == "user" && url.password == "pw")
        #expect(url.hostHeader == "[::1]:8443")
        #expect(try HTTPURL("http://Example.COM").target == "/")
        #expect(try HTTPURL("http://h?x").target == "/?x")
        #expect(try HTTPURL("https://h/").port == 443)
        #expect(try HTTPURL("http://h:80/").hostHeader == "h")
    }

    @Test func refusals() {
        for text in ["127.0.0.1/x", "http://", "http://h:0/", "http://h:99999/", "http://h:8x/", "http://[::1/", "http://h/a b", "http://bad host/"] {
            #expect(throws: HTTPError.self, "\(text)") { try HTTPURL(text) }
        }
        #expect { try HTTPURL("ftp://h/") } throws: { ($0 as? HTTPError)?.kind == .unsupportedScheme("ftp") }
    }

    @Test func resolvingReferences() throws {
        let base = try HTTPURL("http://a:8080/b/c/d;p?q")
        #expect(try base.resolving("g").target == "/b/c/g")
        #expect(try base.resolving("./g").target == "/b/c/g")
        #expect(try base.resolving("../g").target == "/b/g")
        #expect(try base.resolving("../../../g").target == "/g")
        #expect(try base.resolving("/g?y").target == "/g?y")
        #expect(try base.resolving("?y").target == "/b/c/d;p?y")
        #expect(try base.resolving("g#s").target == "/b/c/g")
        #expect(try base.resolving("//other/x").description == "http://other/x")
        #expect(try base.resolving("https://x.test/").description == "https://x.test/")
        #expect(try base.resolving("/g").port == 8080)
    }
}
