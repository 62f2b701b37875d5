import Testing
import WireRedis
import Wirestream

@Suite(.serialized)
struct RedisSubscriberTests {
    /// Publishes until a subscriber receives (a subscription confirmed on one connection is live
    /// for publishers on others, but a reconnecting subscriber has a window in between).
    static func publish(_ publisher: RedisClient, _ channel: String, _ text: String) async throws -> Int {
        guard case .integer(let receivers) = try await publisher.send("PUBLISH", channel, text) else { return -1 }
        return receivers
    }

    @Test(arguments: [RedisConfiguration.ProtocolVersion.resp3, .resp2])
    func messagesArriveInOrderForChannelsAndPatterns(_ version: RedisConfiguration.ProtocolVersion) async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        var configuration = RedisConfiguration(port: server.port)
        configuration.protocolVersion = version
        let subscriber = try await RedisSubscriber.connect(configuration)
        defer { subscriber.close() }
        try await subscriber.subscribe("news", "alerts")
        try await subscriber.psubscribe("user.*")
        let publisher = try await RedisClient.connect(port: server.port)
        defer { publisher.close() }
        #expect(try await Self.publish(publisher, "news", "one") == 1)
        #expect(try await Self.publish(publisher, "user.42", "two") == 1)
        #expect(try await Self.publish(publisher, "alerts", "three") == 1)
        #expect(try await Self.publish(publisher, "elsewhere", "never") == 0)
        var received: [RedisMessage] = []
        for try await message in subscriber.messages {
            received.append(message)
            if received.count == 3 { break }
        }
        #expect(received == [
            RedisMessage(kind: .message, channel: "news", payload: bytes("one")),
            RedisMessage(kind: .pmessage, channel: "user.42", pattern: "user.*", payload: bytes("two")),
            RedisMessage(kind: .message, channel: "alerts", payload: bytes("three")),
        ])
    }

    @Test func unsubscribingStopsTheMessages() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        let subscriber = try await RedisSubscriber.connect(RedisConfiguration(port: server.port))
        defer { subscriber.close() }
        let publisher = try await RedisClient.connect(port: server.port)
        defer { publisher.close() }
        try await subscriber.subscribe("a", "b")
        try await subscriber.unsubscribe("a")
        #expect(try await Self.publish(publisher, "a", "gone") == 0)
        #expect(try await Self.publish(publisher, "b", "kept") == 1)
        var iterator = subscriber.messages.makeAsyncIterator()
        #expect(try await iterator.next()?.text == "kept")
    }

    @Test func subscriptionsSurviveAReconnect() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        var configuration = RedisConfiguration(port: server.port)
        configuration.reconnectBackoff = (.milliseconds(50), .milliseconds(200))
        let subscriber = try await RedisSubscriber.connect(configuration)
        defer { subscriber.close() }
        try await subscriber.subscribe("jobs")
        let admin = try await RedisClient.connect(port: server.port)
        defer { admin.close() }
        #expect(try await admin.send("CLIENT", "KILL", "TYPE", "pubsub") == .integer(1))
        // The subscriber reconnects and subscribes again by itself.
        #expect(try await eventuallyTrueAsync { try await Self.publish(admin, "jobs", "after") == 1 })
        var iterator = subscriber.messages.makeAsyncIterator()
        #expect(try await iterator.next()?.text == "after")
    }

    @Test func closingOrCancellingTheIterationClosesTheConnection() async throws {
        let server = try RedisClientTests.startRedis()
        defer { server.stop() }
        let admin = try await RedisClient.connect(port: server.port)
        defer { admin.close() }
        // close(): the sequence ends after what was delivered.
        let subscriber = try await RedisSubscriber.connect(RedisConfiguration(port: server.port))
        try await subscriber.subscribe("x")
        #expect(try await Self.publish(admin, "x", "hi") == 1)
        var iterator = subscriber.messages.makeAsyncIterator()
        #expect(try await iterator.next()?.text == "hi")
        subscriber.close()
        #expect(try await iterator.next() == nil)
        #expect(try await eventuallyTrueAsync { try await Self.publish(admin, "x", "nobody") == 0 })
        // Cancelling the task that iterates: the subscriber closes its connection.
        let listener = try await RedisSubscriber.connect(RedisConfiguration(port: server.port))
        try await listener.subscribe("y")
        let iterating = Task { for try await _ in listener.messages {} }
        #expect(try await Self.publish(admin, "y", "one") == 1)
        iterating.cancel()
        _ = await iterating.result
        #expect(try await eventuallyTrueAsync { try await Self.publish(admin, "y", "nobody") == 0 })
    }
}
