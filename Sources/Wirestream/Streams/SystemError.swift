import Glibc

/// A failed system call, with the `errno` it reported.
///
/// Streams record it as their ``BaseIOStream/error`` when the kernel closes a
/// connection under them (`ECONNREFUSED`, `ECONNRESET`, `EPIPE`, …).
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The call that failed, e.g. `"connect"`.
    public let call: String
    /// The `errno` value.
    public let errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }

    /// True for the errors a peer causes by going away; those close a stream without log noise.
    var isConnectionReset: Bool {
        errno == ECONNRESET || errno == EPIPE || errno == ECONNABORTED || errno == ETIMEDOUT
    }
}
