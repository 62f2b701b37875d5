import Testing
import WireClient
import WireRedis
import Wirestream

/// `RedisClient.subscribe`: under RESP3 the messages are pushes on the client's own connection,
/// between the replies to its commands; under RESP2 the subscription gets a connection of its own.
@Suite(.serialized)
struct RedisSharedSubscriptionTests {
    static func publish(_ publisher: RedisClient, _ channel: String, _ text: String) async throws -> Int {
        try await RedisSubscriberTests.publish(publisher, channel, text)
    }

    /// The clients connected to the server under `name` (`CLIENT LIST`).
    static func connections(named name: String, on admin: RedisClient) async throws -> Int {
        let list = try await admin.send("CLIENT", "LIST").string ?? ""
        return list.split(separator: "\n").filter { $0.contains(" name=\(name) ") }.count
    }

    @Test func underRESP3MessagesAndRepliesShareOneConnection() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        var configuration = RedisConfiguration(port: server.port)
        configuration.clientName = "shared"
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        let admin = try await RedisClient.connect(port: server.port)
        defer { admin.close() }
        #expect(redis.protocolVersion == .resp3)
        let news = try await redis.subscribe("news")
        let users = try await redis.psubscribe("user.*")
        // Commands go on while subscribed, many tasks at once, replies matched in order between pushes.
        let publishing = Task {
            for index in 0..<200 { _ = try await Self.publish(admin, index % 2 == 0 ? "news" : "user.\(index)", "\(index)") }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<10 {
                group.addTask {
                    for index in 0..<100 {
                        try await redis.set("k\(task)", value: "\(index)")
                        #expect(try await redis.get("k\(task)") == "\(index)")
                    }
                }
            }
            try await group.waitForAll()
        }
        try await publishing.value
        var newsIterator = news.makeAsyncIterator()
        var userIterator = users.makeAsyncIterator()
        for index in stride(from: 0, to: 200, by: 2) {
            #expect(try await newsIterator.next() == RedisMessage(kind: .message, channel: "news", payload: bytes("\(index)")))
            let user = try await userIterator.next()
            #expect(user == RedisMessage(kind: .pmessage, channel: "user.\(index + 1)", pattern: "user.*", payload: bytes("\(index + 1)")))
        }
        #expect(try await Self.connections(named: "shared", on: admin) == 1)
    }

    @Test func twoSubscriptionsToOneChannelBothReceiveAndTheLastToGoUnsubscribes() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        let redis = try await RedisClient.connect(port: server.port)
        defer { redis.close() }
        let admin = try await RedisClient.connect(port: server.port)
        defer { admin.close() }
        let first = try await redis.subscribe("jobs")
        let second = try await redis.subscribe("jobs", "other")
        #expect(try await Self.publish(admin, "jobs", "both") == 1)  // one connection subscribed
        var a = first.makeAsyncIterator()
        var b = second.makeAsyncIterator()
        #expect(try await a.next()?.text == "both")
        #expect(try await b.next()?.text == "both")
        second.unsubscribe()  // "other" goes; "jobs" is still wanted by the first
        #expect(try await b.next() == nil)
        #expect(try await eventuallyTrueAsync { try await admin.send("PUBSUB", "NUMSUB", "other").elements?.last == .integer(0) })
        #expect(try await Self.publish(admin, "jobs", "first only") == 1)
        #expect(try await a.next()?.text == "first only")
        // Cancelling the iterating task ends the first: nobody is subscribed any more.
        let iterating = Task { [a] in
            var a = a
            while try await a.next() != nil {}
        }
        iterating.cancel()
        _ = await iterating.result
        #expect(try await eventuallyTrueAsync { try await admin.send("PUBSUB", "NUMSUB", "jobs").elements?.last == .integer(0) })
        #expect(try await redis.send("PING") == .simple("PONG"))  // the connection goes on
    }

    @Test func aSubscriptionDroppedWithoutIteratingUnsubscribes() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        let redis = try await RedisClient.connect(port: server.port)
        defer { redis.close() }
        let admin = try await RedisClient.connect(port: server.port)
        defer { admin.close() }
        do {
            let dropped = try await redis.subscribe("dropped")
            _ = dropped
            #expect(try await admin.send("PUBSUB", "NUMSUB", "dropped").elements?.last == .integer(1))
        }
        #expect(try await eventuallyTrueAsync { try await admin.send("PUBSUB", "NUMSUB", "dropped").elements?.last == .integer(0) })
    }

    /// The connection is killed while nothing else happens: the client reconnects by itself,
    /// subscribes again, and later messages arrive — no command is needed to notice.
    @Test func subscriptionsResumeAfterTheConnectionIsKilled() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        var configuration = RedisConfiguration(port: server.port)
        configuration.clientName = "resumes"
        configuration.reconnectBackoff = (.milliseconds(50), .milliseconds(200))
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        let admin = try await RedisClient.connect(port: server.port)
        defer { admin.close() }
        let updates = try await redis.subscribe("updates")
        #expect(try await admin.send("CLIENT", "KILL", "TYPE", "pubsub") == .integer(1))
        #expect(try await eventuallyTrueAsync { try await Self.publish(admin, "updates", "after") == 1 })
        var iterator = updates.makeAsyncIterator()
        #expect(try await iterator.next()?.text == "after")
        #expect(try await redis.get("missing") == nil)  // and commands still work on the new connection
        #expect(try await Self.connections(named: "resumes", on: admin) == 1)
    }

    @Test func withoutReconnectingTheSubscriptionEndsWithTheConnectionsError() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        var configuration = RedisConfiguration(port: server.port)
        configuration.reconnect = false
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        let admin = try await RedisClient.connect(port: server.port)
        defer { admin.close() }
        let updates = try await redis.subscribe("updates")
        #expect(try await admin.send("CLIENT", "KILL", "TYPE", "pubsub") == .integer(1))
        var iterator = updates.makeAsyncIterator()
        await #expect(throws: StreamClosedError.self) { _ = try await iterator.next() }
    }

    /// A reader that does not keep up: the subscription holds `maxBufferedMessages`, then ends
    /// with a typed error after delivering them, and is unsubscribed — on the shared RESP3
    /// connection and on RESP2's dedicated one.
    @Test(arguments: [RedisConfiguration.ProtocolVersion.resp3, .resp2])
    func aReaderTooFarBehindEndsTheSubscriptionInsteadOfGrowingMemory(_ version: RedisConfiguration.ProtocolVersion) async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        var configuration = RedisConfiguration(port: server.port)
        configuration.protocolVersion = version
        configuration.maxBufferedMessages = 10
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        let admin = try await RedisClient.connect(port: server.port)
        defer { admin.close() }
        let flood = try await redis.subscribe("flood")
        for index in 0..<50 { _ = try await Self.publish(admin, "flood", "\(index)") }
        #expect(try await eventuallyTrueAsync { try await admin.send("PUBSUB", "NUMSUB", "flood").elements?.last == .integer(0) })
        var received: [String] = []
        do {
            for try await message in flood { received.append(message.text) }
            Issue.record("the subscription must end with an overflow")
        } catch let overflow as RedisSubscriptionOverflowError {
            #expect(overflow.limit == 10)
        }
        #expect(received == (0..<10).map(String.init))
        #expect(try await redis.send("PING") == .simple("PONG"))
    }

    @Test func underRESP2TheSubscriptionHasAConnectionOfItsOwn() async throws {
        let server = try RedisClientTests.startRedis(["--rename-command", "HELLO", ""])
        defer { server.stop() }
        var configuration = RedisConfiguration(port: server.port)
        configuration.clientName = "resp2"
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        let admin = try await RedisClient.connect(port: server.port)
        defer { admin.close() }
        #expect(redis.protocolVersion == .resp2)
        let news = try await redis.ssubscribe("news")
        #expect(try await Self.connections(named: "resp2", on: admin) == 2)
        #expect(try await redis.send("PING") == .simple("PONG"))  // the client's own connection is free
        #expect(try await admin.send("SPUBLISH", "news", "sharded") == .integer(1))
        var iterator = news.makeAsyncIterator()
        #expect(try await iterator.next() == RedisMessage(kind: .smessage, channel: "news", payload: bytes("sharded")))
        news.unsubscribe()
        #expect(try await eventuallyTrueAsync { try await Self.connections(named: "resp2", on: admin) == 1 })
    }

    /// A refused subscription is the server's error, and its error reply — an ordinary reply on a
    /// connection that also carries pushes — is matched to the subscribe call, never to the next
    /// command: names the ACL user may not use (`NOPERM`), or a server without the command.
    @Test func aRefusedSubscriptionIsTheServersErrorAndTheConnectionStaysInStep() async throws {
        let server = try RedisClientTests.startRedis(["--user", "app", "on", ">pass", "~*", "resetchannels", "&allowed", "+@all"])
        defer { server.stop() }
        var configuration = RedisConfiguration(port: server.port)
        configuration.username = "app"
        configuration.password = "pass"
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        let error = await #expect(throws: RedisServerError.self) { _ = try await redis.subscribe("allowed", "forbidden") }
        #expect(error?.code == "NOPERM")
        #expect(try await redis.send("PING") == .simple("PONG"))
        #expect(try await redis.get("missing") == nil)
        let allowed = try await redis.subscribe("allowed")
        let admin = try await RedisClient.connect(configuration)
        defer { admin.close() }
        #expect(try await Self.publish(admin, "allowed", "yes") == 1)
        var iterator = allowed.makeAsyncIterator()
        #expect(try await iterator.next()?.text == "yes")

        let renamed = try RedisClientTests.startRedis(["--rename-command", "SUBSCRIBE", "NOTSUBSCRIBE"])
        defer { renamed.stop() }
        let plain = try await RedisClient.connect(port: renamed.port)
        defer { plain.close() }
        await #expect(throws: RedisServerError.self) { _ = try await plain.subscribe("never") }
        #expect(try await plain.send("PING") == .simple("PONG"))
    }
}
