import Synchronization
import Testing
import WireClient
import Wirestream

/// Clients generated from a grammar's `client` declaration (features.wire's `Echo` and `Closing`)
/// on `ProtocolClient`, against servers scripted here.
@Suite struct ProtocolClientTests {
    /// Serves the echo protocol on every connection it accepts: greets, then answers each
    /// `ECHO text` with `+OK text` (`-ERR` for `ECHO fail`) until the client closes. `connections`
    /// counts them; a text of `drop` closes the connection without answering.
    final class EchoServer: Sendable {
        let listener: TCPListener
        let connections = Atomic<Int>(0)
        let greeting: String?

        init(greeting: String? = "+OK ready\r\n") throws {
            listener = try TCPListener(host: "127.0.0.1", port: 0, loop: .shared)
            self.greeting = greeting
            // Weak: the accept loop must not keep the server (whose deinit closes the listener) alive.
            ProtocolClientTests.serveEach(listener) { [weak self] stream in
                guard let self else { return stream.close() }
                connections.add(1, ordering: .relaxed)
                await serve(stream)
            }
        }

        var port: Int { listener.port }

        private func serve(_ stream: IOStream) async {
            do {
                if let greeting { try await stream.write(greeting) }
                while true {
                    let line = try await stream.readUntil(Array("\r\n".utf8), maxBytes: 2048)
                    let text = String(decoding: line.dropFirst("ECHO ".count).dropLast(2), as: UTF8.self)  // bytes: "\r\n" is one Character
                    if text == "drop" { break }
                    try await stream.write(text == "fail" ? "-ERR failed\r\n" : "+OK \(text)\r\n")
                }
            } catch {}
            stream.close()
        }

        deinit { listener.close() }
    }

    /// Accepts connections until the listener closes, each served by `handler` in a task of its own.
    static func serveEach(_ listener: TCPListener, _ handler: @escaping @Sendable (IOStream) async -> Void) {
        Task(executorPreference: IOLoop.shared) {
            while let stream = try? await listener.accept() {
                Task(executorPreference: IOLoop.shared) { await handler(stream) }
            }
        }
    }

    static func configuration(port: Int) -> ClientConfiguration {
        var configuration = ClientConfiguration(port: port)
        configuration.connectTimeout = .seconds(5)
        configuration.requestTimeout = .seconds(5)
        return configuration
    }

    @Test func theGreetingIsReadFirstAndConcurrentRequestsGetTheirOwnReplies() async throws {
        let server = try EchoServer()
        let echo = try await EchoClient.connect(Self.configuration(port: server.port))
        defer { echo.close() }
        #expect(echo.greeting == .ok("ready"))
        let replies = try await withThrowingTaskGroup(of: (Int, EchoReply).self) { group in
            for index in 0..<200 {
                group.addTask { (index, try await echo.send(EchoRequest(text: "n\(index)"))) }
            }
            return try await group.reduce(into: [Int: EchoReply]()) { $0[$1.0] = $1.1 }
        }
        #expect(replies.count == 200)
        for (index, reply) in replies { #expect(reply == .ok("n\(index)")) }
        #expect(server.connections.load(ordering: .relaxed) == 1)  // all pipelined on one connection
    }

    @Test func aBatchIsOneWriteWithRepliesInOrderAndServerErrorsAreReplies() async throws {
        let server = try EchoServer()
        let echo = try await EchoClient.connect(Self.configuration(port: server.port))
        defer { echo.close() }
        let replies = try await echo.send(batch: [EchoRequest(text: "a"), EchoRequest(text: "fail"), EchoRequest(text: "c")])
        #expect(replies == [.ok("a"), .error("failed"), .ok("c")])
    }

    @Test func aRequestTheGrammarCannotWriteFailsBeforeAnythingIsSent() async throws {
        let server = try EchoServer()
        let echo = try await EchoClient.connect(Self.configuration(port: server.port))
        defer { echo.close() }
        await #expect(throws: WireEncodingError.self) { try await echo.send(EchoRequest(text: "two\r\nlines")) }
        #expect(try await echo.send(EchoRequest(text: "still fine")) == .ok("still fine"))
    }

    @Test func setUpRunsOnEveryConnectionAndTheClientReconnectsAfterADrop() async throws {
        let server = try EchoServer()
        let setUps = Atomic<Int>(0)
        let echo = try await EchoClient.connect(Self.configuration(port: server.port)) { session in
            setUps.add(1, ordering: .relaxed)
            #expect(session.greeting == .ok("ready"))
            let reply = try await session.send(EchoRequest(text: "hello"))
            #expect(reply == .ok("hello"))
        }
        defer { echo.close() }
        await #expect(throws: StreamClosedError.self) { try await echo.send(EchoRequest(text: "drop")) }
        #expect(try await echo.send(EchoRequest(text: "again")) == .ok("again"))
        #expect(setUps.load(ordering: .relaxed) == 2)
        #expect(server.connections.load(ordering: .relaxed) == 2)
    }

    @Test func aServerThatNeverGreetsFailsTheConnectWithATimeout() async throws {
        let server = try EchoServer(greeting: nil)
        var configuration = Self.configuration(port: server.port)
        configuration.connectTimeout = .milliseconds(200)
        let start = ContinuousClock.now
        await #expect(throws: TimeoutError.self) { try await EchoClient.connect(configuration) }
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func aServerThatStopsAnsweringTimesOutTheRequest() async throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: .shared)
        defer { listener.close() }
        Self.serveEach(listener) { stream in
            try? await stream.write("+OK hi\r\n")  // greets, then reads and never answers
            _ = try? await stream.readUntilClose()
        }
        var configuration = Self.configuration(port: listener.port)
        configuration.requestTimeout = .milliseconds(200)
        configuration.reconnect = false
        let echo = try await EchoClient.connect(configuration)
        await #expect(throws: TimeoutError.self) { try await echo.send(EchoRequest(text: "anyone?")) }
        await #expect(throws: StreamClosedError.self) { try await echo.send(EchoRequest(text: "later")) }
        #expect(echo.isClosed)
    }

    @Test func refusedConnectionsBackOffWithAReconnectError() async throws {
        let server = try EchoServer()
        var configuration = Self.configuration(port: server.port)
        configuration.reconnectBackoff = (.seconds(30), .seconds(30))
        let echo = try await EchoClient.connect(configuration)
        defer { echo.close() }
        server.listener.close()
        await #expect(throws: StreamClosedError.self) { try await echo.send(EchoRequest(text: "drop")) }
        await #expect(throws: (any Error).self) { try await echo.send(EchoRequest(text: "refused")) }  // the attempt fails
        let error = await #expect(throws: ReconnectError.self) { try await echo.send(EchoRequest(text: "soon")) }
        #expect(error?.attempts == 1)
    }

    @Test func oneRequestPerConnectionConnectsForEachAndReadsUntilTheServerCloses() async throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: .shared)
        defer { listener.close() }
        let accepted = Atomic<Int>(0)
        Self.serveEach(listener) { stream in
            let number = accepted.add(1, ordering: .relaxed).newValue
            if let line = try? await stream.readUntil(Array("\r\n".utf8), maxBytes: 1024) {
                let text = String(decoding: line.dropFirst(5).dropLast(2), as: UTF8.self)
                try? await stream.write("reply \(number) to \(text)")
            }
            stream.close()
        }
        let client = try await ClosingClient.connect(port: listener.port)
        #expect(client.connection == nil)  // nothing is opened before a request
        #expect(try await client.send(EchoRequest(text: "one")) == ClosingReply(text: "reply 1 to one"))
        #expect(try await client.send(batch: [EchoRequest(text: "two"), EchoRequest(text: "three")])
            == [ClosingReply(text: "reply 2 to two"), ClosingReply(text: "reply 3 to three")])
        #expect(accepted.load(ordering: .relaxed) == 3)
    }
}

/// The leak check the hostile-server suites rely on sees an open connection, and its close.
@Test func theConnectionLeakCheckSeesAnOpenClientAndItsClose() async throws {
    let server = try ProtocolClientTests.EchoServer()
    let echo = try await EchoClient.connect(ProtocolClientTests.configuration(port: server.port))
    #expect(openConnections(toPort: server.port) == 1)
    echo.close()
    await expectNoConnections(toPort: server.port)
    #expect(openConnections(toPort: server.port) == 0)
}
