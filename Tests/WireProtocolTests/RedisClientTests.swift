import Foundation
import Synchronization
import Testing
import WireClient
import WireRedis
import Wirestream

/// RedisClient against real redis-server processes and against servers scripted here to misbehave.
@Suite(.serialized)
struct RedisClientTests {
    /// A throwaway redis-server on a free loopback port; with `tlsOnly`, that port is its `tls-port`
    /// (write "PORT" in `extra` where it goes) and the plain port is off.
    static func startRedis(_ extra: [String] = [], port: Int? = nil, tlsOnly: Bool = false) throws -> ServerProcess {
        let executable = try #require(ServerProcess.locate("redis-server"), "redis-server is installed by .ci/run")
        return try ServerProcess(executable, port: port) { port in
            let common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            if tlsOnly { return ["--port", "0"] + common + extra.map { $0 == "PORT" ? "\(port)" : $0 } }
            return ["--port", "\(port)"] + common + extra
        }
    }

    @Test func speaksRESP3ByDefaultAndTypedRepliesComeBack() async throws {
        let server = try Self.startRedis()
        defer { server.stop() }
        let redis = try await RedisClient.connect(port: server.port)
        defer { redis.close() }
        #expect(redis.protocolVersion == .resp3)
        try await redis.send("HSET", "h", "f", "v")
        guard case .map(let entries) = try await redis.send("HGETALL", "h") else {
            Issue.record("HGETALL is a map under RESP3")
            return
        }
        #expect(entries == [Pair(key: .bulk(value: bytes("f")), value: .bulk(value: bytes("v")))])
        #expect(try await redis.send("GET", "missing") == .null)
    }

    @Test func fallsBackToRESP2WhenTheServerRefusesHello() async throws {
        let server = try Self.startRedis(["--rename-command", "HELLO", ""])
        defer { server.stop() }
        var configuration = RedisConfiguration(port: server.port)
        configuration.clientName = "fallback"
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        #expect(redis.protocolVersion == .resp2)
        #expect(try await redis.send("CLIENT", "GETNAME").string == "fallback")  // sent with CLIENT SETNAME
        #expect(try await redis.send("GET", "missing") == .bulk(value: nil))  // RESP2's null
    }

    @Test(arguments: [RedisConfiguration.ProtocolVersion.resp3, .resp2])
    func authenticatesAnACLUserSelectsTheDatabaseAndNamesTheClient(_ version: RedisConfiguration.ProtocolVersion) async throws {
        let server = try Self.startRedis(["--requirepass", "adminpass", "--user", "app", "on", ">app pass", "~*", "&*", "+@all"])
        defer { server.stop() }
        var configuration = try RedisConfiguration(url: "redis://app:app%20pass@127.0.0.1:\(server.port)/3")
        configuration.clientName = "wirestream-test"
        configuration.protocolVersion = version
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        #expect(try await redis.send("ACL", "WHOAMI").string == "app")
        #expect(try await redis.send("CLIENT", "GETNAME").string == "wirestream-test")
        try await redis.send("SET", "where", "db3")
        let info = try await redis.send("CLIENT", "INFO").string ?? ""
        #expect(info.contains("db=3"))
        // A wrong password is the server's refusal, thrown by connect.
        configuration.password = "wrong"
        await #expect(throws: RedisServerError.self) { try await RedisClient.connect(configuration) }
        do {
            _ = try await RedisClient.connect(configuration)
        } catch let refused as RedisServerError {
            #expect(refused.code == "WRONGPASS")
        }
    }

    @Test func aHundredTasksShareOneConnectionAndEachGetsItsOwnReplies() async throws {
        let server = try Self.startRedis()
        defer { server.stop() }
        let redis = try await RedisClient.connect(port: server.port)
        defer { redis.close() }
        let mismatches = Atomic<Int>(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<100 {
                // Half the tasks run on the connection's loop, half on the global executor.
                let body: @Sendable () async throws -> Void = {
                    for index in 0..<1000 {
                        let mine = "t\(task)-\(index)"
                        if try await redis.send("ECHO", mine).string != mine { mismatches.add(1, ordering: .relaxed) }
                    }
                }
                if task % 2 == 0 {
                    group.addTask(executorPreference: redis.stream.loop, operation: body)
                } else {
                    group.addTask(operation: body)
                }
            }
            try await group.waitForAll()
        }
        #expect(mismatches.load(ordering: .relaxed) == 0)
    }

    @Test func cancelledCallersNeverTakeAnotherCallersReply() async throws {
        let server = try Self.startRedis()
        defer { server.stop() }
        let redis = try await RedisClient.connect(port: server.port)
        defer { redis.close() }
        let counts = Counts()
        var generator = SystemRandomNumberGenerator()
        for round in 0..<20 {
            var tasks: [Task<Void, Never>] = []
            for caller in 0..<40 {
                tasks.append(Task(executorPreference: redis.stream.loop) { @Sendable in
                    for index in 0..<50 {
                        let mine = "r\(round)-c\(caller)-\(index)"
                        do {
                            let reply = try await redis.send("ECHO", mine)
                            if reply.string != mine { counts.mismatches.add(1, ordering: .relaxed) }
                        } catch is CancellationError {
                            counts.cancelled.add(1, ordering: .relaxed)
                            return
                        } catch {
                            counts.mismatches.add(1, ordering: .relaxed)
                            return
                        }
                    }
                })
            }
            for task in tasks where Bool.random(using: &generator) {
                try await Task.sleep(for: .microseconds(Int.random(in: 0...300, using: &generator)))
                task.cancel()
            }
            for task in tasks { await task.value }
        }
        #expect(counts.mismatches.load(ordering: .relaxed) == 0)
        #expect(counts.cancelled.load(ordering: .relaxed) > 0)  // the cancels did land mid-flight
        #expect(try await redis.send("PING") == .simple("PONG"))  // and the connection is fine
    }

    @Test func aCallerCancelledBeforeItsCommandIsQueuedSendsNothing() async throws {
        let server = try Self.startRedis()
        defer { server.stop() }
        let redis = try await RedisClient.connect(port: server.port)
        defer { redis.close() }
        // Off the loop, a cancelled caller's waiter fails before the caller waits on it (the
        // cancellation reaches the loop first): the caller gets CancellationError at once, and
        // neither the command nor the pipeline is written.
        let outcomes = await Task { () -> [Bool] in
            withUnsafeCurrentTask { $0?.cancel() }
            var cancelled: [Bool] = []
            do {
                _ = try await redis.send("INCR", "untouched")
                cancelled.append(false)
            } catch { cancelled.append(error is CancellationError) }
            do {
                _ = try await redis.pipeline([["INCR", "untouched"], ["INCR", "untouched"]])
                cancelled.append(false)
            } catch { cancelled.append(error is CancellationError) }
            return cancelled
        }.value
        #expect(outcomes == [true, true])
        #expect(try await redis.send("EXISTS", "untouched") == .integer(0))
    }

    @Test func pipelinesAndTransactions() async throws {
        let server = try Self.startRedis()
        defer { server.stop() }
        let redis = try await RedisClient.connect(port: server.port)
        let other = try await RedisClient.connect(port: server.port)
        defer {
            redis.close()
            other.close()
        }
        let replies = try await redis.pipeline([["SET", "a", "1"], ["INCR", "a"], ["NOSUCH"], ["GET", "a"]])
        #expect(replies.count == 4)
        #expect(replies[1] == .integer(2))
        guard case .error(let message) = replies[2] else {
            Issue.record("the server's error is one element of the result")
            return
        }
        #expect(message.hasPrefix("ERR"))
        #expect(replies[3].string == "2")
        // MULTI … EXEC: the results of the queued commands.
        #expect(try await redis.transaction([["INCR", "a"], ["INCR", "a"]]) == [.integer(3), .integer(4)])
        // A command that does not queue aborts the whole transaction.
        do {
            _ = try await redis.transaction([["INCR", "a"], ["GET"]])
            Issue.record("EXECABORT must throw")
        } catch let refused as RedisServerError {
            #expect(refused.code == "EXECABORT")
            #expect(refused.message.contains("wrong number of arguments"))
        }
        #expect(try await redis.send("GET", "a").string == "4")  // nothing of it ran
        // A WATCHed key changed by another client: EXEC returns null.
        try await redis.send("WATCH", "a")
        try await other.send("SET", "a", "changed")
        await #expect(throws: RedisTransactionAbortedError()) { try await redis.transaction([["SET", "a", "mine"]]) }
        #expect(try await redis.send("GET", "a").string == "changed")
    }

    @Test func blockingCommandsWaitTheirOwnTimeoutNotTheCommandTimeout() async throws {
        let server = try Self.startRedis()
        defer { server.stop() }
        var configuration = RedisConfiguration(port: server.port)
        configuration.commandTimeout = .milliseconds(200)
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        let start = ContinuousClock.now
        #expect(try await redis.send("BLPOP", "nothing", "0.6") == .null)  // the server's timeout, 600 ms
        #expect(ContinuousClock.now - start >= .milliseconds(550))
        #expect(try await redis.send("PING") == .simple("PONG"))
        // Every path that sends a command reads its timeout from it: bytes, a pipeline of words
        // or of bytes, and the generated method.
        let paths: [(String, () async throws -> Reply)] = [
            ("bytes", { try await redis.send(Command(["BLPOP", "nothing", "0.3"])) }),
            ("pipeline", { try await redis.pipeline([["PING"], ["BLPOP", "nothing", "0.3"]])[1] }),
            ("pipeline of bytes", { try await redis.pipeline(commands: [Command(["BLPOP", "nothing", "0.3"])])[0] }),
            ("typed", { try await redis.blpop(["nothing"], timeout: 0.3) }),
            ("any case", { try await redis.send("bLPop", "nothing", "0.3") }),  // names are case-blind
            ("any case, bytes", { try await redis.send(Command(["blpop", "nothing", "0.3"])) }),
        ]
        for (path, blocking) in paths {
            let started = ContinuousClock.now
            #expect(try await blocking() == .null, "\(path)")
            #expect(ContinuousClock.now - started >= .milliseconds(250), "\(path)")
        }
    }

    @Test func repliesOverTheConfiguredSizeCloseTheConnection() async throws {
        let server = try Self.startRedis()
        defer { server.stop() }
        let writer = try await RedisClient.connect(port: server.port)
        defer { writer.close() }
        try await writer.send(Command(arguments: [BulkString(value: bytes("SET")), BulkString(value: bytes("big")),
                                                   BulkString(value: [UInt8](repeating: 7, count: 3_000_000))]))
        var configuration = RedisConfiguration(port: server.port)
        configuration.maxReplyBytes = 1_000_000
        let reader = try await RedisClient.connect(configuration)
        defer { reader.close() }
        do {
            _ = try await reader.send("GET", "big")
            Issue.record("a 3 MB reply past a 1 MB limit must fail")
        } catch let closed as StreamClosedError {
            #expect(closed.realError is StreamBufferFullError)
        }
        #expect(reader.connection.isClosed)
    }

    @Test func aDroppedConnectionIsReplacedForLaterCommandsAfterABackoff() async throws {
        let first = try Self.startRedis()
        let port = first.port
        var configuration = RedisConfiguration(port: port)
        configuration.reconnectBackoff = (.milliseconds(300), .seconds(1))
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        try await redis.send("SET", "k", "v")
        first.stop()
        #expect(try await eventuallyTrue { redis.connection.isClosed })
        // The server is gone: the reconnect attempt fails with the connect error…
        do {
            _ = try await redis.send("PING")
            Issue.record("no server: the command must fail")
        } catch let closed as StreamClosedError {
            #expect((closed.realError as? SystemError)?.errno == ECONNREFUSED)
        }
        // …and until the backoff has passed, commands fail at once without trying.
        do {
            _ = try await redis.send("PING")
            Issue.record("within the backoff the command must fail")
        } catch let waiting as RedisReconnectError {
            #expect(waiting.attempts == 1)
        }
        let second = try Self.startRedis(port: port)
        defer { second.stop() }
        try await Task.sleep(for: .milliseconds(350))
        #expect(try await redis.send("PING") == .simple("PONG"))  // a new connection, a new server
        #expect(try await redis.send("GET", "k") == .null)
    }

    @Test func afterCloseNoCommandReconnects() async throws {
        let server = try Self.startRedis()
        defer { server.stop() }
        let redis = try await RedisClient.connect(port: server.port)
        redis.close()
        await #expect(throws: StreamClosedError.self) { try await redis.send("PING") }
        var configuration = RedisConfiguration(port: server.port)
        configuration.reconnect = false
        let once = try await RedisClient.connect(configuration)
        defer { once.close() }
        try await once.send("CLIENT", "KILL", "SKIPME", "no", "TYPE", "normal")  // the server drops us
        await #expect(throws: StreamClosedError.self) { try await once.send("PING") }
        #expect(once.connection.isClosed)
    }

    @Test func aServerKilledMidPipelineFailsEveryWaitingCaller() async throws {
        let server = try Self.startRedis()
        var configuration = RedisConfiguration(port: server.port)
        configuration.reconnect = false  // the commands after the kill must see this connection's end
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        let blocked = Task { try await redis.send("BLPOP", "never", "30") }  // the server holds it
        try await Task.sleep(for: .milliseconds(50))  // queued first: the pipeline waits behind it
        let behind = Task { try await redis.pipeline([["PING"], ["PING"]]) }
        try await Task.sleep(for: .milliseconds(50))
        server.stop()  // SIGKILL
        await #expect(throws: StreamClosedError.self) { try await blocked.value }
        await #expect(throws: StreamClosedError.self) { try await behind.value }
        await #expect(throws: StreamClosedError.self) { try await redis.send("PING") }
    }
}

/// Servers scripted to misbehave, on a listener of the test's own.
@Suite struct RedisClientHostileServerTests {
    /// Accepts one connection and runs `script` on it (on the shared loop).
    static func scriptedServer(
        _ script: @escaping @Sendable (IOStream) async throws -> Void
    ) throws -> (port: Int, done: Task<Void, any Error>) {
        let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: .shared)
        let done = Task(executorPreference: IOLoop.shared) {
            defer { listener.close() }
            let stream = try await listener.accept()
            try await script(stream)
        }
        return (listener.port, done)
    }

    static func resp2(port: Int, commandTimeout: Duration? = .seconds(30), connectTimeout: Duration = .seconds(10)) -> RedisConfiguration {
        var configuration = RedisConfiguration(port: port)
        configuration.protocolVersion = .resp2  // no handshake commands: the script sees only ours
        configuration.reconnect = false  // a late caller must see this connection's fate, not a new one's
        configuration.commandTimeout = commandTimeout
        configuration.connectTimeout = connectTimeout
        return configuration
    }

    @Test func aServerThatNeverAnswersTimesOutAndTheConnectionCloses() async throws {
        let (port, done) = try Self.scriptedServer { stream in
            _ = try? await stream.readUntilClose()  // reads everything, answers nothing
        }
        let redis = try await RedisClient.connect(Self.resp2(port: port, commandTimeout: .milliseconds(300)))
        let start = ContinuousClock.now
        let calls = [Task { try await redis.send("GET", "k") }, Task { try await redis.send("PING") }]
        var outcomes: [any Error] = []
        for call in calls {
            switch await call.result {
            case .success(let reply): Issue.record("got \(reply) from a server that never answers")
            case .failure(let error): outcomes.append(error)
            }
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(290) && elapsed < .milliseconds(600))
        // Each caller's own timeout, or the close that the first timeout caused: never a reply.
        let timeout = TimeoutError(.deadline, timeout: .milliseconds(300))
        #expect(outcomes.allSatisfy { $0 as? TimeoutError == timeout || ($0 as? StreamClosedError)?.realError as? TimeoutError == timeout })
        #expect(outcomes.contains { $0 as? TimeoutError == timeout })
        #expect(redis.connection.isClosed)
        try await done.value
    }

    @Test func aSubscribeTheServerNeverConfirmsTimesOut() async throws {
        let (port, done) = try Self.scriptedServer { stream in _ = try? await stream.readUntilClose() }
        var configuration = Self.resp2(port: port, commandTimeout: .milliseconds(300))
        configuration.reconnect = false
        let subscriber = try await RedisSubscriber.connect(configuration)
        let start = ContinuousClock.now
        await #expect(throws: TimeoutError(.deadline, timeout: .milliseconds(300))) { try await subscriber.subscribe("news") }
        #expect(ContinuousClock.now - start < .milliseconds(600))
        subscriber.close()
        try await done.value
    }

    @Test func theHandshakeIsBoundedByTheConnectTimeout() async throws {
        let (port, done) = try Self.scriptedServer { stream in _ = try? await stream.readUntilClose() }
        var configuration = RedisConfiguration(port: port)  // RESP3: says HELLO 3, which is never answered
        configuration.connectTimeout = .milliseconds(300)
        await #expect(throws: TimeoutError.self) { try await RedisClient.connect(configuration) }
        try await done.value
    }

    @Test func bytesThatAreNotRESPFailTheirCallerWithAProtocolErrorAndCloseTheConnection() async throws {
        let (port, done) = try Self.scriptedServer { stream in
            _ = try await stream.readUntil(Array("\r\n".utf8), maxBytes: 1024)  // the first command's head
            try await stream.write("?not resp\r\n")
            _ = try? await stream.readUntilClose()
        }
        let redis = try await RedisClient.connect(Self.resp2(port: port))
        let calls = [Task { try await redis.send("PING") }, Task { try await redis.send("PING") }]
        var errors: [any Error] = []
        for call in calls {
            if case .failure(let error) = await call.result { errors.append(error) }
        }
        // The caller whose reply it was gets the protocol error; the other the close it caused.
        #expect(errors.count == 2)
        let protocolErrors = errors.compactMap { $0 as? WireProtocolError }
        #expect(protocolErrors.count == 1)
        if let error = protocolErrors.first, case .noAlternative(let found) = error.kind {
            #expect(found.starts(with: bytes("?")))
        } else {
            Issue.record("expected noAlternative, got \(errors)")
        }
        #expect(errors.contains { $0 is StreamClosedError }, "\(errors)")
        #expect(redis.connection.isClosed)
        try await done.value
    }

    @Test func aHugeDeclaredLengthIsRefusedBeforeAnythingIsRead() async throws {
        let (port, done) = try Self.scriptedServer { stream in
            _ = try await stream.readUntil(Array("\r\n".utf8), maxBytes: 1024)
            try await stream.write("$99999999999\r\n")
            _ = try? await stream.readUntilClose()
        }
        let redis = try await RedisClient.connect(Self.resp2(port: port))
        await #expect(throws: WireProtocolError.self) { try await redis.send("GET", "k") }
        try await done.value
    }
}

@Suite struct RedisConfigurationTests {
    @Test func urlsGiveEveryPart() throws {
        let full = try RedisConfiguration(url: "rediss://user%40corp:p%3Ass@cache.example:6380/7")
        #expect(full.host == "cache.example" && full.port == 6380 && full.database == 7)
        #expect(full.username == "user@corp" && full.password == "p:ss")
        #expect(full.tls != nil)
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@10.0.0.1")
        #expect(passwordOnly.username == nil && passwordOnly.password == "secret" && passwordOnly.port == 6379)
        let ipv6 = try RedisConfiguration(url: "redis://[::1]:7000/0")
        #expect(ipv6.host == "::1" && ipv6.port == 7000 && ipv6.tls == nil)
        let bare = try RedisConfiguration(url: "redis://")
        #expect(bare.host == "127.0.0.1" && bare.port == 6379 && bare.database == 0)
    }

    @Test(arguments: ["http://host", "redis://host:0", "redis://host:99999", "redis://host:port", "redis://host/db",
                      "redis://[::1", "redis://u:%zz@host"])
    func badURLsAreTypedErrors(_ url: String) {
        #expect(throws: RedisURLError.self) { try RedisConfiguration(url: url) }
    }
}

/// Counters shared by concurrent test tasks.
final class Counts: Sendable {
    let mismatches = Atomic<Int>(0)
    let cancelled = Atomic<Int>(0)
}

/// Polls `condition` every 5 ms for up to 2 s.
func eventuallyTrue(_ condition: () -> Bool) async throws -> Bool {
    for _ in 0..<400 {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}
