import CZlib

/// Streaming `Content-Encoding: gzip` / `deflate` decoding with the system zlib, pulled a piece at
/// a time: compressed bytes are fed as they arrive and decoded in pieces of at most 64 KiB, so a
/// small body that inflates to gigabytes never sits in memory (the reader's limit stops it).
///
/// Not thread-safe; owned by one body reader.
final class Inflater {
    enum Format: Equatable {
        /// gzip (RFC 1952); several members in a row are decoded as one body, as gunzip does.
        case gzip
        /// "deflate" as HTTP means it: zlib-wrapped (RFC 1950), or raw RFC 1951 from servers that
        /// send that instead (told apart by the first two bytes, as curl and browsers do).
        case deflate
    }

    private var stream = z_stream()
    private let format: Format
    private var started = false
    private var ended = false
    private var input: [UInt8] = []
    private var inputOffset = 0
    private static let pieceSize = 65_536

    init(_ format: Format) {
        self.format = format
    }

    deinit {
        if started { inflateEnd(&stream) }
    }

    /// True when every byte fed has been decoded: time to feed more.
    var needsInput: Bool { inputOffset == input.count }

    /// Adds compressed bytes; call only when ``needsInput``.
    func feed(_ bytes: UnsafeRawBufferPointer) {
        precondition(needsInput, "feed before the last input was decoded")
        input = Array(bytes)
        inputOffset = 0
    }

    /// The next decoded piece (≤ 64 KiB), or `nil` when the input fed so far is used up.
    /// - Throws: `HTTPError` `.decompressionFailed` for bytes that are not the format, or bytes
    ///   after the end of the compressed data.
    func next() throws -> [UInt8]? {
        while !needsInput {
            if ended {
                // Another gzip member may follow; anything else after the end is an error.
                guard format == .gzip, input[inputOffset] == 0x1f else {
                    throw HTTPError(.decompressionFailed(reason: "bytes after the end of the compressed data"))
                }
                inflateEnd(&stream)
                started = false
                ended = false
            }
            if !started { try start() }
            let piece = try step()
            if !piece.isEmpty { return piece }
        }
        return nil
    }

    /// Checks the compressed data was complete (a body cut short inside it is an error).
    func finish() throws {
        if !started || !ended || !needsInput {
            throw HTTPError(.decompressionFailed(reason: started ? "the compressed data ends early" : "no compressed data"))
        }
    }

    private func start() throws {
        // windowBits: 16+15 gzip, 15 zlib, -15 raw deflate. A zlib header's first byte is 0x?8 and
        // its two bytes are a multiple of 31; anything else is taken as raw deflate.
        var windowBits: Int32 = 16 + 15
        if format == .deflate {
            let first = input[inputOffset...].prefix(2)
            let zlib = first.count == 2 && first.first! & 0x0f == 8 && (Int(first.first!) << 8 | Int(first.last!)) % 31 == 0
            windowBits = zlib ? 15 : -15
        }
        stream = z_stream()
        guard ws_inflate_init(&stream, windowBits) == Z_OK else {
            throw HTTPError(.decompressionFailed(reason: "zlib could not start"))
        }
        started = true
    }

    /// One `inflate` call: decodes what it can of the input into at most one piece.
    private func step() throws -> [UInt8] {
        var piece = [UInt8](repeating: 0, count: Self.pieceSize)
        let available = input.count - inputOffset
        let (status, consumed, produced) = input.withUnsafeMutableBufferPointer { inBuffer in
            piece.withUnsafeMutableBufferPointer { out -> (Int32, Int, Int) in
                stream.next_in = inBuffer.baseAddress! + inputOffset
                stream.avail_in = UInt32(available)
                stream.next_out = out.baseAddress!
                stream.avail_out = UInt32(out.count)
                let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                defer {
                    stream.next_in = nil
                    stream.next_out = nil
                }
                return (status, available - Int(stream.avail_in), out.count - Int(stream.avail_out))
            }
        }
        inputOffset += consumed
        switch status {
        case Z_STREAM_END:
            ended = true
        case Z_OK, Z_BUF_ERROR:
            break  // Z_BUF_ERROR: no progress was possible (input used up) — not an error here
        default:
            let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
            throw HTTPError(.decompressionFailed(reason: reason))
        }
        if consumed == 0 && produced == 0 && !ended {
            throw HTTPError(.decompressionFailed(reason: "zlib made no progress"))
        }
        piece.removeSubrange(produced...)
        return piece
    }
}
