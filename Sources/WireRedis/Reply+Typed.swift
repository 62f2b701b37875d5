/// A reply of another shape than the command's typed result expects (a server that answers
/// `GET` with an array, say); the reply is kept for inspection.
public struct RedisReplyTypeError: Error, CustomStringConvertible, Sendable {
    public let expected: String
    public let reply: Reply

    public init(expected: String, reply: Reply) {
        self.expected = expected
        self.reply = reply
    }

    public var description: String { "expected \(expected), got \(reply)" }
}

/// One entry of a stream (`XRANGE`, `XREAD`): its id and field-value pairs, in order.
public struct RedisStreamEntry: Sendable, Hashable {
    public let id: String
    public let fields: [(name: String, value: String)]

    public init(id: String, fields: [(name: String, value: String)]) {
        self.id = id
        self.fields = fields
    }

    /// The value of the first field called `name`.
    public subscript(name: String) -> String? { fields.first { $0.name == name }?.value }

    public static func == (a: RedisStreamEntry, b: RedisStreamEntry) -> Bool {
        a.id == b.id && a.fields.elementsEqual(b.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        for (name, value) in fields {
            hasher.combine(name)
            hasher.combine(value)
        }
    }
}

// The conversions the generated typed commands use: an error reply throws `RedisServerError`,
// another shape `RedisReplyTypeError`. RESP2 and RESP3 forms are both accepted (a map or a flat
// array of pairs; a double or its bulk-string text).
extension Reply {
    /// The reply itself, unless it is an error.
    public func redisChecked() throws -> Reply {
        if case .error(let message) = self { throw RedisServerError(message) }
        if case .blobError(let message) = self { throw RedisServerError(message) }
        return self
    }

    public func redisOptionalString() throws -> String? {
        switch try redisChecked() {
        case .null, .bulk(nil), .array(nil): return nil
        case let reply:
            guard let text = reply.string else { throw RedisReplyTypeError(expected: "a string or null", reply: reply) }
            return text
        }
    }

    public func redisString() throws -> String {
        guard let text = try redisOptionalString() else { throw RedisReplyTypeError(expected: "a string", reply: self) }
        return text
    }

    public func redisInteger() throws -> Int {
        guard case .integer(let value) = try redisChecked() else { throw RedisReplyTypeError(expected: "an integer", reply: self) }
        return value
    }

    public func redisOptionalDouble() throws -> Double? {
        switch try redisChecked() {
        case .null, .bulk(nil): return nil
        case .double(let value): return value
        case let reply:
            guard let text = reply.string, let value = Double(text) else { throw RedisReplyTypeError(expected: "a double", reply: reply) }
            return value
        }
    }

    public func redisDouble() throws -> Double {
        guard let value = try redisOptionalDouble() else { throw RedisReplyTypeError(expected: "a double", reply: self) }
        return value
    }

    public func redisOK() throws {
        guard try redisChecked().string == "OK" else { throw RedisReplyTypeError(expected: "OK", reply: self) }
    }

    public func redisStrings() throws -> [String] {
        guard let elements = try redisChecked().elements else { throw RedisReplyTypeError(expected: "an array", reply: self) }
        return try elements.map { try $0.redisString() }
    }

    public func redisOptionalStrings() throws -> [String?] {
        guard let elements = try redisChecked().elements else { throw RedisReplyTypeError(expected: "an array", reply: self) }
        return try elements.map { try $0.redisOptionalString() }
    }

    /// Field-value pairs: a RESP3 map, or a RESP2 flat array.
    func redisPairs() throws -> [(Reply, Reply)] {
        switch try redisChecked() {
        case .map(let entries): return entries.map { ($0.key, $0.value) }
        case let reply:
            guard let elements = reply.elements, elements.count % 2 == 0 else { throw RedisReplyTypeError(expected: "field-value pairs", reply: reply) }
            return stride(from: 0, to: elements.count, by: 2).map { (elements[$0], elements[$0 + 1]) }
        }
    }

    public func redisStringMap() throws -> [String: String] {
        var map: [String: String] = [:]
        for (key, value) in try redisPairs() { map[try key.redisString()] = try value.redisString() }
        return map
    }

    public func redisStreamEntries() throws -> [RedisStreamEntry] {
        guard let entries = try redisChecked().elements else { throw RedisReplyTypeError(expected: "stream entries", reply: self) }
        return try entries.map { entry in
            guard let parts = entry.elements, parts.count == 2, let fields = parts[1].elements, fields.count % 2 == 0 else {
                throw RedisReplyTypeError(expected: "a stream entry [id, [field, value, …]]", reply: entry)
            }
            let pairs = try stride(from: 0, to: fields.count, by: 2).map { (name: try fields[$0].redisString(), value: try fields[$0 + 1].redisString()) }
            return RedisStreamEntry(id: try parts[0].redisString(), fields: pairs)
        }
    }

    /// `XREAD`: stream name → entries (RESP3 map or RESP2 array of [name, entries]); empty for a
    /// timed-out blocking read (null).
    public func redisStreams() throws -> [String: [RedisStreamEntry]] {
        switch try redisChecked() {
        case .null, .array(nil): return [:]
        case .map(let entries):
            var streams: [String: [RedisStreamEntry]] = [:]
            for entry in entries { streams[try entry.key.redisString()] = try entry.value.redisStreamEntries() }
            return streams
        case let reply:
            guard let elements = reply.elements else { throw RedisReplyTypeError(expected: "streams", reply: reply) }
            var streams: [String: [RedisStreamEntry]] = [:]
            for element in elements {
                guard let pair = element.elements, pair.count == 2 else { throw RedisReplyTypeError(expected: "[stream, entries]", reply: element) }
                streams[try pair[0].redisString()] = try pair[1].redisStreamEntries()
            }
            return streams
        }
    }
}
