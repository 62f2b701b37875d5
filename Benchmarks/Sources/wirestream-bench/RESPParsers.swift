import WireRedis
import Wirestream

/// Generated vs hand-written RESP parsing over an in-memory source: `rounds` times a pipeline of
/// 1000 replies, each a 100-byte bulk string (`$100\r\n…\r\n`). Both parse every reply into a
/// value holding its bytes; the count of replies is the result.
enum RESPParsers {
    static let pipeline: [UInt8] = {
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
        var bytes: [UInt8] = []
        for _ in 0..<1000 { bytes += Array("$100\r\n".utf8) + value + [13, 10] }
        return bytes
    }()

    static func run(generated: Bool, rounds: Int) async throws -> (count: Int, scanned: Int) {
        var replies = 0
        var checksum = 0
        for _ in 0..<rounds {
            let source = MemoryByteSource(chunks: [pipeline])
            for _ in 0..<1000 {
                if generated {
                    guard case .bulk(let value?) = try await Reply.read(from: source) else { fatalError("not a bulk reply") }
                    checksum &+= value.count
                } else {
                    guard case .bulk(let value?) = try await HandWrittenRESP.read(from: source, depth: 0) else { fatalError("not a bulk reply") }
                    checksum &+= value.count
                }
                replies += 1
            }
        }
        precondition(checksum == replies * 100)
        return (replies, 0)
    }
}

/// A RESP2 reply parser written by hand against the same ByteSource, as a user without the
/// grammar compiler would write it: switch on the type byte, convert lines, length-prefixed bulks.
enum HandWrittenRESP: Equatable {
    case simple(String), error(String), integer(Int), bulk([UInt8]?), array([HandWrittenRESP]?)

    struct ProtocolError: Error {}

    static func read(from source: some ByteSource, depth: Int) async throws -> HandWrittenRESP {
        guard depth < 32 else { throw ProtocolError() }
        let type = try await source.readBytes(1, partial: false) { $0[0] }
        switch type {
        case UInt8(ascii: "+"): return .simple(try await line(source) { String(decoding: $0, as: UTF8.self) })
        case UInt8(ascii: "-"): return .error(try await line(source) { String(decoding: $0, as: UTF8.self) })
        case UInt8(ascii: ":"): return .integer(try await line(source, integer))
        case UInt8(ascii: "$"):
            let length = try await line(source, integer)
            if length == -1 { return .bulk(nil) }
            guard length >= 0, length <= 512 << 20 else { throw ProtocolError() }
            let value = try await source.readBytes(length, partial: false) { [UInt8]($0) }
            let crlf = try await source.readBytes(2, partial: false) { $0[0] == 13 && $0[1] == 10 }
            guard crlf else { throw ProtocolError() }
            return .bulk(value)
        case UInt8(ascii: "*"):
            let count = try await line(source, integer)
            if count == -1 { return .array(nil) }
            guard count >= 0, count <= 16_000_000 else { throw ProtocolError() }
            var elements: [HandWrittenRESP] = []
            elements.reserveCapacity(min(count, 1024))
            for _ in 0..<count { elements.append(try await read(from: source, depth: depth + 1)) }
            return .array(elements)
        default:
            throw ProtocolError()
        }
    }

    static func line<R>(_ source: some ByteSource, _ convert: (UnsafeRawBufferPointer) throws -> R) async throws -> R {
        try await source.readUntil([13, 10], maxBytes: 65_536) { frame in
            try convert(UnsafeRawBufferPointer(rebasing: frame[0..<(frame.count - 2)]))
        }
    }

    static func integer(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        var value = 0
        var negative = false
        for (index, byte) in bytes.enumerated() {
            if index == 0 && byte == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard byte >= 48 && byte <= 57 else { throw ProtocolError() }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(byte - 48))
            guard !o1 && !o2 else { throw ProtocolError() }
            value = sum
        }
        guard !bytes.isEmpty else { throw ProtocolError() }
        return negative ? -value : value
    }
}
