import Foundation
import Testing
import WireRedis
import Wirestream

/// The generated RESP encoder and parser against a real redis-server started by the test.
@Suite(.serialized)
struct RedisIntegrationTests {
    static func command(_ words: String...) -> Command {
        Command(arguments: words.map { BulkString(value: Array($0.utf8)) })
    }

    /// A redis-server on a free loopback port (no persistence) and a stream connected to it.
    static func startRedis() async throws -> (ServerProcess, IOStream) {
        let executable = try #require(ServerProcess.locate("redis-server"), "redis-server is installed by .ci/run")
        let server = try ServerProcess(executable) { port in
            ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        }
        return (server, try await connect(port: server.port))
    }

    static func ask(_ stream: IOStream, _ command: Command) async throws -> Reply {
        try stream.queueWrite(command)
        return try await Reply.read(from: stream)
    }

    @Test func commandsAndRepliesOverTheNetwork() async throws {
        let (server, stream) = try await Self.startRedis()
        defer {
            stream.close()
            server.stop()
        }

        #expect(try await Self.ask(stream, Self.command("SET", "greeting", "hello\r\nworld")) == .simple("OK"))
        #expect(try await Self.ask(stream, Self.command("GET", "greeting")) == .bulk(value: Array("hello\r\nworld".utf8)))
        #expect(try await Self.ask(stream, Self.command("GET", "missing")) == .bulk(value: nil))
        #expect(try await Self.ask(stream, Self.command("INCR", "counter")) == .integer(1))
        #expect(try await Self.ask(stream, Self.command("RPUSH", "list", "a", "b", "c")) == .integer(3))
        #expect(try await Self.ask(stream, Self.command("LRANGE", "list", "0", "-1"))
            == .array(elements: ["a", "b", "c"].map { .bulk(value: Array($0.utf8)) }))
        guard case .error(let message) = try await Self.ask(stream, Self.command("INCR", "list")) else {
            Issue.record("INCR on a list must be an error reply")
            return
        }
        #expect(message.hasPrefix("WRONGTYPE"))

        // A nested reply: COMMAND INFO get → [[name, arity, [flags…], first, last, step, [acl…], …]]
        guard case .array(let info?) = try await Self.ask(stream, Self.command("COMMAND", "INFO", "get")),
            case .array(let entry?) = info.first
        else {
            Issue.record("COMMAND INFO must be an array of arrays")
            return
        }
        #expect(entry.first == .bulk(value: Array("get".utf8)))
        #expect(entry[1] == .integer(2))
        #expect(entry.contains { if case .array(let flags?) = $0 { flags.contains(.simple("readonly")) } else { false } })

        // Pipelining: 500 commands queued before the first reply is read.
        for _ in 0..<500 { try stream.queueWrite(Self.command("INCR", "pipelined")) }
        for expected in 1...500 {
            #expect(try await Reply.read(from: stream) == .integer(expected))
        }
        // The same on the loop's own executor, where buffered replies take the parser's synchronous
        // fast path (readUntilIfBuffered / readBytesIfBuffered) and the rest await the stream.
        for _ in 0..<500 { try stream.queueWrite(Self.command("LRANGE", "list", "0", "-1")) }
        try await withTaskExecutorPreference(stream.loop) { () async throws -> Void in
            for _ in 0..<500 {
                #expect(try await Reply.read(from: stream) == .array(elements: ["a", "b", "c"].map { .bulk(value: Array($0.utf8)) }))
            }
        }
    }

    @Test func resp3RepliesOverTheNetwork() async throws {
        let (server, stream) = try await Self.startRedis()
        defer {
            stream.close()
            server.stop()
        }

        guard case .map(let hello) = try await Self.ask(stream, Self.command("HELLO", "3")) else {
            Issue.record("HELLO 3 answers with a map")
            return
        }
        #expect(hello.contains { $0.key == .bulk(value: Array("proto".utf8)) && $0.value == .integer(3) })
        _ = try await Self.ask(stream, Self.command("HSET", "h", "field", "value"))
        #expect(try await Self.ask(stream, Self.command("HGETALL", "h"))
            == .map(entries: [Pair(key: .bulk(value: Array("field".utf8)), value: .bulk(value: Array("value".utf8)))]))
        #expect(try await Self.ask(stream, Self.command("GET", "missing")) == .null)
        _ = try await Self.ask(stream, Self.command("SET", "n", "1.5"))
        #expect(try await Self.ask(stream, Self.command("INCRBYFLOAT", "n", "1")) == .bulk(value: Array("2.5".utf8)))
        _ = try await Self.ask(stream, Self.command("SADD", "s", "x"))
        #expect(try await Self.ask(stream, Self.command("SMEMBERS", "s")) == .set(elements: [.bulk(value: Array("x".utf8))]))
    }
}
