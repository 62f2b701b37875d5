import Foundation
import Synchronization
import Testing
import WireClient
import WireRedis
import Wirestream

/// RedisClusterClient against a real local cluster (``RedisClusterFixture``, started once).
/// Each test uses keys of its own prefix.
@Suite(.serialized)
struct RedisClusterTests {
    @Test func hashSlotsAreTheServersForPlainAndTaggedKeys() async throws {
        #expect(RedisHashSlot.crc16(Array("123456789".utf8)) == 0x31C3)  // CRC16/XMODEM's check value
        let cluster = try RedisClusterFixture.shared()
        let port = cluster.ports[0]
        let keys = ["", "a", "foo", "user:1000", "{user1000}.following", "{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap",
                    "foo{bar}{zap}", "{}", "}{", "{a", "é", "\u{1F600}"] + (0..<200).map { "key:\($0 * 7919)" }
        for key in keys {
            let server = Int(try cluster.cli(port: port, "CLUSTER", "KEYSLOT", key).trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(RedisHashSlot.of(key) == server, "\(key)")
        }
        #expect(RedisHashSlot.of("{user1000}.following") == RedisHashSlot.of("{user1000}.followers"))
    }

    /// The key positions found from the command table agree with the server's `COMMAND GETKEYS`.
    @Test func keysAreFoundWhereTheServerFindsThem() async throws {
        let fixture = try RedisClusterFixture.shared()
        let cluster = try await fixture.connect()
        defer { cluster.close() }
        #expect(cluster.commands.count > 200)
        let samples: [[String]] = [
            ["GET", "k"], ["SET", "k", "v", "EX", "10"], ["MSET", "a", "1", "b", "2", "c", "3"], ["MGET", "a", "b"],
            ["DEL", "a", "b", "c"], ["EVAL", "return 1", "2", "k1", "k2", "arg"], ["EVALSHA", "abc", "0", "x"],
            ["XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"], ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s1", "0"],
            ["ZUNIONSTORE", "dest", "2", "z1", "z2", "WEIGHTS", "1", "2"], ["ZINTER", "2", "z1", "z2"], ["LMPOP", "2", "l1", "l2", "LEFT"],
            ["BLMPOP", "0", "1", "l1", "LEFT"], ["OBJECT", "ENCODING", "k"], ["XINFO", "STREAM", "s"], ["BITOP", "AND", "d", "s1", "s2"],
            ["RENAME", "a", "b"], ["SINTERCARD", "2", "s1", "s2"], ["GEORADIUS", "g", "0", "0", "1", "km", "STORE", "dst"],
            ["MEMORY", "USAGE", "k"], ["HSET", "h", "f", "v"], ["LMOVE", "l1", "l2", "LEFT", "RIGHT"],
        ]
        for words in samples {
            let command = Command(words)
            let server = try await cluster.send(["COMMAND", "GETKEYS"] + words)
            let expected = (server.elements ?? []).compactMap(\.string)
            switch cluster.commands.keys(of: command) {
            case .keys(let keys):
                #expect(keys.map { String(decoding: $0, as: UTF8.self) } == expected, "\(words)")
            case .askServer:
                #expect(["GEORADIUS"].contains(words[0]), "\(words) should be known from its key specs")
            case .unknownCommand:
                Issue.record("\(words[0]) is unknown to the table")
            }
        }
        #expect(cluster.commands.keys(of: Command(["PING"])) == .keys([]))
        #expect(cluster.commands.keys(of: Command(["NOSUCHCOMMAND", "x"])) == .unknownCommand)
        #expect(cluster.commands.isReadOnly(Command(["GET", "k"])))
        #expect(!cluster.commands.isReadOnly(Command(["SET", "k", "v"])))
        #expect(cluster.commands.isReadOnly(Command(["XINFO", "STREAM", "s"])))
    }

    @Test func tenThousandKeysWrittenAcrossEverySlotReadBack() async throws {
        let fixture = try RedisClusterFixture.shared()
        let cluster = try await fixture.connect()
        defer { cluster.close() }
        let keys = (0..<10_000).map { "bulk:\($0)" }
        #expect(Set(keys.map(RedisHashSlot.of)).count > 7_000)  // spread over most slots
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<20 {
                group.addTask {
                    for index in stride(from: task, to: keys.count, by: 20) {
                        try await cluster.set(keys[index], value: "v\(index)")
                    }
                }
            }
            try await group.waitForAll()
        }
        for start in stride(from: 0, to: keys.count, by: 500) {  // and read back in pipelines split by node
            let replies = try await cluster.pipeline((start..<start + 500).map { ["GET", keys[$0]] })
            #expect(replies.map(\.string) == (start..<start + 500).map { "v\($0)" })
        }
        var perPrimary: [RedisClusterNode: Int] = [:]
        for (node, reply) in try await cluster.sendToPrimaries(Command(["EVAL", "return #redis.call('KEYS', 'bulk:*')", "0"])) {
            guard case .integer(let count) = reply else { throw RedisServerError("unexpected \(reply)") }
            perPrimary[node] = count
        }
        #expect(perPrimary.count == 3)
        #expect(perPrimary.values.reduce(0, +) == 10_000)
        #expect(perPrimary.values.allSatisfy { $0 > 2_500 })  // each primary owns a third of the slots
    }

    @Test func hashTaggedMultiKeyCommandsAndTransactionsRunInOneSlot() async throws {
        let fixture = try RedisClusterFixture.shared()
        let cluster = try await fixture.connect()
        defer { cluster.close() }
        try await cluster.send("MSET", "{tag:1}:a", "1", "{tag:1}:b", "2")
        #expect(try await cluster.send("MGET", "{tag:1}:a", "{tag:1}:b").elements?.compactMap(\.string) == ["1", "2"])
        let results = try await cluster.transaction([["INCR", "{tag:1}:a"], ["INCRBY", "{tag:1}:b", "10"]])
        #expect(results == [.integer(2), .integer(12)])
        let script = try await cluster.send("EVAL", "return redis.call('GET', KEYS[1]) .. redis.call('GET', KEYS[2])", "2", "{tag:1}:a", "{tag:1}:b")
        #expect(script.string == "212")
    }

    @Test func commandsWhoseKeysSpanSlotsAreRefusedBeforeSending() async throws {
        let fixture = try RedisClusterFixture.shared()
        let cluster = try await fixture.connect()
        defer { cluster.close() }
        let (a, b) = ("cross:a", "cross:b")
        try #require(RedisHashSlot.of(a) != RedisHashSlot.of(b))
        let error = await #expect(throws: RedisClusterCrossSlotError.self) { try await cluster.send("MSET", a, "1", b, "2") }
        #expect(error?.command == "MSET")
        #expect(error?.keys.map(\.slot) == [RedisHashSlot.of(a), RedisHashSlot.of(b)])
        await #expect(throws: RedisClusterCrossSlotError.self) { try await cluster.transaction([["SET", a, "1"], ["SET", b, "2"]]) }
        await #expect(throws: RedisClusterCrossSlotError.self) { try await cluster.pipeline([["SET", a, "1"], ["DEL", a, b]]) }
        #expect(try await cluster.get(a) == nil)  // nothing of any of them was sent
        #expect(try await cluster.get(b) == nil)
    }

    @Test func pipelinesSplitByNodeReturnRepliesInTheCallersOrder() async throws {
        let fixture = try RedisClusterFixture.shared()
        let cluster = try await fixture.connect()
        defer { cluster.close() }
        var commands: [[String]] = []
        for index in 0..<300 {
            commands.append(["SET", "pipe:\(index)", "\(index)"])
            commands.append(["GET", "pipe:\(index)"])
        }
        commands.append(["PING"])
        commands.append(["INCR", "pipe:0"])  // an error reply stays an element of the result
        let replies = try await cluster.pipeline(commands)
        #expect(replies.count == commands.count)
        for index in 0..<300 {
            #expect(replies[2 * index] == .simple("OK"))
            #expect(replies[2 * index + 1].string == "\(index)")
        }
        #expect(replies[600] == .simple("PONG"))
        #expect(replies[601] == .integer(1))
        let nodes = Set((0..<300).compactMap { cluster.topology.primary(forSlot: RedisHashSlot.of("pipe:\($0)")) })
        #expect(nodes.count == 3)
    }

    @Test func keylessCommandsGoToPrimariesAndScanCoversTheWholeCluster() async throws {
        let fixture = try RedisClusterFixture.shared()
        let cluster = try await fixture.connect()
        defer { cluster.close() }
        #expect(try await cluster.send("PING") == .simple("PONG"))
        let written = Set((0..<400).map { "scan:\($0)" })
        _ = try await cluster.pipeline(written.map { ["SET", $0, "x"] })
        var seen = Set<String>()
        for try await key in cluster.scan(match: "scan:*", count: 50) { seen.insert(key) }
        #expect(seen == written)
        let sizes = try await cluster.sendToPrimaries("DBSIZE")
        #expect(Set(sizes.keys) == Set(cluster.topology.primaries))
    }

    @Test func readOnlyCommandsGoToReplicasWhenAsked() async throws {
        let fixture = try RedisClusterFixture.shared()
        let cluster = try await fixture.connect { $0.readFromReplicas = true }
        defer { cluster.close() }
        let key = "replica:read"
        let primary = try #require(cluster.topology.primary(forSlot: RedisHashSlot.of(key)))
        let replica = try #require(cluster.topology.replicas(of: primary).first)
        let direct = try await cluster.client(for: primary)
        try await direct.send("SET", key, "replicated")
        #expect(try await direct.send("WAIT", "1", "2000") == .integer(1))  // on the replica now
        let (primaryGets, replicaGets) = (try fixture.calls(of: "get", port: primary.port), try fixture.calls(of: "get", port: replica.port))
        #expect(try await cluster.get(key) == "replicated")
        #expect(try fixture.calls(of: "get", port: replica.port) == replicaGets + 1)
        #expect(try fixture.calls(of: "get", port: primary.port) == primaryGets)
        try await cluster.set(key, value: "written")  // writes still go to the primary
        #expect(try await direct.send("GET", key).string == "written")
    }

    /// A slot moved mid-run: while it migrates, a key already moved is answered with `ASK` (the
    /// client asks the importing node, the map unchanged); once the slot is handed over, `MOVED`
    /// (the client follows it and remembers the new owner).
    @Test func aSlotMigratedMidRunIsFollowedThroughAskThenMoved() async throws {
        let fixture = try RedisClusterFixture.shared()
        let cluster = try await fixture.connect { $0.topologyRefreshInterval = nil }
        defer { cluster.close() }
        let (moved, staying) = ("{migrate}:moved", "{migrate}:staying")
        let slot = RedisHashSlot.of(moved)
        try await cluster.send("MSET", moved, "m", staying, "s")
        let source = try #require(cluster.topology.primary(forSlot: slot))
        let target = try #require(cluster.topology.primaries.first { $0 != source })
        let sourceID = try fixture.cli(port: source.port, "CLUSTER", "MYID").trimmingCharacters(in: .whitespacesAndNewlines)
        let targetID = try fixture.cli(port: target.port, "CLUSTER", "MYID").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try fixture.cli(port: target.port, "CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", sourceID) == "OK\n")
        #expect(try fixture.cli(port: source.port, "CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", targetID) == "OK\n")
        #expect(try fixture.cli(port: source.port, "MIGRATE", "127.0.0.1", "\(target.port)", "", "0", "5000", "KEYS", moved) == "OK\n")

        let asking = try fixture.calls(of: "asking", port: target.port)
        #expect(try await cluster.get(moved) == "m")  // ASK → ASKING + GET on the target
        #expect(try fixture.calls(of: "asking", port: target.port) == asking + 1)
        #expect(try await cluster.get(staying) == "s")  // still on the source: no redirect
        #expect(cluster.topology.primary(forSlot: slot) == source)  // ASK does not change the map

        #expect(try fixture.cli(port: source.port, "MIGRATE", "127.0.0.1", "\(target.port)", "", "0", "5000", "KEYS", staying) == "OK\n")
        for port in [target.port, source.port] + fixture.ports.filter({ $0 != target.port && $0 != source.port }) {
            _ = try fixture.cli(port: port, "CLUSTER", "SETSLOT", "\(slot)", "NODE", targetID)
        }
        let refused = try fixture.stat("rejected_calls", of: "get", port: source.port)
        #expect(try await cluster.get(staying) == "s")  // MOVED → the target, remembered
        #expect(cluster.topology.primary(forSlot: slot) == target)
        #expect(try await cluster.get(moved) == "m")
        #expect(try fixture.stat("rejected_calls", of: "get", port: source.port) == refused + 1)  // only the first GET went there
        try fixture.waitUntilHealthy()
    }

    /// A key whose slot holds no key, its owner, and another primary: such a slot can be handed
    /// over with `SETSLOT … NODE` alone, behind a client's back.
    static func emptySlot(
        _ fixture: RedisClusterFixture, _ cluster: RedisClusterClient, prefix: String
    ) throws -> (key: String, slot: Int, owner: RedisClusterNode, other: RedisClusterNode) {
        for index in 0..<1000 {
            let key = "\(prefix):\(index)"
            let owner = try #require(cluster.topology.primary(forSlot: RedisHashSlot.of(key)))
            if try fixture.cli(port: owner.port, "CLUSTER", "COUNTKEYSINSLOT", "\(RedisHashSlot.of(key))") == "0\n" {
                return (key, RedisHashSlot.of(key), owner, try #require(cluster.topology.primaries.first { $0 != owner }))
            }
        }
        throw ClusterDidNotForm(output: "no empty slot among \(prefix):0…999")
    }

    /// Moves empty `slot` from `source` to `target` as resharding does — importing, migrating,
    /// then `SETSLOT … NODE` on the target first, which bumps its config epoch (without that, the
    /// cluster's gossip may hand the slot back), then everywhere else.
    static func handOver(_ slot: Int, from source: RedisClusterNode, to target: RedisClusterNode, in fixture: RedisClusterFixture) throws {
        let sourceID = try fixture.cli(port: source.port, "CLUSTER", "MYID").trimmingCharacters(in: .whitespacesAndNewlines)
        let targetID = try fixture.cli(port: target.port, "CLUSTER", "MYID").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try fixture.cli(port: target.port, "CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", sourceID) == "OK\n")
        #expect(try fixture.cli(port: source.port, "CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", targetID) == "OK\n")
        for port in [target.port, source.port] + fixture.ports.filter({ $0 != target.port && $0 != source.port }) {
            _ = try fixture.cli(port: port, "CLUSTER", "SETSLOT", "\(slot)", "NODE", targetID)
        }
    }

    @Test func moreRedirectsThanAllowedAreATypedError() async throws {
        let fixture = try RedisClusterFixture.shared()
        let cluster = try await fixture.connect { $0.maxRedirects = 0; $0.topologyRefreshInterval = nil }
        defer { cluster.close() }
        // An empty slot handed to another primary behind the client's back: its map is now stale.
        let (key, slot, owner, other) = try Self.emptySlot(fixture, cluster, prefix: "redirect")
        try Self.handOver(slot, from: owner, to: other, in: fixture)
        let error = await #expect(throws: RedisClusterRedirectError.self) { try await cluster.get(key) }
        #expect(error?.lastRedirect == "MOVED \(slot) \(other)")
        #expect(try await cluster.get(key) == nil)  // the MOVED was remembered all the same
        try Self.handOver(slot, from: other, to: owner, in: fixture)
        try fixture.waitUntilHealthy()
    }

    /// The topology is learnt again every `topologyRefreshInterval` with no command sent: a slot
    /// handed over behind the client's back shows in its map by itself.
    @Test func theTopologyIsRefreshedPeriodicallyWithoutACommand() async throws {
        let fixture = try RedisClusterFixture.shared()
        let cluster = try await fixture.connect { $0.topologyRefreshInterval = .milliseconds(200) }
        defer { cluster.close() }
        let (_, slot, owner, other) = try Self.emptySlot(fixture, cluster, prefix: "refresh")
        try Self.handOver(slot, from: owner, to: other, in: fixture)
        #expect(try await eventuallyTrue { cluster.topology.primary(forSlot: slot) == other })
        try Self.handOver(slot, from: other, to: owner, in: fixture)
        #expect(try await eventuallyTrue { cluster.topology.primary(forSlot: slot) == owner })
        try fixture.waitUntilHealthy()
    }

    /// A primary killed with SIGKILL while four tasks write: its replica is promoted and the writers
    /// carry on. Checked:
    /// - the first write sent after the kill to one of the dead primary's slots succeeds within 10 s
    ///   (node timeout 2 s + the replica's election ≤ ~2 s + one 200 ms retry; the rest is slack);
    /// - only writes in flight on the dead connection fail — at most one per writer, each with a
    ///   transport error (it may or may not have run, so it is never sent twice);
    /// - **the rule**: every write acknowledged before the replica had confirmed the primary's
    ///   replication offset, and every acknowledged write sent after the kill, is readable afterwards.
    ///   Writes acknowledged between that confirmation and the kill may be lost — Redis replicates
    ///   asynchronously, so the server itself can lose them; they are counted, not required.
    @Test func aPrimaryKilledMidWriteIsReplacedAndTheWritersResume() async throws {
        let fixture = try RedisClusterFixture.shared()
        let cluster = try await fixture.connect { $0.failoverTimeout = .seconds(30) }
        defer { cluster.close() }
        let victim = try #require(cluster.topology.primaries.first)
        let replica = try #require(cluster.topology.replicas(of: victim).first)
        let victimSlots = Set(cluster.topology.shards.first { $0.primary == victim }!.slots.flatMap { Array($0) })
        let log = WriteLogBox()
        let clock = ContinuousClock()
        let writers = 4
        let tasks = (0..<writers).map { writer in
            Task {
                var index = writer
                while !log.state.withLock({ $0.stop }) {
                    let started = clock.now
                    do {
                        try await cluster.set("failover:\(index)", value: "\(index)")
                        log.state.withLock { $0.acknowledged.append((index, started, clock.now)) }
                    } catch {
                        log.state.withLock { $0.failed.append((index, error)) }
                    }
                    index += writers
                }
            }
        }
        func waitFor(_ condition: (WriteLog) -> Bool, within seconds: Int) async throws {
            let deadline = clock.now + .seconds(seconds)
            while !log.state.withLock({ condition($0) }), clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        }
        try await waitFor({ $0.acknowledged.count >= 500 }, within: 20)
        let confirmed = Set(log.state.withLock { $0.acknowledged.map(\.index) })
        let offset = try Self.replicationOffset(fixture.cli(port: victim.port, "INFO", "replication"), "master_repl_offset")
        let synced = clock.now + .seconds(10)
        while try Self.replicationOffset(fixture.cli(port: replica.port, "INFO", "replication"), "slave_repl_offset") < offset, clock.now < synced {
            try await Task.sleep(for: .milliseconds(5))
        }
        fixture.kill(victim.port)
        let killedAt = clock.now  // a write sent before this may have reached the victim
        func resumedOnVictimSlots(_ log: WriteLog) -> Bool {
            log.acknowledged.contains { $0.started > killedAt && victimSlots.contains(RedisHashSlot.of("failover:\($0.index)")) }
        }
        try await waitFor(resumedOnVictimSlots, within: 30)
        let resumed = log.state.withLock { log in
            log.acknowledged.first { $0.started > killedAt && victimSlots.contains(RedisHashSlot.of("failover:\($0.index)")) }?.acknowledged
        }
        let afterResume = log.state.withLock { $0.acknowledged.count }
        try await waitFor({ $0.acknowledged.count >= afterResume + 300 }, within: 20)
        log.state.withLock { $0.stop = true }
        for task in tasks { await task.value }
        let (acknowledged, failed) = log.state.withLock { ($0.acknowledged, $0.failed) }

        let resumeTime = try #require(resumed, "no write to the dead primary's slots succeeded within 30 s") - killedAt
        #expect(resumeTime < .seconds(10), "writes resumed \(resumeTime) after the kill")
        #expect(cluster.topology.primaries.contains(replica))  // promoted, and the client knows
        #expect(!cluster.topology.primaries.contains(victim))
        #expect(failed.count <= writers, "\(failed.map { "\($0.index): \($0.error)" })")
        for (index, error) in failed {
            #expect(error is StreamClosedError || error is TimeoutError, "\(index): \(error)")
            #expect(victimSlots.contains(RedisHashSlot.of("failover:\(index)")))
        }
        let keys = acknowledged.map { "failover:\($0.index)" }
        var values: [String?] = []
        for start in stride(from: 0, to: keys.count, by: 500) {
            values += try await cluster.pipeline(keys[start..<min(start + 500, keys.count)].map { ["GET", $0] }).map(\.string)
        }
        var mayBeLost = 0
        for ((index, started, _), value) in zip(acknowledged, values) where value != "\(index)" {
            if confirmed.contains(index) || started > killedAt {
                Issue.record("acknowledged write failover:\(index) is gone (\(value ?? "nil"))")
            } else {
                mayBeLost += 1  // sent after the replica's confirmation, before the kill
            }
        }
        #expect(mayBeLost < 100)
        try fixture.start(victim.port)  // it comes back as the new primary's replica
        try fixture.waitUntilHealthy(timeout: 60)
    }

    private static func replicationOffset(_ info: String, _ field: String) throws -> Int {
        let line = try #require(info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("\(field):") }, "\(field) in INFO")
        return try #require(Int(line.dropFirst(field.count + 1)))
    }
}

private final class WriteLogBox: Sendable {
    let state = Locked(WriteLog())
}

/// What the failover test's writers saw.
private struct WriteLog: Sendable {
    /// Each acknowledged write, when it was sent and when its reply came.
    var acknowledged: [(index: Int, started: ContinuousClock.Instant, acknowledged: ContinuousClock.Instant)] = []
    var failed: [(index: Int, error: any Error)] = []
    var stop = false
}
