/// An operation was attempted on a closed stream, or a pending one was cut short by the close.
///
/// ``realError`` is the error that closed the stream (the stream's ``BaseIOStream/error``),
/// or `nil` for an orderly close (peer EOF or ``BaseIOStream/close(error:)`` without an error).
public struct StreamClosedError: Error, CustomStringConvertible, @unchecked Sendable {
    // @unchecked Sendable: `realError` is an `any Error` recorded once by the loop thread
    // and never mutated; the errors Wirestream records are all Sendable values.
    public let realError: (any Error)?

    public init(realError: (any Error)? = nil) {
        self.realError = realError
    }

    public var description: String {
        if let realError { return "Stream is closed: \(realError)" }
        return "Stream is closed"
    }
}

/// A buffer would grow past its limit.
///
/// Reads: more than `maxBufferSize` bytes arrived without satisfying the pending read; the
/// stream closes with this error. Writes: `write` would queue more than `maxWriteBufferSize`
/// bytes; that write fails and the stream stays open.
public struct StreamBufferFullError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Buffer: Sendable, Equatable { case read, write }
    /// Which buffer overflowed.
    public let buffer: Buffer
    /// The configured limit in bytes.
    public let limit: Int
    /// The size the buffer would have had.
    public let size: Int

    public init(buffer: Buffer, limit: Int, size: Int) {
        self.buffer = buffer
        self.limit = limit
        self.size = size
    }

    public var description: String {
        "Reached maximum \(buffer) buffer size: \(size) bytes > limit \(limit)"
    }
}

/// A read cannot be satisfied within its `maxBytes`, e.g. no delimiter in the first `maxBytes`
/// bytes. The stream is closed with this error (it is the stream's ``BaseIOStream/error``) and the
/// pending read fails with a ``StreamClosedError`` whose `realError` is this.
public struct UnsatisfiableReadError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The `maxBytes` of the read.
    public let maxBytes: Int
    /// What the read was looking for, e.g. `delimiter "\r\n"`.
    public let searchingFor: String

    public init(maxBytes: Int, searchingFor: String) {
        self.maxBytes = maxBytes
        self.searchingFor = searchingFor
    }

    public var description: String {
        "\(searchingFor) not found within \(maxBytes) bytes"
    }
}

/// A read was started while another read on the same stream is pending. Streams serve one
/// read at a time (as in Tornado); the new read fails with this and the pending one goes on.
public struct ReadInProgressError: Error, Equatable, CustomStringConvertible, Sendable {
    public init() {}
    public var description: String { "Already reading: a stream serves one read at a time" }
}

/// Something took longer than it was allowed to: names what timed out and the limit it had.
///
/// | operation | set by | the stream afterwards |
/// |---|---|---|
/// | `.connect` | `connect(…, timeout:)` (default 10 s; name resolution and the TLS handshake count) | closed with this as its ``BaseIOStream/error`` |
/// | `.idle` | ``BaseIOStream/idleTimeout``: no byte received for that long while a read waits | closed with this as its ``BaseIOStream/error`` |
/// | `.deadline` | ``BaseIOStream/deadline`` / ``BaseIOStream/withDeadline(_:_:)`` | **open**: the waiting read is withdrawn (nothing consumed), waiting writes keep their bytes queued |
/// | `.close` | ``BaseIOStream/closeGracefully(timeout:callback:)``: queued bytes not flushed in time | closed with this as its ``BaseIOStream/error`` |
///
/// Operations cut short by a closing timeout fail with ``StreamClosedError`` whose `realError` is
/// this; a deadline fails the waiting operations with this error itself.
public struct TimeoutError: Error, Equatable, Hashable, CustomStringConvertible, Sendable {
    public enum Operation: String, Sendable, Hashable {
        /// Connecting (resolution, TCP connect and, on TLS streams, the handshake).
        case connect
        /// No bytes arrived for ``BaseIOStream/idleTimeout`` while a read was waiting.
        case idle
        /// A deadline passed while an operation was waiting.
        case deadline
        /// A graceful close could not flush the queued bytes in time.
        case close
    }

    /// What timed out.
    public let operation: Operation
    /// The limit that was exceeded.
    public let timeout: Duration

    public init(_ operation: Operation, timeout: Duration) {
        self.operation = operation
        self.timeout = timeout
    }

    public var description: String {
        switch operation {
        case .connect: "connect timed out after \(timeout)"
        case .idle: "idle timeout: no bytes received for \(timeout) while reading"
        case .deadline: "deadline of \(timeout) passed"
        case .close: "graceful close could not flush queued bytes within \(timeout)"
        }
    }
}

/// A read was given a negative byte count, a negative `maxBytes` or an empty delimiter — numbers
/// that often come straight from the network. The read fails with this at once; the stream is
/// untouched (nothing read, nothing consumed, still open).
public struct InvalidReadError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Problem: Equatable, Sendable {
        case negativeCount(Int)
        case negativeMaxBytes(Int)
        case emptyDelimiter
    }

    public let problem: Problem

    public init(_ problem: Problem) {
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .negativeCount(let count): "invalid read: byte count \(count) is negative"
        case .negativeMaxBytes(let limit): "invalid read: maxBytes \(limit) is negative"
        case .emptyDelimiter: "invalid read: the delimiter is empty"
        }
    }
}

extension ReadTarget {
    /// Whether the read's arguments are valid: ``invalidArgument`` is `nil`. The buffered fast
    /// paths check this on every read; building the optional error there cost 3% of a 64 B line.
    @inlinable @inline(__always)
    var hasValidArguments: Bool {
        switch self {
        case .bytes(let count, _), .streamingBytes(let count), .peek(let count): count >= 0
        case .delimiter(let delimiter, let maxBytes): !delimiter.isEmpty && (maxBytes ?? 0) >= 0
        case .search(let searcher): (searcher.maxBytes ?? 0) >= 0
        case .untilClose: true
        }
    }

    /// What is wrong with the read's arguments, if anything (checked before a read starts).
    @inlinable
    var invalidArgument: InvalidReadError? {
        switch self {
        case .bytes(let count, _), .streamingBytes(let count), .peek(let count):
            return count < 0 ? InvalidReadError(.negativeCount(count)) : nil
        case .delimiter(let delimiter, let maxBytes):
            if delimiter.isEmpty { return InvalidReadError(.emptyDelimiter) }
            if let maxBytes, maxBytes < 0 { return InvalidReadError(.negativeMaxBytes(maxBytes)) }
            return nil
        case .search(let searcher):
            if let maxBytes = searcher.maxBytes, maxBytes < 0 { return InvalidReadError(.negativeMaxBytes(maxBytes)) }
            return nil
        case .untilClose:
            return nil
        }
    }
}
