import Glibc
import Testing

@testable import Wirestream

/// After a read that drained the fd (it returned less than it asked for), the next read waits
/// for the loop's readiness report instead of calling `read` for an EAGAIN first: a
/// request/reply cycle costs one `read`, not two. Nothing is missed by it: bytes that arrive
/// while no read is pending, while the stream is not watching for reads, or in pieces, are all
/// delivered.
@Suite struct DrainedReadTests {
    /// Runs `body` on a running loop with a stream (counting its reads) over a fresh pipe and a
    /// function writing to the pipe.
    static func withPipeStream<T: Sendable>(
        readChunkSize: Int? = nil,
        _ body: @escaping @Sendable (IOLoop, ScriptedChunkStream, _ send: @escaping @Sendable (String) -> Void) async throws -> T
    ) async throws -> T {
        let loop = try IOLoop()
        loop.startThread(name: "drained")
        defer { loop.close() }
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let writer = fds[1]
        defer { close(writer) }
        let stream = try ScriptedChunkStream(fd: fds[0], loop: loop, readChunkSize: readChunkSize)
        defer { stream.close() }
        let send: @Sendable (String) -> Void = { text in
            _ = Array(text.utf8).withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        }
        return try await Task(executorPreference: loop) {
            stream.setDeadline(.after(.seconds(10)))  // a read the stream failed to wake fails, never hangs
            return try await body(loop, stream, send)
        }.value
    }

    @Test func aReadAfterADrainingReadWaitsForReadinessWithoutAnEAGAIN() async throws {
        let cycles = 200
        let (lines, reads, wouldBlock) = try await Self.withPipeStream { loop, stream, send in
            var lines: [String] = []
            for i in 0..<cycles {
                loop.addCallback { send("\(i)\n") }  // the reply comes after the read is pending, as a server's does
                lines.append(text(try await stream.readUntil(bytes("\n"))))
            }
            return (lines, stream.reads, stream.wouldBlock)
        }
        #expect(lines == (0..<cycles).map { "\($0)\n" })
        // The first read found the pipe empty (nothing known yet); every later cycle read once.
        #expect(wouldBlock == 1)
        #expect(reads == cycles + 1)
    }

    @Test func bytesThatArriveInPiecesOrWhileNoReadIsPendingAreAllDelivered() async throws {
        let frames = try await Self.withPipeStream { loop, stream, send in
            var frames: [String] = []
            send("ab")
            frames.append(text(try await stream.readBytes(1)))  // drains the pipe: "b" stays buffered
            loop.addCallback { send("c\nde") }
            frames.append(text(try await stream.readUntil(bytes("\n"))))  // "b" + the piece that comes later
            try await pause(20)  // nothing pending: "f" arrives and waits in the pipe or the buffer
            send("f")
            try await pause(20)
            frames.append(text(try await stream.readBytes(3)))
            return frames
        }
        #expect(frames == ["a", "bc\n", "def"])
    }

    /// The drained mark outlives a stretch in which the stream stops watching for reads (a full
    /// chunk buffered, nobody reading): bytes that arrive then are still found once a read waits.
    @Test func bytesThatArriveWhileReadInterestIsOffAreFoundByTheNextRead() async throws {
        let (frames, reads) = try await Self.withPipeStream(readChunkSize: 4) { _, stream, send in
            var frames: [String] = []
            send("xy")
            frames.append(text(try await stream.readBytes(1)))  // "xy": a short read, "y" buffered
            send("zzz")
            try await pause(20)  // read while idle: 3 of 4 (short again); 4 buffered, interest off
            send("w")
            try await pause(20)  // not read: the stream is not watching
            frames.append(text(try await stream.readBytes(5)))  // waits without a read, epoll reports "w"
            return (frames, stream.reads)
        }
        #expect(frames == ["x", "yzzzw"])
        #expect(reads == 3)
    }
}
