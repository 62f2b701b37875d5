import Wirestream

extension ResponseHead {
    /// The first value of header `name` (case-insensitive), if present.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// How the body is framed: its Content-Length, 0 for statuses that have no body, or -1 to read
    /// until the server closes.
    /// - Throws: `WireConversionFailure` for a Content-Length that is not a number (the parser
    ///   reports it as a `WireProtocolError` at the field being read).
    @usableFromInline
    func bodyLength() throws -> Int {
        if (100..<200).contains(status) || status == 204 || status == 304 { return 0 }
        guard let value = header("Content-Length") else { return -1 }
        guard let length = Int(value), length >= 0 else {
            // The reader adds where: message, field and offset of the hook's call.
            throw WireConversionFailure(.invalidNumber(expected: "Content-Length", text: Array(value.utf8)))
        }
        return length
    }
}

// The grammar's `call contentLength(head)` hooks: the generated `ResponseHooks` and
// `StreamedResponseHooks` protocols require them, public because the generated parsers are inlinable.
extension Response {
    public static func contentLength(_ head: ResponseHead) throws -> Int { try head.bodyLength() }
}

extension StreamedResponse {
    public static func contentLength(_ head: ResponseHead) throws -> Int { try head.bodyLength() }
}
