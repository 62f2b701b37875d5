import Testing

@testable import Wirestream

@Suite struct CancellationTests {
    @Test(arguments: Transport.allCases)
    func cancellingAPendingReadWithdrawsItAndConsumesNothing(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let read = spawn(on: loop) { try await pair.reader.readUntil(bytes("\n")) }
            try await pair.writer.write(bytes("par"))
            #expect(try await eventually { pair.reader.isReading })
            read.cancel()
            await #expect(throws: CancellationError.self) { try await read.value }
            #expect(!pair.reader.isReading)
            #expect(!pair.reader.isClosed)
            // The three bytes that arrived before the cancel are still there for the next read.
            try await pair.writer.write(bytes("tial\n"))
            #expect(text(try await pair.reader.readUntil(bytes("\n"))) == "partial\n")
        }
    }

    @Test func aTaskCancelledBeforeItsReadStartsFailsWithoutStartingIt() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            let read = Task {  // off the loop: the read hops to the loop after the cancel is seen
                withUnsafeCurrentTask { $0?.cancel() }
                return try await pair.reader.readBytes(4)
            }
            await #expect(throws: CancellationError.self) { try await read.value }
            try await pause(5)
            #expect(!pair.reader.isReading)
            try await pair.writer.write(bytes("abcd"))
            #expect(text(try await pair.reader.readBytes(4)) == "abcd")
        }
    }

    @Test(arguments: Transport.allCases)
    func cancellingAPendingWriteStillSendsItsBytes(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let size = 8 * 1024 * 1024  // more than the kernel buffers: the write stays pending
            let write = spawn(on: loop) { try await pair.writer.write([UInt8](repeating: 9, count: size)) }
            #expect(try await eventually { pair.writer.isWriting })
            write.cancel()
            await #expect(throws: CancellationError.self) { try await write.value }
            #expect(!pair.writer.isClosed)
            let received = try await pair.reader.readBytes(size)
            #expect(received.count == size && received.allSatisfy { $0 == 9 })
        }
    }

    @Test func asyncReadsFromOffTheLoopWork() async throws {
        let loop = try IOLoop()
        loop.startThread()
        defer { loop.close() }
        // The test task runs on the global executor; every call hops to the loop and back.
        let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
        try await writer.write(bytes("one\ntwo\n"))
        #expect(text(try await reader.readUntil(bytes("\n"))) == "one\n")
        #expect(text(try await reader.readUntil(bytes("\n"))) == "two\n")
        let pending = Task { try await reader.readBytes(3) }
        try await pause(5)
        writer.queueWrite(bytes("xyz"))
        #expect(text(try await pending.value) == "xyz")
        writer.close()
        reader.close()
    }
}

@Suite struct OffLoopClosureLifetimeTests {
    /// Borrowing and streaming closures are lent to the loop with `withoutActuallyEscaping`; the
    /// runtime traps if the loop still holds one when the awaiting task resumes on another thread.
    @Test func borrowedClosuresAreReleasedBeforeAnOffLoopTaskResumes() async throws {
        let loop = try IOLoop()
        loop.startThread()
        defer { loop.close() }
        let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
        let pattern = try Pattern("[0-9]+;")
        for i in 0..<300 {
            writer.queueWrite(bytes("line \(i)\n12;abcd"))
            let length = try await reader.readUntil(bytes("\n")) { $0.count }
            #expect(length == "line \(i)\n".utf8.count)
            let number = try await reader.readUntilRegex(pattern) { $0.bytes.count }
            #expect(number == 3)
            var streamed = 0
            try await reader.streamBytes(4) { streamed += $0.count }
            #expect(streamed == 4)
        }
        writer.close()
        reader.close()
    }
}
