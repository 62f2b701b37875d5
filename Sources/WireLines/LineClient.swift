import Wirestream

/// Text lines over any stream, read and written with the `Line` message of `line.wire`.
/// Lines end in "\n"; a "\r" before it is dropped, so CRLF peers work too.
public final class LineClient: Sendable {
    public let stream: BaseIOStream

    public init(stream: BaseIOStream) {
        self.stream = stream
    }

    /// Queues a line (without its "\n"); it must not contain "\n".
    /// - Throws: `WireEncodingError` for a line with a "\n" or over 64 KiB.
    public func send(_ text: String) throws {
        try stream.queueWrite(Line(text: text))
    }

    /// Waits until the queued lines reach the kernel.
    public func flush() async throws {
        try await stream.flush()
    }

    /// The next line, without "\n" or "\r\n".
    /// - Throws: `StreamClosedError` at EOF between lines; `WireProtocolError` for an overlong line or invalid UTF-8.
    public func nextLine() async throws -> String {
        let text = try await Line.read(from: stream).text
        return text.hasSuffix("\r") ? String(text.dropLast()) : text
    }
}
