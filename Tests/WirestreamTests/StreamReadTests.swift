import Glibc
import Testing

@testable import Wirestream

/// The read behaviours of BaseIOStream, pinned for every transport (TCP and pipe).
@Suite struct StreamReadTests {
    @Test(arguments: Transport.allCases)
    func bufferedDataStaysReadableAfterPeerCloses(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop, readChunkSize: 256)
            try await pair.writer.write([UInt8](repeating: 7, count: 512))
            pair.writer.close()
            // The kernel holds 512 bytes and the EOF; two reads of 256 must drain it before the close shows.
            #expect(try await pair.reader.readBytes(256).count == 256)
            #expect(try await pair.reader.readBytes(256) == [UInt8](repeating: 7, count: 256))
            let realError = await expectStreamClosed { try await pair.reader.readBytes(1) }
            #expect(realError == nil)
            #expect(pair.reader.isClosed)
        }
    }

    @Test(arguments: Transport.allCases)
    func readUntilCloseAfterPeerClosedReturnsTheRest(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write(bytes("head\nthe rest"))
            pair.writer.close()
            #expect(text(try await pair.reader.readUntil(bytes("\n"))) == "head\n")
            try await pause(20)  // the EOF reaches the reader while nothing is pending
            #expect(text(try await pair.reader.readUntilClose()) == "the rest")
            // After the close, readUntilClose returns what is left: nothing.
            #expect(try await pair.reader.readUntilClose() == [])
        }
    }

    @Test(arguments: Transport.allCases)
    func streamingReadUntilCloseDeliversBufferedBytesFirst(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write(bytes("first\nbuffered"))
            #expect(text(try await pair.reader.readUntil(bytes("\n"))) == "first\n")
            // "buffered" now sits in the reader's buffer (one read pulled it in with the line).
            #expect(pair.reader.readBuffer.count == 8)
            let chunks = EventLog()
            let streamed = spawn(on: loop) { try await pair.reader.streamUntilClose { chunks.add(text(Array($0))) } }
            #expect(try await eventually { chunks.entries.count == 1 })  // the buffered bytes, at once
            try await pair.writer.write(bytes(" later"))
            try await pause(10)
            pair.writer.close()
            try await streamed.value
            #expect(chunks.entries.first == "buffered")
            #expect(chunks.entries.joined() == "buffered later")
            #expect(chunks.entries.count >= 2)
        }
    }

    @Test(arguments: Transport.allCases)
    func streamingReadBytesHandsOverChunksAndLeavesTheRestBuffered(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write([UInt8](repeating: 1, count: 30))
            let chunkSizes = EventLog()
            let streamed = spawn(on: loop) {
                try await pair.reader.streamBytes(100) { chunk in chunkSizes.add(String(chunk.count)) }
            }
            #expect(try await eventually { chunkSizes.entries.count == 1 })
            try await pair.writer.write([UInt8](repeating: 2, count: 50))
            #expect(try await eventually { chunkSizes.entries.count == 2 })
            try await pair.writer.write([UInt8](repeating: 3, count: 40))  // 20 past the 100
            try await streamed.value
            #expect(chunkSizes.entries == ["30", "50", "20"])  // min(remaining, buffered) each time
            #expect(try await pair.reader.readBytes(20) == [UInt8](repeating: 3, count: 20))
        }
    }

    @Test(arguments: Transport.allCases)
    func partialReadBytesReturnsBetweenOneAndNBytes(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write(bytes("abc"))
            let got = try await pair.reader.readBytes(10, partial: true)
            #expect(text(got) == "abc")
            try await pair.writer.write(bytes("defghijklmnop"))
            let capped = try await pair.reader.readBytes(5, partial: true)
            #expect(capped.count >= 1 && capped.count <= 5)
            #expect(text(capped) == String("defghijklmnop".prefix(capped.count)))
        }
    }

    @Test(arguments: Transport.allCases)
    func readBytesZeroReturnsEmptyAtOnceAndConsumesNothing(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            #expect(try await pair.reader.readBytes(0) == [])  // nothing buffered, nothing sent: still completes
            try await pair.writer.write(bytes("xy"))
            #expect(text(try await pair.reader.readBytes(1)) == "x")
            #expect(try await pair.reader.readBytes(0) == [])
            #expect(text(try await pair.reader.readBytes(1)) == "y")
        }
    }

    @Test(arguments: Transport.allCases)
    func readUntilWithMaxBytesSucceedsOnAnExactFit(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write(bytes("abcd\r\nefgh\r\n"))
            #expect(text(try await pair.reader.readUntil(bytes("\r\n"), maxBytes: 6)) == "abcd\r\n")
            #expect(text(try await pair.reader.readUntil(bytes("\r\n"), maxBytes: 6)) == "efgh\r\n")
        }
    }

    @Test(arguments: Transport.allCases)
    func readUntilFailsAtMaxBytesWhenTheDataArrivesLater(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let closeCallbackRan = CallbackBox<Void>()
            pair.reader.setCloseCallback { closeCallbackRan.complete(.success(())) }
            let read = spawn(on: loop) { try await pair.reader.readUntil(bytes("\r\n"), maxBytes: 5) }
            try await pause(10)
            try await pair.writer.write(bytes("abcdefgh\r\n"))
            let realError = await expectStreamClosed { try await read.value }
            #expect(realError is UnsatisfiableReadError)
            #expect(pair.reader.error is UnsatisfiableReadError)
            #expect(pair.reader.isClosed)
            try await closeCallbackRan.value()
        }
    }

    @Test(arguments: Transport.allCases)
    func readUntilFailsAtMaxBytesWhenDataIsAlreadyBuffered(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let closeCallbackRan = CallbackBox<Void>()
            pair.reader.setCloseCallback { closeCallbackRan.complete(.success(())) }
            try await pair.writer.write(bytes("xabcdefgh\r\n"))
            #expect(text(try await pair.reader.readBytes(1)) == "x")
            #expect(pair.reader.readBuffer.count == 10)  // the rest is buffered: the next read is inline
            let realError = await expectStreamClosed { try await pair.reader.readUntil(bytes("\r\n"), maxBytes: 5) }
            #expect(realError as? UnsatisfiableReadError == UnsatisfiableReadError(maxBytes: 5, searchingFor: "delimiter \"\\r\\n\""))
            #expect(pair.reader.isClosed)
            try await closeCallbackRan.value()
        }
    }

    @Test(arguments: Transport.allCases)
    func delimiterPastMaxBytesInTheSamePacketStillFails(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let read = spawn(on: loop) { try await pair.reader.readUntil(bytes("\n"), maxBytes: 4) }
            try await pause(5)
            try await pair.writer.write(bytes("abcd\n"))  // ends at 5 > 4
            let realError = await expectStreamClosed { try await read.value }
            #expect(realError is UnsatisfiableReadError)
        }
    }

    @Test(arguments: Transport.allCases)
    func pendingReadUntilFailsWithStreamClosedWhenThePeerCloses(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let read = spawn(on: loop) { try await pair.reader.readUntil(bytes("\n")) }
            try await pair.writer.write(bytes("no newline"))
            try await pause(10)
            pair.writer.close()
            let realError = await expectStreamClosed { try await read.value }
            #expect(realError == nil)  // an orderly EOF, not an unsatisfiable read
        }
    }

    @Test(arguments: Transport.allCases)
    func closeCallbackRunsAfterPendingOperationsFailedAndNeverWhileOpen(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let events = EventLog()
            let done = CallbackBox<Void>()
            pair.reader.setCloseCallback {
                events.add("close callback")
                done.complete(.success(()))
            }
            pair.reader.readUntil(bytes("\n")) { result in
                if case .failure(let error) = result, error is StreamClosedError { events.add("read failed") }
            }
            try await pause(20)
            #expect(events.entries.isEmpty)  // open: nothing has run
            #expect(pair.reader.isReading)
            pair.writer.close()
            try await done.value()
            #expect(events.entries == ["read failed", "close callback"])
        }
    }

    @Test(arguments: Transport.allCases)
    func secondReadWhileOneIsPendingIsRefused(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let first = spawn(on: loop) { try await pair.reader.readUntil(bytes("\n")) }
            #expect(try await eventually { pair.reader.isReading })  // the first read is the pending one
            await #expect(throws: ReadInProgressError.self) { try await pair.reader.readBytes(1) }
            try await pair.writer.write(bytes("line\n"))
            #expect(text(try await first.value) == "line\n")
        }
    }

    /// A borrowing closure has the frame in place, not yet consumed: a read it starts fails with
    /// ReadInProgressError (it would consume the bytes under the closure), whether the frame was
    /// buffered or waited for, and for the async and the callback forms.
    @Test(arguments: Transport.allCases)
    func aReadStartedInsideABorrowingClosureIsRefused(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let reader = pair.reader
            var refusals: [Bool] = []
            let nested = { (result: Result<[UInt8], any Error>) in
                if case .failure(let error) = result { refusals.append(error is ReadInProgressError) }
            }
            try await pair.writer.write(bytes("one\ntwo\n"))
            let buffered = try await reader.readUntil(bytes("\n")) { frame in
                reader.readUntil(bytes("\n"), callback: nested)
                return text(Array(frame))
            }
            let viaCallback = try await awaitCallback { callback in
                reader.readUntil(bytes("\n"), borrowing: { frame in
                    reader.readBytes(1, callback: nested)
                    return text(Array(frame))
                }, callback: callback)
            }
            // Waited for: the bytes come 10 ms after the read starts.
            let writer = pair.writer
            let later = spawn(on: loop) {
                try await pause(10)
                try await writer.write(bytes("three!"))
                try await pause(10)
                try await writer.write(bytes("four!!"))
            }
            let waited = try await reader.readBytes(6) { frame in
                reader.readBytes(1, callback: nested)
                return text(Array(frame))
            }
            let waitedViaCallback = try await awaitCallback { callback in
                reader.readBytes(6, borrowing: { frame in
                    reader.readUntil(bytes("!"), callback: nested)
                    return text(Array(frame))
                }, callback: callback)
            }
            try await later.value
            #expect([buffered, viaCallback, waited, waitedViaCallback] == ["one\n", "two\n", "three!", "four!!"])
            #expect(refusals == [true, true, true, true])
        }
    }

    @Test(arguments: Transport.allCases)
    func longLineInSmallPiecesIsScannedInLinearTime(_ transport: Transport) async throws {
        try await onLoop { loop in
            // A 4 KiB read size makes the 4 MiB line arrive in at least 1024 pieces.
            let pair = try await makePair(transport, loop: loop, readChunkSize: 4096)
            let size = 4 * 1024 * 1024
            var line = [UInt8](repeating: UInt8(ascii: "a"), count: size - 2)
            line += bytes("\r\n")
            let sent = spawn(on: loop) { [line] in try await pair.writer.write(line) }
            let got = try await pair.reader.readUntil(bytes("\r\n"))
            try await sent.value
            #expect(got.count == size)
            // Tornado-style rescanning would examine ~size²/8 KiB bytes; the resumed search
            // examines each byte about once.
            #expect(pair.reader.bytesScanned <= 2 * size)
            #expect(pair.reader.bytesScanned >= size - 2)
        }
    }

    @Test(arguments: Transport.allCases)
    func readIntoFillsTheBufferOrReturnsPartialAndLeavesTheRest(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
            defer { storage.deallocate() }
            try await pair.writer.write(bytes("hello world"))
            let full = try await pair.reader.readInto(UnsafeMutableRawBufferPointer(rebasing: storage[0..<5]))
            #expect(full == 5)
            #expect(text(Array(storage[0..<5])) == "hello")
            let partial = try await pair.reader.readInto(UnsafeMutableRawBufferPointer(rebasing: storage[0..<4]), partial: true)
            #expect(partial == 4)
            #expect(text(Array(storage[0..<4])) == " wor")
            let rest = try await pair.reader.readInto(storage, partial: true)
            #expect(rest == 2)
            #expect(text(Array(storage[0..<2])) == "ld")
            // Callback form, with a leftover for the next read.
            try await pair.writer.write(bytes("12345678"))
            let n: Int = try await awaitCallback { done in
                pair.reader.readInto(UnsafeMutableRawBufferPointer(rebasing: storage[0..<6]), callback: done)
            }
            #expect(n == 6 && text(Array(storage[0..<6])) == "123456")
            #expect(text(try await pair.reader.readBytes(2)) == "78")
        }
    }

    @Test(arguments: Transport.allCases)
    func readingIsTrueExactlyWhileAReadIsPending(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            #expect(!pair.reader.isReading)
            let read = spawn(on: loop) { try await pair.reader.readBytes(3) }
            #expect(try await eventually { pair.reader.isReading })
            try await pair.writer.write(bytes("abc"))
            _ = try await read.value
            #expect(!pair.reader.isReading)
        }
    }

    /// An idle stream keeps reading while less than a chunk is buffered — so it notices the peer
    /// closing even with bytes left unread — and stops once a chunk is (flow control).
    @Test(arguments: Transport.allCases)
    func anIdleStreamReadsOnBelowAChunkAndStopsAboveIt(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop, readChunkSize: 100)
            let payload = (0..<1000).map { UInt8($0 % 251) }
            try await pair.writer.write(Array(payload[0..<20]))
            #expect(try await pair.reader.readBytes(10) == Array(payload[0..<10]))
            try await pair.writer.write(Array(payload[20...]))
            // Pulled in while idle, up to a chunk and at most one chunk more; then left in the fd.
            #expect(try await eventually { pair.reader.readBuffer.count >= 100 })
            try await pause(50)
            #expect(pair.reader.readBuffer.count < 200)
            pair.writer.close()
            #expect(try await pair.reader.readBytes(990) == Array(payload[10...]))
            // Idle with a few bytes still buffered, the stream sees the peer's EOF and closes.
            let second = try await makePair(transport, loop: loop, readChunkSize: 100)
            try await second.writer.write(bytes("hello"))
            #expect(try await second.reader.readBytes(2) == bytes("he"))
            second.writer.close()
            #expect(try await eventually { second.reader.isClosed })
            #expect(try await second.reader.readBytes(3) == bytes("llo"))
        }
    }

    @Test(arguments: Transport.allCases)
    func callbackReadsChainedFromTheBufferDoNotRecurseWithoutBound(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let lines = 5000
            var payload: [UInt8] = []
            for i in 0..<lines { payload += bytes("line \(i)\n") }
            let sent = spawn(on: loop) { [payload] in try await pair.writer.write(payload) }
            let done = CallbackBox<Int>()
            var count = 0
            // Callbacks running inside other callbacks now, and the most at once: recursion would
            // nest one per buffered line. Counted, not measured in stack bytes, so the bound holds
            // whatever a frame costs (AddressSanitizer's are several times larger).
            var nesting = 0
            var deepestNesting = 0
            func next() {
                pair.reader.readUntil(bytes("\n")) { result in
                    nesting += 1
                    deepestNesting = max(deepestNesting, nesting)
                    defer { nesting -= 1 }
                    guard case .success(let line) = result else { return done.complete(.success(count)) }
                    #expect(text(line) == "line \(count)\n")
                    count += 1
                    if count == lines { done.complete(.success(count)) } else { next() }
                }
            }
            next()
            try await sent.value
            #expect(try await done.value() == lines)
            // Thousands of lines were satisfied from the buffer inside earlier callbacks: they nest
            // a bounded number deep, then a loop (the trampoline) runs the next after they return.
            #expect(deepestNesting <= BaseIOStream.maxNestedCompletions)
        }
    }

    @Test(arguments: Transport.allCases, [false, true])
    func borrowingCallbackReadsLendTheFrameAndAThrowStillConsumesIt(_ transport: Transport, buffered: Bool) async throws {
        struct Rejected: Error {}
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let input = bytes("one\ntwo\n") + [0, 0, 0, 5] + bytes("fiveXtail;")
            // Buffered: every read is served at once from the buffer (the fast path); else the
            // first read waits for the bytes (a pending read, completed when they arrive).
            if buffered {
                // A read first, so the stream is reading when the input comes (and keeps it).
                try await pair.writer.write(bytes("!") + input)
                #expect(try await pair.reader.readBytes(1) == bytes("!"))
                #expect(try await eventually { pair.reader.readBuffer.count == input.count })
            }
            let outcomes = CallbackBox<[String]>()
            var log: [String] = []
            // readInto's buffer must outlive the read, which may complete after this scope's calls.
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 1)
            defer { scratch.deallocate() }
            let regex = try Pattern("(?<word>[a-z]+);")
            pair.reader.readUntil(bytes("\n"), borrowing: { text(Array($0)) }) { first in
                log.append("\(first)")
                pair.reader.readUntil(bytes("\n"), borrowing: { _ -> Int in throw Rejected() }) { second in
                    if case .failure(let error) = second, error is Rejected { log.append("rejected") } else { log.append("\(second)") }
                    pair.reader.readBytes(4, borrowing: { Int($0.loadUnaligned(as: UInt32.self).bigEndian) }) { length in
                        log.append("\(length)")
                        pair.reader.readInto(scratch) { count in
                            log.append("\(count) \(text(Array(scratch)))")
                            pair.reader.readBytes(1, borrowing: { _ in }) { _ in
                                pair.reader.readUntilRegex(regex, borrowing: { text(Array($0["word"]!)) }) { word in
                                    log.append("\(word)")
                                    outcomes.complete(.success(log))
                                }
                            }
                        }
                    }
                }
            }
            if !buffered { try await pair.writer.write(input) }
            #expect(try await outcomes.value() == [
                #"success("one\n")"#, "rejected", "success(5)", "success(4) five", #"success("tail")"#,
            ])
            #expect(pair.reader.readBuffer.isEmpty)
        }
    }

    @Test func aFloodCannotHoldTheLoopsTimersOffAChainOfCallbackReads() async throws {
        // The flood comes from another loop's thread, so it keeps the pipe full while this loop
        // parses: every read in the chain is satisfied at once, from the buffer or the fd.
        let floodLoop = try IOLoop()
        floodLoop.startThread(name: "flood")
        defer { floodLoop.close() }
        try await onLoop { loop in
            var fds: [Int32] = [-1, -1]
            #expect(pipe(&fds) == 0)
            let reader = try PipeIOStream(fd: fds[0], loop: loop)
            let writer = try PipeIOStream(fd: fds[1], loop: floodLoop)
            let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 63 * 1024).enumerated().flatMap { index, byte in
                index % 63 == 62 ? [byte, UInt8(ascii: "\n")] : [byte]
            }
            let flood = spawn(on: floodLoop) { while true { try await writer.write(chunk) } }
            let fired = SharedFlag()
            _ = loop.callLater(.milliseconds(20)) { fired.set() }
            let start = ContinuousClock.now
            let timerRanDuringTheChain = CallbackBox<Bool>()
            var count = 0
            func next() {
                reader.readUntil(bytes("\n")) { result in
                    guard case .success = result else { return timerRanDuringTheChain.complete(.success(false)) }
                    count += 1
                    // A little work per line, so the flood always stays ahead of the parse.
                    let busy = ContinuousClock.now + .microseconds(5)
                    while ContinuousClock.now < busy {}
                    // Ends when the timer has run — or after 3 s, which only a starved loop reaches.
                    if fired.isSet || ContinuousClock.now - start > .seconds(3) {
                        timerRanDuringTheChain.complete(.success(fired.isSet))
                    } else {
                        next()
                    }
                }
            }
            next()
            #expect(try await timerRanDuringTheChain.value(), "the timer did not run during \(count) chained reads")
            reader.close()
            _ = await flood.result  // the flood ends with the pipe's reader closed
        }
    }
}

/// An ordered record of what happened, appended to on the loop thread.
final class EventLog: @unchecked Sendable {
    // @unchecked Sendable: appended and read on the test's loop thread only.
    private(set) var entries: [String] = []
    func add(_ entry: String) { entries.append(entry) }
}

@Suite struct IdleStreamTests {
    @Test(arguments: Transport.allCases, [false, true])
    func anIdleStreamNoticesThePeerClosingAfterItsBufferDrained(_ transport: Transport, callbacks: Bool) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write(bytes("a\nb\n"))
            // The first read waits and takes "a\n"; "b\n" stays buffered; the second read is
            // satisfied from the buffer without waiting — and leaves the buffer empty.
            #expect(text(try await pair.reader.readUntil(bytes("\n"))) == "a\n")
            if callbacks {
                #expect(text(try await awaitCallback { done in pair.reader.readUntil(bytes("\n"), callback: done) }) == "b\n")
            } else {
                #expect(text(try await pair.reader.readUntil(bytes("\n"))) == "b\n")
            }
            pair.writer.close()
            // No read is pending: the stream must still see the EOF and close.
            #expect(try await eventually { pair.reader.isClosed })
        }
    }
}
