/// Why a frame could not be converted to a field's type. Conversions throw this without knowing
/// where they are; ``WireReader`` adds the message, field and offset (``WireProtocolError``).
public struct WireConversionFailure: Error, Sendable {
    public let kind: WireProtocolError.Kind

    public init(_ kind: WireProtocolError.Kind) {
        self.kind = kind
    }
}

/// A type a grammar field converts to with hand-written code (`extern type Name` in a grammar).
public protocol WireDecodable {
    /// Converts the field's bytes; throws ``WireConversionFailure`` (e.g. `.invalidValue`) to refuse them.
    init(wireBytes: UnsafeRawBufferPointer) throws
}

/// A type a request field writes with hand-written code.
public protocol WireEncodable {
    /// The field's bytes (without any delimiter the grammar adds).
    func wireBytes() throws -> [UInt8]
}
