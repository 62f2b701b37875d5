import ArgumentParser
import WireRedis
import Wirestream

/// `wire-redis [--host H] [--port P] COMMAND [ARG…]`: sends one command with the RedisClient (the
/// RESP encoder and parser generated from Grammars/WireRedis/resp.wire) and prints the reply the
/// way redis-cli does. With `--resp3`, says HELLO 3 first and prints RESP3 types.
@main
struct RedisCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire-redis", abstract: "Send a command to a Redis server and print the reply.")

    @Option(help: "Server host.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 6379
    @Flag(help: "Switch the connection to RESP3 (HELLO 3) first.") var resp3 = false
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, e.g. SET greeting hello.")
    var command: [String]

    func run() async throws {
        let redis = try await RedisClient.connect(host: host, port: port)
        defer { redis.close() }
        if resp3 { _ = try await redis.send("HELLO", "3") }
        try redis.queue(Command(command))
        let reply = try await redis.nextReply()
        print(Self.render(reply, indent: ""), terminator: "")
        if case .error = reply { throw ExitCode(1) }
    }

    /// redis-cli's layout: `(integer) 1`, `"text"`, `(nil)`, numbered elements for aggregates.
    static func render(_ reply: Reply, indent: String) -> String {
        func numbered(_ elements: [Reply]) -> String {
            if elements.isEmpty { return "(empty array)\n" }
            return elements.enumerated().map { index, element in
                let prefix = "\(index + 1)) "
                let body = render(element, indent: indent + String(repeating: " ", count: prefix.count))
                return (index == 0 ? "" : indent) + prefix + body
            }.joined()
        }
        switch reply {
        case .simple(let text): return text + "\n"
        case .error(let text), .blobError(let text): return "(error) \(text)\n"
        case .integer(let value): return "(integer) \(value)\n"
        case .bulk(let bytes?): return "\"\(String(decoding: bytes, as: UTF8.self))\"\n"
        case .bulk(nil), .array(nil), .null: return "(nil)\n"
        case .boolean(let value): return "(\(value == .true ? "true" : "false"))\n"
        case .double(let value): return "(double) \(value)\n"
        case .bigNumber(let text): return "(big number) \(text)\n"
        case .verbatim(let text): return "\"\(text.dropFirst(4))\"\n"
        case .array(let elements?), .set(let elements), .push(let elements): return numbered(elements)
        case .map(let entries):
            return numbered(entries.flatMap { [$0.key, $0.value] })
        case .attribute(_, let reply): return render(reply, indent: indent)
        }
    }
}
