import CLinux
import Glibc

/// The non-blocking read and gather-write calls shared by the fd-backed streams.
enum FileDescriptorIO {
    /// `read(2)`: the byte count, 0 at EOF, `nil` if it would block.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            let code = ws_errno()
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw SystemError("read", errno: code)
        }
    }

    /// `writev(2)`: the byte count, `nil` if it would block.
    static func write(_ fd: Int32, _ vectors: UnsafeBufferPointer<iovec>) throws -> Int? {
        while true {
            let n = ws_writev(fd, vectors.baseAddress, Int32(vectors.count))
            if n >= 0 { return n }
            let code = Int32(-n)
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw SystemError("writev", errno: code)
        }
    }

    static func setNonBlocking(_ fd: Int32) throws {
        let rc = ws_set_nonblocking(fd)
        if rc < 0 { throw SystemError("fcntl", errno: -rc) }
    }
}
