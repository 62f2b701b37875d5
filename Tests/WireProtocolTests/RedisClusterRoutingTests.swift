import Foundation
import Testing
@testable import WireRedis
import Wirestream

/// The cluster client's parsing of addresses, redirects and topology replies, on replies written
/// here (the shapes older servers and failovers produce), and on a real cluster's own replies.
struct RedisClusterRoutingTests {
    @Test func nodeAddressesParseAsRedirectsWriteThem() {
        #expect(RedisClusterNode("127.0.0.1:7000") == RedisClusterNode(host: "127.0.0.1", port: 7000))
        #expect(RedisClusterNode("[::1]:7001") == RedisClusterNode(host: "::1", port: 7001))
        #expect(RedisClusterNode("::1:7002") == RedisClusterNode(host: "::1", port: 7002))
        #expect(RedisClusterNode("redis-0.local:6379")?.description == "redis-0.local:6379")
        #expect(RedisClusterNode(host: "::1", port: 7001).description == "[::1]:7001")
        for bad in ["host", ":7000", "host:0", "host:65536", "host:port", "", "[]:7000"] {
            #expect(RedisClusterNode(bad) == nil, "\(bad)")
        }
        #expect(throws: RedisURLError.self) { try RedisClusterConfiguration(seeds: ["127.0.0.1:7000", "nonsense"]) }
    }

    @Test func redirectsAreReadFromErrorReplies() {
        let node = RedisClusterNode(host: "127.0.0.1", port: 6381)
        #expect(RedisClusterClient.redirect(in: "MOVED 3999 127.0.0.1:6381") == .moved(slot: 3999, to: node))
        #expect(RedisClusterClient.redirect(in: "ASK 3999 127.0.0.1:6381") == .ask(slot: 3999, to: node))
        #expect(RedisClusterClient.redirect(in: "ASK 0 [::1]:7000") == .ask(slot: 0, to: RedisClusterNode(host: "::1", port: 7000)))
        #expect(RedisClusterClient.redirect(in: "TRYAGAIN Multiple keys request during rehashing of slot") == .tryAgain)
        #expect(RedisClusterClient.redirect(in: "CLUSTERDOWN The cluster is down") == .clusterDown)
        // A transaction's joined errors (RedisClient.transaction): EXECABORT then the queued one's.
        #expect(RedisClusterClient.redirect(in: "EXECABORT Transaction discarded because of previous errors.; MOVED 12 127.0.0.1:6381")
            == .moved(slot: 12, to: node))
        for other in ["ERR unknown command", "MOVED", "MOVED 16384 127.0.0.1:6381", "MOVED -1 127.0.0.1:6381", "MOVED 12 nowhere",
                      "WRONGTYPE Operation against a key holding the wrong kind of value"] {
            #expect(RedisClusterClient.redirect(in: other) == nil, "\(other)")
        }
    }

    /// `CLUSTER SLOTS` as servers before 7 send it: a primary per range (its ranges merged into one
    /// shard), replicas after it, an empty host meaning the node asked.
    @Test func topologyFromClusterSlots() throws {
        func node(_ host: String, _ port: Int) -> Reply { .array(elements: [.bulk(value: bytes(host)), .integer(port), .bulk(value: bytes("id"))]) }
        let reply = Reply.array(elements: [
            .array(elements: [.integer(0), .integer(5460), node("10.0.0.1", 7000), node("10.0.0.4", 7003)]),
            .array(elements: [.integer(5461), .integer(10922), node("", 7001), node("10.0.0.5", 7004)]),
            .array(elements: [.integer(10923), .integer(16000), node("10.0.0.3", 7002)]),
            .array(elements: [.integer(16001), .integer(16383), node("10.0.0.3", 7002)]),
        ])
        let asked = RedisClusterNode(host: "seed.local", port: 7001)
        let topology = try RedisClusterTopology(slotsReply: reply, asked: asked)
        #expect(topology.shards.count == 3)
        #expect(topology.primary(forSlot: 0) == RedisClusterNode(host: "10.0.0.1", port: 7000))
        #expect(topology.primary(forSlot: 6000) == asked)
        #expect(topology.primary(forSlot: 16383) == RedisClusterNode(host: "10.0.0.3", port: 7002))
        #expect(topology.shards[2].slots == [10923...16000, 16001...16383])
        #expect(topology.replicas(of: asked) == [RedisClusterNode(host: "10.0.0.5", port: 7004)])
        #expect(topology.coveredSlots == RedisHashSlot.count)
        #expect(throws: RedisReplyTypeError.self) { try RedisClusterTopology(slotsReply: .array(elements: [.integer(1)]), asked: asked) }
        #expect(throws: RedisServerError.self) { try RedisClusterTopology(slotsReply: .error("ERR cluster support disabled"), asked: asked) }
    }

    /// `CLUSTER SHARDS` (RESP2 shape) during a failover: the dead primary still listed as a
    /// failed master beside the promoted replica; a replica still loading is not read from; an
    /// endpoint of `?` falls back to the node's IP; slots missing from every shard have no primary.
    @Test func topologyFromClusterShardsDuringAFailover() throws {
        func fields(_ pairs: [(String, Reply)]) -> Reply { .array(elements: pairs.flatMap { [Reply.bulk(value: bytes($0.0)), $0.1] }) }
        func node(_ ip: String, _ endpoint: String, _ port: Int, _ role: String, _ health: String) -> Reply {
            fields([("id", .bulk(value: bytes("x"))), ("port", .integer(port)), ("ip", .bulk(value: bytes(ip))),
                    ("endpoint", .bulk(value: bytes(endpoint))), ("role", .bulk(value: bytes(role))), ("health", .bulk(value: bytes(health)))])
        }
        let reply = Reply.array(elements: [
            fields([("slots", .array(elements: [.integer(0), .integer(99), .integer(200), .integer(299)])),
                    ("nodes", .array(elements: [node("10.0.0.1", "10.0.0.1", 7000, "master", "fail"),
                                                node("10.0.0.4", "?", 7003, "master", "online")]))]),
            fields([("slots", .array(elements: [.integer(100), .integer(199)])),
                    ("nodes", .array(elements: [node("10.0.0.2", "10.0.0.2", 7001, "master", "online"),
                                                node("10.0.0.5", "10.0.0.5", 7004, "replica", "loading"),
                                                node("10.0.0.6", "10.0.0.6", 7005, "replica", "online")]))]),
        ])
        let topology = try RedisClusterTopology(shardsReply: reply, asked: RedisClusterNode(host: "seed", port: 1), tls: false)
        #expect(topology.primary(forSlot: 250) == RedisClusterNode(host: "10.0.0.4", port: 7003))
        #expect(topology.primary(forSlot: 150) == RedisClusterNode(host: "10.0.0.2", port: 7001))
        #expect(topology.replicas(of: RedisClusterNode(host: "10.0.0.2", port: 7001)) == [RedisClusterNode(host: "10.0.0.6", port: 7005)])
        #expect(topology.primary(forSlot: 300) == nil)
        #expect(topology.coveredSlots == 300)
    }

    /// On a real cluster the two replies describe the same primaries and slots.
    @Test func clusterShardsAndClusterSlotsAgreeOnARealCluster() async throws {
        let fixture = try RedisClusterFixture.shared()
        let seed = fixture.seeds[0]
        let redis = try await RedisClient.connect(RedisConfiguration(host: seed.host, port: seed.port), loop: .shared)
        defer { redis.close() }
        let shards = try RedisClusterTopology(shardsReply: try await redis.send("CLUSTER", "SHARDS"), asked: seed, tls: false)
        let slots = try RedisClusterTopology(slotsReply: try await redis.send("CLUSTER", "SLOTS"), asked: seed)
        #expect(shards.coveredSlots == RedisHashSlot.count)
        #expect(Set(shards.primaries) == Set(slots.primaries))
        for slot in stride(from: 0, to: RedisHashSlot.count, by: 97) {
            #expect(shards.primary(forSlot: slot) == slots.primary(forSlot: slot))
        }
    }

    @Test func noSeedAnsweringIsATypedErrorWithTheCause() async throws {
        let dead = try (0..<2).map { _ in RedisClusterNode(host: "127.0.0.1", port: try ServerProcess.freePort()) }
        let error = try await #require(throws: RedisClusterUnavailableError.self) {
            try await RedisClusterClient.connect(RedisClusterConfiguration(seeds: dead), loop: .shared)
        }
        #expect(error.lastError is StreamClosedError)
        #expect(error.reason.contains(dead[1].description))
    }

    @Test func aSeedWithoutClusterSupportIsATypedError() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        let error = try await #require(throws: RedisClusterUnavailableError.self) {
            try await RedisClusterClient.connect(RedisClusterConfiguration(seeds: [RedisClusterNode(host: "127.0.0.1", port: server.port)]), loop: .shared)
        }
        #expect((error.lastError as? RedisServerError)?.message.contains("cluster support disabled") == true)
        await expectNoConnections(toPort: server.port)
    }
}
