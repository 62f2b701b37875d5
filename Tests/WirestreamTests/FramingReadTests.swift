import Glibc
import Testing

@testable import Wirestream

/// `readFrame(_ framing:)`: one frame per read, cut as a continuous read cuts them — a
/// length-prefixed frame in one read, delivered without its prefix.
@Suite struct FramingReadTests {
    /// `payload` behind a big-endian length prefix of `lengthBytes` bytes.
    static func prefixed(_ payload: [UInt8], lengthBytes: Int) -> [UInt8] {
        (0..<lengthBytes).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) } + payload
    }

    /// Payloads of 0–199 bytes, each different from its neighbours.
    static let payloads = (0..<600).map { [UInt8](repeating: UInt8($0 % 251), count: $0 % 200) }

    @Test(arguments: [1, 2, 4, 8])
    func lengthPrefixedFramesReadOneAtATimeWithoutTheirPrefix(_ lengthBytes: Int) async throws {
        try await onLoop { loop in
            // 100-byte reads: prefixes and payloads split across arrivals, so both the buffered
            // path and the waiting one deliver frames.
            let pair = try await makePair(.tcp, loop: loop, readChunkSize: 100)
            let writer = pair.writer
            let sent = spawn(on: loop) {
                for payload in Self.payloads { writer.queueWrite(Self.prefixed(payload, lengthBytes: lengthBytes)) }
                try await writer.flush()
                writer.close()
            }
            let framing = Framing.lengthPrefixed(lengthBytes: lengthBytes, maxLength: 255)
            var kept: [ReadFrame] = []
            for _ in Self.payloads { kept.append(try await pair.reader.readFrame(framing)) }
            try await sent.value
            #expect(kept.map { Array($0) } == Self.payloads)
            #expect(await expectStreamClosed { try await pair.reader.readFrame(framing) } == nil)  // plain EOF
        }
    }

    @Test(arguments: Transport.allCases)
    func callbackFramesChainOneReadPerFrame(_ transport: Transport) async throws {
        try await onLoop { loop in
            let pair = try await makePair(transport, loop: loop, readChunkSize: 512)
            let writer = pair.writer
            let reader = pair.reader
            let sent = spawn(on: loop) {
                for payload in Self.payloads { writer.queueWrite(Self.prefixed(payload, lengthBytes: 2)) }
                try await writer.flush()
            }
            let framing = Framing.lengthPrefixed(lengthBytes: 2, maxLength: 1000)
            let received = CallbackBox<[ReadFrame]>()
            var kept: [ReadFrame] = []
            func next() {
                guard kept.count < Self.payloads.count else { return received.complete(.success(kept)) }
                reader.readFrame(framing) { result in
                    switch result {
                    case .success(let frame):
                        kept.append(frame)
                        next()
                    case .failure(let error):
                        received.complete(.failure(error))
                    }
                }
            }
            next()
            let all = try await received.value()
            try await sent.value
            let mismatch = zip(all, Self.payloads).enumerated().first { Array($0.element.0) != $0.element.1 }?.offset
            #expect(all.count == Self.payloads.count && mismatch == nil, "frame \(mismatch ?? -1) is wrong")
            // A frame whose prefix and payload arrive apart waits for both.
            let late = spawn(on: loop) { try await awaitCallback { reader.readFrame(framing, callback: $0) } }
            try await writer.write([0])
            try await pause(10)
            try await writer.write([5] + bytes("la"))
            try await pause(10)
            try await writer.write(bytes("te!"))
            #expect(try await late.value == ReadFrame(bytes("late!")))
        }
    }

    @Test func delimitedAndFixedFramingsReadAsTheirOwnForms() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            try await pair.writer.write(bytes("ab\r\nxyz12345"))
            #expect(try await pair.reader.readFrame(.delimiter(bytes("\r\n"))) == ReadFrame(bytes("ab\r\n")))
            #expect(try await pair.reader.readFrame(.fixed(count: 3)) == ReadFrame(bytes("xyz")))
            let rest = try await awaitCallback { pair.reader.readFrame(.fixed(count: 5), callback: $0) }
            #expect(rest == ReadFrame(bytes("12345")))
            // A delimiter past its limit fails as readUntil's does, and closes the stream.
            try await pair.writer.write(bytes("too long a line\n"))
            let realError = await expectStreamClosed { try await pair.reader.readFrame(.delimiter(bytes("\n"), maxBytes: 4)) }
            #expect(realError as? UnsatisfiableReadError == UnsatisfiableReadError(maxBytes: 4, searchingFor: "delimiter \"\\n\""))
            #expect(pair.reader.isClosed)
        }
    }

    @Test(arguments: [false, true])
    func aLengthOverTheLimitFailsTheReadAsSoonAsThePrefixArrives(_ callback: Bool) async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            try await pair.writer.write(Self.prefixed(bytes("ok"), lengthBytes: 4) + [0x7F, 0xFF, 0xFF, 0xFF])  // no payload follows
            let framing = Framing.lengthPrefixed(maxLength: 1024)
            let reader = pair.reader
            #expect(try await reader.readFrame(framing) == ReadFrame(bytes("ok")))
            let start = ContinuousClock.now
            let failure: (any Error)?
            do {
                if callback {
                    _ = try await awaitCallback { reader.readFrame(framing, callback: $0) }
                } else {
                    _ = try await reader.readFrame(framing)
                }
                failure = nil
            } catch {
                failure = error
            }
            #expect(secondsSince(start) < 1)
            let expected = UnsatisfiableReadError(
                maxBytes: 1028, searchingFor: "a frame whose 4-byte length prefix says 2147483647 bytes")
            #expect((failure as? StreamClosedError)?.realError as? UnsatisfiableReadError == expected)
            #expect(reader.isClosed)
        }
    }

    @Test func invalidFramingsAreTypedErrorsAndTheStreamStaysOpen() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.tcp, loop: loop)
            try await pair.writer.write(bytes("kept\n"))
            for framing in [Framing.fixed(count: -1), .lengthPrefixed(maxLength: -5), .delimiter([])] {
                await #expect(throws: InvalidReadError.self) { try await pair.reader.readFrame(framing) }
                await #expect(throws: InvalidReadError.self) {
                    try await awaitCallback { pair.reader.readFrame(framing, callback: $0) }
                }
            }
            #expect(!pair.reader.isClosed)
            #expect(try await pair.reader.readFrame(.delimiter(bytes("\n"))) == ReadFrame(bytes("kept\n")))
        }
    }
}
