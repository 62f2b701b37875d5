import CLinux
import Glibc
import Logging

/// A stream over one end of a pipe (or any non-socket fd), Tornado's `PipeIOStream`.
/// A pipe carries one direction: read from the read end, write to the write end.
///
/// ```swift
/// let (reader, writer) = try PipeIOStream.makePipe()
/// writer.queueWrite(Array("hello world".utf8))
/// let word = try await reader.readUntil(Array(" ".utf8))   // "hello "
/// ```
public final class PipeIOStream: BaseIOStream, @unchecked Sendable {
    // @unchecked Sendable: loop-confined like every stream (see BaseIOStream).
    private var fd: Int32

    /// Wraps `fd` (made non-blocking). The stream owns it and closes it on close.
    public init(
        fd: Int32, loop: IOLoop = .current, maxBufferSize: Int? = nil, readChunkSize: Int? = nil,
        maxWriteBufferSize: Int? = nil, logger: Logger? = nil
    ) throws {
        try FileDescriptorIO.setNonBlocking(fd)
        self.fd = fd
        super.init(
            loop: loop, maxBufferSize: maxBufferSize, readChunkSize: readChunkSize,
            maxWriteBufferSize: maxWriteBufferSize, logger: logger)
    }

    /// A new pipe as a pair of streams: `(reader, writer)`.
    public static func makePipe(
        loop: IOLoop = .current, maxBufferSize: Int? = nil, readChunkSize: Int? = nil
    ) throws -> (reader: PipeIOStream, writer: PipeIOStream) {
        var fds: [Int32] = [-1, -1]
        let rc = ws_pipe(&fds)
        if rc < 0 { throw SystemError("pipe2", errno: -rc) }
        return (
            try PipeIOStream(fd: fds[0], loop: loop, maxBufferSize: maxBufferSize, readChunkSize: readChunkSize),
            try PipeIOStream(fd: fds[1], loop: loop, maxBufferSize: maxBufferSize, readChunkSize: readChunkSize)
        )
    }

    public override func fileno() -> Int32 { fd }

    /// A stream dropped without being closed still gives its descriptor back.
    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    public override func closeFD() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    public override func readFromFD(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        try FileDescriptorIO.read(fd, into: buffer)
    }

    public override func writeToFD(_ vectors: UnsafeBufferPointer<iovec>) throws -> Int? {
        try FileDescriptorIO.write(fd, vectors)
    }
}
