import Synchronization
import Testing
import WireClient
import WireRedis
import Wirestream

@Suite(.serialized)
struct RedisPoolTests {
    /// Clients connected to `server` now, as the server counts them (minus the one asking).
    static func clientCount(_ server: ServerProcess) async throws -> Int {
        let observer = try await RedisClient.connect(port: server.port)
        defer { observer.close() }
        let list = try await observer.send("CLIENT", "LIST").string ?? ""
        return list.split(separator: "\n").count - 1
    }

    @Test func atMostMaximumConnectionsExistAndWaitersGetThemInTurn() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        let pool = RedisPool(RedisConfiguration(port: server.port), pool: .init(maximumConnections: 3))
        defer { pool.close() }
        let counters = PoolCounters()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    try await pool.withConnection { redis in
                        let now = counters.inUse.add(1, ordering: .relaxed).newValue
                        _ = counters.peak.max(now, ordering: .relaxed)
                        let reply = try await redis.send("BLPOP", "nothing", "0.1")
                        #expect(reply == .null)
                        counters.inUse.subtract(1, ordering: .relaxed)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(counters.peak.load(ordering: .relaxed) == 3)
        #expect(pool.pool.statistics == .init(leased: 0, idle: 3, opening: 0, waiting: 0))
        #expect(try await Self.clientCount(server) == 3)
    }

    @Test func aCallerWaitsNoLongerThanTheAcquireTimeout() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        let pool = RedisPool(
            RedisConfiguration(port: server.port), pool: .init(maximumConnections: 1, acquireTimeout: .milliseconds(200)))
        defer { pool.close() }
        let holder = Task { try await pool.withConnection { try await $0.send("BLPOP", "nothing", "1") } }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        await #expect(throws: ConnectionPoolTimeoutError(timeout: .milliseconds(200))) {
            try await pool.send("PING")
        }
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(190) && waited < .milliseconds(400))
        #expect(try await holder.value == .null)
        #expect(try await pool.send("PING") == .simple("PONG"))  // free again
    }

    @Test func idleConnectionsBeyondTheMinimumAreClosed() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        let pool = RedisPool(
            RedisConfiguration(port: server.port),
            pool: .init(minimumConnections: 1, maximumConnections: 4, idleTimeout: .milliseconds(100)))
        defer { pool.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { _ = try await pool.send("BLPOP", "nothing", "0.1") } }  // three at once
            try await group.waitForAll()
        }
        #expect(pool.pool.statistics.idle == 3)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await pool.send("PING") == .simple("PONG"))  // reaps the two oldest, reuses the newest
        #expect(pool.pool.statistics.idle == 1)
        #expect(try await eventuallyTrueAsync { try await Self.clientCount(server) == 1 })
    }

    @Test func aConnectionKilledWhileIdleIsReplaced() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        let pool = RedisPool(RedisConfiguration(port: server.port), pool: .init(maximumConnections: 1, healthCheckAfterIdle: .zero))
        defer { pool.close() }
        guard case .integer(let first) = try await pool.send("CLIENT", "ID") else {
            Issue.record("CLIENT ID is an integer")
            return
        }
        let admin = try await RedisClient.connect(port: server.port)
        defer { admin.close() }
        #expect(try await admin.send("CLIENT", "KILL", "ID", String(first)) == .integer(1))
        guard case .integer(let second) = try await pool.send("CLIENT", "ID") else {
            Issue.record("CLIENT ID is an integer")
            return
        }
        #expect(second != first)
    }

    @Test func watchTransactionsRunUndisturbedOnLentConnections() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        let pool = RedisPool(RedisConfiguration(port: server.port), pool: .init(maximumConnections: 5))
        defer { pool.close() }
        try await pool.send("SET", "counter", "0")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    for _ in 0..<10 {
                        while true {  // optimistic locking: read, then write only if nobody else did
                            let done = try await pool.withConnection { redis -> Bool in
                                try await redis.send("WATCH", "counter")
                                let value = Int(try await redis.send("GET", "counter").string ?? "") ?? -1
                                do {
                                    _ = try await redis.transaction([["SET", "counter", String(value + 1)]])
                                    return true
                                } catch is RedisTransactionAbortedError {
                                    return false
                                }
                            }
                            if done { break }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await pool.send("GET", "counter").string == "100")  // no increment lost
    }
}

/// Polls an async `condition` every 10 ms for up to 2 s.
func eventuallyTrueAsync(_ condition: () async throws -> Bool) async throws -> Bool {
    for _ in 0..<200 {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// Counters shared by the concurrent tasks of a pool test.
final class PoolCounters: Sendable {
    let inUse = Atomic<Int>(0)
    let peak = Atomic<Int>(0)
}

@Suite(.serialized)
struct RedisScanTests {
    @Test func everyScanVariantVisitsEveryElementAcrossPages() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        let redis = try await RedisClient.connect(port: server.port)
        defer { redis.close() }
        _ = try await redis.pipeline((0..<300).map { ["SET", "user:\($0)", "x"] } + [["SET", "other", "y"]])
        _ = try await redis.pipeline((0..<200).map { ["HSET", "hash", "f\($0)", "v\($0)"] })
        _ = try await redis.pipeline((0..<200).map { ["SADD", "set", "m\($0)"] })
        _ = try await redis.pipeline((0..<200).map { ["ZADD", "zset", "\($0)", "z\($0)"] })
        var keys = Set<String>()
        for try await key in redis.scan(match: "user:*", count: 20) { keys.insert(key) }
        #expect(keys == Set((0..<300).map { "user:\($0)" }))
        var typed = Set<String>()
        for try await key in redis.scan(type: "hash") { typed.insert(key) }
        #expect(typed == ["hash"])
        var fields: [String: String] = [:]
        for try await (field, value) in redis.hscan("hash", count: 10) { fields[field] = String(decoding: value, as: UTF8.self) }
        #expect(fields.count == 200 && fields["f7"] == "v7")
        var members = Set<String>()
        for try await member in redis.sscan("set", match: "m1*") { members.insert(member) }
        #expect(members == Set((0..<200).map { "m\($0)" }.filter { $0.hasPrefix("m1") }))
        var scores: [String: Double] = [:]
        for try await (member, score) in redis.zscan("zset", count: 10) { scores[member] = score }
        #expect(scores.count == 200 && scores["z42"] == 42)
    }
}
