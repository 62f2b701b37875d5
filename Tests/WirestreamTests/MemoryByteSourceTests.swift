import Testing

@testable import Wirestream

@Suite struct MemoryByteSourceTests {
    /// A parser-shaped function that only knows `ByteSource`.
    func statusAndBody(_ source: some ByteSource) async throws -> (Int, String) {
        let code = try await source.readUntilRegex(try Pattern(#"HTTP/1\.[01] (?<code>[0-9]{3})[^\n]*\n"#), maxBytes: 256) {
            Int(String(decoding: $0["code"]!, as: UTF8.self))!
        }
        let length = try await source.readUntil(bytes("\n"), maxBytes: 64) {
            Int(String(decoding: $0.dropLast(), as: UTF8.self))!
        }
        let body = try await source.readBytes(length, partial: false) { String(decoding: $0, as: UTF8.self) }
        return (code, body)
    }

    @Test func theSameParserReadsFromAStreamAndFromMemoryAtEverySplit() async throws {
        let input = bytes("HTTP/1.0 404 Not Found\n5\nhello")
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            try await pair.writer.write(input)
            let fromStream = try await statusAndBody(pair.reader)
            #expect(fromStream == (404, "hello"))
            for split in 1..<input.count {
                let source = MemoryByteSource(chunks: [Array(input[..<split]), Array(input[split...])])
                #expect(try await statusAndBody(source) == fromStream, "split at \(split)")
            }
            #expect(try await statusAndBody(MemoryByteSource(input, chunkSize: 1)) == fromStream)
        }
    }

    @Test func readsAcrossChunksThenEOFIsStreamClosed() async throws {
        let source = MemoryByteSource(chunks: [bytes("hel"), bytes("lo world")])
        #expect(text(try await source.readUntil(bytes(" "), maxBytes: nil) { Array($0) }) == "hello ")
        #expect(text(try await source.readBytes(3, partial: false) { Array($0) }) == "wor")
        #expect(source.offset == 9)
        #expect(text(try await source.readBytes(5, partial: true) { Array($0) }) == "ld")
        let realError = await expectStreamClosed { try await source.readBytes(1, partial: false) { _ in 0 } }
        #expect(realError == nil)
        #expect(source.atEOF)
    }

    @Test func maxBytesAllowsAnExactFitAndRefusesMoreLikeAStream() async throws {
        let source = MemoryByteSource(bytes("abcd\r\nefghij\r\n"), chunkSize: 3)
        #expect(text(try await source.readUntil(bytes("\r\n"), maxBytes: 6) { Array($0) }) == "abcd\r\n")
        let realError = await expectStreamClosed { try await source.readUntil(bytes("\r\n"), maxBytes: 6) { _ in 0 } }
        #expect(realError as? UnsatisfiableReadError == UnsatisfiableReadError(maxBytes: 6, searchingFor: "delimiter \"\\r\\n\""))
        await expectStreamClosed { try await source.readUntil(bytes("x"), maxBytes: nil) { _ in 0 } }
    }

    @Test(arguments: 0..<RegexChunkBoundaryTests.cases.count)
    func regexFramesFromMemoryMatchTheStreamsAtEverySplit(_ index: Int) async throws {
        let (source, options, data) = RegexChunkBoundaryTests.cases[index]
        let pattern = try Pattern(source, options: options)
        try await onLoop { loop in
            let reference = try await RegexChunkBoundaryTests.frames(
                of: data, pattern: pattern, chunkSizes: [data.count], loop: loop
            ).filter { !$0.hasPrefix("rest ") }
            for split in 0..<data.count {
                let chunks = split == 0 ? [data] : [Array(data[..<split]), Array(data[split...])]
                let memory = MemoryByteSource(chunks: chunks)
                var frames: [String] = []
                while true {
                    do {
                        let match = try await memory.readUntilRegex(pattern, maxBytes: nil) { $0.copy() }
                        frames.append("\(text(match.bytes).debugDescription) \(match.groups)")
                    } catch let error as StreamClosedError {
                        frames.append("closed \(String(describing: error.realError))")
                        break
                    }
                }
                #expect(frames == reference, "split at \(split)")
            }
        }
    }
}
