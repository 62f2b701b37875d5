import Wirestream

/// The `SCAN` family as an `AsyncSequence`: pages are fetched as the iteration needs them, one
/// command at a time, until the server's cursor comes back to 0.
///
/// ```swift
/// for try await key in redis.scan(match: "user:*") { … }                 // SCAN
/// for try await (field, value) in redis.hscan("profile") { … }           // HSCAN
/// for try await member in redis.sscan("tags") { … }                      // SSCAN
/// for try await (member, score) in redis.zscan("ranking") { … }          // ZSCAN
/// ```
/// As `SCAN` itself promises: every element present for the whole iteration is returned at least
/// once; one added or removed meanwhile may or may not be; an element may come twice.
public struct RedisScanSequence<Element: Sendable>: AsyncSequence, Sendable {
    let client: any RedisCommands
    /// The words before the cursor (`SCAN`, or `HSCAN key`, …).
    let command: [String]
    /// The words after it (`MATCH p`, `COUNT n`, `TYPE t`).
    let options: [String]
    /// One page's elements from the reply's second element.
    let elements: @Sendable ([Reply]) throws -> [Element]

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(sequence: self)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: RedisScanSequence
        var cursor = "0"
        var page: [Element] = []
        var index = 0
        var finished = false

        public mutating func next() async throws -> Element? {
            while index == page.count {
                if finished { return nil }
                let reply = try await sequence.client.send(sequence.command + [cursor] + sequence.options)
                let (next, items) = try ScanPage.split(reply)
                cursor = next
                finished = next == "0"
                page = try sequence.elements(items)
                index = 0
            }
            defer { index += 1 }
            return page[index]
        }
    }
}

extension RedisClient {
    /// Every key (`SCAN`), optionally those matching a glob `match`, of a `type`; `count` is the
    /// page-size hint sent to the server.
    public func scan(match: String? = nil, count: Int? = nil, type: String? = nil) -> RedisScanSequence<String> {
        RedisScanSequence(
            client: self, command: ["SCAN"], options: ScanPage.options(match: match, count: count) + (type.map { ["TYPE", $0] } ?? []),
            elements: { try $0.map(ScanPage.text) })
    }
}

extension RedisCommands {
    /// The fields and values of a hash (`HSCAN`).
    public func hscan(_ key: String, match: String? = nil, count: Int? = nil) -> RedisScanSequence<(field: String, value: [UInt8])> {
        RedisScanSequence(client: self, command: ["HSCAN", key], options: ScanPage.options(match: match, count: count)) { items in
            try ScanPage.pairs(items).map { (field: try ScanPage.text($0.0), value: try ScanPage.bytes($0.1)) }
        }
    }

    /// The members of a set (`SSCAN`).
    public func sscan(_ key: String, match: String? = nil, count: Int? = nil) -> RedisScanSequence<String> {
        RedisScanSequence(client: self, command: ["SSCAN", key], options: ScanPage.options(match: match, count: count)) {
            try $0.map(ScanPage.text)
        }
    }

    /// The members and scores of a sorted set (`ZSCAN`).
    public func zscan(_ key: String, match: String? = nil, count: Int? = nil) -> RedisScanSequence<(member: String, score: Double)> {
        RedisScanSequence(client: self, command: ["ZSCAN", key], options: ScanPage.options(match: match, count: count)) { items in
            try ScanPage.pairs(items).map { pair in
                guard let score = Double(try ScanPage.text(pair.1)) else { throw RedisServerError("ERR ZSCAN score is not a number") }
                return (member: try ScanPage.text(pair.0), score: score)
            }
        }
    }
}

/// Reading one page of a `SCAN`-family reply.
enum ScanPage {
    static func options(match: String?, count: Int?) -> [String] {
        (match.map { ["MATCH", $0] } ?? []) + (count.map { ["COUNT", String($0)] } ?? [])
    }

    static func text(_ reply: Reply) throws -> String {
        guard let text = reply.string else { throw RedisServerError("ERR SCAN element is not a string: \(reply)") }
        return text
    }

    static func bytes(_ reply: Reply) throws -> [UInt8] {
        if case .bulk(let value?) = reply { return value }
        return Array(try text(reply).utf8)
    }

    static func pairs(_ items: [Reply]) throws -> [(Reply, Reply)] {
        guard items.count % 2 == 0 else { throw RedisServerError("ERR SCAN page of pairs has an odd length") }
        return stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
    }

    /// The cursor and elements of one page: `[cursor, [elements…]]`.
    static func split(_ reply: Reply) throws -> (cursor: String, items: [Reply]) {
        if case .error(let message) = reply { throw RedisServerError(message) }
        guard let parts = reply.elements, parts.count == 2, let next = parts[0].string, let items = parts[1].elements else {
            throw RedisServerError("ERR unexpected SCAN reply \(reply)")
        }
        return (next, items)
    }
}
