import Glibc
import Testing

@testable import Wirestream

/// `readFrame`: owned frames. Up to 64 bytes a frame holds its bytes itself; larger, it shares the
/// read buffer's memory. A kept frame's bytes never change, whatever the stream reads after it; the
/// buffer reuses a block only once no frame holds it.
@Suite struct ReadFrameTests {
    /// `count` lines, each different, so a frame showing another line's bytes is caught: 8 to
    /// about 160 bytes, so small frames (held inline) and shared ones alternate.
    static func numberedLines(_ count: Int) -> [[UInt8]] {
        (0..<count).map { bytes("line \($0) " + String(repeating: "abcdefgh", count: $0 % 19) + "\n") }
    }

    /// Queues every line on `writer` from a task on `loop`, flushes, and closes the writer if asked.
    static func send(_ lines: [[UInt8]], on writer: BaseIOStream, loop: IOLoop, close: Bool) -> Task<Void, any Error> {
        spawn(on: loop) {
            for line in lines { writer.queueWrite(line) }
            try await writer.flush()
            if close { writer.close() }
        }
    }

    @Test(arguments: Transport.allCases)
    func keptFramesKeepTheirBytesWhileTheBufferRefillsManyTimes(_ transport: Transport) async throws {
        try await onLoop { loop in
            // A 256-byte chunk: the buffer fills, compacts and moves on many times under the frames.
            let pair = try await makePair(transport, loop: loop, readChunkSize: 256)
            let lines = Self.numberedLines(2_000)
            let sent = Self.send(lines, on: pair.writer, loop: loop, close: true)
            var kept: [ReadFrame] = []
            for _ in lines { kept.append(try await pair.reader.readFrame(until: bytes("\n"))) }
            try await sent.value
            #expect(kept.count == lines.count)
            for (frame, line) in zip(kept, lines) where Array(frame) != line {
                Issue.record("kept frame \(frame.debugDescription) should be \(text(line))")
                break
            }
            await expectStreamClosed { try await pair.reader.readFrame(until: bytes("\n")) }
        }
    }

    @Test(arguments: Transport.allCases)
    func framesOfOneBufferShareItsMemory(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let first = String(repeating: "1", count: 99) + "\n"
            let second = String(repeating: "2", count: 79) + "\n"
            try await pair.writer.write(bytes(first + second + "three!"))
            let one = try await pair.reader.readFrame(until: bytes("\n"))
            let two = try await pair.reader.readFrame(count: 80)
            #expect(one == ReadFrame(bytes(first)))
            #expect(two == ReadFrame(bytes(second)))
            // No copy: the second frame starts where the first ends, in the same block.
            #expect(one.owner != nil && one.owner === two.owner)
            #expect(two.base == one.base! + 100)
            // A partial read returns what is buffered.
            #expect(text(Array(try await pair.reader.readFrame(count: 100, partial: true))) == "three!")
        }
    }

    @Test func aBlockHeldByAFrameIsNeverWrittenAndIsFreedWithItsLastFrame() throws {
        let buffer = ReadBuffer()
        func receive(_ text: String) {
            let tail = buffer.reserveTail(4096)
            let data = bytes(text)
            tail.copyBytes(from: data)
            buffer.commit(data.count)
        }
        let keptLine = String(repeating: "k", count: 99) + "\n"
        receive(keptLine)
        var frame: ReadFrame? = buffer.ownedFrame(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<100]), pinLimit: 1 << 20)
        buffer.consume(100)
        weak let oldBlock = frame!.owner
        let oldBase = frame!.base!
        // Fill the rest of the block; the next reserve needs room, and the block is held.
        receive(String(repeating: "x", count: buffer.capacity - 100 - 10))
        buffer.consume(buffer.count - 3)  // three bytes stay readable
        let tail = buffer.reserveTail(4096)
        #expect(text(Array(frame!)) == keptLine)
        #expect(tail.baseAddress! != UnsafeMutableRawPointer(mutating: oldBase) + 3, "compacted into a held block")
        #expect(buffer.bytes.baseAddress! != oldBase, "the readable bytes moved to a new block")
        #expect(text(Array(buffer.bytes)) == "xxx")
        #expect(oldBlock != nil)
        frame = nil
        #expect(oldBlock == nil, "the old block is freed with its last frame")

        // With no frame held, the buffer compacts in place again.
        let heldNow = buffer.bytes.baseAddress!
        receive(String(repeating: "y", count: buffer.capacity - buffer.count - 3 - 10))
        buffer.consume(buffer.count - 2)
        _ = buffer.reserveTail(4096)
        #expect(buffer.bytes.baseAddress! == heldNow, "compacted to the front of the same block")
    }

    @Test func aFrameReleasedBeforeTheBufferNeedsRoomLetsItCompactInPlace() throws {
        let buffer = ReadBuffer()
        let line = bytes(String(repeating: "a", count: 99) + "\n")
        let tail = buffer.reserveTail(128)
        tail.copyBytes(from: line + bytes("b"))
        buffer.commit(101)
        let front = buffer.bytes.baseAddress!
        do {
            let frame = buffer.ownedFrame(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<100]), pinLimit: 1 << 20)
            buffer.consume(100)
            #expect(frame.owner != nil)
            #expect(Array(frame) == line)
        }
        _ = buffer.reserveTail(buffer.capacity - 1)  // room only by compacting
        #expect(buffer.bytes.baseAddress! == front)
        #expect(text(Array(buffer.bytes)) == "b")
    }

    @Test func aSmallFrameHoldsItsBytesItselfAndNeverPinsTheBlock() throws {
        let buffer = ReadBuffer()
        let line = bytes(String(repeating: "s", count: 63) + "\n")  // 64 bytes: the most held inline
        let tail = buffer.reserveTail(256)
        tail.copyBytes(from: line + line + bytes("!") + [UInt8](repeating: 0x2E, count: 64) + bytes("b"))
        buffer.commit(194)
        let small = buffer.ownedFrame(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<64]), pinLimit: 1 << 20)
        buffer.consume(64)
        let alsoSmall = buffer.ownedFrame(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<64]), pinLimit: 1 << 20)
        buffer.consume(64)
        let shared = buffer.ownedFrame(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<65]), pinLimit: 1 << 20)
        buffer.consume(65)
        #expect(small.owner == nil && small.base == nil, "64 bytes are held in the frame")
        #expect(shared.owner != nil, "65 bytes share the block")
        // The two small frames were loaded with different bytes after them; they are still equal.
        #expect(small == alsoSmall && Set([small, alsoSmall]).count == 1)
        #expect(Array(shared) == bytes("!") + [UInt8](repeating: 0x2E, count: 64))
        withExtendedLifetime(shared) {}

        // Once the shared frame is gone, the small ones do not stop the buffer compacting in place;
        // and what is written over their old bytes does not reach them.
        let compacted = ReadBuffer()
        compacted.reserveTail(64).copyBytes(from: line + bytes("c"))
        compacted.commit(65)
        let kept = compacted.ownedFrame(UnsafeRawBufferPointer(rebasing: compacted.bytes[0..<64]), pinLimit: 1 << 20)
        compacted.consume(64)
        let blockFront = compacted.bytes.baseAddress! - 64
        let room = compacted.reserveTail(compacted.capacity - 1)  // room only by compacting
        #expect(compacted.bytes.baseAddress! == blockFront, "compacted to the front of the same block")
        memset(room.baseAddress!, 0x5A, room.count)  // over where the kept frame's bytes were
        #expect(Array(kept) == line)
        #expect(text(Array(compacted.bytes)) == "c")
    }

    @Test func aSmallFrameAtTheVeryEndOfABlockIsReadWithinTheBlock() throws {
        // The frame is loaded as 64 bytes at once: from the last bytes of a block, the load runs
        // into the block's padding (under `scripts/sanitize address`, past the allocation without it).
        let buffer = ReadBuffer()
        let tail = buffer.reserveTail(64)
        let filler = [UInt8](repeating: 0x66, count: tail.count - 3) + bytes("ab\n")
        tail.copyBytes(from: filler)
        buffer.commit(filler.count)
        #expect(buffer.count == buffer.capacity)
        buffer.consume(filler.count - 3)
        let last = buffer.ownedFrame(buffer.bytes, pinLimit: 1 << 20)
        #expect(last.owner == nil)
        #expect(Array(last) == bytes("ab\n"))
        #expect(last[2] == 10 && last.withUnsafeBytes { Array($0) } == bytes("ab\n"))
    }

    @Test func aSmallFrameOfAGrownBlockIsCopiedSoItCannotPinTheBlock() throws {
        let buffer = ReadBuffer()
        let big = 1 << 20
        let tail = buffer.reserveTail(big + 16)
        memset(tail.baseAddress!, 0x41, big + 16)
        buffer.commit(big + 16)
        let pinLimit = 262_144
        #expect(buffer.capacity > pinLimit)
        let small = buffer.ownedFrame(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<1000]), pinLimit: pinLimit)
        #expect(small.base != nil && small.base != buffer.bytes.baseAddress, "a small frame of a grown block is a copy")
        #expect(Array(small) == [UInt8](repeating: 0x41, count: 1000))
        buffer.consume(1000)
        let large = buffer.ownedFrame(buffer.bytes, pinLimit: pinLimit)
        #expect(large.base == buffer.bytes.baseAddress, "a large frame shares")
        #expect(large.count == big + 16 - 1000)
    }

    @Test func aKeptLargeFrameOutlivesTheBufferLettingGoOfItsBlock() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            let big = [UInt8](repeating: 0x62, count: 1 << 20) + [10]  // grows the block past the idle limit
            let sent = Self.send([big, bytes("after\n")], on: pair.writer, loop: loop, close: true)
            let kept = try await pair.reader.readFrame(until: bytes("\n"))
            #expect(kept.count == big.count)
            // The emptied buffer drops its grown block (shrinkIfIdle); the frame still holds it,
            // and the reads after it use fresh memory.
            #expect(text(Array(try await pair.reader.readFrame(until: bytes("\n")))) == "after\n")
            #expect(pair.reader.readBuffer.capacity < big.count)
            #expect(Array(kept) == big)
            try await sent.value
        }
    }

    @Test(arguments: Transport.allCases)
    func callbackFramesChainFromTheBufferAndWait(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop, readChunkSize: 512)
            let frames = 3_000
            let writer = pair.writer
            let reader = pair.reader
            // Each frame: a 2-byte big-endian length and that many bytes, read as two callback reads.
            let payloads = (0..<frames).map { [UInt8](repeating: UInt8($0 % 251), count: $0 % 300) }
            let sent = spawn(on: loop) {
                for payload in payloads {
                    writer.queueWrite([UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] + payload)
                }
                try await writer.flush()
            }
            let received = CallbackBox<[ReadFrame]>()
            var kept: [ReadFrame] = []
            func next() {
                guard kept.count < frames else { return received.complete(.success(kept)) }
                reader.readFrame(count: 2) { header in
                    guard case .success(let header) = header else { return received.complete(.failure(StreamClosedError())) }
                    reader.readFrame(count: Int(header[0]) << 8 | Int(header[1])) { payload in
                        switch payload {
                        case .success(let payload):
                            kept.append(payload)
                            next()
                        case .failure(let error):
                            received.complete(.failure(error))
                        }
                    }
                }
            }
            next()
            let all = try await received.value()
            try await sent.value
            #expect(all.count == payloads.count)
            let mismatch = zip(all, payloads).enumerated().first { Array($0.element.0) != $0.element.1 }?.offset
            #expect(mismatch == nil, "frame \(mismatch ?? -1) changed after it was delivered")
            // The callback delimiter form, waiting for bytes that arrive later.
            let line = spawn(on: loop) { try await awaitCallback { reader.readFrame(until: bytes("\r\n"), callback: $0) } }
            try await pause(10)
            try await writer.write(bytes("late\r\n"))
            #expect(try await line.value == ReadFrame(bytes("late\r\n")))
        }
    }

    @Test(arguments: Transport.allCases)
    func frameReadsFailWithTheSameTypedErrorsAsTheOtherForms(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let reader = pair.reader
            await #expect(throws: InvalidReadError(.negativeCount(-1))) { try await reader.readFrame(count: -1) }
            await #expect(throws: InvalidReadError(.emptyDelimiter)) { try await reader.readFrame(until: []) }
            await #expect(throws: InvalidReadError(.negativeCount(-4))) {
                try await awaitCallback { reader.readFrame(count: -4, callback: $0) }
            }
            try await pair.writer.write(bytes("no newline here"))
            let realError = await expectStreamClosed { try await reader.readFrame(until: bytes("\n"), maxBytes: 8) }
            #expect(realError as? UnsatisfiableReadError == UnsatisfiableReadError(maxBytes: 8, searchingFor: #"delimiter "\n""#))
            // Closed: what is buffered can still be read, but not more.
            await expectStreamClosed { try await awaitCallback { reader.readFrame(count: 100, callback: $0) } }
            #expect(try await reader.readFrame(count: 15) == ReadFrame(bytes("no newline here")))
        }
    }

    @Test func aFrameCrossesToAnotherThreadWhileTheStreamReadsOn() async throws {
        let lines = Self.numberedLines(500)
        let checked = try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop, readChunkSize: 128)
            let sent = Self.send(lines, on: pair.writer, loop: loop, close: false)
            // Another thread compares each frame while the loop goes on reading into the buffer.
            let (frames, continuation) = AsyncStream.makeStream(of: ReadFrame.self)
            let checker = Task.detached {
                var index = 0
                for await frame in frames {
                    guard Array(frame) == lines[index] else { return -1 - index }
                    index += 1
                }
                return index
            }
            for _ in lines { continuation.yield(try await pair.reader.readFrame(until: bytes("\n"))) }
            continuation.finish()
            try await sent.value
            return await checker.value
        }
        #expect(checked == lines.count)
    }

    @Test func aFrameIsAValueOfBytes() {
        let frame: ReadFrame = [104, 105, 0, 0xFF]
        #expect(frame.count == 4)
        #expect(Array(frame) == [104, 105, 0, 0xFF])
        #expect(frame == ReadFrame([104, 105, 0, 0xFF]))
        #expect(frame != ReadFrame([104, 105, 0]))
        #expect(frame != ReadFrame([104, 105, 0, 0xFE]))
        #expect(Set([frame, ReadFrame(Array(frame)), ReadFrame()]).count == 2)
        #expect(frame.debugDescription == #"ReadFrame(4 bytes: "hi\x00\xff")"#)
        #expect(String(decoding: ReadFrame(bytes("héllo")), as: UTF8.self) == "héllo")
        #expect("\(ReadFrame(bytes("ok")))" == "ok")
        #expect(ReadFrame().isEmpty && ReadFrame() == ReadFrame(copying: UnsafeRawBufferPointer(start: nil, count: 0)))
        #expect(frame.withUnsafeBytes { $0.count } == 4)
        #expect(Array(frame[1..<3]) == [105, 0])
    }
}
