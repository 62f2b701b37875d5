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
