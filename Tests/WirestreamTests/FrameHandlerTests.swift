import Glibc
import Testing

@testable import Wirestream

/// `readFrames(_:to:)`: a continuous read that hands every frame to one handler object.
@Suite struct FrameHandlerTests {
    /// Keeps every frame; stops after `stopAfter` frames if set; records how the read ended.
    final class Collector: FrameHandler, @unchecked Sendable {
        // @unchecked Sendable: called by the stream on the test's loop thread only.
        var frames: [ReadFrame] = []
        var endings: [(any Error)?] = []
        let stopAfter: Int?
        var onFrame: ((ReadFrame) -> Void)?

        init(stopAfter: Int? = nil) { self.stopAfter = stopAfter }

        func handleFrame(_ frame: ReadFrame) -> Bool {
            frames.append(frame)
            onFrame?(frame)
            return frames.count != stopAfter
        }

        func framesEnded(_ error: (any Error)?) {
            endings.append(error)
        }

        /// How the read ended, waiting for it at most 5 s (a read that never ends fails the test
        /// rather than hanging it).
        func end(sourceLocation: SourceLocation = #_sourceLocation) async throws -> (any Error)? {
            let ended = try await eventually(within: 5) { !endings.isEmpty }
            #expect(ended, "the continuous read never ended", sourceLocation: sourceLocation)
            return endings.first ?? nil
        }
    }

    @Test(arguments: Transport.allCases)
    func delimitedFramesAllReachTheHandlerThenTheEnd(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop, readChunkSize: 300)
            let lines = ReadFrameTests.numberedLines(3_000)
            let sent = ReadFrameTests.send(lines, on: pair.writer, loop: loop, close: true)
            let handler = Collector()
            pair.reader.readFrames(.delimiter(bytes("\n"), maxBytes: 200), to: handler)
            let ending = try await handler.end()
            try await sent.value
            #expect(handler.frames.count == lines.count)
            #expect(zip(handler.frames, lines).allSatisfy { Array($0) == $1 })
            #expect(ending is StreamClosedError && (ending as? StreamClosedError)?.realError == nil)
            #expect(handler.endings.count == 1)
        }
    }

    @Test(arguments: [1, 2, 4, 8])
    func lengthPrefixedFramesArriveWithoutTheirPrefix(_ lengthBytes: Int) async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop, readChunkSize: 100)
            let payloads = (0..<500).map { [UInt8](repeating: UInt8($0 % 256), count: $0 % 200) }
            let writer = pair.writer
            let sent = spawn(on: loop) {
                for payload in payloads {
                    let prefix = (0..<lengthBytes).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
                    writer.queueWrite(prefix + payload)
                }
                try await writer.flush()
                writer.close()
            }
            let handler = Collector()
            pair.reader.readFrames(.lengthPrefixed(lengthBytes: lengthBytes, maxLength: 255), to: handler)
            let ending = try await handler.end()
            try await sent.value
            #expect(handler.frames.map { Array($0) } == payloads)
            #expect(ending is StreamClosedError)
        }
    }

    @Test(arguments: Transport.allCases)
    func aHandlerThatStopsLeavesTheRestToOrdinaryReads(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let reader = pair.reader
            try await pair.writer.write(bytes("a\nb\nc\nd\n"))
            let handler = Collector(stopAfter: 2)
            var refused: (any Error)?
            handler.onFrame = { _ in
                // While the continuous read runs it is the stream's one read.
                reader.readBytes(1) { if case .failure(let error) = $0 { refused = error } }
            }
            reader.readFrames(.delimiter(bytes("\n")), to: handler)
            let ending = try await handler.end()
            #expect(ending == nil)
            #expect(handler.endings.count == 1)
            #expect(handler.frames.map { text(Array($0)) } == ["a\n", "b\n"])
            #expect(refused is ReadInProgressError)
            #expect(text(try await reader.readUntil(bytes("\n"))) == "c\n")
            #expect(text(Array(try await reader.readFrame(count: 2))) == "d\n")
        }
    }

    @Test func aLengthOverTheLimitClosesTheStreamAsSoonAsThePrefixArrives() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            try await pair.writer.write([0, 0, 0, 3] + bytes("abc") + [0x7F, 0xFF, 0xFF, 0xFF])  // then no payload
            let handler = Collector()
            pair.reader.readFrames(.lengthPrefixed(maxLength: 1024), to: handler)
            let ending = try await handler.end()
            #expect(handler.frames.map { text(Array($0)) } == ["abc"])
            let expected = UnsatisfiableReadError(maxBytes: 1028, searchingFor: "a frame whose 4-byte length prefix says 2147483647 bytes")
            #expect((ending as? StreamClosedError)?.realError as? UnsatisfiableReadError == expected)
            #expect(pair.reader.isClosed)
            #expect(handler.endings.count == 1)
        }
    }

    @Test(arguments: Transport.allCases)
    func framesBufferedWhenTheStreamClosedAreAllDeliveredBeforeTheEnd(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write(bytes("a\nb\nc\nd\n"))
            pair.writer.close()
            #expect(text(try await pair.reader.readUntil(bytes("\n"))) == "a\n")
            #expect(try await eventually { pair.reader.isClosed })  // the EOF arrives while nothing is pending
            let handler = Collector()
            pair.reader.readFrames(.delimiter(bytes("\n")), to: handler)
            let ending = try await handler.end()
            #expect(handler.frames.map { text(Array($0)) } == ["b\n", "c\n", "d\n"])
            #expect((ending as? StreamClosedError)?.realError == nil)
            #expect(handler.endings.count == 1)
        }
    }

    @Test func noLengthLimitMeansAnyLengthThatFitsAnInt() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            // Under maxLength .max, an 8-byte prefix of 2^44 is a frame the read waits for (no
            // overflow computing its end), and one of 2^63 - 1 could not end within an Int.
            try await pair.writer.write([0, 0, 0, 0, 0, 0, 0, 2] + bytes("ok") + [0, 0, 0, 0x10, 0, 0, 0, 0])
            let handler = Collector()
            pair.reader.readFrames(.lengthPrefixed(lengthBytes: 8, maxLength: .max), to: handler)
            #expect(try await eventually { handler.frames.count == 1 })
            #expect(handler.frames.map { text(Array($0)) } == ["ok"])
            #expect(handler.endings.isEmpty && !pair.reader.isClosed)
            pair.reader.close()
            #expect(try await handler.end() is StreamClosedError)

            let second = try await makePair(.tcp, loop: loop)
            try await second.writer.write([0x7F] + [UInt8](repeating: 0xFF, count: 7))
            let refused = Collector()
            second.reader.readFrames(.lengthPrefixed(lengthBytes: 8, maxLength: .max), to: refused)
            let ending = try await refused.end()
            #expect((ending as? StreamClosedError)?.realError is UnsatisfiableReadError)
        }
    }

    @Test func aServerThatGoesSilentEndsTheReadAtItsIdleTimeoutOrDeadline() async throws {
        try await onLoop { loop in
            let idle = try await makePair(.tcp, loop: loop)
            idle.reader.setIdleTimeout(.milliseconds(200))
            try await idle.writer.write(bytes("one\ntwo\nthr"))  // then nothing, the connection held open
            let handler = Collector()
            let start = ContinuousClock.now
            idle.reader.readFrames(.delimiter(bytes("\n")), to: handler)
            let ending = try await handler.end()
            #expect(secondsSince(start) < 1)
            #expect(handler.frames.map { text(Array($0)) } == ["one\n", "two\n"])
            #expect((ending as? StreamClosedError)?.realError as? TimeoutError == TimeoutError(.idle, timeout: .milliseconds(200)))

            // A deadline withdraws the read and leaves the stream open, as for any read.
            let timed = try await makePair(.tcp, loop: loop)
            timed.reader.setDeadline(.after(.milliseconds(150)))
            let withdrawn = Collector()
            timed.reader.readFrames(.lengthPrefixed(maxLength: 64), to: withdrawn)
            #expect(try await withdrawn.end() is TimeoutError)
            #expect(!timed.reader.isClosed && withdrawn.endings.count == 1)
        }
    }

    @Test func aHandlerThatClosesTheStreamHearsTheEndOnce() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            try await pair.writer.write(bytes("x\ny\nz\n"))
            let handler = Collector()
            let reader = pair.reader
            handler.onFrame = { _ in reader.close() }
            reader.readFrames(.delimiter(bytes("\n")), to: handler)
            let ending = try await handler.end()
            #expect(ending is StreamClosedError)
            #expect(handler.frames.count == 1)
            try await pause(10)
            #expect(handler.endings.count == 1)
        }
    }

    @Test func aFloodOfBufferedFramesLetsTheLoopRunBetweenThousands() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop, readChunkSize: 1 << 20)
            let frames = 20_000
            try await pair.writer.write(Array(repeating: bytes("0123456789\n"), count: frames).flatMap { $0 })
            pair.writer.close()
            try await pause(50)  // all of it in the reader's socket buffer
            let handler = Collector()
            var deliveredWhenTheLoopRan: Int?
            loop.callSoon { deliveredWhenTheLoopRan = handler.frames.count }
            pair.reader.readFrames(.fixed(count: 11), to: handler)
            _ = try await handler.end()
            #expect(handler.frames.count == frames)
            // The loop's queued callback ran after at most one batch of 1,024 frames, not after all.
            #expect((deliveredWhenTheLoopRan ?? frames) <= BaseIOStream.readsBetweenYields)
        }
    }

    @Test func invalidFramingsAreTypedErrorsAndTheStreamStaysOpen() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            for framing in [Framing.fixed(count: -1), .lengthPrefixed(maxLength: -5), .delimiter([])] {
                let handler = Collector()
                pair.reader.readFrames(framing, to: handler)
                #expect(try await handler.end() is InvalidReadError)
            }
            #expect(!pair.reader.isClosed)
        }
    }
}
