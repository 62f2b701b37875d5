import Foundation
import Testing
import WireBeanstalk
import WireClient
import Wirestream

/// `BeanstalkClient` (generated from beanstalk.wire's `client Beanstalk`, conveniences by hand)
/// against Debian's beanstalkd, started per test on a free port.
@Suite struct BeanstalkClientTests {
    static func startBeanstalkd(_ extra: [String] = []) throws -> ServerProcess {
        let executable = try #require(ServerProcess.locate("beanstalkd"), "beanstalkd is not installed (apt-get install beanstalkd)")
        return try ServerProcess(executable, arguments: { ["-l", "127.0.0.1", "-p", "\($0)"] + extra })
    }

    static func configuration(_ server: ServerProcess) -> ClientConfiguration {
        var configuration = ClientConfiguration(port: server.port)
        configuration.requestTimeout = .seconds(5)
        return configuration
    }

    @Test func putReserveDeleteRoundTripsTheBodyByteForByte() async throws {
        let server = try Self.startBeanstalkd()
        let client = try await BeanstalkClient.connect(Self.configuration(server), tube: "work", watching: ["work"])
        defer { client.close() }
        let body: [UInt8] = Array(0...255) + Array("\r\nEND\r\n".utf8)  // binary, with CRLFs inside
        let id = try await client.put(body, priority: 7, ttr: .seconds(30))
        let job = try #require(try await client.reserve(timeout: .seconds(1)))
        #expect(job.id == id)
        #expect(job.body == body)
        let stats = try await client.statsJob(id)
        #expect(stats.state == .reserved && stats.tube == "work" && stats.priority == 7 && stats.ttr == 30 && stats.reserves == 1)
        try await client.delete(id)
        #expect(try await client.peek(id) == nil)
        let missing = await #expect(throws: BeanstalkError.self) { try await client.delete(id) }
        #expect(missing == BeanstalkError(command: "delete", kind: .notFound))
    }

    @Test func prioritiesDelaysBuryingAndKicking() async throws {
        let server = try Self.startBeanstalkd()
        let client = try await BeanstalkClient.connect(Self.configuration(server))
        defer { client.close() }
        let low = try await client.put(Array("low".utf8), priority: 100)
        let high = try await client.put(Array("high".utf8), priority: 1)
        let delayed = try await client.put(Array("later".utf8), delay: .seconds(60))
        #expect(try await client.peekReady()?.id == high)
        #expect(try await client.peekDelayed()?.id == delayed)
        #expect(try await client.reserve(timeout: .zero)?.id == high)
        try await client.bury(high)
        #expect(try await client.peekBuried()?.id == high)
        #expect(try await client.reserve(timeout: .zero)?.id == low)
        try await client.release(low, priority: 5, delay: .zero)
        try await client.touch(try #require(try await client.reserve(timeout: .zero)).id)
        #expect(try await client.kick(10) == 1)  // the buried one first
        #expect(try await client.peekBuried() == nil)
        try await client.kickJob(delayed)
        let tube = try await client.statsTube("default")
        #expect(tube.name == "default" && tube.readyJobs == 2 && tube.reservedJobs == 1 && tube.delayedJobs == 0 && tube.totalJobs == 3)
    }

    @Test func tubesWatchingAndTheServersStats() async throws {
        let server = try Self.startBeanstalkd(["-z", "1024"])
        let client = try await BeanstalkClient.connect(Self.configuration(server))
        defer { client.close() }
        try await client.use("emails")
        #expect(try await client.listTubeUsed() == "emails")
        #expect(try await client.watch("emails") == 2)
        #expect(try await client.ignore("default") == 1)
        await #expect(throws: BeanstalkError(command: "ignore", kind: .notIgnored)) { try await client.ignore("emails") }
        #expect(try await client.listTubesWatched() == ["emails"])
        #expect(Set(try await client.listTubes()) == ["default", "emails"])
        try await client.pauseTube("emails", delay: .seconds(1))
        let stats = try await client.stats()
        #expect(stats.maxJobSize == 1024 && stats.currentConnections == 1 && stats.version.first?.isNumber == true)
        #expect(stats.fields["cmd-use"] == "1")
        await #expect(throws: BeanstalkError(command: "put", kind: .jobTooBig)) { try await client.put(Array(repeating: 0, count: 1025)) }
        #expect(try await client.put(Array(repeating: 0, count: 1024)) > 0)  // the connection goes on
    }

    @Test func tubeNamesAreCheckedBeforeSending() async throws {
        let server = try Self.startBeanstalkd()
        let client = try await BeanstalkClient.connect(Self.configuration(server))
        defer { client.close() }
        for bad in ["", "-dash", "two words", "new\r\nline", String(repeating: "x", count: 201)] {
            await #expect(throws: BeanstalkTubeNameError(name: bad)) { try await client.use(bad) }
        }
        #expect(try await client.listTubeUsed() == "default")  // nothing was sent
    }

    @Test func aReserveWithTimeoutReturnsNilAndOneThousandConcurrentPutsArePipelined() async throws {
        let server = try Self.startBeanstalkd()
        let client = try await BeanstalkClient.connect(Self.configuration(server))
        defer { client.close() }
        let start = ContinuousClock.now
        #expect(try await client.reserve(timeout: .seconds(1)) == nil)
        #expect(ContinuousClock.now - start >= .milliseconds(900))
        let ids = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for index in 0..<1000 { group.addTask { try await client.put(Array("job \(index)".utf8)) } }
            return try await group.reduce(into: Set<UInt64>()) { $0.insert($1) }
        }
        #expect(ids.count == 1000)
        #expect(try await client.statsTube("default").readyJobs == 1000)
    }

    @Test func theTubesGivenToConnectAreSetAgainAfterAReconnect() async throws {
        let server = try Self.startBeanstalkd()
        let producer = try await BeanstalkClient.connect(Self.configuration(server), tube: "jobs")
        let worker = try await BeanstalkClient.connect(Self.configuration(server), watching: ["jobs"])
        defer { producer.close(); worker.close() }
        let dropped = try #require(worker.connection)
        dropped.close()  // the connection drops; the client reconnects on the next command
        while !dropped.isClosed { try await Task.sleep(for: .milliseconds(5)) }  // close() completes on the loop
        #expect(try await worker.listTubesWatched() == ["jobs"])
        let id = try await producer.put(Array("after".utf8))
        #expect(try await worker.reserve(timeout: .seconds(1))?.id == id)
    }

    @Test func aKilledServerFailsTheWaitingReserveWithATypedError() async throws {
        let server = try Self.startBeanstalkd()
        var configuration = Self.configuration(server)
        configuration.reconnect = false
        let worker = try await BeanstalkClient.connect(configuration)
        let waiting = Task { try await worker.reserve() }  // blocks on the server for ever
        try await Task.sleep(for: .milliseconds(100))
        server.stop()
        await #expect(throws: StreamClosedError.self) { try await waiting.value }
    }
}

/// Servers scripted to misbehave: each is a typed error within the deadline, and no descriptor
/// is left open.
@Suite struct BeanstalkHostileServerTests {
    /// Answers the first command with `reply`, then behaves as `after` says.
    static func serve(_ reply: String, thenClose: Bool = true) throws -> TCPListener {
        let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: .shared)
        ProtocolClientTests.serveEach(listener) { stream in
            _ = try? await stream.readUntil(Array("\r\n".utf8), maxBytes: 4096)
            try? await stream.write(reply)
            if thenClose { stream.close() } else { _ = try? await stream.readUntilClose() }
        }
        return listener
    }

    static func failure(of reply: String, thenClose: Bool = true, timeout: Duration = .seconds(5)) async throws -> any Error {
        try await failureAgainstScriptedServer(replying: reply, thenClose: thenClose, timeout: timeout) {
            try await BeanstalkClient.connect($0)
        } call: { try await $0.peekReady() }
    }

    @Test func aJobWhoseByteCountDisagreesWithItsDataIsAProtocolError() async throws {
        let error = try await Self.failure(of: "FOUND 1 3\r\nhello\r\n")
        let wire = try #require(error as? WireProtocolError)
        #expect(wire.kind == .unexpectedBytes(expected: "\"\\r\\n\"", found: Array("lo".utf8)))
        #expect(wire.message == "BeanstalkJob")
    }

    @Test func aHugeDeclaredLengthIsRefusedBeforeReading() async throws {
        let error = try await Self.failure(of: "FOUND 1 99999999\r\n", thenClose: false)
        #expect((error as? WireProtocolError)?.kind == .limitExceeded(limit: 16 * 1024 * 1024, value: 99_999_999))
    }

    @Test func aReplyLineOverItsLimitAndAnUnknownReplyAreProtocolErrors() async throws {
        let long = try await Self.failure(of: "USING " + String(repeating: "t", count: 300) + "\r\n", thenClose: false)
        #expect((long as? WireProtocolError)?.kind == .limitExceeded(limit: 202, value: nil))
        let unknown = try await Self.failure(of: "WHAT\r\n", thenClose: false)
        #expect((unknown as? WireProtocolError)?.kind == .noAlternative(found: Array("WH".utf8)))  // no reply starts "WH"
    }

    @Test func aServerThatClosesMidReplyOrNeverAnswersFailsInTime() async throws {
        let cut = try await Self.failure(of: "FOUND 1 10\r\nhel")
        #expect((cut as? WireProtocolError)?.kind == .truncated)
        let start = ContinuousClock.now
        let silent = try await Self.failure(of: "", thenClose: false, timeout: .milliseconds(200))
        #expect(silent is TimeoutError)
        #expect(ContinuousClock.now - start < .seconds(2))
    }
}
