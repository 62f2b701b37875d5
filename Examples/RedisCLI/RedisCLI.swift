import ArgumentParser
import Glibc
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
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, e.g. SET greeting hello. Without one: a prompt (or commands from standard input, one per line).")
    var command: [String] = []

    func run() async throws {
        var configuration = try url.map(RedisConfiguration.init(url:)) ?? RedisConfiguration(host: host, port: port)
        if let password { configuration.password = password }
        if let database { configuration.database = database }
        if tls && configuration.tls == nil { configuration.tls = .client() }
        if resp2 { configuration.protocolVersion = .resp2 }
        // The command's words are passed through untouched (values may start with "-"), so help
        // is recognised here, before anything is sent.
        if let first = command.first, first == "--help" || first == "-h" { throw CleanExit.helpRequest(self) }
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        guard command.isEmpty else {
            let reply = try await redis.send(command)
            print(Self.render(reply, indent: ""), terminator: "")
            if case .error = reply { throw ExitCode(1) }
            return
        }
        // No command: one per line from standard input, with a prompt on a terminal (redis-cli's).
        let editor = isatty(STDIN_FILENO) == 1 ? LineEditor() : nil  // a terminal: editing and history
        let prompt = configuration.unixSocketPath ?? "\(configuration.host):\(configuration.port)"
        while true {
            let entered: String?
            if let editor { entered = editor.line(prompt: "\(prompt)> ") } else { entered = readLine() }
            guard let line = entered else { break }
            let words = Self.words(line)
            guard let name = words.first?.lowercased() else { continue }
            if name == "quit" || name == "exit" { break }
            do {
                print(Self.render(try await redis.send(words), indent: ""), terminator: "")
            } catch {
                print("(error) \(error)")
            }
        }
    }

    /// Splits a command line into words as redis-cli does: spaces separate, "double" or 'single'
    /// quotes group, and \n, \r, \t, \", \\ and \xHH escape inside double quotes.
    static func words(_ line: String) -> [String] {
        var words: [String] = []
        var current: [UInt8] = []
        var inWord = false
        var quote: UInt8?
        var bytes = Array(line.utf8)[...]
        while let byte = bytes.popFirst() {
            if let open = quote {
                if byte == open {
                    quote = nil
                } else if byte == UInt8(ascii: "\\") && open == UInt8(ascii: "\""), let escaped = bytes.popFirst() {
                    switch escaped {
                    case UInt8(ascii: "n"): current.append(10)
                    case UInt8(ascii: "r"): current.append(13)
                    case UInt8(ascii: "t"): current.append(9)
                    case UInt8(ascii: "x") where bytes.count >= 2:
                        let hex = String(decoding: bytes.prefix(2), as: UTF8.self)
                        if let value = UInt8(hex, radix: 16) {
                            current.append(value)
                            bytes = bytes.dropFirst(2)
                        } else {
                            current.append(escaped)
                        }
                    default: current.append(escaped)
                    }
                } else {
                    current.append(byte)
                }
            } else if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                if inWord { words.append(String(decoding: current, as: UTF8.self)) }
                current = []
                inWord = false
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
                inWord = true
            } else {
                current.append(byte)
                inWord = true
            }
        }
        if inWord { words.append(String(decoding: current, as: UTF8.self)) }
        return words
    }

    /// redis-cli's layout: `(integer) 1`, `"text"`, `(nil)`, numbered elements for aggregates —
    /// `1)` arrays, `1~` sets, `1#` maps (`key => value`).
    static func render(_ reply: Reply, indent: String) -> String {
        func numbered(_ elements: [Reply], marker: String = ")", empty: String = "(empty array)") -> String {
            if elements.isEmpty { return empty + "\n" }
            return elements.enumerated().map { index, element in
                let prefix = "\(index + 1)\(marker) "
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
        case .array(let elements?), .push(let elements): return numbered(elements)
        case .set(let elements): return numbered(elements, marker: "~", empty: "(empty set)")
        case .map(let entries):
            if entries.isEmpty { return "(empty hash)\n" }
            return entries.enumerated().map { index, entry in
                let prefix = "\(index + 1)# "
                let key = render(entry.key, indent: "").dropLast()  // keys are scalars in practice
                let valueIndent = indent + String(repeating: " ", count: prefix.count + key.count + 4)
                return (index == 0 ? "" : indent) + prefix + key + " => " + render(entry.value, indent: valueIndent)
            }.joined()
        case .attribute(_, let reply): return render(reply, indent: indent)
        }
    }
}
