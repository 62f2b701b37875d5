import Foundation
import Testing
import WireLines
import WireRedis
import Wirestream

/// The thin clients over the generated parsers and encoders, against real peers.
@Suite(.serialized)
struct ClientTests {
    @Test func redisClientSendsAndPipelines() async throws {
        let (server, stream) = try await RedisIntegrationTests.startRedis()
        stream.close()
        let redis = try await RedisClient.connect(port: server.port)
        defer {
            redis.close()
            server.stop()
        }
        #expect(try await redis.send("SET", "name", "wirestream").string == "OK")
        #expect(try await redis.send("GET", "name").string == "wirestream")
        let pushed = try await redis.pipeline((0..<100).map { ["RPUSH", "queue", "item\($0)"] })
        #expect(pushed == (1...100).map { Reply.integer($0) })
        let items = try await redis.send("LRANGE", "queue", "0", "2").elements?.compactMap(\.string)
        #expect(items == ["item0", "item1", "item2"])
        guard case .error(let message) = try await redis.send("NOSUCHCOMMAND") else {
            Issue.record("an unknown command is an error reply")
            return
        }
        #expect(message.hasPrefix("ERR"))
    }

    @Test func lineClientsTalkOverAPipe() async throws {
        let pipe = try PipeIOStream.makePipe(loop: .shared)
        let sender = LineClient(stream: pipe.writer)
        let receiver = LineClient(stream: pipe.reader)
        for line in ["hello", "wörld\r", ""] { try sender.send(line) }
        #expect(throws: WireEncodingError.self) { try sender.send("two\nlines") }
        try await sender.flush()
        pipe.writer.close()
        #expect(try await receiver.nextLine() == "hello")
        #expect(try await receiver.nextLine() == "wörld")  // the "\r" before "\n" is dropped
        #expect(try await receiver.nextLine() == "")
        await #expect(throws: StreamClosedError.self) { try await receiver.nextLine() }
        pipe.reader.close()
    }

    @Test func lineClientsWithAnotherDelimiterALimitAndADeadline() async throws {
        let pipe = try PipeIOStream.makePipe(loop: .shared)
        let sender = LineClient(stream: pipe.writer, delimiter: "\r\n", maxLineLength: 8)
        let receiver = LineClient(stream: pipe.reader, delimiter: "\r\n", maxLineLength: 8, timeout: .milliseconds(200))
        try sender.send("a\nb")  // a bare LF is just a byte here
        #expect(throws: WireEncodingError.self) { try sender.send("x\r\ny") }
        #expect(throws: WireEncodingError.self) { try sender.send("123456789") }
        try sender.send("12345678")
        try await sender.flush()
        #expect(try await receiver.nextLine() == "a\nb")
        #expect(try await receiver.nextLine() == "12345678")
        let start = ContinuousClock.now
        await #expect(throws: TimeoutError.self) { try await receiver.nextLine() }  // nothing more comes
        #expect(ContinuousClock.now - start < .seconds(2))
        pipe.writer.queueWrite([0xFF, 0xFE, 0x0D, 0x0A])  // not UTF-8
        let invalid = await #expect(throws: WireProtocolError.self) { try await receiver.nextLine() }
        #expect(invalid?.kind == .invalidUTF8)
        pipe.writer.queueWrite(Array("far too long\r\n".utf8))
        let long = await #expect(throws: StreamClosedError.self) { try await receiver.nextLine() }
        #expect(long?.realError is UnsatisfiableReadError)
        pipe.writer.close()
    }
}
