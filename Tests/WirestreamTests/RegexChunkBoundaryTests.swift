import Glibc
import Logging
import Testing

@testable import Wirestream

/// A stream over a real pipe whose reads return exactly the scripted chunk sizes, so a test
/// controls where the byte stream is split (none scripted: as much as the pipe holds). It counts
/// its `read` calls, and those that would have blocked.
final class ScriptedChunkStream: BaseIOStream, @unchecked Sendable {
    // @unchecked Sendable: loop-confined like every stream.
    private var fd: Int32
    private var chunkSizes: [Int]
    private(set) var reads = 0
    private(set) var wouldBlock = 0

    init(fd: Int32, loop: IOLoop, chunkSizes: [Int] = [], readChunkSize: Int? = nil) throws {
        try FileDescriptorIO.setNonBlocking(fd)
        self.fd = fd
        self.chunkSizes = chunkSizes
        super.init(loop: loop, readChunkSize: readChunkSize, logger: Logger(label: "scripted") { _ in SwiftLogNoOpLogHandler() })
    }

    override func fileno() -> Int32 { fd }
    override func closeFD() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    override func readFromFD(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        let size = chunkSizes.isEmpty ? buffer.count : min(chunkSizes.removeFirst(), buffer.count)
        reads += 1
        let n = try FileDescriptorIO.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size]))
        if n == nil { wouldBlock += 1 }
        return n
    }
}

@Suite struct RegexChunkBoundaryTests {
    static let cases: [(pattern: String, options: Pattern.Options, stream: [UInt8])] = [
        (#"\r?\n"#, [], bytes("ab\r\ncd\n\r\n\nef\r\r\ngh\r")),
        (#"\r?\n\r?\n"#, [], bytes("a\r\n\r\nb\n\nc\r\n\nd\n\r\ne\r\n\r")),
        ("[0-9]+;", [], bytes("x12;345;;6;7a89;0")),
        ("(?<tag>[A-Z]+) ", [], bytes("GET  POST x PUT PATCH DELETE")),
        ("(?<word>[^ ]+) ", [.utf], bytes("héllo wörld 日本語 😀x 𝄞")),  // splits inside characters
        ("(?<word>[^ ]+) ", [.utf], bytes("ab cd é") + [0xE9, 0x20] + bytes("ef ")),  // an invalid byte
    ]

    /// Reads frames until the stream ends: each frame with its group ranges, then how it ended.
    static func frames(
        of data: [UInt8], pattern: Pattern, maxBytes: Int? = nil, chunkSizes: [Int], loop: IOLoop
    ) async throws -> [String] {
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0)
        _ = data.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])  // the whole stream is in the pipe, then EOF
        let stream = try ScriptedChunkStream(fd: fds[0], loop: loop, chunkSizes: chunkSizes)
        defer { stream.close() }
        var frames: [String] = []
        while true {
            do {
                let match = try await stream.readUntilRegex(pattern, maxBytes: maxBytes)
                frames.append("\(text(match.bytes).debugDescription) \(match.groups)")
            } catch let error as StreamClosedError {
                frames.append("closed \(String(describing: error.realError))")
                // After an orderly EOF the rest is all buffered; after an error close, what had
                // been read when it happened depends on the chunks, so it is not compared.
                if error.realError == nil {
                    frames.append("rest \(text(try await stream.readUntilClose()).debugDescription)")
                }
                return frames
            }
        }
    }

    @Test(arguments: 0..<cases.count)
    func framesDoNotDependOnWhereTheStreamIsSplit(_ index: Int) async throws {
        let (source, options, data) = Self.cases[index]
        let pattern = try Pattern(source, options: options)
        try await onLoop { loop in
            let reference = try await Self.frames(of: data, pattern: pattern, chunkSizes: [data.count], loop: loop)
            #expect(reference.count > 2)  // the sample really has several frames
            // Two pieces, split at every position.
            for split in 1..<data.count {
                let frames = try await Self.frames(
                    of: data, pattern: pattern, chunkSizes: [split, data.count - split], loop: loop)
                #expect(frames == reference, "split at \(split)")
            }
            // One byte at a time.
            let bytewise = try await Self.frames(
                of: data, pattern: pattern, chunkSizes: Array(repeating: 1, count: data.count), loop: loop)
            #expect(bytewise == reference, "byte by byte")
            // Random splits (seeded, so a failure reproduces).
            var generator = SplitMix64(seed: UInt64(index) &+ 0x5EED)
            for round in 0..<50 {
                var sizes: [Int] = []
                var left = data.count
                while left > 0 {
                    let size = Int.random(in: 1...max(1, min(left, 5)), using: &generator)
                    sizes.append(size)
                    left -= size
                }
                let frames = try await Self.frames(of: data, pattern: pattern, chunkSizes: sizes, loop: loop)
                #expect(frames == reference, "round \(round): \(sizes)")
            }
        }
    }
}

extension RegexChunkBoundaryTests {
    /// `maxBytes` cases: the result is the match over the whole data, whatever the split — a match
    /// that ends exactly at the limit waits for one more byte or EOF before it is accepted.
    static let limitCases: [(pattern: String, maxBytes: Int, stream: [UInt8])] = [
        ("[0-9]+", 2, bytes("12;3;4")),  // ends at the limit, then ";" proves it complete
        ("[0-9]+", 2, bytes("12")),  // EOF right after the limit: complete
        ("[0-9]+", 2, bytes("123")),  // one byte past the limit: unsatisfiable
        ("[0-9]+", 2, bytes("1;23;456")),
        (#"\r?\n"#, 3, bytes("ab\nc\r\nd\r\n\n\r\n")),
        ("a+b?", 3, bytes("aab;aaab")),
        ("x[0-9]", 2, bytes("abx1")),  // no match within the limit
        ("[0-9]+;", 3, bytes("12;3;")),
    ]

    @Test(arguments: 0..<limitCases.count)
    func maxBytesResultsDoNotDependOnWhereTheStreamIsSplit(_ index: Int) async throws {
        let (source, maxBytes, data) = Self.limitCases[index]
        let pattern = try Pattern(source)
        try await onLoop { loop in
            let reference = try await Self.frames(
                of: data, pattern: pattern, maxBytes: maxBytes, chunkSizes: [data.count], loop: loop)
            for split in 1..<data.count {
                let frames = try await Self.frames(
                    of: data, pattern: pattern, maxBytes: maxBytes, chunkSizes: [split, data.count - split], loop: loop)
                #expect(frames == reference, "split at \(split)")
            }
            let bytewise = try await Self.frames(
                of: data, pattern: pattern, maxBytes: maxBytes, chunkSizes: Array(repeating: 1, count: data.count),
                loop: loop)
            #expect(bytewise == reference, "byte by byte")
        }
    }

    @Test func aMatchEndingAtTheLimitIsAcceptedOnlyOnceTheNextByteEndsIt() async throws {
        let pattern = try Pattern("[0-9]+")
        try await onLoop { loop in
            #expect(try await Self.frames(of: bytes("12;"), pattern: pattern, maxBytes: 2, chunkSizes: [2, 1], loop: loop)
                == ["\"12\" [Optional(Range(0..<2))]", "closed nil", "rest \";\""])
            let tooLong = try await Self.frames(of: bytes("123"), pattern: pattern, maxBytes: 2, chunkSizes: [2, 1], loop: loop)
            #expect(tooLong.count == 1 && tooLong[0].contains("not found within 2 bytes"))
            // At EOF right after the limit the match is complete.
            #expect(try await Self.frames(of: bytes("12"), pattern: pattern, maxBytes: 2, chunkSizes: [2], loop: loop).first
                == "\"12\" [Optional(Range(0..<2))]")
        }
    }
}

/// A small seeded generator, so random splits are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
