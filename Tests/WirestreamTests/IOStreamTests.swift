import Glibc
import Testing

@testable import Wirestream

@Suite struct IOStreamTests {
    /// A loopback port with nothing listening on it.
    func closedPort(_ loop: IOLoop) throws -> Int {
        let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: loop)
        let port = listener.port
        listener.close()
        return port
    }

    @Test func connectionRefusedClosesTheStreamWithTheConnectError() async throws {
        try await onLoop { loop in
            let port = try closedPort(loop)
            let stream = IOStream(loop: loop)
            let realError = await expectStreamClosed { try await stream.connect(host: "127.0.0.1", port: port) }
            #expect(realError as? SystemError == SystemError("connect", errno: ECONNREFUSED))
            #expect(stream.error as? SystemError == SystemError("connect", errno: ECONNREFUSED))
            #expect(stream.isClosed)
        }
    }

    @Test func connectToANameThatDoesNotResolveFailsWithTheResolverError() async throws {
        try await onLoop { loop in
            let stream = IOStream(loop: loop)
            let realError = await expectStreamClosed {
                try await stream.connect(host: "no-such-host.invalid", port: 80)
            }
            let resolution = try #require(realError as? ResolutionError)
            #expect(resolution.host == "no-such-host.invalid")
            #expect(stream.error is ResolutionError)
        }
    }

    @Test func connectByHostNameResolvesOffTheLoopAndTriesEachAddress() async throws {
        try await onLoop { loop in
            // "localhost" may resolve to ::1 first; the listener is IPv4 only, so a refused
            // IPv6 attempt must fall through to 127.0.0.1.
            let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: loop)
            let accepted = spawn(on: loop) { try await listener.accept() }
            let client = IOStream(loop: loop)
            try await client.connect(host: "localhost", port: listener.port)
            #expect(client.serverHostname == "localhost")
            #expect(client.remoteAddress?.host == "127.0.0.1")
            let server = try await accepted.value
            try await client.write(bytes("hi"))
            #expect(text(try await server.readBytes(2)) == "hi")
            listener.close()
        }
    }

    static var hasIPv6Loopback: Bool {
        let probe = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        defer { if probe >= 0 { close(probe) } }
        guard probe >= 0, let address = SocketAddress(ipAddress: "::1", port: 0) else { return false }
        return address.withSockAddr { bind(probe, $0, $1) } == 0
    }

    @Test(.enabled(if: IOStreamTests.hasIPv6Loopback, "this host has no IPv6 loopback"))
    func connectsOverIPv6Loopback() async throws {
        try await onLoop { loop in
            let listener = try TCPListener(host: "::1", port: 0, loop: loop)
            let accepted = spawn(on: loop) { try await listener.accept() }
            let client = IOStream(loop: loop)
            try await client.connect(host: "::1", port: listener.port)
            let server = try await accepted.value
            #expect(client.remoteAddress?.family == AF_INET6)
            try await server.write(bytes("v6\n"))
            #expect(text(try await client.readUntil(bytes("\n"))) == "v6\n")
            listener.close()
        }
    }

    @Test func writesIssuedWhileConnectingAreSentOnceConnected() async throws {
        try await onLoop { loop in
            let listener = try TCPListener(loop: loop)
            let accepted = spawn(on: loop) { try await listener.accept() }
            let client = IOStream(loop: loop)
            let events = EventLog()
            client.connect(host: "localhost", port: listener.port) { result in
                if case .success = result { events.add("connected") }
            }
            client.write(bytes("early bytes")) { result in
                if case .success = result { events.add("written") }
            }
            client.queueWrite(bytes(" and more"))
            let server = try await accepted.value
            #expect(text(try await server.readBytes(20)) == "early bytes and more")
            try await client.flush()
            #expect(events.entries == ["connected", "written"])
            listener.close()
        }
    }

    @Test func setNoDelaySetsTCPNoDelay() async throws {
        try await onLoop { loop in
            let (client, server) = try await tcpPair(loop: loop)
            func noDelay() -> Int32 {
                var value: Int32 = -1
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(client.fileno(), Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length)
                return value
            }
            #expect(noDelay() == 0)
            try client.setNoDelay(true)
            #expect(noDelay() == 1)
            try client.setNoDelay(false)
            #expect(noDelay() == 0)
            client.close()
            server.close()
        }
    }

    @Test func peerResetFailsPendingReadWithTheResetError() async throws {
        try await onLoop { loop in
            let (client, server) = try await tcpPair(loop: loop)
            let read = spawn(on: loop) { try await client.readUntil(bytes("\n")) }
            try await pause(5)
            // SO_LINGER 0 makes close send RST instead of FIN.
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(server.fileno(), SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            server.close()
            let realError = await expectStreamClosed { try await read.value }
            #expect((realError as? SystemError)?.errno == ECONNRESET)
        }
    }

    @Test func closeReleasesTheSocketAndThePeerSeesEOF() async throws {
        try await onLoop { loop in
            let (client, server) = try await tcpPair(loop: loop)
            client.close()
            #expect(client.fileno() == -1)
            // Only a really closed socket sends the FIN the peer reads as EOF.
            #expect(try await server.readUntilClose() == [])
            #expect(server.isClosed)
        }
    }
}
