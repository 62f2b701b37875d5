import Wirestream

/// Text lines over any stream (TCP, TLS, a pipe): a delimiter of your choice, a limit on a
/// line's length, and a deadline on each wait. With the default `"\n"` delimiter a `"\r"` before
/// it is dropped, so CRLF peers work too; other delimiters are taken exactly.
///
/// ```swift
/// let lines = LineClient(stream: stream, delimiter: "\r\n", maxLineLength: 1024, timeout: .seconds(5))
/// try lines.send("HELLO")
/// let reply = try await lines.nextLine()
/// ```
public final class LineClient: Sendable {
    public let stream: BaseIOStream
    public let delimiter: [UInt8]
    /// The most bytes a line may have, without its delimiter (sent or received).
    public let maxLineLength: Int
    /// How long ``nextLine()`` and ``flush()`` may wait (`nil`: for ever). Past it they throw
    /// `TimeoutError` and the stream stays open (a partial line stays buffered).
    public let timeout: Duration?

    /// - Precondition: `delimiter` is not empty; `maxLineLength` is not negative.
    public init(stream: BaseIOStream, delimiter: String = "\n", maxLineLength: Int = 64 * 1024, timeout: Duration? = .seconds(30)) {
        precondition(!delimiter.isEmpty && maxLineLength >= 0, "a line needs a delimiter and a length limit")
        self.stream = stream
        self.delimiter = Array(delimiter.utf8)
        self.maxLineLength = maxLineLength
        self.timeout = timeout
    }

    /// Queues a line (without its delimiter).
    /// - Throws: `WireEncodingError` for a line that contains the delimiter or is over the limit
    ///   (nothing is queued).
    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        if bytes.count > maxLineLength {
            throw WireEncodingError(message: "Line", field: "text", reason: "\(bytes.count) bytes exceed the limit of \(maxLineLength)")
        }
        if Self.contains(bytes, delimiter) {
            throw WireEncodingError(message: "Line", field: "text", reason: "contains the delimiter \(String(decoding: delimiter, as: UTF8.self).debugDescription)")
        }
        stream.queueWrite(bytes + delimiter)
    }

    /// Waits until the queued lines reach the kernel.
    public func flush() async throws {
        try await bounded { try await self.stream.flush() }
    }

    /// The next line, without its delimiter.
    /// - Throws: `StreamClosedError` at EOF between lines (or when a line over the limit closed
    ///   the stream: its `realError` is `UnsatisfiableReadError`); `TimeoutError`;
    ///   `WireProtocolError` (`invalidUTF8`) for a line that is not UTF-8.
    public func nextLine() async throws -> String {
        let frame = try await bounded {
            try await self.stream.readUntil(self.delimiter, maxBytes: self.maxLineLength + self.delimiter.count)
        }
        var line = frame.dropLast(delimiter.count)
        if delimiter == [UInt8(ascii: "\n")], line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        guard let text = String(validating: line, as: UTF8.self) else {
            throw WireProtocolError(message: "Line", field: "text", offset: 0, kind: .invalidUTF8)
        }
        return text
    }

    private func bounded<R>(_ body: () async throws -> R) async throws -> R {
        guard let timeout else { return try await body() }
        return try await stream.withDeadline(timeout, body)
    }

    private static func contains(_ bytes: [UInt8], _ delimiter: [UInt8]) -> Bool {
        guard bytes.count >= delimiter.count else { return false }
        return (0...(bytes.count - delimiter.count)).contains { bytes[$0..<($0 + delimiter.count)].elementsEqual(delimiter) }
    }
}
