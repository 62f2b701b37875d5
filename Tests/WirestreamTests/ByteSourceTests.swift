import Testing
@testable import Wirestream

/// What ByteSource adds to the stream reads: `peek` (lookahead without consuming), the limited
/// `streamUntilClose(maxBytes:to:)`, and the synchronous `…IfBuffered` fast paths.
struct ByteSourceTests {
    @Test(arguments: Transport.allCases)
    func peekWaitsForTheBytesAndConsumesNothing(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let peeking = spawn(on: loop) { try await pair.reader.peek(5) { [UInt8]($0) } }
            try await pair.writer.write(bytes("EN"))
            try await pause(20)
            try await pair.writer.write(bytes("D\r\nnext"))
            #expect(try await peeking.value == bytes("END\r\n"))
            // Nothing was consumed: the same bytes are read again.
            #expect(text(try await pair.reader.readUntil(bytes("\r\n"))) == "END\r\n")
            #expect(text(try await pair.reader.peek(2) { [UInt8]($0) }) == "ne")
            #expect(text(try await pair.reader.readBytes(4)) == "next")
        }
    }

    @Test(arguments: Transport.allCases)
    func peekLendsFewerBytesOnlyAtEOFAndFailsWithNothingLeft(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write(bytes("ab"))
            pair.writer.close()
            #expect(try await pair.reader.peek(10) { [UInt8]($0) } == bytes("ab"))
            #expect(try await pair.reader.readBytes(2) == bytes("ab"))
            _ = await expectStreamClosed { try await pair.reader.peek(1) { $0.count } }
        }
    }

    @Test func memorySourcePeeksAcrossChunks() async throws {
        let source = MemoryByteSource(chunks: [bytes("E"), bytes("ND"), bytes("\r\n")])
        #expect(try await source.peek(4) { [UInt8]($0) } == bytes("END\r"))
        #expect(source.offset == 0)
        #expect(try await source.readUntil(bytes("\r\n"), maxBytes: nil) { [UInt8]($0) } == bytes("END\r\n"))
        await #expect(throws: StreamClosedError.self) { try await source.peek(1) { $0.count } }
    }

    @Test(arguments: Transport.allCases)
    func streamUntilCloseWithinItsLimit(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let body = (0..<200_000).map { UInt8(truncatingIfNeeded: $0) }
            let writing = spawn(on: loop) {  // more than a pipe holds: the reader must run meanwhile
                try await pair.writer.write(body)
                pair.writer.close()
            }
            var received: [UInt8] = []
            let count = try await pair.reader.streamUntilClose(maxBytes: 200_000) { received += $0 }
            try await writing.value
            #expect(count == 200_000)
            #expect(received == body)
        }
    }

    @Test(arguments: Transport.allCases)
    func streamUntilCloseClosesTheSourcePastItsLimit(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            try await pair.writer.write([UInt8](repeating: 1, count: 1001))
            pair.writer.close()
            var received = 0
            let realError = await expectStreamClosed {
                try await pair.reader.streamUntilClose(maxBytes: 1000) { received += $0.count }
            }
            // Like every maxBytes read: the source closes with the limit error.
            #expect(realError as? UnsatisfiableReadError == UnsatisfiableReadError(maxBytes: 1000, searchingFor: "end of stream"))
            #expect(pair.reader.isClosed)
            #expect(pair.reader.error as? UnsatisfiableReadError != nil)
            #expect(received <= 1000)
        }
    }

    @Test func aMemorySourceClosesPastTheStreamingLimitToo() async throws {
        let source = MemoryByteSource([UInt8](repeating: 7, count: 50), chunkSize: 16)
        let realError = await expectStreamClosed { try await source.streamUntilClose(maxBytes: 40) { _ in } }
        #expect(realError is UnsatisfiableReadError)
        // The undelivered chunks are gone: only what was buffered (7 bytes) is left.
        await #expect(throws: StreamClosedError.self) { try await source.readBytes(8, partial: false) { _ in } }
    }

    @Test(arguments: Transport.allCases)
    func ifBufferedReadsTakeOnlyWhatIsThereOnTheLoop(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            // Nothing buffered yet: nil, and nothing is read or consumed.
            #expect(try pair.reader.readUntilIfBuffered(bytes("\n"), maxBytes: nil) { [UInt8]($0) } == nil)
            try await pair.writer.write(bytes("one\ntwo"))
            #expect(text(try await pair.reader.readBytes(1)) == "o")  // pulls the bytes into the buffer
            #expect(try pair.reader.readUntilIfBuffered(bytes("\n"), maxBytes: nil) { [UInt8]($0) } == bytes("ne\n"))
            #expect(try pair.reader.readBytesIfBuffered(2) { [UInt8]($0) } == bytes("tw"))
            // Not enough buffered: nil, and the byte stays for the async read.
            #expect(try pair.reader.readBytesIfBuffered(2) { [UInt8]($0) } == nil)
            #expect(try pair.reader.readUntilIfBuffered(bytes("\n"), maxBytes: nil) { [UInt8]($0) } == nil)
            #expect(text(try await pair.reader.readBytes(1)) == "o")
        }
    }

    @Test(arguments: Transport.allCases)
    func peekIfBufferedLooksWithoutConsumingAndShortOnlyAtEOF(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            #expect(try pair.reader.peekIfBuffered(1) { [UInt8]($0) } == nil)  // nothing buffered
            try await pair.writer.write(bytes("xyz"))
            #expect(text(try await pair.reader.readBytes(1)) == "x")  // pulls "yz" into the buffer
            #expect(try pair.reader.peekIfBuffered(2) { [UInt8]($0) } == bytes("yz"))
            #expect(try pair.reader.peekIfBuffered(2) { [UInt8]($0) } == bytes("yz"))  // consumed nothing
            #expect(try pair.reader.peekIfBuffered(3) { [UInt8]($0) } == nil)  // the third byte may yet come
            let reader = WireReader(pair.reader, message: "test")
            #expect(try reader.peekMatchesIfBuffered(bytes("yz")) == true)
            #expect(try reader.peekMatchesIfBuffered(bytes("ya")) == false)
            #expect(try reader.peekMatchesIfBuffered(bytes("yz!")) == nil)  // cannot tell yet: the async form waits
            pair.writer.close()
            try await pause(20)
            #expect(text(try await pair.reader.readBytes(1)) == "y")  // sees the EOF too
            // At the end of input a shorter frame is all there will be: the literal cannot match.
            #expect(try pair.reader.peekIfBuffered(3) { [UInt8]($0) } == bytes("z"))
            #expect(try reader.peekMatchesIfBuffered(bytes("z!")) == false)
            #expect(try await reader.peekMatches(bytes("z!")) == false)  // as the async form says
            #expect(text(try await pair.reader.readBytes(1)) == "z")
        }
    }

    @Test func ifBufferedReadsAreNilOffTheLoop() async throws {
        let loop = IOLoop.shared
        let pipe = try PipeIOStream.makePipe(loop: loop)
        try await pipe.writer.write(bytes("abc\n"))
        #expect(try await pipe.reader.readBytes(1) == bytes("a"))
        try #require(pipe.reader.readBuffer.count == 3)  // "bc\n" came with it and is buffered
        // Off the loop's thread the buffer is not ours to touch: always the async path.
        #expect(try pipe.reader.readUntilIfBuffered(bytes("\n"), maxBytes: nil) { $0.count } == nil)
        #expect(try pipe.reader.readBytesIfBuffered(1) { $0.count } == nil)
        #expect(try pipe.reader.peekIfBuffered(1) { $0.count } == nil)
        #expect(try await pipe.reader.readUntil(bytes("\n")) == bytes("bc\n"))
        pipe.reader.close()
        pipe.writer.close()
    }

    @Test func memorySourceIfBufferedReadsAreItsReads() throws {
        let source = MemoryByteSource(chunks: [bytes("ab"), bytes("c\nd")])
        #expect(try source.readUntilIfBuffered(bytes("\n"), maxBytes: nil) { [UInt8]($0) } == bytes("abc\n"))
        #expect(try source.peekIfBuffered(1) { [UInt8]($0) } == bytes("d"))
        #expect(try LimitedByteSource(source, limit: 10).peekIfBuffered(1) { [UInt8]($0) } == bytes("d"))
        #expect(try source.readBytesIfBuffered(1) { [UInt8]($0) } == bytes("d"))
        #expect(throws: StreamClosedError.self) { try source.readBytesIfBuffered(1) { $0.count } }
    }
}
