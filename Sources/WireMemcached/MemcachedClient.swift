import WireClient
import Wirestream

// The conveniences of `MemcachedClient`, which memcached.wire's `client Memcached` declares
// (`ProtocolClient<MemcachedReply>`): keys are checked, a command is built and sent, and the
// reply becomes a value or a `MemcachedError`. Many tasks share one connection (pipelined).
//
// ```swift
// let cache = try await MemcachedClient.connect(port: 11211)
// try await cache.set("greeting", Array("hello".utf8), exptime: 60)
// let values = try await cache.get(["greeting", "missing"])     // one request: ["greeting": …]
// ```

extension ProtocolClient where Reply == MemcachedReply {
    // MARK: Storage

    /// Stores `value` under `key` unconditionally.
    /// - Parameters:
    ///   - key: 1–250 bytes, no spaces or control bytes.
    ///   - value: the bytes to store (at most the configuration's `maxReplyBytes`).
    ///   - flags: 32 bits of the client's own, returned with the value.
    ///   - exptime: seconds to live (0: no expiry; over 30 days: a Unix time).
    /// - Throws: ``MemcachedKeyError``, ``MemcachedValueTooLargeError`` (nothing sent),
    ///   ``MemcachedError`` (e.g. `serverError("out of memory storing object")`).
    public func set(_ key: String, _ value: [UInt8], flags: UInt32 = 0, exptime: Int64 = 0) async throws {
        let result = try await store(.set, key, value, flags: flags, exptime: exptime)
        if result != .stored { throw MemcachedError(command: "set", kind: .unexpectedReply("\(result)")) }
    }

    /// Stores `value` as `mode` says; returns `.stored` or `.notStored` (the condition failed).
    @discardableResult
    public func store(
        _ mode: MemcachedStoreMode, _ key: String, _ value: [UInt8], flags: UInt32 = 0, exptime: Int64 = 0
    ) async throws -> MemcachedStoreResult {
        try checkValue(key, value)
        let storage = MemcachedStorage(key: key, flags: flags, exptime: exptime, data: value)
        let command: MemcachedCommand = switch mode {
        case .set: .set(storage)
        case .add: .add(storage)
        case .replace: .replace(storage)
        case .append: .append(storage)
        case .prepend: .prepend(storage)
        }
        return try Self.storeResult(try await send(command), "\(mode)")
    }

    /// Stores `value` only if it has not changed since `gets` returned `unique` as its `cas`.
    public func cas(
        _ key: String, _ value: [UInt8], unique: UInt64, flags: UInt32 = 0, exptime: Int64 = 0
    ) async throws -> MemcachedStoreResult {
        try checkValue(key, value)
        let command = MemcachedCommand.cas(key: key, flags: flags, exptime: exptime, unique: unique, data: value)
        return try Self.storeResult(try await send(command), "cas")
    }

    /// `noreply` storage: written in order with the other commands, answered by nothing — not
    /// even an error, so a refused value is silently lost (memcached's semantics).
    public func storeWithoutReply(
        _ mode: MemcachedStoreMode, _ key: String, _ value: [UInt8], flags: UInt32 = 0, exptime: Int64 = 0
    ) async throws {
        try checkValue(key, value)
        let storage = MemcachedQuietStorage(key: key, flags: flags, exptime: exptime, data: value)
        let command: MemcachedQuietCommand = switch mode {
        case .set: .set(storage)
        case .add: .add(storage)
        case .replace: .replace(storage)
        case .append: .append(storage)
        case .prepend: .prepend(storage)
        }
        try await sendWithoutReply(command)
    }

    // MARK: Retrieval

    /// The value of `key`, or `nil`.
    public func get(_ key: String) async throws -> MemcachedValue? {
        try await get([key])[key]
    }

    /// The values of `keys` that exist, in one request.
    public func get(_ keys: [String]) async throws -> [String: MemcachedValue] {
        try await retrieve(keys, "get") { .get($0) }
    }

    /// The values of `keys` that exist, each with its `cas`, in one request.
    public func gets(_ keys: [String]) async throws -> [String: MemcachedValue] {
        try await retrieve(keys, "gets") { .gets($0) }
    }

    /// Gets and touches: the values of `keys`, whose expiry becomes `exptime`.
    public func gat(_ keys: [String], exptime: Int64) async throws -> [String: MemcachedValue] {
        try await retrieve(keys, "gat") { .gat(exptime: exptime, keys: $0) }
    }

    /// ``gat(_:exptime:)`` with each value's `cas`.
    public func gats(_ keys: [String], exptime: Int64) async throws -> [String: MemcachedValue] {
        try await retrieve(keys, "gats") { .gats(exptime: exptime, keys: $0) }
    }

    // MARK: Others

    /// Deletes `key`; false if it did not exist.
    @discardableResult
    public func delete(_ key: String) async throws -> Bool {
        try MemcachedKeyError.check(key)
        switch try await send(MemcachedCommand.delete(key)) {
        case .deleted: return true
        case .notFound: return false
        case let other: throw Self.failure(other, "delete")
        }
    }

    /// `delete … noreply`.
    public func deleteWithoutReply(_ key: String) async throws {
        try MemcachedKeyError.check(key)
        try await sendWithoutReply(MemcachedQuietCommand.delete(key: key))
    }

    /// Adds `delta` to the decimal number stored at `key` (wrapping at 2⁶⁴); its new value, or
    /// `nil` if the key does not exist.
    public func increment(_ key: String, by delta: UInt64 = 1) async throws -> UInt64? {
        try await counter(.incr(key: key, delta: delta), key, "incr")
    }

    /// Subtracts `delta` (stopping at 0); the new value, or `nil` if the key does not exist.
    public func decrement(_ key: String, by delta: UInt64 = 1) async throws -> UInt64? {
        try await counter(.decr(key: key, delta: delta), key, "decr")
    }

    /// `incr … noreply` (`delta` ≥ 0) or `decr … noreply` (`delta` < 0): the new value is not sent back.
    public func incrementWithoutReply(_ key: String, by delta: Int64) async throws {
        try MemcachedKeyError.check(key)
        let command: MemcachedQuietCommand = delta < 0 ? .decr(key: key, delta: delta.magnitude) : .incr(key: key, delta: UInt64(delta))
        try await sendWithoutReply(command)
    }

    /// Sets the expiry of `key`; false if it does not exist.
    @discardableResult
    public func touch(_ key: String, exptime: Int64) async throws -> Bool {
        try MemcachedKeyError.check(key)
        switch try await send(MemcachedCommand.touch(key: key, exptime: exptime)) {
        case .touched: return true
        case .notFound: return false
        case let other: throw Self.failure(other, "touch")
        }
    }

    /// `touch … noreply`.
    public func touchWithoutReply(_ key: String, exptime: Int64) async throws {
        try MemcachedKeyError.check(key)
        try await sendWithoutReply(MemcachedQuietCommand.touch(key: key, exptime: exptime))
    }

    /// Invalidates every item, now or after `delay`.
    public func flushAll(after delay: Duration? = nil) async throws {
        let command: MemcachedCommand = delay.map { .flushAllAfter(UInt32(clamping: max(0, $0.components.seconds))) } ?? .flushAll
        let reply = try await send(command)
        guard case .ok = reply else { throw Self.failure(reply, "flush_all") }
    }

    /// The server's version.
    public func version() async throws -> String {
        switch try await send(MemcachedCommand.version) {
        case .version(let text): return text
        case let other: throw Self.failure(other, "version")
        }
    }

    /// The server's general statistics, typed.
    public func stats() async throws -> MemcachedStats {
        try MemcachedStats(try await statsEntries())
    }

    /// Statistics as memcached names them: general ones, or a group (`items`, `slabs`, `settings`, …).
    public func statsEntries(_ group: String? = nil) async throws -> [MemcachedStat] {
        if let group { try MemcachedKeyError.check(group) }
        switch try await send(group.map { MemcachedCommand.statsGroup($0) } ?? .stats) {
        case .stats(let entries): return entries
        case .end: return []
        case let other: throw Self.failure(other, "stats")
        }
    }

    // MARK: Replies

    private func checkValue(_ key: String, _ value: [UInt8]) throws {
        try MemcachedKeyError.check(key)
        if value.count > configuration.maxReplyBytes {
            throw MemcachedValueTooLargeError(size: value.count, limit: configuration.maxReplyBytes)
        }
    }

    private func retrieve(
        _ keys: [String], _ name: String, _ command: (String) -> MemcachedCommand
    ) async throws -> [String: MemcachedValue] {
        guard !keys.isEmpty else { return [:] }
        for key in keys { try MemcachedKeyError.check(key) }
        switch try await send(command(keys.joined(separator: " "))) {
        case .values(let items):
            return Dictionary(items.map { ($0.key, MemcachedValue($0)) }, uniquingKeysWith: { first, _ in first })
        case .end:
            return [:]
        case let other:
            throw Self.failure(other, name)
        }
    }

    private func counter(_ command: MemcachedCommand, _ key: String, _ name: String) async throws -> UInt64? {
        try MemcachedKeyError.check(key)
        switch try await send(command) {
        case .counter(let value): return value
        case .notFound: return nil
        case let other: throw Self.failure(other, name)
        }
    }

    private static func storeResult(_ reply: MemcachedReply, _ name: String) throws -> MemcachedStoreResult {
        switch reply {
        case .stored: .stored
        case .notStored: .notStored
        case .exists: .exists
        case .notFound: .notFound
        default: throw failure(reply, name)
        }
    }

    /// The error a reply is when it does not answer `command` as hoped.
    static func failure(_ reply: MemcachedReply, _ command: String) -> MemcachedError {
        let kind: MemcachedError.Kind = switch reply {
        case .error: .error
        case .clientError(let message): .clientError(message)
        case .serverError(let message): .serverError(message)
        default: .unexpectedReply(String("\(reply)".prefix(200)))
        }
        return MemcachedError(command: command, kind: kind)
    }
}
