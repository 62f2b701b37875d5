import Glibc
import Synchronization
import Testing

@testable import Wirestream

/// The API's promises that are easy to get wrong: bad numbers are typed errors, call shapes mean
/// what they read as, callbacks from other threads reach the loop, a late close callback still runs.
@Suite struct APIContractTests {
    @Test(arguments: Transport.allCases)
    func negativeCountsAndLimitsAreTypedErrorsThatLeaveTheStreamAlone(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let reader = pair.reader
            await #expect(throws: InvalidReadError(.negativeCount(-1))) { try await reader.readBytes(-1) }
            await #expect(throws: InvalidReadError(.negativeCount(-5))) { try await reader.readBytes(-5) { $0.count } }
            await #expect(throws: InvalidReadError(.negativeCount(-2))) { try await reader.peek(-2) { $0.count } }
            await #expect(throws: InvalidReadError(.negativeCount(-3))) { try await reader.streamBytes(-3) { _ in } }
            await #expect(throws: InvalidReadError(.negativeMaxBytes(-1))) {
                try await reader.readUntil(bytes("\n"), maxBytes: -1)
            }
            await #expect(throws: InvalidReadError(.emptyDelimiter)) { try await reader.readUntil([]) }
            await #expect(throws: InvalidReadError(.negativeMaxBytes(-7))) {
                try await reader.readUntilRegex(try Pattern("x"), maxBytes: -7)
            }
            await #expect(throws: InvalidReadError(.negativeMaxBytes(-1))) {
                try await reader.streamUntilClose(maxBytes: -1) { _ in }
            }
            await #expect(throws: InvalidReadError(.negativeCount(-1))) {
                try await awaitCallback { done in reader.readBytes(-1, callback: done) }
            }
            // The buffered fast path refuses them too (it must not trap on a negative count).
            try await pair.writer.write(bytes("ok\n"))
            #expect(try await reader.peek(1) { $0.count } == 1)  // now something is buffered
            #expect(try reader.readBytesIfBuffered(-1) { $0.count } == nil)
            // Nothing was consumed or closed by any of it.
            #expect(!reader.isClosed)
            #expect(text(try await reader.readUntil(bytes("\n"))) == "ok\n")
        }
    }

    @Test func aMemorySourceRefusesNegativeCountsTheSameWay() async throws {
        let source = MemoryByteSource(bytes("abc"))
        await #expect(throws: InvalidReadError(.negativeCount(-1))) { try await source.readBytes(-1, partial: false) { _ in } }
        #expect(throws: InvalidReadError(.negativeCount(-1))) { try source.readBytesIfBuffered(-1) { _ in } }
        #expect(text(try await source.readBytes(3, partial: false) { Array($0) }) == "abc")
    }

    @Test(arguments: Transport.allCases)
    func maxBytesZeroCanNeverBeSatisfiedAndClosesTheStreamAtOnce(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let realError = await expectStreamClosed { try await pair.reader.readUntil(bytes("\n"), maxBytes: 0) }
            #expect(realError as? UnsatisfiableReadError == UnsatisfiableReadError(maxBytes: 0, searchingFor: #"delimiter "\n""#))
            #expect(pair.reader.isClosed)
        }
    }

    @Test func aTrailingClosureOnAnAsyncReadBorrowsTheWholeFrame() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            let feeder = spawn(on: loop) {
                for byte in bytes("abc") {
                    try await pair.writer.write([byte])
                    try await pause(5)
                }
            }
            var calls: [Int] = []
            // Returns Void, arrives a byte at a time: still one call with all three bytes.
            try await pair.reader.readBytes(3) { raw in calls.append(raw.count) }
            #expect(calls == [3])
            try await feeder.value
        }
    }

    @Test func callbackFormsCalledOffTheLoopHopToIt() async throws {
        let loop = try IOLoop()
        loop.startThread()
        defer { loop.close() }
        let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
        // This task is on the global executor: every callback form below is called off the loop.
        let line = CallbackResult<[UInt8]>()
        reader.readUntil(bytes("\n")) { result in line.set(result, onLoop: loop.inLoopThread) }
        let written = CallbackResult<Void>()
        writer.write(bytes("hello\n")) { result in written.set(result, onLoop: loop.inLoopThread) }
        #expect(try await line.value() == bytes("hello\n"))
        try await written.value()
        #expect(line.ranOnLoop && written.ranOnLoop)
        let closed = CallbackResult<Void>()
        reader.setCloseCallback { closed.set(.success(()), onLoop: loop.inLoopThread) }
        reader.close()
        try await closed.value()
        #expect(closed.ranOnLoop)
        writer.close()
    }

    @Test func aCloseCallbackSetOnAClosedStreamStillRuns() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            pair.reader.close()
            let ran = CallbackBox<Void>()
            pair.reader.setCloseCallback { ran.complete(.success(())) }
            try await ran.value()
            pair.writer.close()
        }
    }

    @Test func setNoDelaySetsTheSocketOptionAndIsANoOpOnPipes() async throws {
        try await onLoop { loop in
            let tcp = try await makePair(.tcp, loop: loop)
            try tcp.writer.setNoDelay(true)
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            #expect(getsockopt(tcp.writer.fileno(), Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0)
            #expect(value != 0)
            let pipe = try await makePair(.pipe, loop: loop)
            try pipe.writer.setNoDelay(true)  // no such option: nothing happens, nothing thrown
            try await pipe.writer.write(bytes("x"))
            #expect(text(try await pipe.reader.readBytes(1)) == "x")
        }
    }
}

/// A callback's result and whether it ran on the loop thread, awaited from any task.
final class CallbackResult<T: Sendable>: Sendable {
    private let state = Locked<(result: Result<T, any Error>?, onLoop: Bool, waiter: CheckedContinuation<T, any Error>?)>(
        (nil, false, nil))

    var ranOnLoop: Bool { state.withLock { $0.onLoop } }

    func set(_ result: Result<T, any Error>, onLoop: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
            state.result = result
            state.onLoop = onLoop
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<T, any Error>? in
                if state.result == nil { state.waiter = continuation }
                return state.result
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
