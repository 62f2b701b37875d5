// redis-command-generator COMMANDS.json OUTPUT.swift
//
// Generates the typed command methods of RedisCommands (RedisClient, RedisClusterClient) from a
// Redis server's command spec (`redis-cli --json COMMAND DOCS`, kept as Grammars/WireRedis/commands.json): one method per
// command and subcommand, its arguments typed from the spec — keys and strings as String, integers
// as Int, doubles as Double, pure tokens as Bool flags, `oneof` as a generated enum, blocks as
// tuples (plain ones) or generated structs, `multiple` as arrays, `optional` with defaults. The
// commonly used commands get precise result types (the table below); the rest return `Reply`.
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3, let data = FileManager.default.contents(atPath: arguments[1]),
    let spec = try JSONSerialization.jsonObject(with: data) as? [String: Any]
else {
    FileHandle.standardError.write(Data("usage: redis-command-generator COMMANDS.json OUTPUT.swift\n".utf8))
    exit(1)
}

/// Commands with a method of their own elsewhere, or that cannot share a pipelined connection.
let skipped: Set<String> = [
    "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "monitor", "sync",
    "psync", "quit", "reset", "hello", "multi", "exec", "discard", "watch", "unwatch",
    "scan", "hscan", "sscan", "zscan",  // AsyncSequences of their own (RedisScan.swift)
]

/// Precise results: command → (Swift type, conversion of `reply`).
let typedResults: [String: (type: String, convert: String)] = [
    "get": ("String?", "try reply.redisOptionalString()"), "getdel": ("String?", "try reply.redisOptionalString()"),
    "getex": ("String?", "try reply.redisOptionalString()"), "hget": ("String?", "try reply.redisOptionalString()"),
    "lindex": ("String?", "try reply.redisOptionalString()"), "echo": ("String", "try reply.redisString()"),
    "getrange": ("String", "try reply.redisString()"), "type": ("String", "try reply.redisString()"),
    "ping": ("String", "try reply.redisString()"), "randomkey": ("String?", "try reply.redisOptionalString()"),
    "incr": ("Int", "try reply.redisInteger()"), "decr": ("Int", "try reply.redisInteger()"),
    "incrby": ("Int", "try reply.redisInteger()"), "decrby": ("Int", "try reply.redisInteger()"),
    "del": ("Int", "try reply.redisInteger()"), "unlink": ("Int", "try reply.redisInteger()"),
    "exists": ("Int", "try reply.redisInteger()"), "hset": ("Int", "try reply.redisInteger()"),
    "hdel": ("Int", "try reply.redisInteger()"), "hlen": ("Int", "try reply.redisInteger()"),
    "hincrby": ("Int", "try reply.redisInteger()"), "llen": ("Int", "try reply.redisInteger()"),
    "lpush": ("Int", "try reply.redisInteger()"), "rpush": ("Int", "try reply.redisInteger()"),
    "sadd": ("Int", "try reply.redisInteger()"), "srem": ("Int", "try reply.redisInteger()"),
    "scard": ("Int", "try reply.redisInteger()"), "zcard": ("Int", "try reply.redisInteger()"),
    "zrem": ("Int", "try reply.redisInteger()"), "publish": ("Int", "try reply.redisInteger()"),
    "strlen": ("Int", "try reply.redisInteger()"), "append": ("Int", "try reply.redisInteger()"),
    "ttl": ("Int", "try reply.redisInteger()"), "pttl": ("Int", "try reply.redisInteger()"),
    "dbsize": ("Int", "try reply.redisInteger()"), "xlen": ("Int", "try reply.redisInteger()"),
    "zcount": ("Int", "try reply.redisInteger()"), "xdel": ("Int", "try reply.redisInteger()"),
    "expire": ("Bool", "try reply.redisInteger() == 1"), "pexpire": ("Bool", "try reply.redisInteger() == 1"),
    "expireat": ("Bool", "try reply.redisInteger() == 1"), "persist": ("Bool", "try reply.redisInteger() == 1"),
    "hexists": ("Bool", "try reply.redisInteger() == 1"), "sismember": ("Bool", "try reply.redisInteger() == 1"),
    "hsetnx": ("Bool", "try reply.redisInteger() == 1"), "setnx": ("Bool", "try reply.redisInteger() == 1"),
    "keys": ("[String]", "try reply.redisStrings()"), "smembers": ("[String]", "try reply.redisStrings()"),
    "lrange": ("[String]", "try reply.redisStrings()"), "hkeys": ("[String]", "try reply.redisStrings()"),
    "hvals": ("[String]", "try reply.redisStrings()"), "sinter": ("[String]", "try reply.redisStrings()"),
    "sunion": ("[String]", "try reply.redisStrings()"), "sdiff": ("[String]", "try reply.redisStrings()"),
    "mget": ("[String?]", "try reply.redisOptionalStrings()"), "hmget": ("[String?]", "try reply.redisOptionalStrings()"),
    "hgetall": ("[String: String]", "try reply.redisStringMap()"),
    "zscore": ("Double?", "try reply.redisOptionalDouble()"), "incrbyfloat": ("Double", "try reply.redisDouble()"),
    "zincrby": ("Double", "try reply.redisDouble()"), "hincrbyfloat": ("Double", "try reply.redisDouble()"),
    "mset": ("Void", "try reply.redisOK()"), "rename": ("Void", "try reply.redisOK()"),
    "flushdb": ("Void", "try reply.redisOK()"), "flushall": ("Void", "try reply.redisOK()"),
    "xadd": ("String?", "try reply.redisOptionalString()"),
    "xrange": ("[RedisStreamEntry]", "try reply.redisStreamEntries()"),
    "xrevrange": ("[RedisStreamEntry]", "try reply.redisStreamEntries()"),
    "xread": ("[String: [RedisStreamEntry]]", "try reply.redisStreams()"),
    "eval": ("Reply", "try reply.redisChecked()"), "evalsha": ("Reply", "try reply.redisChecked()"),
]

let swiftKeywords: Set<String> = [
    "as", "break", "case", "catch", "class", "continue", "default", "defer", "do", "else", "enum", "extension",
    "fallthrough", "false", "for", "func", "if", "import", "in", "init", "inout", "internal", "is", "let", "nil",
    "operator", "private", "protocol", "public", "repeat", "rethrows", "return", "self", "Self", "static", "struct",
    "subscript", "super", "switch", "throw", "throws", "true", "try", "typealias", "var", "where", "while", "any",
]

/// `unix-time-seconds` → `unixTimeSeconds` (or `UnixTimeSeconds` for types).
func camel(_ name: String, upper: Bool = false) -> String {
    let words = name.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    var result = ""
    for (index, word) in words.enumerated() {
        let lower = word.lowercased()
        result += index == 0 && !upper ? lower : lower.prefix(1).uppercased() + lower.dropFirst()
    }
    if result.first?.isNumber == true { result = "_" + result }
    return result.isEmpty ? "value" : result
}

func identifier(_ name: String) -> String { swiftKeywords.contains(name) ? "`\(name)`" : name }

func flags(_ argument: [String: Any]) -> Set<String> { Set(argument["flags"] as? [String] ?? []) }

struct Unsupported: Error {}

/// Declarations made while typing a command's arguments (enums and structs).
var declarations: [String] = []

let simpleTypes = ["key": "String", "string": "String", "pattern": "String", "integer": "Int", "unix-time": "Int", "double": "Double"]

/// The Swift type of one value of `argument` (without `optional`/`multiple`), declaring enums and
/// structs named under `prefix`.
@MainActor  // top-level code's state (declarations, methods) is the main actor's
func valueType(_ argument: [String: Any], prefix: String) throws -> String {
    let type = argument["type"] as? String ?? ""
    if let simple = simpleTypes[type] { return simple }
    let name = prefix + camel(argument["name"] as? String ?? "", upper: true)
    let children = argument["arguments"] as? [[String: Any]] ?? []
    switch type {
    case "pure-token":
        return "Bool"
    case "oneof":
        var cases: [String] = []
        var encode: [String] = []
        for (child, label) in zip(children, uniqueLabels(children)) {
            let caseName = identifier(label)
            let token = (child["token"] as? String).map { "b.add(\(literal($0))); " } ?? ""
            if child["type"] as? String == "pure-token" {
                cases.append("case \(caseName)")
                encode.append("case .\(caseName): \(token)")
            } else {
                if flags(child).contains("optional") { throw Unsupported() }
                var childType = try valueType(child, prefix: name)
                var body = try encodeValue(child, "value", prefix: name)
                if flags(child).contains("multiple") {
                    childType = "[\(childType)]"
                    body = "for value in value { \(body) }"
                }
                cases.append("case \(caseName)(\(childType))")
                encode.append("case .\(caseName)(let value): \(token)\(body)")
            }
        }
        declarations.append("""
            public enum \(name): Sendable {
                \(cases.joined(separator: "\n    "))

                func encode(into b: inout RedisCommandBuilder) {
                    switch self {
                    \(encode.map { $0.hasSuffix("; ") ? String($0.dropLast(2)) : $0 }.joined(separator: "\n        "))
                    }
                }
            }
            """)
        return name
    case "block":
        // A block of plain required values is a tuple; anything richer a struct of its own.
        let plain = children.allSatisfy { simpleTypes[$0["type"] as? String ?? ""] != nil && flags($0).isEmpty && $0["token"] == nil }
        if plain && children.count == 1 { return simpleTypes[children[0]["type"] as! String]! }
        if plain {
            let labels = uniqueLabels(children)
            return "(" + zip(children, labels).map { "\($1): \(simpleTypes[$0["type"] as! String]!)" }.joined(separator: ", ") + ")"
        }
        let labels = uniqueLabels(children)
        var fields: [String] = []
        var parameters: [String] = []
        var assignments: [String] = []
        var encode: [String] = []
        for (child, label) in zip(children, labels) {
            let (type, defaultValue) = try parameterType(child, prefix: name)
            fields.append("public var \(identifier(label)): \(type)")
            parameters.append("\(identifier(label)): \(type)\(defaultValue.map { " = \($0)" } ?? "")")
            assignments.append("self.\(label) = \(identifier(label))")
            encode.append(contentsOf: try encodeArgument(child, "self.\(label)", prefix: name))
        }
        declarations.append("""
            public struct \(name): Sendable {
                \(fields.joined(separator: "\n    "))

                public init(\(parameters.joined(separator: ", "))) {
                    \(assignments.joined(separator: "\n        "))
                }

                func encode(into b: inout RedisCommandBuilder) {
                    \(encode.joined(separator: "\n        "))
                }
            }
            """)
        return name
    default:
        throw Unsupported()
    }
}

/// The parameter type and default value of an argument (optional → `= nil`/`false`/`[]`).
@MainActor  // top-level code's state (declarations, methods) is the main actor's
func parameterType(_ argument: [String: Any], prefix: String) throws -> (String, String?) {
    let flags = flags(argument)
    var type = try valueType(argument, prefix: prefix)
    if argument["type"] as? String == "pure-token" { return ("Bool", flags.contains("optional") ? "false" : nil) }
    if flags.contains("multiple") {
        type = "[\(type)]"
        return (type, flags.contains("optional") ? "[]" : nil)
    }
    if flags.contains("optional") { return ("\(type)?", "nil") }
    return (type, nil)
}

/// Statements appending one value (`value`) of `argument`.
@MainActor  // top-level code's state (declarations, methods) is the main actor's
func encodeValue(_ argument: [String: Any], _ value: String, prefix: String) throws -> String {
    let type = argument["type"] as? String ?? ""
    if simpleTypes[type] != nil { return "b.add(\(value))" }
    switch type {
    case "oneof": return "\(value).encode(into: &b)"
    case "block":
        let children = argument["arguments"] as? [[String: Any]] ?? []
        let plain = children.allSatisfy { simpleTypes[$0["type"] as? String ?? ""] != nil && flags($0).isEmpty && $0["token"] == nil }
        if plain && children.count == 1 { return "b.add(\(value))" }
        if plain { return uniqueLabels(children).map { "b.add(\(value).\($0))" }.joined(separator: "; ") }
        return "\(value).encode(into: &b)"
    default: throw Unsupported()
    }
}

/// Statements appending `argument` (its token, its value or values) from the expression `value`.
@MainActor  // top-level code's state (declarations, methods) is the main actor's
func encodeArgument(_ argument: [String: Any], _ value: String, prefix: String) throws -> [String] {
    let flags = flags(argument)
    let token = (argument["token"] as? String).map(literal)
    if argument["type"] as? String == "pure-token" {
        guard let token else { throw Unsupported() }
        return flags.contains("optional") ? ["if \(value) { b.add(\(token)) }"] : ["b.add(\(token))"]
    }
    let one = try encodeValue(argument, flags.contains("multiple") ? "element" : (flags.contains("optional") ? "present" : value), prefix: prefix)
    if flags.contains("multiple") {
        let each = flags.contains("multiple_token") ? "b.add(\(token!)); \(one)" : one
        let head = token != nil && !flags.contains("multiple_token") ? "b.add(\(token!)); " : ""
        let loop = "\(head)for element in \(value) { \(each) }"
        return [flags.contains("optional") ? "if !\(value).isEmpty { \(loop) }" : loop]
    }
    let body = (token.map { "b.add(\($0)); " } ?? "") + one
    return [flags.contains("optional") ? "if let present = \(value) { \(body) }" : body]
}

func uniqueLabels(_ arguments: [[String: Any]]) -> [String] {
    var seen: [String: Int] = [:]
    return arguments.map { argument in
        let base = camel(argument["name"] as? String ?? "")
        seen[base, default: 0] += 1
        return seen[base]! == 1 ? base : "\(base)\(seen[base]!)"
    }
}

func literal(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

// MARK: Commands

var methods: [String] = []
var generated = 0
var unsupported: [String] = []

@MainActor  // top-level code's state (declarations, methods) is the main actor's
func generate(name: String, words: [String], doc: [String: Any]) {
    let methodName = camel(name.replacingOccurrences(of: "|", with: " "))
    let typeName = "Redis" + camel(name.replacingOccurrences(of: "|", with: " "), upper: true)
    let saved = declarations
    do {
        let arguments = doc["arguments"] as? [[String: Any]] ?? []
        let labels = uniqueLabels(arguments)
        var parameters: [String] = []
        var body: [String] = ["var b = RedisCommandBuilder(\(words.map(literal).joined(separator: ", ")))"]
        for (index, (argument, label)) in zip(arguments, labels).enumerated() {
            let (type, defaultValue) = try parameterType(argument, prefix: typeName)
            // The first argument goes unlabeled when it is a required key or string (`get(_ key:)`).
            let plainFirst = index == 0 && defaultValue == nil && ["key", "string", "pattern"].contains(argument["type"] as? String ?? "")
            let external = plainFirst ? "_ " : ""
            parameters.append("\(external)\(identifier(label)): \(type)\(defaultValue.map { " = \($0)" } ?? "")")
            body += try encodeArgument(argument, identifier(label), prefix: typeName)
        }
        let summary = (doc["summary"] as? String ?? "").replacingOccurrences(of: "\n", with: " ")
        let since = doc["since"] as? String ?? "?"
        let command = words.joined(separator: " ")
        let result = typedResults[name]
        var lines = ["/// `\(command)` (Redis \(since)): \(summary)"]
        if let result {
            lines.append("/// - Throws: `RedisServerError` for an error reply; `RedisReplyTypeError` for a reply of another shape; transport errors as `send(_:)`.")
            let returns = result.type == "Void" ? "" : " -> \(result.type)"
            lines.append("\(result.type == "Reply" ? "@discardableResult " : "")public func \(identifier(methodName))(\(parameters.joined(separator: ", "))) async throws\(returns) {")
            lines += body.map { "    " + $0 }
            lines.append("    let reply = try await send(b.words)")
            lines.append(result.type == "Void" ? "    \(result.convert)" : "    return \(result.convert)")
        } else {
            lines.append("/// The reply is returned as it came (an error reply is a `.error` value, as with `send(_:)`).")
            lines.append("@discardableResult")
            lines.append("public func \(identifier(methodName))(\(parameters.joined(separator: ", "))) async throws -> Reply {")
            lines += body.map { "    " + $0 }
            lines.append("    return try await send(b.words)")
        }
        lines.append("}")
        if body.count == 1 { lines = lines.map { $0.replacingOccurrences(of: "    var b = RedisCommandBuilder(", with: "    let b = RedisCommandBuilder(") } }
        methods.append(lines.joined(separator: "\n"))
        generated += 1
    } catch {
        declarations = saved
        unsupported.append(name)
    }
}

for name in spec.keys.sorted() where !skipped.contains(name) {
    guard let doc = spec[name] as? [String: Any] else { continue }
    if let subcommands = doc["subcommands"] as? [String: Any] {
        for subname in subcommands.keys.sorted() {
            guard let subdoc = subcommands[subname] as? [String: Any], !subname.hasSuffix("|help") else { continue }
            let words = subname.split(separator: "|").map { $0.uppercased() }
            generate(name: subname, words: words, doc: subdoc)
        }
    } else {
        generate(name: name, words: [name.uppercased()], doc: doc)
    }
}

let output = """
    // Generated by redis-command-generator from commands.json (`redis-cli --json COMMAND DOCS` of
    // Redis \(ProcessInfo.processInfo.environment["REDIS_VERSION"] ?? "7.0")). Do not edit: regenerate.
    // \(generated) commands; without a method (use `send(_:)`): \(unsupported.isEmpty ? "none" : unsupported.joined(separator: ", ")).

    extension RedisCommands {
    \(methods.joined(separator: "\n\n").split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "    " + $0 }.joined(separator: "\n"))
    }

    \(declarations.joined(separator: "\n\n"))

    """
try output.write(toFile: arguments[2], atomically: true, encoding: .utf8)
