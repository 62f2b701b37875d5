/// Where each command's keys are, learnt from the server (`COMMAND`): what a cluster client needs
/// to route a command by its keys and to know whether a replica may answer it.
///
/// Keys are found with the command's *key specs* (Redis 7: a start — an argument index or a
/// keyword such as `STREAMS` — then a range or a count argument such as `EVAL`'s `numkeys`), the
/// way the server itself finds them; servers before 7 give only first/last/step. A command whose
/// specs are incomplete (`SORT … STORE`, `MIGRATE … KEYS`) is answered by ``KeyLookup/askServer``:
/// the caller asks a node with `COMMAND GETKEYS`.
public struct RedisCommandTable: Sendable {
    /// What is known of one command or subcommand.
    struct Info: Sendable {
        var flags: Set<String>
        var firstKey: Int, lastKey: Int, step: Int
        var specs: [KeySpec]?  // nil: the server gave none (before 7)
        var subcommands: [String: Info] = [:]
    }

    struct KeySpec: Sendable {
        enum Begin: Sendable {
            case index(Int)
            case keyword(String, startFrom: Int)
            case unknown
        }
        enum Find: Sendable {
            case range(lastKey: Int, step: Int, limit: Int)
            case keyCount(index: Int, firstKey: Int, step: Int)
            case unknown
        }
        var begin: Begin
        var find: Find
        var incomplete: Bool
    }

    /// The keys of a command, or that the table cannot tell.
    public enum KeyLookup: Equatable, Sendable {
        /// The keys (none: the command has no key).
        case keys([[UInt8]])
        /// The command moves its keys in a way only the server can work out (`COMMAND GETKEYS`).
        case askServer
        /// The server does not know the command.
        case unknownCommand
    }

    private var commands: [String: Info]

    /// The table from a `COMMAND` reply (RESP2 or RESP3).
    /// - Throws: `RedisReplyTypeError` when the reply is not a command list.
    public init(commandReply reply: Reply) throws {
        guard let entries = try reply.redisChecked().elements else {
            throw RedisReplyTypeError(expected: "the COMMAND list", reply: reply)
        }
        commands = [:]
        for entry in entries {
            let (name, info) = try Self.info(entry)
            commands[name] = info
        }
    }

    /// How many commands the server described.
    public var count: Int { commands.count }

    /// The keys `command` names (its arguments at the positions its specs give).
    public func keys(of command: Command) -> KeyLookup {
        guard let info = info(of: command) else { return .unknownCommand }
        let arguments = command.arguments
        guard let specs = info.specs else {
            if info.flags.contains("movablekeys") { return .askServer }
            return .keys(Self.legacyKeys(arguments, info))
        }
        var keys: [[UInt8]] = []
        for spec in specs {
            guard !spec.incomplete, let found = Self.keys(arguments, spec) else { return .askServer }
            keys += found
        }
        return .keys(keys)
    }

    /// True when the server marks `command` read-only (a replica may answer it after `READONLY`).
    public func isReadOnly(_ command: Command) -> Bool {
        guard let info = info(of: command) else { return false }
        return info.flags.contains("readonly") && !info.flags.contains("write")
    }

    /// The entry for the command's name, or its subcommand's (`XINFO STREAM`, `OBJECT ENCODING`).
    private func info(of command: Command) -> Info? {
        guard let first = command.arguments.first else { return nil }
        guard let info = commands[String(decoding: first.value, as: UTF8.self).lowercased()] else { return nil }
        if !info.subcommands.isEmpty, command.arguments.count > 1 {
            let sub = String(decoding: command.arguments[1].value, as: UTF8.self).lowercased()
            return info.subcommands[sub] ?? info
        }
        return info
    }

    // MARK: Finding keys (the server's getKeysUsingKeySpecs, in Swift)

    private static func keys(_ arguments: [BulkString], _ spec: KeySpec) -> [[UInt8]]? {
        let count = arguments.count
        var first: Int
        switch spec.begin {
        case .index(let index):
            first = index
        case .keyword(let keyword, let startFrom):
            let start = startFrom > 0 ? startFrom : count + startFrom
            let wanted = Array(keyword.uppercased().utf8)
            let indices = startFrom > 0 ? Array(stride(from: start, to: count, by: 1)) : Array(stride(from: start, through: 1, by: -1))
            guard let found = indices.first(where: { $0 >= 1 && $0 < count && uppercased(arguments[$0].value) == wanted }) else {
                return []  // keyword absent: this spec names no key
            }
            first = found + 1
        case .unknown:
            return nil
        }
        let last: Int, step: Int
        switch spec.find {
        case .range(let lastKey, let keyStep, let limit):
            if lastKey >= 0 {
                last = first + lastKey
            } else if limit == 0 {
                last = count + lastKey
            } else {
                last = first + ((count - first) / limit + lastKey)
            }
            step = keyStep
        case .keyCount(let index, let firstKey, let keyStep):
            guard first + index < count, let number = Int(String(decoding: arguments[first + index].value, as: UTF8.self)),
                number >= 0
            else { return [] }  // the server refuses such a command itself
            first += firstKey
            last = first + number - 1
            step = keyStep
        case .unknown:
            return nil
        }
        guard step > 0 else { return [] }
        var keys: [[UInt8]] = []
        var index = first
        while index <= last, index < count {
            keys.append(arguments[index].value)
            index += step
        }
        return keys
    }

    private static func legacyKeys(_ arguments: [BulkString], _ info: Info) -> [[UInt8]] {
        guard info.firstKey > 0, info.step > 0 else { return [] }
        let last = info.lastKey >= 0 ? info.lastKey : arguments.count + info.lastKey
        return stride(from: info.firstKey, through: min(last, arguments.count - 1), by: info.step).map { arguments[$0].value }
    }

    private static func uppercased(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") ? $0 - 32 : $0 }
    }

    // MARK: Reading the COMMAND reply

    /// `[name, arity, flags, first, last, step, categories, tips, key specs, subcommands]`.
    private static func info(_ entry: Reply) throws -> (String, Info) {
        guard let fields = entry.elements, fields.count >= 6, let name = fields[0].string?.lowercased(),
            case .integer(let first) = fields[3], case .integer(let last) = fields[4], case .integer(let step) = fields[5]
        else { throw RedisReplyTypeError(expected: "a COMMAND entry", reply: entry) }
        let flags = Set((fields[2].elements ?? []).compactMap { $0.string?.lowercased() })
        var info = Info(flags: flags, firstKey: first, lastKey: last, step: step)
        if fields.count > 8 {
            info.specs = try (fields[8].elements ?? []).map(keySpec)
        }
        if fields.count > 9 {
            for sub in fields[9].elements ?? [] {
                let (subname, subinfo) = try Self.info(sub)
                info.subcommands[String(subname.split(separator: "|").last ?? Substring(subname))] = subinfo
            }
        }
        return (name, info)
    }

    private static func keySpec(_ reply: Reply) throws -> KeySpec {
        let fields = try map(reply)
        let flags = Set((fields["flags"]?.elements ?? []).compactMap { $0.string?.uppercased() })
        let begin = try map(fields["begin_search"] ?? .null)
        let find = try map(fields["find_keys"] ?? .null)
        let beginSpec = try map(begin["spec"] ?? .null)
        let findSpec = try map(find["spec"] ?? .null)
        func number(_ spec: [String: Reply], _ name: String) -> Int? {
            if case .integer(let value) = spec[name] { return value }
            return nil
        }
        let beginning: KeySpec.Begin = switch begin["type"]?.string {
        case "index": number(beginSpec, "index").map { .index($0) } ?? .unknown
        case "keyword":
            if let keyword = beginSpec["keyword"]?.string, let start = number(beginSpec, "startfrom") { .keyword(keyword, startFrom: start) } else { .unknown }
        default: .unknown
        }
        let finding: KeySpec.Find = switch find["type"]?.string {
        case "range":
            if let last = number(findSpec, "lastkey"), let step = number(findSpec, "keystep"), let limit = number(findSpec, "limit") {
                .range(lastKey: last, step: step, limit: limit)
            } else { .unknown }
        case "keynum":
            if let index = number(findSpec, "keynumidx"), let first = number(findSpec, "firstkey"), let step = number(findSpec, "keystep") {
                .keyCount(index: index, firstKey: first, step: step)
            } else { .unknown }
        default: .unknown
        }
        return KeySpec(begin: beginning, find: finding, incomplete: flags.contains("INCOMPLETE"))
    }

    /// A RESP3 map or a RESP2 flat array of pairs, by name.
    private static func map(_ reply: Reply) throws -> [String: Reply] {
        if reply == .null { return [:] }
        var fields: [String: Reply] = [:]
        for (key, value) in try reply.redisPairs() { fields[try key.redisString()] = value }
        return fields
    }
}
