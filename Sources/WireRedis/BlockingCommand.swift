import Wirestream

/// A command the server may hold for as long as its own timeout argument says (`BLPOP k 5`,
/// `XREAD BLOCK 5000 …`, `WAIT 1 100`): the client waits that long plus a margin, not the
/// ordinary command timeout.
struct BlockingCommand {
    /// The server-side timeout; `nil` for "block for ever" (0).
    let serverTimeout: Duration?

    /// Whether a command named starting with `initial` may block: the blocking commands' names
    /// start with `B`, `W` or `X`, so anything else is answered without decoding its arguments.
    /// (A switch, not a `Set`: every command asks, and hashing a byte cost more than the rest.)
    private static func mayBlock(_ initial: UInt8) -> Bool {
        switch initial | 0x20 {  // ASCII lower case
        case UInt8(ascii: "b"), UInt8(ascii: "w"), UInt8(ascii: "x"): true
        default: false
        }
    }

    /// `nil` when `command` does not block.
    init?(_ command: Command) {
        guard let first = command.arguments.first?.value.first, Self.mayBlock(first) else { return nil }
        self.init(words: command.arguments.map { String(decoding: $0.value, as: UTF8.self) })
    }

    /// `nil` when the command `words` name does not block.
    init?(_ words: [String]) {
        guard let first = words.first?.utf8.first, Self.mayBlock(first) else { return nil }
        self.init(words: words)
    }

    private init?(words: [String]) {
        guard let name = words.first?.uppercased() else { return nil }
        let seconds: Double?
        switch name {
        case "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BZPOPMIN", "BZPOPMAX":
            seconds = words.count > 1 ? Double(words[words.count - 1]) : nil  // the last argument
        case "BLMPOP", "BZMPOP":
            seconds = words.count > 1 ? Double(words[1]) : nil  // the first argument
        case "WAIT", "WAITAOF":
            seconds = Double(words[words.count - 1]).map { $0 / 1000 }  // milliseconds, last
        case "XREAD", "XREADGROUP":
            guard let block = words.firstIndex(where: { $0.uppercased() == "BLOCK" }), block + 1 < words.count else {
                return nil  // without BLOCK it answers at once
            }
            seconds = Double(words[block + 1]).map { $0 / 1000 }
        default:
            return nil
        }
        guard let seconds, seconds.isFinite, seconds >= 0 else {
            serverTimeout = .zero  // unreadable: the server will refuse it at once
            return
        }
        serverTimeout = seconds == 0 ? nil : .nanoseconds(Int64(min(seconds, 1e9) * 1e9))
    }
}
