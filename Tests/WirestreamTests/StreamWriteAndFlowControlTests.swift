import Glibc
import Testing

@testable import Wirestream

@Suite struct StreamWriteAndFlowControlTests {
    @Test(arguments: Transport.allCases)
    func writeOfZeroBytesCompletes(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write([])
            try await awaitCallback { done in pair.writer.write([], callback: done) }
            #expect(!pair.writer.isWriting)
        }
    }

    @Test(arguments: Transport.allCases)
    func writeOnAClosedStreamFailsWithStreamClosedError(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            pair.writer.close()
            #expect(pair.writer.isClosed)
            await expectStreamClosed { try await pair.writer.write(bytes("x")) }
            await expectStreamClosed { try await awaitCallback { done in pair.writer.write(bytes("x"), callback: done) } }
            await expectStreamClosed { try await pair.writer.flush() }
        }
    }

    @Test(arguments: Transport.allCases)
    func tenMegabytesFlowThroughAFiveMegabyteBufferReadOneMegabyteAtATime(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop, maxBufferSize: 5_000_000)
            let megabyte = 1_000_000
            var payload = [UInt8](repeating: 0, count: 10 * megabyte)
            for i in payload.indices { payload[i] = UInt8(truncatingIfNeeded: i / megabyte + i) }
            let sent = spawn(on: loop) { [payload] in try await pair.writer.write(payload) }
            var received: [UInt8] = []
            for _ in 0..<10 { received += try await pair.reader.readBytes(megabyte) }
            try await sent.value
            #expect(received == payload)
            #expect(pair.reader.error == nil)
        }
    }

    @Test(arguments: Transport.allCases)
    func smallReadsThroughASmallBufferNeverOverflowIt(_ transport: Transport) async throws {
        try await onLoop { loop in
            // 100 KB available, a 10 KB limit, 1 KiB reads: a read stops pulling at its target.
            let pair = try await makePair(transport, loop: loop, maxBufferSize: 10 * 1024)
            let sent = spawn(on: loop) { try await pair.writer.write([UInt8](repeating: 97, count: 100 * 1024)) }
            for _ in 0..<100 {
                #expect(try await pair.reader.readBytes(1024) == [UInt8](repeating: 97, count: 1024))
                #expect(pair.reader.readBuffer.count <= 10 * 1024)
            }
            try await sent.value
            #expect(!pair.reader.isClosed)
        }
    }

    @Test(arguments: Transport.allCases)
    func exceedingMaxBufferSizeWithoutASatisfiableReadClosesWithBufferFull(_ transport: Transport) async throws {
        try await onLoop { loop in
            let (logger, records) = recordingLogger()
            let pair = try await makePair(transport, loop: loop, maxBufferSize: 10 * 1024, logger: logger)
            let read = spawn(on: loop) { try await pair.reader.readUntil(bytes("\n")) }
            pair.writer.queueWrite([UInt8](repeating: 98, count: 64 * 1024))  // no newline
            let realError = await expectStreamClosed { try await read.value }
            let full = try #require(realError as? StreamBufferFullError)
            #expect(full.buffer == .read && full.limit == 10 * 1024 && full.size > 10 * 1024)
            #expect(pair.reader.error is StreamBufferFullError)
            // The read error is logged once, at warning; the failed read itself adds nothing.
            let warnings = records.all.filter { $0.0 == .warning }
            #expect(warnings.count == 1)
            #expect(warnings.first?.1.contains("error on read") == true)
            pair.writer.close()
        }
    }

    @Test(arguments: Transport.allCases)
    func aByteCountOverMaxBufferSizeFailsAtOnceWithoutWaitingForBytes(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop, maxBufferSize: 10 * 1024)
            pair.writer.queueWrite(bytes("abc"))  // fewer bytes than asked, and nothing more comes
            let start = ContinuousClock.now
            let realError = await expectStreamClosed { try await pair.reader.readBytes(10 * 1024 + 1) }
            #expect(realError as? StreamBufferFullError == StreamBufferFullError(buffer: .read, limit: 10 * 1024, size: 10 * 1024 + 1))
            #expect(ContinuousClock.now - start < .seconds(1))
            #expect(!pair.writer.isClosed)
            pair.writer.close()
        }
    }

    @Test func unsatisfiableReadIsLoggedOnceAtInfo() async throws {
        try await onLoop { loop in
            let (logger, records) = recordingLogger()
            let pair = try await makePair(.tcp, loop: loop, logger: logger)
            try await pair.writer.write(bytes("0123456789\n"))
            await expectStreamClosed { try await pair.reader.readUntil(bytes("\n"), maxBytes: 4) }
            let entries = records.all
            #expect(entries.count == 1)
            #expect(entries.first?.0 == .info)
            #expect(entries.first?.1.contains("Unsatisfiable read") == true)
        }
    }

    @Test(arguments: [false, true])
    func aWritePastMaxWriteBufferSizeClosesTheStreamWhetherQueuedOrAwaited(_ queued: Bool) async throws {
        try await onLoop { loop in
            let listener = try TCPListener(loop: loop)
            let accepted = spawn(on: loop) { try await listener.accept() }
            let client = IOStream(loop: loop, maxWriteBufferSize: 1024)
            try await client.connect(host: "127.0.0.1", port: listener.port)
            let server = try await accepted.value
            let full = StreamBufferFullError(buffer: .write, limit: 1024, size: 2000)
            if queued {
                client.queueWrite([UInt8](repeating: 1, count: 2000))
            } else {
                let realError = await expectStreamClosed { try await client.write([UInt8](repeating: 1, count: 2000)) }
                #expect(realError as? StreamBufferFullError == full)
            }
            // Either way: nothing of it was sent, and the stream is closed with the limit error.
            #expect(client.isClosed)
            #expect(client.error as? StreamBufferFullError == full)
            #expect(try await server.readUntilClose() == [])
            listener.close()
        }
    }

    @Test(arguments: Transport.allCases)
    func writingIsTrueExactlyWhileBytesWaitForTheKernel(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            #expect(!pair.writer.isWriting)
            let size = 16 * 1024 * 1024  // far more than socket or pipe buffers hold
            pair.writer.queueWrite([UInt8](repeating: 5, count: size))
            #expect(pair.writer.isWriting)
            try await pause(20)
            #expect(pair.writer.isWriting)  // the peer is not reading: bytes still queued
            let received = try await pair.reader.readBytes(size)
            try await pair.writer.flush()
            #expect(!pair.writer.isWriting)
            #expect(received.count == size)
        }
    }

    @Test(arguments: Transport.allCases)
    func pipelinedQueuedWritesArriveInOrder(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            var expected: [UInt8] = []
            for i in 0..<2000 {
                let message = bytes("request \(i)\n") + (i % 100 == 0 ? [UInt8](repeating: 120, count: 10_000) : [])
                expected += message
                pair.writer.queueWrite(message)  // no task, no await per write
            }
            let received = spawn(on: loop) { [count = expected.count] in try await pair.reader.readBytes(count) }
            try await pair.writer.flush()
            #expect(try await received.value == expected)
        }
    }
}
