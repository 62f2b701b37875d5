import Glibc
import Logging
import Testing

@testable import Wirestream

/// A pipe stream that counts its `read` calls.
final class ReadCountingStream: BaseIOStream, @unchecked Sendable {
    // @unchecked Sendable: loop-confined like every stream.
    private var fd: Int32
    private(set) var reads = 0
    private(set) var wouldBlock = 0

    init(fd: Int32, loop: IOLoop) throws {
        try FileDescriptorIO.setNonBlocking(fd)
        self.fd = fd
        super.init(loop: loop, logger: Logger(label: "counting") { _ in SwiftLogNoOpLogHandler() })
    }

    override func fileno() -> Int32 { fd }
    override func closeFD() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    override func readFromFD(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        reads += 1
        let n = try FileDescriptorIO.read(fd, into: buffer)
        if n == nil { wouldBlock += 1 }
        return n
    }
}

/// After a read that drained the fd (it returned less than it asked for), the next read waits
/// for the loop's readiness report instead of calling `read` for an EAGAIN first: a
/// request/reply cycle costs one `read`, not two. Nothing is missed by it: bytes that arrive
/// while no read is pending, or in pieces, are all delivered.
@Suite struct DrainedReadTests {
    @Test func aReadAfterADrainingReadWaitsForReadinessWithoutAnEAGAIN() async throws {
        let loop = try IOLoop()
        loop.startThread(name: "drained")
        defer { loop.close() }
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let writer = fds[1]
        defer { close(writer) }
        let stream = try ReadCountingStream(fd: fds[0], loop: loop)
        defer { stream.close() }
        let cycles = 200
        let (lines, reads, wouldBlock) = try await Task(executorPreference: loop) { () -> ([String], Int, Int) in
            var lines: [String] = []
            for i in 0..<cycles {
                // The reply comes after the read is pending, as a server's does.
                loop.addCallback { _ = Array("\(i)\n".utf8).withUnsafeBytes { write(writer, $0.baseAddress, $0.count) } }
                lines.append(text(try await stream.readUntil(bytes("\n"))))
            }
            return (lines, stream.reads, stream.wouldBlock)
        }.value
        #expect(lines == (0..<cycles).map { "\($0)\n" })
        // The first read found the pipe empty (nothing known yet); every later cycle read once.
        #expect(wouldBlock == 1)
        #expect(reads == cycles + 1)
    }

    @Test func bytesThatArriveInPiecesOrWhileNoReadIsPendingAreAllDelivered() async throws {
        let loop = try IOLoop()
        loop.startThread(name: "drained-pieces")
        defer { loop.close() }
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let writer = fds[1]
        let stream = try ReadCountingStream(fd: fds[0], loop: loop)
        defer { stream.close() }
        @Sendable func send(_ text: String) { _ = Array(text.utf8).withUnsafeBytes { write(writer, $0.baseAddress, $0.count) } }
        let frames = try await Task(executorPreference: loop) { () -> [String] in
            var frames: [String] = []
            send("ab")
            frames.append(text(try await stream.readBytes(1)))  // drains the pipe: "b" stays buffered
            loop.addCallback { send("c\nde") }
            frames.append(text(try await stream.readUntil(bytes("\n"))))  // "b" + the piece that comes later
            try await pause(20)  // nothing pending: "f" arrives and waits in the pipe or the buffer
            send("f")
            try await pause(20)
            frames.append(text(try await stream.readBytes(3)))
            loop.addCallback { close(writer) }
            frames.append(text(try await stream.readUntilClose()))
            return frames
        }.value
        #expect(frames == ["a", "bc\n", "def", ""])
    }
}
