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
        try await cache.touchWithoutReply("key2", exptime: 100)
        let values = try await cache.get((0..<100).map { "key\($0)" })  // written after the quiet ones
        #expect(values.count == 49)
        #expect(values["key98"]?.data == Array("value 98".utf8))
        #expect(values["key0"] == nil && values["key1"] == nil)
        let stats = try await cache.stats()
        #expect(stats.fields["cmd_get"] == "100" && stats.getHits == 49)  // the quiet commands came first
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
