import Wirestream

/// A message's content as it goes after `DATA`: lines end in CRLF (a bare LF becomes CRLF), a
/// line that starts with "." gets another (dot-stuffing, RFC 5321 §4.5.2), and ".\r\n" ends it.
/// Hand-written because it transforms the bytes (the grammars describe framing, not rewriting).
public struct SMTPMessageContent: WireRequest, Sendable {
    public let message: [UInt8]

    public init(_ message: [UInt8]) {
        self.message = message
    }

    public func encode(into writer: inout WireWriter) throws {
        var output: [UInt8] = []
        output.reserveCapacity(message.count + message.count / 64 + 8)
        var atLineStart = true
        var previous: UInt8 = 0
        for byte in message {
            if atLineStart && byte == UInt8(ascii: ".") { output.append(UInt8(ascii: ".")) }
            if byte == UInt8(ascii: "\n") && previous != UInt8(ascii: "\r") { output.append(UInt8(ascii: "\r")) }
            output.append(byte)
            atLineStart = byte == UInt8(ascii: "\n")
            previous = byte
        }
        if !output.isEmpty && !atLineStart { output += [UInt8(ascii: "\r"), UInt8(ascii: "\n")] }
        output += Array(".\r\n".utf8)
        writer.bytes.append(contentsOf: output)
    }
}
