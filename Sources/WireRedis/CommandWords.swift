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
        // Written through a pointer into `size` bytes appended at once, then trimmed to what was
        // written: an `append` per byte checks capacity and uniqueness each time (the encoder ran
        // at about 3% of a pipelined GET's CPU time that way).
        let start = writer.bytes.count
        writer.bytes.append(contentsOf: repeatElement(0, count: size))
        let written = writer.bytes.withUnsafeMutableBufferPointer { buffer in
            var at = start
            Self.header(UInt8(ascii: "*"), words.count, into: buffer, at: &at)
            for word in words {
                var word = word  // native and contiguous after this (a no-op for most strings)
                word.withUTF8 { utf8 in
                    Self.header(UInt8(ascii: "$"), utf8.count, into: buffer, at: &at)
                    if let base = utf8.baseAddress { (buffer.baseAddress! + at).update(from: base, count: utf8.count) }
                    at &+= utf8.count
                }
                buffer[at] = 13
                buffer[at &+ 1] = 10
                at &+= 2
            }
            return at
        }
        writer.bytes.removeLast(writer.bytes.count &- written)
    }

    /// `*N\r\n` or `$N\r\n`, written at `at` (which moves past it).
    private static func header(_ kind: UInt8, _ number: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at: inout Int) {
        buffer[at] = kind
        at &+= 1
        if number < 10 {
            buffer[at] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: number)
            at &+= 1
        } else {
            WireFormat.withDecimalDigits(number) { digits in
                for digit in digits {
                    buffer[at] = digit
                    at &+= 1
                }
            }
        }
        buffer[at] = 13
        buffer[at &+ 1] = 10
        at &+= 2
    }
}
