import Glibc
import Testing

@testable import Wirestream

@Suite struct GracefulCloseTests {
    static func payload(_ size: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 7 &+ i >> 11) }
        return bytes
    }

    @Test(arguments: Transport.allCases)
    func queuedBytesAllArriveBeforeAGracefulClose(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let body = Self.payload(4 * 1024 * 1024)  // far more than the socket buffers
            let received = spawn(on: loop) { try await pair.reader.readUntilClose() }
            pair.writer.queueWrite(bytes("head:"))
            pair.writer.queueWrite(body)
            pair.writer.queueWrite(bytes(":tail"))
            try await pair.writer.closeGracefully()
            #expect(pair.writer.isClosed && pair.writer.error == nil)
            #expect(try await received.value == bytes("head:") + body + bytes(":tail"))
            #expect(pair.reader.error == nil)  // TLS: the peer saw close_notify, not a truncation
        }
    }

    @Test(arguments: Transport.allCases)
    func anAbortiveCloseDiscardsQueuedBytes(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            pair.writer.queueWrite(bytes("never sent"))  // leaves at the end of the loop iteration…
            pair.writer.close()  // …but close() comes first and drops it
            #expect(try await pair.reader.readUntilClose() == [])
            #expect(pair.reader.error == nil)  // an orderly EOF (TLS: close_notify), just no data
        }
    }

    @Test func anAbortiveCloseFailsAWriteThatIsStillQueued() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            let write = spawn(on: loop) { try await pair.writer.write(Self.payload(32 * 1024 * 1024)) }
            #expect(try await eventually { pair.writer.isWriting })
            pair.writer.close()
            await expectStreamClosed { try await write.value }
            let received = try await pair.reader.readUntilClose()
            #expect(received.count < 32 * 1024 * 1024)  // what was still queued was discarded
            #expect(received == Array(Self.payload(32 * 1024 * 1024).prefix(received.count)))
        }
    }

    @Test func writesAfterAGracefulCloseBeganFail() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            let received = spawn(on: loop) { try await pair.reader.readUntilClose() }
            pair.writer.queueWrite(bytes("last"))
            let closing = CallbackBox<Void>()
            pair.writer.closeGracefully { closing.complete($0) }
            await expectStreamClosed { try await pair.writer.write(bytes("too late")) }
            pair.writer.queueWrite(bytes("ignored"))  // dropped, as on a closed stream
            try await closing.value()
            #expect(text(try await received.value) == "last")
        }
    }

    @Test func aGracefulCloseTimesOutWhenThePeerDoesNotRead() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            pair.writer.queueWrite(Self.payload(32 * 1024 * 1024))  // the peer reads none of it
            let start = ContinuousClock.now
            await #expect(throws: TimeoutError(.close, timeout: .milliseconds(300))) {
                try await pair.writer.closeGracefully(timeout: .milliseconds(300))
            }
            let elapsed = secondsSince(start)
            #expect(elapsed >= 0.29 && elapsed < 0.6, "fired after \(elapsed) s")
            #expect(pair.writer.isClosed)
            #expect(pair.writer.error as? TimeoutError == TimeoutError(.close, timeout: .milliseconds(300)))
            pair.reader.close()
        }
    }

    @Test func aPeerThatNeverClosesOnlyDelaysTheCloseUntilTheTimeout() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            pair.writer.queueWrite(bytes("bye"))
            let start = ContinuousClock.now
            try await pair.writer.closeGracefully(timeout: .milliseconds(200))  // succeeds: all bytes left
            #expect(secondsSince(start) >= 0.19)
            #expect(pair.writer.isClosed && pair.writer.error == nil)
            // The peer got the bytes and then the FIN.
            #expect(text(try await pair.reader.readUntilClose()) == "bye")
        }
    }

    @Test func whatThePeerSendsDuringTheLingerIsDiscardedWithoutAReset() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            pair.writer.queueWrite(bytes("request"))
            let closing = spawn(on: loop) { try await pair.writer.closeGracefully() }
            #expect(text(try await pair.reader.readBytes(7)) == "request")
            try await pair.reader.write(Self.payload(100_000))  // the writer reads it to nowhere
            pair.reader.close()
            try await closing.value
            #expect(pair.writer.error == nil)  // its EOF came in order: no reset
        }
    }

    @Test func aPendingReadKeepsReadingDuringTheLinger() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tls, loop: loop)
            // The client sends its last request, half-closes, and still reads the reply to it.
            let reply = spawn(on: loop) { try await pair.writer.readUntilClose() }
            pair.writer.queueWrite(bytes("question"))
            let closing = spawn(on: loop) { try await pair.writer.closeGracefully() }
            #expect(text(try await pair.reader.readBytes(8)) == "question")
            try await pair.reader.write(bytes("answer"))
            try await pair.reader.closeGracefully()
            try await closing.value
            #expect(text(try await reply.value) == "answer")
        }
    }

    @Test func aGracefulCloseWhileConnectingSendsTheQueuedBytesOnceConnected() async throws {
        try await onLoop { loop in
            let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: loop)
            let accepted = spawn(on: loop) { try await listener.accept() }
            let client = IOStream(loop: loop)
            client.connect(host: "127.0.0.1", port: listener.port) { _ in }
            client.queueWrite(bytes("early"))
            let closing = spawn(on: loop) { try await client.closeGracefully() }
            let server = try await accepted.value
            #expect(text(try await server.readUntilClose()) == "early")
            try await closing.value
            listener.close()
        }
    }

    @Test func aGracefulCloseOfAClosedStreamFails() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            pair.writer.close()
            await expectStreamClosed { try await pair.writer.closeGracefully() }
            pair.reader.close()
        }
    }
}
