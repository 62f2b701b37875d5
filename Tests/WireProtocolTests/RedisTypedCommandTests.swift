import Testing
import WireRedis
import Wirestream

/// The command methods generated from Grammars/WireRedis/commands.json (`COMMAND DOCS` of the
/// Debian redis-server) against that server, under RESP3 and RESP2.
@Suite struct RedisTypedCommandTests {
    static func client(_ version: RedisConfiguration.ProtocolVersion) async throws -> (ServerProcess, RedisClient) {
        let server = try RedisClientTests.startRedis()
        var configuration = RedisConfiguration(port: server.port)
        configuration.protocolVersion = version
        return (server, try await RedisClient.connect(configuration))
    }

    @Test(arguments: [RedisConfiguration.ProtocolVersion.resp3, .resp2])
    func stringsKeysAndExpiry(_ version: RedisConfiguration.ProtocolVersion) async throws {
        let (server, redis) = try await Self.client(version)
        defer { redis.close(); server.stop() }
        try await redis.set("greeting", value: "hello", expiration: .seconds(100))
        #expect(try await redis.get("greeting") == "hello")
        #expect(try await redis.get("missing") == nil)
        #expect((1...100).contains(try await redis.ttl("greeting")))
        let refused = try await redis.set("greeting", value: "again", condition: .nx)  // NX: not set
        #expect(refused == .null || refused == .bulk(value: nil))
        #expect(try await redis.set("greeting", value: "new", get: true).string == "hello")  // GET: the old value
        #expect(try await redis.incrby("n", increment: 41) == 41)
        #expect(try await redis.incr("n") == 42)
        #expect(try await redis.incrbyfloat("f", increment: 1.5) == 1.5)
        try await redis.mset(keyValue: [(key: "a", value: "1"), (key: "b", value: "2")])
        #expect(try await redis.mget(["a", "missing", "b"]) == ["1", nil, "2"])
        #expect(try await redis.exists(["a", "b", "missing"]) == 2)
        #expect(try await redis.expire("a", seconds: 50, condition: .nx))
        #expect(try await !redis.expire("missing", seconds: 50))
        #expect(try await redis.type("a") == "string")
        #expect(try await redis.del(["a", "b"]) == 2)
        let wrong = await #expect(throws: RedisServerError.self) { try await redis.incr("greeting") }
        #expect(wrong?.code == "ERR")
    }

    @Test(arguments: [RedisConfiguration.ProtocolVersion.resp3, .resp2])
    func hashesListsSetsAndSortedSets(_ version: RedisConfiguration.ProtocolVersion) async throws {
        let (server, redis) = try await Self.client(version)
        defer { redis.close(); server.stop() }
        #expect(try await redis.hset("h", fieldValue: [(field: "x", value: "1"), (field: "y", value: "2")]) == 2)
        #expect(try await redis.hgetall("h") == ["x": "1", "y": "2"])  // a map in RESP3, pairs in RESP2
        #expect(try await redis.hget("h", field: "x") == "1")
        #expect(try await redis.hexists("h", field: "y"))
        #expect(try await redis.hincrby("h", field: "x", increment: 9) == 10)
        #expect(try await redis.rpush("l", element: ["a", "b", "c"]) == 3)
        #expect(try await redis.lrange("l", start: 0, stop: -1) == ["a", "b", "c"])
        #expect(try await redis.lindex("l", index: 5) == nil)
        #expect(try await redis.sadd("s", member: ["p", "q"]) == 2)
        #expect(Set(try await redis.smembers("s")) == ["p", "q"])
        #expect(try await redis.sismember("s", member: "p"))
        #expect(try await redis.zadd("z", scoreMember: [(score: 1.5, member: "one"), (score: 2, member: "two")]) == .integer(2))
        #expect(try await redis.zscore("z", member: "one") == 1.5)
        #expect(try await redis.zscore("z", member: "none") == nil)
        #expect(try await redis.zincrby("z", increment: 1, member: "one") == 2.5)
        #expect(try await redis.zcard("z") == 2)
    }

    @Test(arguments: [RedisConfiguration.ProtocolVersion.resp3, .resp2])
    func streamsAndScripts(_ version: RedisConfiguration.ProtocolVersion) async throws {
        let (server, redis) = try await Self.client(version)
        defer { redis.close(); server.stop() }
        let first = try #require(try await redis.xadd("events", idOrAuto: .autoId, fieldValue: [(field: "kind", value: "login"), (field: "user", value: "ada")]))
        let second = try #require(try await redis.xadd("events", trim: RedisXaddTrim(strategy: .maxlen, threshold: "100"), idOrAuto: .id("9999999999999-0"), fieldValue: [(field: "kind", value: "logout")]))
        #expect(second == "9999999999999-0")
        #expect(try await redis.xlen("events") == 2)
        let entries = try await redis.xrange("events", start: "-", end: "+")
        #expect(entries.map(\.id) == [first, second])
        #expect(entries[0]["user"] == "ada" && entries[0].fields.map(\.name) == ["kind", "user"])
        let read = try await redis.xread(count: 10, streams: RedisXreadStreams(key: ["events"], id: ["0"]))
        #expect(read["events"]?.count == 2)
        let timedOut = try await redis.xread(milliseconds: 50, streams: RedisXreadStreams(key: ["events"], id: ["$"]))
        #expect(timedOut.isEmpty)  // a blocking read that timed out: null
        #expect(try await redis.eval("return ARGV[1] .. KEYS[1]", numkeys: 1, key: ["k"], arg: ["x"]).string == "xk")
        await #expect(throws: RedisServerError.self) { try await redis.eval("return redis.call('nope')", numkeys: 0) }
    }

    @Test func typedResultsRefuseRepliesOfAnotherShape() throws {
        #expect(throws: RedisReplyTypeError.self) { try Reply.array(elements: [.integer(1)]).redisOptionalString() }
        #expect(throws: RedisServerError("WRONGTYPE Operation against a key")) { try Reply.error("WRONGTYPE Operation against a key").redisInteger() }
        #expect(throws: RedisReplyTypeError.self) { try Reply.array(elements: [.simple("odd")]).redisStringMap() }
        #expect(try Reply.bulk(value: Array("2.5".utf8)).redisDouble() == 2.5)
        #expect(try Reply.double(2.5).redisDouble() == 2.5)
    }
}
