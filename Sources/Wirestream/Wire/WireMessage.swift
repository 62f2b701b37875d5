/// A message type generated from a grammar: it reads itself from any ``ByteSource``.
public protocol WireMessage: Sendable {
    /// Reads one message with `reader`, nested `depth` levels deep (for the depth limit). Errors
    /// come out as the source and conversions threw them; ``read(from:tryingBuffered:)`` turns them into
    /// ``WireProtocolError``s that name the place.
    static func read<Source: ByteSource>(_ reader: inout WireReader<Source>, depth: Int) async throws -> Self

    /// The synchronous twin of ``read(_:depth:)``: the same reads over bytes already buffered,
    /// throwing ``BufferedBytes/Incomplete`` where `read` would wait. Generated with `read`.
    /// (Default: always ``BufferedBytes/Incomplete``, so ``read(from:tryingBuffered:)`` reads asynchronously.)
    static func readBuffered(_ reader: inout WireReader<BufferedBytes>, depth: Int) throws -> Self
}

extension WireMessage {
    /// Reads one message from `source`: by the synchronous twin if it is all buffered
    /// (``readIfBuffered(from:)``), else by the async parser. `tryingBuffered: false` skips the
    /// twin, for a caller that has just tried it (a partly buffered message is not parsed twice).
    /// - Throws: ``WireProtocolError`` for input that does not follow the grammar (nothing
    ///   more is read); ``StreamClosedError`` if the source ends before the message begins.
    @inlinable
    public static func read(from source: some ByteSource, tryingBuffered: Bool = true) async throws -> Self {
        if tryingBuffered, let message = readIfBuffered(from: source) { return message }
        var reader = WireReader(source, message: "")
        do {
            return try await read(&reader, depth: 0)
        } catch {
            throw await reader.translate(error, at: reader.offset)
        }
    }
}

extension WireMessage {
    public static func readBuffered(_ reader: inout WireReader<BufferedBytes>, depth: Int) throws -> Self {
        throw BufferedBytes.Incomplete()
    }

    /// One message from `source` if all of its bytes are buffered, parsed now by the synchronous
    /// twin (no async call, so no executor checks); else `nil`, with nothing consumed — then
    /// ``read(from:tryingBuffered:)`` reads it (and reports any error in it).
    @inlinable
    public static func readIfBuffered(from source: some ByteSource) -> Self? {
        source.parseBuffered { bytes in
            var reader = WireReader(bytes, message: "")
            return try readBuffered(&reader, depth: 0)
        }
    }
}

/// A request message generated from a grammar: it writes itself as its grammar says.
public protocol WireRequest {
    /// Appends the message's bytes to `writer`.
    /// - Throws: ``WireEncodingError`` for a value its own grammar would refuse.
    func encode(into writer: inout WireWriter) throws
}

extension WireRequest {
    /// The message's bytes.
    public func encoded() throws -> [UInt8] {
        var writer = WireWriter(message: "")
        try encode(into: &writer)
        return writer.bytes
    }
}

extension BaseIOStream {
    /// Encodes `request` and queues it (see ``queueWrite(_:)-([UInt8])``): requests can be
    /// pipelined without waiting.
    public func queueWrite(_ request: some WireRequest) throws {
        queueWrite(try request.encoded())
    }
}
