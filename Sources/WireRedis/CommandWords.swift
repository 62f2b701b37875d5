import Wirestream

/// A command given as text words, encoded straight from the strings' UTF-8 bytes: the same bytes
/// as `Command(words)` (an array of bulk strings), without building a `[BulkString]` and a
/// `[UInt8]` per word first. ``RedisClient`` sends the word forms (`send("GET", "k")`, pipelines of
/// words, the generated typed methods) this way: it is the encoder every ordinary command goes
/// through, so it sizes the buffer once and appends bytes, not arrays.
struct CommandWords: WireRequest {
    let words: [String]

    init(_ words: [String]) { self.words = words }

    /// The limits `resp.wire` sets for `Command` (arguments) and `BulkString` (bytes in one).
    static let maxArguments = 1_000_000
    static let maxArgumentBytes = 536_870_912

    /// Appends `*N\r\n`, then `$LEN\r\nWORD\r\n` per word.
    /// - Throws: `WireEncodingError`, as `Command`'s generated encoder does, for more than a
    ///   million words or a word over 512 MB; nothing is appended then.
    func encode(into writer: inout WireWriter) throws {
        let outer = writer.message
        defer { writer.message = outer; writer.field = "" }
        writer.message = "Command"
        writer.field = "arguments"
        try writer.checkCount(words.count, max: Self.maxArguments)
        var size = 16  // "*", up to 13 digits, CRLF
        for word in words {
            let length = word.utf8.count
            if length > Self.maxArgumentBytes {
                writer.message = "BulkString"
                writer.field = "value"
                throw writer.fail("\(length) bytes exceed the limit of \(Self.maxArgumentBytes)")
            }
            size &+= length &+ 16  // "$", up to 11 digits, two CRLFs
        }
        writer.bytes.reserveCapacity(writer.bytes.count &+ size)
        Self.header(UInt8(ascii: "*"), words.count, into: &writer.bytes)
        for word in words {
            let utf8 = word.utf8
            Self.header(UInt8(ascii: "$"), utf8.count, into: &writer.bytes)
            if utf8.withContiguousStorageIfAvailable({ writer.bytes.append(contentsOf: $0) }) == nil {
                writer.bytes.append(contentsOf: utf8)
            }
            writer.bytes.append(13)
            writer.bytes.append(10)
        }
    }

    /// `*N\r\n` or `$N\r\n`.
    private static func header(_ kind: UInt8, _ number: Int, into bytes: inout [UInt8]) {
        bytes.append(kind)
        if number < 10 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: number))
        } else {
            WireFormat.withDecimalDigits(number) { bytes.append(contentsOf: $0) }
        }
        bytes.append(13)
        bytes.append(10)
    }
}
