import Foundation
import Testing
import WireClient
import WireMemcached
import Wirestream

/// `MemcachedClient` (generated from memcached.wire's `client Memcached`, conveniences by hand)
/// against Debian's memcached, started per test on a free port.
@Suite struct MemcachedClientTests {
    static func startMemcached(port: Int? = nil, _ extra: [String] = []) throws -> ServerProcess {
        let executable = try #require(ServerProcess.locate("memcached"), "memcached is installed by .ci/run")
        return try ServerProcess(executable, port: port) { ["-p", "\($0)", "-l", "127.0.0.1", "-U", "0", "-u", "root"] + extra }
    }

    static func configuration(_ port: Int) -> ClientConfiguration {
        var configuration = ClientConfiguration(port: port)
        configuration.requestTimeout = .seconds(5)
        return configuration
    }

    @Test func storageCommandsAndTheirConditions() async throws {
        let server = try Self.startMemcached()
        let cache = try await MemcachedClient.connect(Self.configuration(server.port))
        defer { cache.close() }
        let binary: [UInt8] = Array(0...255) + Array("\r\nEND\r\n".utf8)
        try await cache.set("k", binary, flags: 0xDEAD_BEEF)
        #expect(try await cache.get("k") == MemcachedValue(key: "k", data: binary, flags: 0xDEAD_BEEF, cas: nil))
        #expect(try await cache.store(.add, "k", [1]) == .notStored)
        #expect(try await cache.store(.replace, "missing", [1]) == .notStored)
        #expect(try await cache.store(.replace, "k", Array("b".utf8)) == .stored)
        #expect(try await cache.store(.append, "k", Array("c".utf8)) == .stored)
        #expect(try await cache.store(.prepend, "k", Array("a".utf8)) == .stored)
        #expect(try await cache.get("k")?.data == Array("abc".utf8))
        let unique = try #require(try await cache.gets(["k"])["k"]?.cas)
        #expect(try await cache.cas("k", Array("new".utf8), unique: unique) == .stored)
        #expect(try await cache.cas("k", Array("late".utf8), unique: unique) == .exists)
        #expect(try await cache.cas("gone", Array("x".utf8), unique: 1) == .notFound)
        #expect(try await cache.delete("k"))
        #expect(try await !cache.delete("k"))
        #expect(try await cache.get("k") == nil)
    }

    @Test func countersTouchGatStatsVersionAndFlush() async throws {
        let server = try Self.startMemcached()
        let cache = try await MemcachedClient.connect(Self.configuration(server.port))
        defer { cache.close() }
        #expect(try await cache.increment("n") == nil)
        try await cache.set("n", Array("41".utf8))
        #expect(try await cache.increment("n") == 42)
        #expect(try await cache.decrement("n", by: 50) == 0)  // stops at 0
        #expect(try await cache.touch("n", exptime: 100))
        #expect(try await !cache.touch("none", exptime: 100))
        let touched = try await cache.gats(["n"], exptime: 200)
        #expect(touched["n"]?.data == Array("0 ".utf8))  // memcached keeps the length a decrement shortens
        #expect(touched["n"]?.cas != nil)
        #expect(try await cache.gat(["n", "none"], exptime: 300).keys.sorted() == ["n"])
        let version = try await cache.version()
        #expect(version.first?.isNumber == true)
        let stats = try await cache.stats()
        #expect(stats.version == version)
        #expect(stats.currentItems == 1)
        #expect(stats.limitMaxBytes == 64 << 20)
        #expect(stats.fields["touch_hits"] == "3" && stats.fields["touch_misses"] == "2")  // touch ×2, gats, gat of two keys
        #expect(try await cache.statsEntries("settings").contains { $0.name == "maxconns" })
        try await cache.set("text", Array("abc".utf8))
        let notNumber = await #expect(throws: MemcachedError.self) { try await cache.increment("text") }
        #expect(notNumber?.kind == .clientError("cannot increment or decrement non-numeric value"))
        try await cache.flushAll()
        #expect(try await cache.get("n") == nil)
    }

    @Test func aMultiGetIsOneRequestAndNoReplyCommandsKeepTheirOrder() async throws {
        let server = try Self.startMemcached()
        let cache = try await MemcachedClient.connect(Self.configuration(server.port))
        defer { cache.close() }
        for index in 0..<100 where index % 2 == 0 {
            try await cache.storeWithoutReply(.set, "key\(index)", Array("value \(index)".utf8))
        }
        try await cache.deleteWithoutReply("key0")
        try await cache.storeWithoutReply(.set, "counter", Array("10".utf8))
        try await cache.incrementWithoutReply("counter", by: 5)
        try await cache.incrementWithoutReply("counter", by: -3)
        try await cache.touchWithoutReply("key2", exptime: 100)
        let values = try await cache.get((0..<100).map { "key\($0)" })  // written after the quiet ones
        #expect(values.count == 49)
        #expect(values["key98"]?.data == Array("value 98".utf8))
        #expect(values["key0"] == nil && values["key1"] == nil)
        #expect(try await cache.get("counter")?.data == Array("12".utf8))
        let stats = try await cache.stats()
        #expect(stats.fields["cmd_get"] == "101" && stats.getHits == 50)  // the quiet commands came first
    }

    @Test func keysAndValuesAreCheckedBeforeSending() async throws {
        let server = try Self.startMemcached()
        var configuration = Self.configuration(server.port)
        configuration.maxReplyBytes = 1024
        let cache = try await MemcachedClient.connect(configuration)
        defer { cache.close() }
        for bad in ["", "two words", "tab\there", "new\r\nline", "del\u{7F}", String(repeating: "k", count: 251)] {
            await #expect(throws: MemcachedKeyError(key: bad)) { try await cache.set(bad, [1]) }
            await #expect(throws: MemcachedKeyError(key: bad)) { try await cache.get(["ok", bad]) }
        }
        await #expect(throws: MemcachedValueTooLargeError(size: 1025, limit: 1024)) { try await cache.set("big", Array(repeating: 0, count: 1025)) }
        #expect(try await cache.stats().fields["cmd_set"] == "0")  // nothing reached the server
        try await cache.set(String(repeating: "k", count: 250), Array(repeating: 7, count: 1024))
    }

    @Test func aPoolLendsClientsAndReplacesOnesThatDropped() async throws {
        let server = try Self.startMemcached()
        var configuration = Self.configuration(server.port)
        configuration.reconnect = false
        let pool = ConnectionPool<MemcachedClient>(configuration: .init(maximumConnections: 2)) { [configuration] in
            try await MemcachedClient.connect(configuration)
        }
        defer { pool.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask { try await pool.withConnection { try await $0.set("p\(index)", [UInt8(index)]) } }
            }
            try await group.waitForAll()
        }
        #expect(pool.statistics.idle <= 2 && pool.statistics.leased == 0)
        let dropped = try await pool.withConnection { client in
            client.connection?.close()
            return client
        }
        while !dropped.isClosed { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try await pool.withConnection { try await $0.get("p7")?.data } == [7])  // a working client
    }

    @Test func aThousandConcurrentTasksShareOneConnection() async throws {
        let server = try Self.startMemcached()
        let cache = try await MemcachedClient.connect(Self.configuration(server.port))
        defer { cache.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<1000 {
                group.addTask {
                    try await cache.set("k\(index)", Array("\(index)".utf8))
                    let value = try await cache.get("k\(index)")
                    #expect(value?.data == Array("\(index)".utf8))
                }
            }
            try await group.waitForAll()
        }
        #expect(try await cache.stats().currentConnections <= 3)  // ours plus memcached's own listeners
    }
}

/// Consistent hashing on its own: where keys go, and how few move when a server joins.
struct KetamaRingTests {
    static let keys = (0..<10_000).map { "user:\($0)" }

    static func ring(_ count: Int, weights: [Int]? = nil) -> KetamaRing<Int> {
        KetamaRing((0..<count).map { ($0, "10.0.0.\($0 + 1):11211", weights?[$0] ?? 1) })
    }

    @Test func addingOneServerToNMovesAboutOneInNPlusOneKeysAllToIt() {
        for count in [2, 4, 9] {
            let before = Self.ring(count)
            let after = Self.ring(count + 1)
            var moved = 0
            for key in Self.keys {
                let old = before.server(for: key.utf8)
                let new = after.server(for: key.utf8)
                if old != new {
                    moved += 1
                    #expect(new == count, "a moved key went to an old server")
                }
            }
            let share = Double(moved) / Double(Self.keys.count)
            let expected = 1 / Double(count + 1)
            #expect(abs(share - expected) < expected * 0.3, "\(count) → \(count + 1) servers moved \(share) of the keys, expected about \(expected)")
        }
    }

    @Test func keysSpreadInProportionToWeight() {
        let ring = Self.ring(3, weights: [1, 1, 2])
        var counts = [0, 0, 0]
        for key in Self.keys { counts[ring.server(for: key.utf8)] += 1 }
        #expect(Double(counts[2]) / Double(Self.keys.count) > 0.4 && Double(counts[2]) / Double(Self.keys.count) < 0.6, "\(counts)")
        #expect(counts[0] > 1_800 && counts[1] > 1_800, "\(counts)")
    }

    @Test func theSameServersGiveTheSameAnswerInAnyOrder() {
        let forward = KetamaRing([(0, "a:1", 1), (1, "b:1", 1), (2, "c:1", 1)])
        let backward = KetamaRing([(2, "c:1", 1), (1, "b:1", 1), (0, "a:1", 1)])
        #expect(Self.keys.allSatisfy { forward.server(for: $0.utf8) == backward.server(for: $0.utf8) })
    }
}

/// `MemcachedCluster` over three real memcached servers.
@Suite struct MemcachedClusterTests {
    @Test func keysLiveOnTheServerTheRingGivesAndMultiGetsMerge() async throws {
        let servers = try (0..<3).map { _ in try MemcachedClientTests.startMemcached() }
        let cluster = MemcachedCluster(servers: servers.map { MemcachedCluster.Server(port: $0.port) }, configuration: MemcachedClientTests.configuration(0))
        defer { cluster.close() }
        let keys = (0..<3000).map { "key:\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for key in keys { group.addTask { try await cluster.set(key, Array(key.utf8)) } }
            try await group.waitForAll()
        }
        let values = try await cluster.get(keys + ["missing"])
        #expect(values.count == 3000 && values.allSatisfy { $0.value.data == Array($0.key.utf8) })
        // Each server holds exactly the keys the ring gives it, about a third each.
        for server in servers {
            let direct = try await MemcachedClient.connect(MemcachedClientTests.configuration(server.port))
            defer { direct.close() }
            let mine = keys.filter { cluster.server(for: $0).port == server.port }
            #expect(mine.count > 600, "\(mine.count) keys on one of three servers")
            #expect(try await direct.get(mine).count == mine.count)
            #expect(try await direct.stats().currentItems == mine.count)
        }
        #expect(try await cluster.increment("counter") == nil)
        try await cluster.set("counter", Array("1".utf8))
        #expect(try await cluster.increment("counter", by: 2) == 3)
        #expect(try await cluster.delete("counter"))
    }

    @Test func aFailedServerIsMarkedDownAndTriedAgainAfterTheDelay() async throws {
        let healthy = try MemcachedClientTests.startMemcached()
        var failing = try MemcachedClientTests.startMemcached()
        let port = failing.port
        let cluster = MemcachedCluster(
            servers: [.init(port: healthy.port), .init(port: port)], configuration: MemcachedClientTests.configuration(0),
            retryDelay: .milliseconds(500))
        defer { cluster.close() }
        let keys = (0..<200).map { "k\($0)" }
        let lost = try #require(keys.first { cluster.server(for: $0).port == port })
        let kept = try #require(keys.first { cluster.server(for: $0).port == healthy.port })
        try await cluster.set(lost, [1])
        try await cluster.set(kept, [2])
        failing.stop()
        // The failure itself: the connection closed, or (if the client saw the close first) refused.
        await #expect(throws: (any Error).self) { try await cluster.get(lost) }
        let start = ContinuousClock.now
        await #expect(throws: MemcachedServerDownError.self) { try await cluster.set(lost, [3]) }  // at once
        #expect(ContinuousClock.now - start < .milliseconds(100))
        #expect(try await cluster.get(kept)?.data == [2])  // the other server is unaffected
        await #expect(throws: MemcachedServerDownError.self) { try await cluster.get([lost, kept]) }

        failing = try MemcachedClientTests.startMemcached(port: port)  // back, empty
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await cluster.get(lost) == nil)
        try await cluster.set(lost, [4])
        #expect(try await cluster.get(lost)?.data == [4])
    }

    @Test func downServersCanReadAsMisses() async throws {
        let healthy = try MemcachedClientTests.startMemcached()
        let failing = try MemcachedClientTests.startMemcached()
        let cluster = MemcachedCluster(
            servers: [.init(port: healthy.port), .init(port: failing.port)], configuration: MemcachedClientTests.configuration(0),
            downServersMiss: true)
        defer { cluster.close() }
        let keys = (0..<100).map { "k\($0)" }
        for key in keys { try await cluster.set(key, Array(key.utf8)) }
        failing.stop()
        let values = try await cluster.get(keys)
        let onHealthy = keys.filter { cluster.server(for: $0).port == healthy.port }
        #expect(Set(values.keys) == Set(onHealthy))
    }
}

/// Servers scripted to misbehave: each is a typed error within the deadline, no socket left open.
@Suite struct MemcachedHostileServerTests {
    static func failure(of reply: String, thenClose: Bool = true, timeout: Duration = .seconds(5)) async throws -> any Error {
        try await failureAgainstScriptedServer(replying: reply, thenClose: thenClose, timeout: timeout, maxReplyBytes: 1 << 20) {
            try await MemcachedClient.connect($0)
        } call: { try await $0.get(["k"]) }
    }

    @Test func everyMisbehaviourIsATypedErrorInTime() async throws {
        let miscounted = try await Self.failure(of: "VALUE k 0 2\r\nabc\r\nEND\r\n")
        #expect((miscounted as? WireProtocolError)?.kind == .unexpectedBytes(expected: "\"\\r\\n\"", found: Array("c\r".utf8)))
        let noEnd = try await Self.failure(of: "VALUE k 0 1\r\na\r\n")
        #expect((noEnd as? WireProtocolError)?.kind == .truncated)
        let oversized = try await Self.failure(of: "VALUE k 0 5000000\r\n", thenClose: false)
        #expect((oversized as? StreamClosedError)?.realError as? StreamBufferFullError == StreamBufferFullError(buffer: .read, limit: 1 << 20, size: 5_000_000))
        let longLine = try await Self.failure(of: "SERVER_ERROR " + String(repeating: "x", count: 2000) + "\r\n", thenClose: false)
        #expect((longLine as? WireProtocolError)?.kind == .limitExceeded(limit: 1024, value: nil))
        let cut = try await Self.failure(of: "VALUE k 0 10\r\nabc")
        #expect((cut as? WireProtocolError)?.kind == .truncated)
        let start = ContinuousClock.now
        let silent = try await Self.failure(of: "", thenClose: false, timeout: .milliseconds(200))
        #expect(silent is TimeoutError)
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    /// A server that floods one reply with values faster than they parse keeps the buffer full,
    /// so the parse never waits for data; the caller's deadline still ends it on time (the reading
    /// task yields to the loop's timers). Without that, only the 100,000-value limit ended it —
    /// after a second here, many under a sanitizer.
    @Test func aFloodOfValuesCannotHoldTheDeadlineOff() async throws {
        let peer = try HostilePeer(.init("", then: .flood(Array("VALUE k 0 1\r\na\r\n".utf8))), serverSpeaksFirst: false)
        defer { peer.close() }
        var configuration = ClientConfiguration(port: peer.port)
        configuration.requestTimeout = .milliseconds(100)
        configuration.reconnect = false
        let client = try await MemcachedClient.connect(configuration)
        defer { client.close() }
        let start = ContinuousClock.now
        await #expect(throws: TimeoutError.self) { _ = try await client.get("k") }
        #expect(ContinuousClock.now - start < .milliseconds(600))
    }
}
