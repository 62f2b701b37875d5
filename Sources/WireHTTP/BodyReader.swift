import Wirestream

/// Reads one response body from its connection, a piece at a time as the caller asks: by
/// Content-Length, chunked (the grammar's `ChunkSize`, `ChunkEnd` and `Trailers`) or until the
/// server closes; decoded when Content-Encoding says so; refused past its limit.
///
/// Used by the one task that reads the response (not shared).
final class BodyReader {
    private let stream: IOStream
    private let framing: BodyFraming
    private let inflater: Inflater?
    /// Decoded bytes allowed (nil: no limit).
    private let limit: Int?
    private let maxTrailerBytes: Int
    private let maxTrailerCount: Int

    /// The Content-Length, if the server declared one.
    let declaredLength: Int?
    /// Body bytes received as sent (before decoding).
    private(set) var wireBytes = 0
    /// Body bytes handed out (after decoding).
    private(set) var decodedBytes = 0
    private(set) var trailers = HTTPHeaders()
    /// True once the body has been read to its end (and checked).
    private(set) var finished = false
    /// What is left of the current chunk; nil between chunks.
    private var chunkRemaining: Int?

    init(stream: IOStream, framing: BodyFraming, coding: Inflater.Format?, limit: Int?, maxTrailerBytes: Int, maxTrailerCount: Int) throws {
        self.stream = stream
        self.framing = framing
        self.inflater = coding.map(Inflater.init)
        self.limit = limit
        self.maxTrailerBytes = maxTrailerBytes
        self.maxTrailerCount = maxTrailerCount
        if case .length(let length) = framing {
            declaredLength = length
            // Without decoding, a declared length over the limit is refused before any byte is read.
            if let limit, coding == nil, length > limit { throw HTTPError(.bodyTooLarge(limit: limit)) }
        } else {
            declaredLength = nil
        }
        if framing == .none { finished = true }
    }

    /// The next decoded piece of the body (at most 64 KiB), or `nil` at its end.
    func next() async throws -> [UInt8]? {
        while true {
            if let inflater, let piece = try inflater.next() { return try count(piece) }
            guard !finished, let wire = try await nextWirePiece() else {
                if !finished { try finish() }
                return nil
            }
            guard let inflater else { return try count(wire) }
            wire.withUnsafeBytes { inflater.feed($0) }
        }
    }

    /// Reads the rest of the body, lending each piece to `body` in place: no array per piece. A
    /// plain body (by length or until close, not decoded) is lent straight from the stream's
    /// buffer; chunked or encoded bodies go through ``next()``.
    func lendRest(_ body: (UnsafeRawBufferPointer) throws -> Void) async throws {
        guard inflater == nil, framing != .chunked else {
            while let piece = try await next() { try piece.withUnsafeBytes(body) }
            return
        }
        while !finished {
            let want: Int
            if case .length(let length) = framing { want = min(length - wireBytes, 65_536) } else { want = 65_536 }
            if want == 0 {
                finished = true
                return
            }
            do {
                try await stream.readBytes(want, partial: true) { piece in
                    wireBytes += piece.count
                    decodedBytes += piece.count
                    if let limit, decodedBytes > limit { throw HTTPError(.bodyTooLarge(limit: limit)) }
                    try body(piece)
                }
            } catch let closed as StreamClosedError where closed.realError == nil && framing == .untilClose {
                finished = true  // the server's close is the end of this body
            } catch let error as HTTPError {
                stream.close()
                throw error
            } catch {
                stream.close()
                throw HTTPError.translating(error, during: .readingBody(expected: declaredLength, received: wireBytes))
            }
        }
    }

    private func count(_ piece: [UInt8]) throws -> [UInt8] {
        decodedBytes += piece.count
        if let limit, decodedBytes > limit {
            stream.close()
            throw HTTPError(.bodyTooLarge(limit: limit))
        }
        return piece
    }

    private func finish() throws {
        try inflater?.finish()
        finished = true
    }

    /// The next piece as it came over the wire, or `nil` when the framing says the body ended.
    private func nextWirePiece() async throws -> [UInt8]? {
        do {
            switch framing {
            case .none:
                return nil
            case .length(let length):
                let remaining = length - wireBytes
                if remaining == 0 { return nil }
                return try await readPiece(remaining)
            case .untilClose:
                do {
                    return try await readPiece(65_536)
                } catch let closed as StreamClosedError where closed.realError == nil {
                    return nil  // the server's close is the end of this body
                }
            case .chunked:
                return try await nextChunkPiece()
            }
        } catch {
            stream.close()
            throw HTTPError.translating(error, during: .readingBody(expected: declaredLength, received: wireBytes))
        }
    }

    private func readPiece(_ atMost: Int) async throws -> [UInt8] {
        let piece = try await stream.readBytes(min(atMost, 65_536), partial: true) { [UInt8]($0) }
        wireBytes += piece.count
        return piece
    }

    private func nextChunkPiece() async throws -> [UInt8]? {
        while true {
            if let remaining = chunkRemaining, remaining > 0 {
                let piece = try await readPiece(remaining)
                chunkRemaining = remaining - piece.count
                return piece
            }
            if chunkRemaining == 0 {
                try await chunkFrame { _ = try await ChunkEnd.read(from: stream) }
                chunkRemaining = nil
            }
            let size = try await chunkFrame { try await ChunkSize.read(from: stream).size }
            guard size > 0 else {
                try await readTrailers()
                return nil
            }
            guard let next = Int(exactly: size), inflater != nil || limit.map({ next <= $0 - wireBytes }) ?? true else {
                throw HTTPError(.bodyTooLarge(limit: limit ?? Int.max))
            }
            chunkRemaining = next
        }
    }

    private func readTrailers() async throws {
        let source = LimitedByteSource(stream, limit: maxTrailerBytes)
        do {
            let lines = try await Trailers.read(from: source).fields
            trailers = try HTTPHeaders(validating: lines, maxCount: maxTrailerCount, trailers: true)
        } catch is ByteLimitExceededError {
            throw HTTPError(.trailersTooLarge(limit: maxTrailerBytes))
        } catch let error as WireProtocolError {
            if error.kind == .truncated { throw HTTPError(.bodyTruncated(expected: nil, received: wireBytes), underlying: error) }
            if case .limitExceeded(_, _?) = error.kind { throw HTTPError(.trailersTooLarge(limit: maxTrailerCount), underlying: error) }
            if error.kind == .invalidValue(HeaderLine.loneLineFeed) { throw HTTPError(.bareLineFeed, underlying: error) }
            throw HTTPError(.malformedHeaderLine(found: await lineAhead()), underlying: error)
        }
    }

    /// Reads a chunk frame with the grammar, a parse failure becoming `.malformedChunk`.
    private func chunkFrame<R>(_ read: () async throws -> R) async throws -> R {
        do {
            return try await read()
        } catch let error as WireProtocolError {
            if error.kind == .truncated { throw HTTPError(.bodyTruncated(expected: nil, received: wireBytes), underlying: error) }
            var found = await lineAhead()
            // A literal's read consumed what it compared; put those bytes back in the report.
            if error.message == "ChunkEnd", case .unexpectedBytes(_, let compared) = error.kind { found = compared + found }
            throw HTTPError(.malformedChunk(found: found), underlying: error)
        } catch let closed as StreamClosedError where closed.realError == nil {
            throw HTTPError(.bodyTruncated(expected: nil, received: wireBytes), underlying: closed)
        }
    }

    /// The rest of the line a failed read stopped at (it consumed nothing), for the error.
    private func lineAhead() async -> [UInt8] {
        let ahead = (try? await stream.peek(64) { [UInt8]($0) }) ?? []
        return ahead.firstIndex(of: 0x0a).map { Array(ahead[...$0]) } ?? ahead
    }
}
