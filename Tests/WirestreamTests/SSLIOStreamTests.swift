import COpenSSL
import Foundation
import Glibc
import Testing

@testable import Wirestream

@Suite struct SSLIOStreamTests {
    let fixtures = TLSFixtures.shared

    @Test func smtpStyleStartTLSUpgradesBothSidesMidConversation() async throws {
        try await onLoop { loop in
            let (client, server) = try await tcpPair(loop: loop)
            let serverContext = try fixtures.serverContext("foo")
            let serverSide = spawn(on: loop) { () -> String in
                try await server.write(bytes("220 ready\r\n"))
                #expect(text(try await server.readUntil(bytes("\r\n"))) == "EHLO client\r\n")
                try await server.write(bytes("250 STARTTLS\r\n"))
                #expect(text(try await server.readUntil(bytes("\r\n"))) == "STARTTLS\r\n")
                try await server.write(bytes("220 go ahead\r\n"))
                let secure = try await server.startTLS(serverSide: true, context: serverContext)
                let line = text(try await secure.readUntil(bytes("\r\n")))
                try await secure.write(bytes("250 hello over TLS\r\n"))
                return line
            }
            #expect(text(try await client.readUntil(bytes("\r\n"))) == "220 ready\r\n")
            try await client.write(bytes("EHLO client\r\n"))
            #expect(text(try await client.readUntil(bytes("\r\n"))) == "250 STARTTLS\r\n")
            try await client.write(bytes("STARTTLS\r\n"))
            #expect(text(try await client.readUntil(bytes("\r\n"))) == "220 go ahead\r\n")
            let secure = try await client.startTLS(
                serverSide: false, context: try fixtures.clientContext(), serverHostname: "foo.example.com")
            #expect(client.isClosed)  // replaced by `secure`
            try await secure.write(bytes("EHLO again\r\n"))
            #expect(text(try await secure.readUntil(bytes("\r\n"))) == "250 hello over TLS\r\n")
            #expect(try await serverSide.value == "EHLO again\r\n")
            #expect(secure.tlsVersion == "TLSv1.3")
            #expect(secure.cipher != nil)
            secure.close()
        }
    }

    @Test func startTLSOnAStreamWithBufferedBytesIsRefused() async throws {
        try await onLoop { loop in
            let (client, server) = try await tcpPair(loop: loop)
            try await server.write(bytes("line\nextra"))
            _ = try await client.readUntil(bytes("\n"))
            await #expect(throws: StartTLSError.self) {
                try await client.startTLS(serverSide: false, context: try fixtures.clientContext())
            }
            #expect(!client.isClosed)
            server.close()
        }
    }

    @Test func defaultClientSettingsRejectASelfSignedCertificateOnBothSides() async throws {
        try await onLoop { loop in
            let listener = try TCPListener(loop: loop)
            let serverContext = try fixtures.serverContext("selfSigned")
            let serverSide = spawn(on: loop) { () -> String in
                let plain = try await listener.accept()
                do {
                    _ = try await plain.startTLS(serverSide: true, context: serverContext)
                    return "handshake succeeded"
                } catch let error as StreamClosedError {
                    return String(describing: error.realError)
                }
            }
            let client = SSLIOStream(context: try TLSContext(.client()), loop: loop)  // system trust store
            let realError = await expectStreamClosed {
                try await client.connect(host: "127.0.0.1", port: listener.port, serverHostname: "localhost")
            }
            let tls = try #require(realError as? TLSError)
            #expect(tls.kind == .verification)
            #expect(tls.reason == "self-signed certificate")
            #expect(client.error as? TLSError == tls)
            let serverOutcome = try await serverSide.value
            #expect(serverOutcome.contains("TLS handshake"), "server saw: \(serverOutcome)")
            listener.close()
        }
    }

    @Test(arguments: [
        ("foo.example.com", true, nil),
        ("bar.example.com", true, "hostname mismatch"),
        ("bar.example.com", false, nil),
    ] as [(String, Bool, String?)])
    func hostNameVerificationAgainstACASignedLeaf(_ name: String, _ checkHostname: Bool, _ failure: String?) async throws {
        try await onLoop { loop in
            do {
                let (client, server) = try await tlsPair(
                    loop: loop, server: try fixtures.serverContext("foo"),
                    client: try fixtures.clientContext(checkHostname: checkHostname), serverHostname: name)
                #expect(failure == nil)
                let certificate = try #require(client.peerCertificate)
                #expect(certificate.subject == "/CN=foo.example.com")
                #expect(certificate.subjectAlternativeNames == ["DNS:foo.example.com"])
                #expect(certificate.der.count > 100 && certificate.der.first == 0x30)  // a DER SEQUENCE
                client.close()
                server.close()
            } catch let error as StreamClosedError {
                let tls = try #require(error.realError as? TLSError)
                #expect(tls.reason == failure)
            }
        }
    }

    @Test(arguments: [("foo", false), ("ip", true)])
    func anIPAddressVerifiesOnlyAgainstAnIPSAN(_ leaf: String, _ succeeds: Bool) async throws {
        try await onLoop { loop in
            do {
                let (client, server) = try await tlsPair(
                    loop: loop, server: try fixtures.serverContext(leaf), client: try fixtures.clientContext(),
                    serverHostname: "127.0.0.1")
                #expect(succeeds)
                #expect(client.peerCertificate?.subjectAlternativeNames.contains("IP:127.0.0.1") == true)
                client.close()
                server.close()
            } catch let error as StreamClosedError {
                #expect(!succeeds)
                #expect((error.realError as? TLSError)?.reason == "IP address mismatch")
            }
        }
    }

    @Test func waitForHandshakeTwiceWhilePendingFailsAndAfterCompletionReturnsAtOnce() async throws {
        try await onLoop { loop in
            var fds: [Int32] = [-1, -1]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
            // Both sides wrap connected sockets; the handshake runs as soon as they exist.
            let server = try SSLIOStream(
                socket: fds[0], context: try fixtures.serverContext("foo"), serverSide: true, loop: loop)
            let client = try SSLIOStream(
                socket: fds[1], context: try fixtures.clientContext(), serverSide: false,
                serverHostname: "foo.example.com", loop: loop)
            // Same loop turn: the handshake cannot finish between these calls.
            #expect(!client.handshakeDone)
            client.queueWrite(bytes("sent after the handshake\n"))
            #expect(client.isWriting)  // queued behind the handshake
            let early = spawn(on: loop) { try await server.readUntil(bytes("\n")) }
            let first = CallbackBox<Void>()
            client.waitForHandshake { first.complete($0) }
            await #expect(throws: HandshakeAlreadyAwaitedError.self) { try await client.waitForHandshake() }
            try await first.value()
            #expect(client.handshakeDone)
            try await client.waitForHandshake()  // done: returns at once
            try await server.waitForHandshake()
            #expect(server.handshakeDone)
            #expect(text(try await early.value) == "sent after the handshake\n")
            #expect(!client.isWriting)
            client.close()
            server.close()
        }
    }

    @Test func ourClientTalksToOpenSSLsServer() async throws {
        let peer = try OpenSSLPeer.server(fixtures: fixtures, extraArguments: ["-www"])
        defer { peer.stop() }
        try await onLoop { loop in
            let client = SSLIOStream(context: try fixtures.clientContext(), loop: loop)
            try await client.connect(host: "127.0.0.1", port: peer.port, serverHostname: "foo.example.com")
            try await client.write(bytes("GET / HTTP/1.0\r\n\r\n"))
            let response = text(try await client.readUntilClose())
            #expect(response.hasPrefix("HTTP/1.0 200 ok"))
            #expect(response.contains("Ciphers supported in s_server binary"))
            #expect(client.error == nil)  // this s_server ends with close_notify: a clean EOF
        }
    }

    @Test(arguments: [false, true])
    func anEOFWithoutCloseNotifyFollowsTheTruncationPolicy(_ ignoreUnexpectedEOF: Bool) async throws {
        try await onLoop { loop in
            let (client, server) = try await tlsPair(
                loop: loop, server: try fixtures.serverContext("foo"),
                client: try fixtures.clientContext(ignoreUnexpectedEOF: ignoreUnexpectedEOF))
            try await server.write(bytes("a body cut short"))
            // A FIN with no close_notify before it: what a truncation attack looks like.
            shutdown(server.fileno(), Int32(SHUT_WR))
            let body = try await client.readUntilClose()
            #expect(text(body) == "a body cut short")  // what arrived is delivered either way
            if ignoreUnexpectedEOF {
                #expect(client.error == nil)
            } else {
                let tls = try #require(client.error as? TLSError)
                #expect(tls.kind == .truncated)
                #expect(tls.reason == "unexpected eof while reading")
            }
            server.close()
        }
    }

    @Test func openSSLsClientTalksToOurServerAndALPNIsNegotiated() async throws {
        try await onLoop { loop in
            let listener = try TCPListener(loop: loop)
            let serverContext = try fixtures.serverContext("foo", alpn: ["h2", "http/1.1"])
            let peer = try OpenSSLPeer.client(
                port: listener.port,
                arguments: ["-alpn", "http/1.1", "-CAfile", fixtures.cert("ca"), "-verify_hostname", "foo.example.com", "-servername", "foo.example.com", "-verify_return_error"],
                input: "hello from s_client\n")
            defer { peer.stop() }
            let plain = try await listener.accept()
            let server = try await plain.startTLS(serverSide: true, context: serverContext)
            #expect(server.negotiatedProtocol == "http/1.1")
            #expect(text(try await server.readUntil(bytes("\n"))) == "hello from s_client\n")
            try await server.write(bytes("hello from wirestream\n"))
            try await pause(100)
            server.close()
            let output = peer.waitForOutput()
            #expect(output.contains("ALPN protocol: http/1.1"), "\(output)")
            #expect(output.contains("hello from wirestream"))
            #expect(output.contains("Verify return code: 0 (ok)"))
            listener.close()
        }
    }

    @Test(arguments: [("client", true), ("strangerClient", false), (nil, false)] as [(String?, Bool)])
    func mutualTLSAcceptsOnlyClientsWithATrustedCertificate(_ clientCertificate: String?, _ accepted: Bool) async throws {
        try await onLoop { loop in
            let listener = try TCPListener(loop: loop)
            let serverContext = try fixtures.serverContext("foo", verifyClients: true)
            let serverSide = spawn(on: loop) { () -> String in
                let plain = try await listener.accept()
                do {
                    let server = try await plain.startTLS(serverSide: true, context: serverContext)
                    let subject = server.peerCertificate?.subject ?? "none"
                    try await server.write(bytes("welcome\n"))
                    return subject
                } catch let error as StreamClosedError {
                    return "rejected: \(String(describing: error.realError))"
                }
            }
            let client = SSLIOStream(context: try fixtures.clientContext(clientCertificate: clientCertificate), loop: loop)
            // TLS 1.3 finishes the client's handshake before the server has checked the client's
            // certificate; a rejection shows as an alert on the first read.
            let outcome: String
            do {
                try await client.connect(host: "127.0.0.1", port: listener.port, serverHostname: "foo.example.com")
                outcome = text(try await client.readUntil(bytes("\n")))
            } catch let error as StreamClosedError {
                outcome = "closed: \(String(describing: error.realError))"
            }
            let serverOutcome = try await serverSide.value
            if accepted {
                #expect(outcome == "welcome\n")
                #expect(serverOutcome == "/CN=wirestream client")
            } else {
                #expect(outcome.hasPrefix("closed"), "\(outcome)")
                #expect(serverOutcome.hasPrefix("rejected"), "\(serverOutcome)")
            }
            listener.close()
        }
    }

    @Test func sixteenMebibytesEachWayThroughSmallSocketBuffers() async throws {
        try await onLoop { loop in
            let (client, server) = try await tlsPair(
                loop: loop, server: try fixtures.serverContext("foo"), client: try fixtures.clientContext())
            for stream in [client, server] {
                var size: Int32 = 16 * 1024  // small kernel buffers: WANT_WRITE really happens
                setsockopt(stream.fileno(), SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                setsockopt(stream.fileno(), SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            let size = 16 * 1024 * 1024
            var generator = SplitMix64(seed: 42)
            let upstream = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let downstream = upstream.reversed() as [UInt8]
            let clientSends = spawn(on: loop) { [upstream] in try await client.write(upstream) }
            let serverSends = spawn(on: loop) { [downstream] in try await server.write(downstream) }
            let serverGot = spawn(on: loop) { try await server.readBytes(size) }
            let clientGot = try await client.readBytes(size)
            try await clientSends.value
            try await serverSends.value
            #expect(sha256(try await serverGot.value) == sha256(upstream))
            #expect(sha256(clientGot) == sha256(downstream))
            client.close()
            server.close()
        }
    }

    @Test func aPeerThatNeverSpeaksTLSHitsTheHandshakeTimeout() async throws {
        try await onLoop { loop in
            let listener = try TCPListener(loop: loop)
            let silent = spawn(on: loop) { try await listener.accept() }  // accepts, says nothing
            let client = SSLIOStream(context: try fixtures.clientContext(handshakeTimeout: .milliseconds(200)), loop: loop)
            let started = ContinuousClock.now
            let realError = await expectStreamClosed {
                try await client.connect(host: "127.0.0.1", port: listener.port, serverHostname: "foo.example.com")
            }
            #expect((realError as? TLSError)?.kind == .timeout)
            #expect(client.fileno() == -1)  // the socket is closed, not leaked
            #expect(ContinuousClock.now - started < .seconds(5))
            try await silent.value.close()
            listener.close()
        }
    }

    @Test func aPeerResettingDuringTheHandshakeClosesQuietly() async throws {
        try await onLoop { loop in
            let listener = try TCPListener(loop: loop)
            let resetter = spawn(on: loop) {
                let plain = try await listener.accept()
                _ = try await plain.readBytes(1)  // the ClientHello has arrived
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(plain.fileno(), SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                plain.close()  // RST
            }
            let (logger, records) = recordingLogger()
            let client = SSLIOStream(context: try fixtures.clientContext(), loop: loop, logger: logger)
            let realError = await expectStreamClosed {
                try await client.connect(host: "127.0.0.1", port: listener.port, serverHostname: "foo.example.com")
            }
            try await resetter.value
            #expect((realError as? SystemError)?.errno == ECONNRESET)
            #expect(records.all.isEmpty)  // an ordinary event: nothing logged
            listener.close()
        }
    }

    @Test func aServerConfigurationWithoutACertificateIsATypedError() {
        #expect(throws: TLSError.self) { try TLSContext(TLSConfiguration(role: .server)) }
        #expect(throws: TLSError.self) {
            try TLSContext(.server(certificateChain: .file("/nonexistent.pem"), privateKey: .file("/nonexistent.key")))
        }
        #expect(throws: TLSError.self) {  // key of another certificate
            try TLSContext(.server(certificateChain: .file(fixtures.cert("foo")), privateKey: .file(fixtures.key("ip"))))
        }
    }

    @Test func certificatesAndTrustRootsAlsoLoadFromMemory() async throws {
        try await onLoop { loop in
            let read = { (path: String) in Array(FileManager.default.contents(atPath: path)!) }
            let server = try TLSContext(.server(
                certificateChain: .bytes(read(fixtures.cert("foo"))), privateKey: .bytes(read(fixtures.key("foo")))))
            let client = try TLSContext(.client(trustRoots: .pem(read(fixtures.cert("ca")))))
            let (a, b) = try await tlsPair(loop: loop, server: server, client: client)
            try await a.write(bytes("x"))
            #expect(try await b.readBytes(1) == bytes("x"))
            a.close()
            b.close()
        }
    }
}

func sha256(_ data: [UInt8]) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    _ = data.withUnsafeBufferPointer { SHA256($0.baseAddress, $0.count, &digest) }
    return digest
}

/// `openssl s_server` / `s_client` started for a test on loopback, stopped afterwards.
final class OpenSSLPeer: @unchecked Sendable {
    // @unchecked Sendable: used by one test at a time; Process is thread-safe for these calls.
    let process: Process
    let port: Int
    private let output: Pipe

    private init(process: Process, port: Int, output: Pipe) {
        self.process = process
        self.port = port
        self.output = output
    }

    static func server(fixtures: TLSFixtures, extraArguments: [String]) throws -> OpenSSLPeer {
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", fixtures.cert("foo"), "-key", fixtures.key("foo"), "-quiet"] + extraArguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = Pipe()
        try process.run()
        // Wait until it listens.
        for _ in 0..<200 {
            let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let address = SocketAddress(ipAddress: "127.0.0.1", port: port)!
            let ok = address.withSockAddr { connect(probe, $0, $1) } == 0
            close(probe)
            if ok { break }
            usleep(10_000)
        }
        return OpenSSLPeer(process: process, port: port, output: output)
    }

    static func client(port: Int, arguments: [String], input: String) throws -> OpenSSLPeer {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-ign_eof"] + arguments
        let output = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        return OpenSSLPeer(process: process, port: port, output: output)
    }

    /// Everything the peer printed, once it has exited (or was stopped after 10 s).
    func waitForOutput() -> String {
        for _ in 0..<1000 where process.isRunning { usleep(10_000) }
        stop()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    func stop() {
        // SIGKILL: children of the test process may start with SIGTERM blocked.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    private static func freePort() throws -> Int {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        let address = SocketAddress(ipAddress: "127.0.0.1", port: 0)!
        _ = address.withSockAddr { bind(probe, $0, $1) }
        var storage = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &length) }
        }
        return Int(UInt16(bigEndian: storage.sin_port))
    }
}
