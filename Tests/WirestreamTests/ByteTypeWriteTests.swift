import Foundation
import Testing

@testable import Wirestream

/// `write` and `queueWrite` take every common byte type; each arrives intact and in order.
@Suite struct ByteTypeWriteTests {
    /// One payload per byte type, small (coalesced) and large (referenced or copied whole).
    static func payload(_ seed: Int, _ size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ seed) }
    }

    @Test(arguments: Transport.allCases, [false, true])
    func everyByteTypeArrivesIntact(_ transport: Transport, large: Bool) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop)
            let size = large ? 300_000 : 100
            let array = Self.payload(1, size)
            let sliced = Self.payload(2, size + 10)[5..<(size + 5)]  // a slice that does not start at 0
            let raw = Self.payload(3, size)
            let data = Data(Self.payload(4, size))
            let string = String(repeating: "é→😀", count: size / 9 + 1)
            let repeated = repeatElement(UInt8(ascii: "r"), count: size)  // not contiguous
            let utf8 = Array(string.utf8)
            let (slicedBytes, dataBytes, repeatedBytes) = (Array(sliced), Array(data), Array(repeated))
            let pieces: [[UInt8]] = [
                array, slicedBytes, raw, dataBytes, utf8, utf8, repeatedBytes,  // async forms
                slicedBytes, raw, utf8,  // callback forms
                slicedBytes, raw, dataBytes, utf8, repeatedBytes,  // queued
            ]
            let expected = pieces.flatMap { $0 }
            let received = spawn(on: loop) { try await pair.reader.readBytes(expected.count) }
            let pointer = UnsafeMutableRawBufferPointer.allocate(byteCount: raw.count, alignment: 1)
            defer { pointer.deallocate() }
            raw.withUnsafeBytes { pointer.copyMemory(from: $0) }
            let rawBuffer = UnsafeRawBufferPointer(pointer)
            // Async forms.
            try await pair.writer.write(array)
            try await pair.writer.write(sliced)
            try await pair.writer.write(rawBuffer)
            try await pair.writer.write(data)
            try await pair.writer.write(string)
            try await pair.writer.write(string.utf8)
            try await pair.writer.write(repeated)
            // Callback forms.
            try await awaitCallback { done in pair.writer.write(sliced, callback: done) }
            try await awaitCallback { done in pair.writer.write(rawBuffer, callback: done) }
            try await awaitCallback { done in pair.writer.write(string, callback: done) }
            // Queued: a buffer pointer need only be valid during the call; its bytes are copied.
            pair.writer.queueWrite(sliced)
            raw.withUnsafeBytes { pair.writer.queueWrite($0) }
            pair.writer.queueWrite(data)
            pair.writer.queueWrite(string)
            pair.writer.queueWrite(repeated)
            try await pair.writer.flush()
            #expect(try await received.value == expected)
        }
    }

    @Test func queuedWritesFromOffTheLoopKeepTheirOrder() async throws {
        let loop = try IOLoop()
        loop.startThread()
        defer { loop.close() }
        let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
        let raw = Self.payload(9, 50)
        writer.queueWrite(bytes("a"))
        raw.withUnsafeBytes { writer.queueWrite($0) }  // copied before the call returns
        writer.queueWrite("é")
        writer.queueWrite(Data([0, 1, 2]))
        try await writer.flush()
        #expect(try await reader.readBytes(1 + 50 + 2 + 3) == bytes("a") + raw + Array("é".utf8) + [0, 1, 2])
        reader.close()
        writer.close()
    }
}
