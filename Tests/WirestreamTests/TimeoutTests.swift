import Glibc
import Testing

@testable import Wirestream

/// A loopback listener whose accept queue is full: one more `connect` waits for ever (the kernel
/// drops its SYNs), which is how a connect timeout is provoked without leaving the machine.
final class FullBacklogListener {
    let port: Int
    private let listenFD: Int32
    private let filler: Int32

    init() throws {
        let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let any = SocketAddress(ipAddress: "127.0.0.1", port: 0)!
        guard any.withSockAddr({ bind(listening, $0, $1) }) == 0, listen(listening, 0) == 0 else {
            throw SystemError("bind/listen", errno: errno)
        }
        var storage = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listening, $0, &length) }
        }
        let boundPort = Int(UInt16(bigEndian: storage.sin_port))
        let address = SocketAddress(ipAddress: "127.0.0.1", port: boundPort)!
        let first = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)  // fills the queue of one
        guard address.withSockAddr({ Glibc.connect(first, $0, $1) }) == 0 else {
            throw SystemError("connect", errno: errno)
        }
        listenFD = listening
        filler = first
        port = boundPort
    }

    deinit {
        close(filler)
        close(listenFD)
    }
}

/// Seconds since `start`.
func secondsSince(_ start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

@Suite struct TimeoutTests {
    @Test func connectTimesOutAgainstAServerThatNeverAccepts() async throws {
        try await onLoop { loop in
            let server = try FullBacklogListener()
            let stream = IOStream(loop: loop)
            let start = ContinuousClock.now
            let realError = await expectStreamClosed {
                try await stream.connect(host: "127.0.0.1", port: server.port, timeout: .milliseconds(300))
            }
            let elapsed = secondsSince(start)
            #expect(realError as? TimeoutError == TimeoutError(.connect, timeout: .milliseconds(300)))
            #expect(stream.error as? TimeoutError == TimeoutError(.connect, timeout: .milliseconds(300)))
            #expect(stream.isClosed)
            #expect(elapsed >= 0.29 && elapsed < 0.6, "fired after \(elapsed) s")
        }
    }

    @Test func connectTimeoutCoversNameResolution() async throws {
        try await onLoop { loop in
            // "localhost" goes through getaddrinfo on another thread; the timer runs meanwhile.
            let server = try FullBacklogListener()
            let stream = IOStream(loop: loop)
            let realError = await expectStreamClosed {
                try await stream.connect(host: "localhost", port: server.port, timeout: .milliseconds(200))
            }
            // ::1 may refuse at once; 127.0.0.1 then hangs until the one timeout for the whole connect.
            #expect(realError as? TimeoutError == TimeoutError(.connect, timeout: .milliseconds(200)))
        }
    }

    @Test func aConnectThatSucceedsCancelsItsTimer() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)  // connected with the default 10 s timeout
            try await pause(50)
            try await pair.writer.write(bytes("still open\n"))
            #expect(text(try await pair.reader.readUntil(bytes("\n"))) == "still open\n")
            #expect(pair.writer.connectTimer == nil)
        }
    }

    @Test func tlsConnectTimeoutCoversTheHandshake() async throws {
        try await onLoop { loop in
            // A TCP server that accepts and never answers the ClientHello.
            let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: loop)
            let accepted = spawn(on: loop) { try await listener.accept() }
            let stream = SSLIOStream(context: try TLSFixtures.shared.clientContext(), loop: loop)
            let start = ContinuousClock.now
            let realError = await expectStreamClosed {
                try await stream.connect(host: "127.0.0.1", port: listener.port, timeout: .milliseconds(250))
            }
            #expect(realError as? TimeoutError == TimeoutError(.connect, timeout: .milliseconds(250)))
            #expect(secondsSince(start) < 0.5)
            try await accepted.value.close()
            listener.close()
        }
    }

    @Test(arguments: Transport.allCases)
    func idleTimeoutClosesAReadThatReceivesNothingAndKeepsWhatCameBefore(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            pair.reader.setIdleTimeout(.milliseconds(300))
            try await pair.writer.write(bytes("par"))
            let start = ContinuousClock.now
            let realError = await expectStreamClosed { try await pair.reader.readUntil(bytes("\n")) }
            let elapsed = secondsSince(start)
            #expect(realError as? TimeoutError == TimeoutError(.idle, timeout: .milliseconds(300)))
            #expect(pair.reader.error as? TimeoutError == TimeoutError(.idle, timeout: .milliseconds(300)))
            #expect(pair.reader.isClosed)
            #expect(elapsed >= 0.29 && elapsed < 0.6, "fired after \(elapsed) s")
            // Closed by the timeout: what had arrived stays readable, as after any close.
            #expect(text(try await pair.reader.readUntilClose()) == "par")
            pair.writer.close()
        }
    }

    @Test func idleTimeoutCountsFromTheLastByteNotFromTheStartOfTheRead() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            pair.reader.setIdleTimeout(.milliseconds(800))
            let trickle = spawn(on: loop) {
                for byte in bytes("slowly") {  // 6 bytes 200 ms apart: 1.2 s in all, never 800 ms idle
                    try await pause(200)
                    try await pair.writer.write([byte])
                }
                try await pair.writer.write(bytes("\n"))
            }
            #expect(text(try await pair.reader.readUntil(bytes("\n"))) == "slowly\n")
            try await trickle.value
            #expect(!pair.reader.isClosed)
        }
    }

    @Test func timeWithNoReadPendingIsNotIdleTime() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            pair.reader.setIdleTimeout(.milliseconds(300))
            try await pause(700)  // no read pending: not idle
            #expect(!pair.reader.isClosed)
            let read = spawn(on: loop) { try await pair.reader.readBytes(2) }
            try await pause(10)
            try await pair.writer.write(bytes("ok"))
            #expect(text(try await read.value) == "ok")
        }
    }

    @Test(arguments: Transport.allCases)
    func aDeadlineWithdrawsTheWaitingReadAndTheStreamKeepsItsBytes(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write(bytes("par"))
            let start = ContinuousClock.now
            await #expect(throws: TimeoutError(.deadline, timeout: .milliseconds(300))) {
                try await pair.reader.withDeadline(.milliseconds(300)) {
                    try await pair.reader.readUntil(bytes("\n"))
                }
            }
            let elapsed = secondsSince(start)
            #expect(elapsed >= 0.29 && elapsed < 0.6, "fired after \(elapsed) s")
            #expect(!pair.reader.isClosed && !pair.reader.isReading)
            #expect(pair.reader.deadline == nil)  // withDeadline restored the one before
            try await pair.writer.write(bytes("tial\n"))
            #expect(text(try await pair.reader.readUntil(bytes("\n"))) == "partial\n")
        }
    }

    @Test func aDeadlineBoundsAGroupOfOperations() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            let feeder = spawn(on: loop) {
                try await pair.writer.write(bytes("one\n"))
                try await pause(150)
                try await pair.writer.write(bytes("two\n"))  // 150 ms: still inside 300 ms
                try await pause(400)
                try await pair.writer.write(bytes("three\n"))  // 550 ms: too late
            }
            var lines: [String] = []
            await #expect(throws: TimeoutError.self) {
                try await pair.reader.withDeadline(.milliseconds(300)) {
                    while true { lines.append(text(try await pair.reader.readUntil(bytes("\n")))) }
                }
            }
            #expect(lines == ["one\n", "two\n"])
            #expect(text(try await pair.reader.readUntil(bytes("\n"))) == "three\n")
            try await feeder.value
        }
    }

    @Test func anInnerDeadlineCannotExtendAnOuterOne() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            let start = ContinuousClock.now
            await #expect(throws: TimeoutError(.deadline, timeout: .milliseconds(150))) {
                try await pair.reader.withDeadline(.milliseconds(150)) {
                    try await pair.reader.withDeadline(.seconds(5)) { try await pair.reader.readBytes(1) }
                }
            }
            #expect(secondsSince(start) < 0.3)
            #expect(pair.reader.deadline == nil)
        }
    }

    @Test func callbackFormsUseTheStreamDeadline() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            pair.reader.setDeadline(.after(.milliseconds(150)))
            await #expect(throws: TimeoutError.self) {
                try await awaitCallback { done in pair.reader.readUntil(bytes("\n"), callback: done) }
            }
            // Once passed, every wait fails at once until the deadline is replaced…
            let start = ContinuousClock.now
            await #expect(throws: TimeoutError.self) {
                try await awaitCallback { done in pair.reader.readBytes(1, callback: done) }
            }
            #expect(secondsSince(start) < 0.05)
            // …but a read the buffer satisfies still completes.
            try await pair.writer.write(bytes("x\n"))
            try await pause(20)
            #expect(text(try await awaitCallback { done in pair.reader.readUntil(bytes("\n"), callback: done) }) == "x\n")
            pair.reader.setDeadline(nil)
            let late = spawn(on: loop) { try await pair.reader.readUntil(bytes("\n")) }
            try await pause(200)
            try await pair.writer.write(bytes("late\n"))
            #expect(text(try await late.value) == "late\n")
        }
    }

    @Test(arguments: [Transport.tcp, .tls])
    func aDeadlineFailsAWaitingWriteButItsBytesStayQueued(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let size = 16 * 1024 * 1024  // more than the socket buffers hold while nobody reads
            var payload = [UInt8](repeating: 0, count: size)
            for i in payload.indices { payload[i] = UInt8(truncatingIfNeeded: i &* 31) }
            await #expect(throws: TimeoutError.self) {
                try await pair.writer.withDeadline(.milliseconds(200)) { try await pair.writer.write(payload) }
            }
            #expect(pair.writer.isWriting && !pair.writer.isClosed)
            #expect(try await pair.reader.readBytes(size) == payload)
        }
    }

    @Test func aDeadlineThatPassesWhileConnectingClosesTheStream() async throws {
        try await onLoop { loop in
            let server = try FullBacklogListener()
            let stream = IOStream(loop: loop)
            let realError = await expectStreamClosed {
                try await stream.withDeadline(.milliseconds(150)) {
                    try await stream.connect(host: "127.0.0.1", port: server.port, timeout: nil)
                }
            }
            #expect((realError as? TimeoutError)?.operation == .deadline)
            #expect(stream.isClosed)
        }
    }

    @Test func withDeadlineWorksFromOffTheLoop() async throws {
        let loop = try IOLoop()
        loop.startThread()
        defer { loop.close() }
        let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
        // This task runs on the global executor: every step hops to the loop.
        await #expect(throws: TimeoutError.self) {
            try await reader.withDeadline(.milliseconds(100)) { try await reader.readBytes(3) }
        }
        try await writer.write(bytes("abc"))
        #expect(text(try await reader.readBytes(3)) == "abc")
        reader.close()
        writer.close()
    }
}
