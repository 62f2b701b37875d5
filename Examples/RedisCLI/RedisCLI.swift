import ArgumentParser
import WireRedis
import Wirestream

/// `wire-redis [--host H] [--port P] [-u URL] [-a PASSWORD] [-n DB] [--tls] COMMAND [ARG…]`: sends one
/// command with the RedisClient (the RESP encoder and parser generated from
/// Grammars/WireRedis/resp.wire, RESP3 unless `--resp2`) and prints the reply the way redis-cli does.
@main
struct RedisCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire-redis", abstract: "Send a command to a Redis server and print the reply.")

    @Option(help: "Server host.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 6379
    @Option(name: [.customShort("u"), .long], help: "Server URL: redis://[[user]:password@]host[:port][/db] or rediss://…")
    var url: String?
    @Option(name: [.customShort("a"), .long], help: "Password (AUTH).") var password: String?
    @Option(name: [.customShort("n"), .long], help: "Database number.") var database: Int?
    @Flag(help: "Use TLS, verifying the server's certificate.") var tls = false
    @Flag(help: "Speak RESP2 (no HELLO 3).") var resp2 = false
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, e.g. SET greeting hello.")
    var command: [String]

    func run() async throws {
        var configuration = try url.map(RedisConfiguration.init(url:)) ?? RedisConfiguration(host: host, port: port)
        if let password { configuration.password = password }
        if let database { configuration.database = database }
        if tls && configuration.tls == nil { configuration.tls = .client() }
        if resp2 { configuration.protocolVersion = .resp2 }
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        let reply = try await redis.send(command)
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
