import Testing

@testable import Wirestream

@Suite struct PipeIOStreamTests {
    @Test func readsAcrossWritesThenReadsTheRestAfterClose() async throws {
        try await onLoop { loop in
            let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
            try await writer.write(bytes("hel"))
            try await pause(5)
            try await writer.write(bytes("lo world"))
            #expect(text(try await reader.readUntil(bytes(" "))) == "hello ")
            #expect(text(try await reader.readBytes(3)) == "wor")
            writer.close()
            #expect(text(try await reader.readUntilClose()) == "ld")
        }
    }

    /// A reader taking a large frame in pieces (partial reads) while the writer sends it in
    /// slices and then closes: every byte arrives. (A hang-up reported between two pieces, with no
    /// read pending, closed the stream at once and dropped what was still in the pipe.)
    /// The reader runs off the loop, so the loop goes back to epoll between two pieces.
    @Test func piecesReadAfterTheWriterHungUpAllArrive() async throws {
        let (reader, writer) = try PipeIOStream.makePipe(loop: .shared, maxBufferSize: 1 << 20, readChunkSize: 4096)
        defer { reader.close() }
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
        let sent = Task { [payload] in
            var offset = 0
            while offset < payload.count {
                let end = min(payload.count, offset + Int.random(in: 1...20_000))
                try await writer.write(payload[offset..<end])
                offset = end
            }
            writer.close()
        }
        var received = try await reader.readBytes(9)
        while received.count < payload.count {
            received += try await reader.readBytes(payload.count - received.count, partial: true)
        }
        try await sent.value
        #expect(received == payload)
        #expect(try await reader.readUntilClose() == [])
    }

    @Test func oneMegabyteThroughAPipeArrivesIntact() async throws {
        try await onLoop { loop in
            let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
            var generator = SystemRandomNumberGenerator()
            let payload = (0..<1_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let sent = spawn(on: loop) { [payload] in
                try await writer.write(payload)
                writer.close()
            }
            let received = try await reader.readUntilClose()
            try await sent.value
            #expect(received == payload)
        }
    }

    @Test func writingToAPipeWhoseReaderClosedFailsWithStreamClosed() async throws {
        try await onLoop { loop in
            let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
            reader.close()
            let realError = await expectStreamClosed { try await writer.write(bytes("nobody listens")) }
            #expect((realError as? SystemError)?.errno == 32)  // EPIPE, not a SIGPIPE kill
        }
    }
}
