import WireClient
import Wirestream

// The conveniences of `BeanstalkClient`, which beanstalk.wire's `client Beanstalk` declares
// (`ProtocolClient<BeanstalkReply>`): each builds a `BeanstalkCommand`, sends it, and turns the
// reply into a value or a `BeanstalkError`. Framing is all grammar.
//
// ```swift
// let queue = try await BeanstalkClient.connect(ClientConfiguration(port: 11300), tube: "emails")
// let id = try await queue.put(Array("hello".utf8), priority: 10)
// let job = try await worker.reserve(timeout: .seconds(5))   // a connection of its own: it blocks
// try await worker.delete(job!.id)
// ```
//
// `reserve` holds its connection until a job comes, and pipelined commands of other tasks wait
// behind it: give workers a client of their own. The tubes used and watched are the
// connection's: those given to `connect` are set again after every reconnect.

extension ProtocolClient where Reply == BeanstalkReply {
    /// The default priority, delay and time-to-run of `put` (beanstalkd's own defaults).
    public static var defaultPriority: UInt32 { 1024 }

    /// Connects, `use`s `tube` and `watch`es `watching` (ignoring `default` unless it is listed),
    /// on this connection and again on every reconnect.
    /// - Throws: ``BeanstalkTubeNameError`` for a name the server would refuse; connect errors as
    ///   `ProtocolClient.connect`.
    public static func connect(
        _ configuration: ClientConfiguration, tube: String? = nil, watching: [String] = [], loop: IOLoop = .current
    ) async throws -> BeanstalkClient {
        for name in (tube.map { [$0] } ?? []) + watching { try BeanstalkTubeNameError.check(name) }
        return try await connect(configuration, loop: loop) { session in
            if let tube { try expect(try await session.send(BeanstalkCommand.use(tube)), "use") { if case .using = $0 { () } else { nil } } }
            for name in watching { try expectWatching(try await session.send(BeanstalkCommand.watch(name)), "watch") }
            if !watching.isEmpty && !watching.contains("default") {
                try expectWatching(try await session.send(BeanstalkCommand.ignore("default")), "ignore")
            }
        }
    }

    // MARK: Producing

    /// Puts a job in the used tube and returns its id.
    /// - Parameters:
    ///   - body: the job's bytes (at most the server's `max-job-size`, 65,535 by default).
    ///   - priority: lower is more urgent; below 1024 counts as urgent.
    ///   - delay: how long the job waits before it can be reserved (whole seconds).
    ///   - ttr: how long a worker may hold it before it is released again (at least 1 s).
    /// - Throws: ``BeanstalkError`` (`jobTooBig`, `draining`, `buried(id:)`, …).
    @discardableResult
    public func put(
        _ body: [UInt8], priority: UInt32 = defaultPriority, delay: Duration = .zero, ttr: Duration = .seconds(60)
    ) async throws -> UInt64 {
        let command = BeanstalkCommand.put(priority: priority, delay: Self.seconds(delay), ttr: Self.seconds(ttr), body: body)
        switch try await send(command) {
        case .inserted(let id): return id
        case .buriedJob(let id): throw BeanstalkError(command: "put", kind: .buried(id: id))
        case let other: throw Self.failure(other, "put")
        }
    }

    /// Uses `tube` for later `put`s on this connection.
    public func use(_ tube: String) async throws {
        try BeanstalkTubeNameError.check(tube)
        try Self.expect(try await send(BeanstalkCommand.use(tube)), "use") { if case .using = $0 { () } else { nil } }
    }

    // MARK: Consuming

    /// Reserves a job from the watched tubes, waiting at most `timeout` on the server (whole
    /// seconds; `nil`: for as long as it takes, and the client waits as long). Returns `nil`
    /// when the timeout passes with no job.
    /// - Throws: ``BeanstalkError`` `deadlineSoon` when a job this client holds is about to
    ///   time out; `TimeoutError` when the server does not answer within its timeout plus the
    ///   configuration's `requestTimeout`.
    public func reserve(timeout: Duration? = nil) async throws -> BeanstalkJob? {
        let reply: BeanstalkReply
        if let timeout {
            let wait = timeout + (configuration.requestTimeout ?? .seconds(30))
            reply = try await send(BeanstalkCommand.reserveWithTimeout(Self.seconds(timeout)), timeout: wait)
        } else {
            reply = try await send(BeanstalkCommand.reserve, timeout: nil)
        }
        switch reply {
        case .reserved(let job): return job
        case .timedOut: return nil
        case let other: throw Self.failure(other, timeout == nil ? "reserve" : "reserve-with-timeout")
        }
    }

    /// Reserves the job `id` (beanstalkd 1.12), if it is not reserved by another client.
    public func reserveJob(_ id: UInt64) async throws -> BeanstalkJob {
        switch try await send(BeanstalkCommand.reserveJob(id)) {
        case .reserved(let job): return job
        case let other: throw Self.failure(other, "reserve-job")
        }
    }

    /// Deletes a job (one this client reserved, or a ready, delayed or buried one).
    public func delete(_ id: UInt64) async throws {
        try Self.expect(try await send(BeanstalkCommand.delete(id)), "delete") { if case .deleted = $0 { () } else { nil } }
    }

    /// Puts a reserved job back into the ready (or, with a delay, delayed) queue.
    public func release(_ id: UInt64, priority: UInt32 = defaultPriority, delay: Duration = .zero) async throws {
        let reply = try await send(BeanstalkCommand.release(id: id, priority: priority, delay: Self.seconds(delay)))
        if case .buried = reply { throw BeanstalkError(command: "release", kind: .buried(id: id)) }
        try Self.expect(reply, "release") { if case .released = $0 { () } else { nil } }
    }

    /// Buries a reserved job: it stays until kicked.
    public func bury(_ id: UInt64, priority: UInt32 = defaultPriority) async throws {
        try Self.expect(try await send(BeanstalkCommand.bury(id: id, priority: priority)), "bury") { if case .buried = $0 { () } else { nil } }
    }

    /// Asks for more time on a reserved job (its time-to-run starts again).
    public func touch(_ id: UInt64) async throws {
        try Self.expect(try await send(BeanstalkCommand.touch(id)), "touch") { if case .touched = $0 { () } else { nil } }
    }

    /// Adds `tube` to the watch list; returns how many tubes are watched.
    @discardableResult
    public func watch(_ tube: String) async throws -> Int {
        try BeanstalkTubeNameError.check(tube)
        return try Self.expectWatching(try await send(BeanstalkCommand.watch(tube)), "watch")
    }

    /// Removes `tube` from the watch list; returns how many are left.
    /// - Throws: ``BeanstalkError`` `notIgnored` for the last watched tube.
    @discardableResult
    public func ignore(_ tube: String) async throws -> Int {
        try BeanstalkTubeNameError.check(tube)
        return try Self.expectWatching(try await send(BeanstalkCommand.ignore(tube)), "ignore")
    }

    // MARK: Inspecting

    /// The job `id`, or `nil` if there is none.
    public func peek(_ id: UInt64) async throws -> BeanstalkJob? { try await peek(.peek(id), "peek") }
    /// The next ready job of the used tube, or `nil`.
    public func peekReady() async throws -> BeanstalkJob? { try await peek(.peekReady, "peek-ready") }
    /// The delayed job of the used tube that is ready soonest, or `nil`.
    public func peekDelayed() async throws -> BeanstalkJob? { try await peek(.peekDelayed, "peek-delayed") }
    /// The next buried job of the used tube, or `nil`.
    public func peekBuried() async throws -> BeanstalkJob? { try await peek(.peekBuried, "peek-buried") }

    /// Kicks up to `bound` buried (or, if none, delayed) jobs of the used tube into the ready
    /// queue; returns how many.
    @discardableResult
    public func kick(_ bound: UInt32) async throws -> Int {
        switch try await send(BeanstalkCommand.kick(bound)) {
        case .kicked(let count): return Int(count)
        case let other: throw Self.failure(other, "kick")
        }
    }

    /// Kicks one buried or delayed job.
    public func kickJob(_ id: UInt64) async throws {
        try Self.expect(try await send(BeanstalkCommand.kickJob(id)), "kick-job") { if case .kickedJob = $0 { () } else { nil } }
    }

    /// Pauses `tube`: no job is reserved from it for `delay`.
    public func pauseTube(_ tube: String, delay: Duration) async throws {
        try BeanstalkTubeNameError.check(tube)
        try Self.expect(try await send(BeanstalkCommand.pauseTube(tube: tube, delay: Self.seconds(delay))), "pause-tube") {
            if case .paused = $0 { () } else { nil }
        }
    }

    public func statsJob(_ id: UInt64) async throws -> BeanstalkJobStats {
        try BeanstalkJobStats(try await document(.statsJob(id), "stats-job"))
    }

    public func statsTube(_ tube: String) async throws -> BeanstalkTubeStats {
        try BeanstalkTubeNameError.check(tube)
        return try BeanstalkTubeStats(try await document(.statsTube(tube), "stats-tube"))
    }

    public func stats() async throws -> BeanstalkServerStats {
        try BeanstalkServerStats(try await document(.stats, "stats"))
    }

    /// Every tube that exists.
    public func listTubes() async throws -> [String] { try await list(.listTubes, "list-tubes") }
    /// The tubes this connection watches.
    public func listTubesWatched() async throws -> [String] { try await list(.listTubesWatched, "list-tubes-watched") }

    /// The tube this connection uses.
    public func listTubeUsed() async throws -> String {
        switch try await send(BeanstalkCommand.listTubeUsed) {
        case .using(let tube): return tube
        case let other: throw Self.failure(other, "list-tube-used")
        }
    }

    // MARK: Replies

    private func peek(_ command: BeanstalkCommand, _ name: String) async throws -> BeanstalkJob? {
        switch try await send(command) {
        case .found(let job): return job
        case .notFound: return nil
        case let other: throw Self.failure(other, name)
        }
    }

    private func document(_ command: BeanstalkCommand, _ name: String) async throws -> BeanstalkFields {
        switch try await send(command) {
        case .ok(let document): return BeanstalkFields(document, command: name)
        case let other: throw Self.failure(other, name)
        }
    }

    private func list(_ command: BeanstalkCommand, _ name: String) async throws -> [String] {
        switch try await send(command) {
        case .ok(let document):
            return document.lines.compactMap { if case .item(let value) = $0 { value } else { nil } }
        case let other: throw Self.failure(other, name)
        }
    }

    /// Succeeds when `accept` recognises the reply; otherwise throws what the reply means.
    private static func expect(_ reply: BeanstalkReply, _ command: String, _ accept: (BeanstalkReply) -> Void?) throws {
        if accept(reply) == nil { throw failure(reply, command) }
    }

    @discardableResult
    private static func expectWatching(_ reply: BeanstalkReply, _ command: String) throws -> Int {
        guard case .watching(let count) = reply else { throw failure(reply, command) }
        return Int(count)
    }

    /// The error a reply is when it does not answer `command` as hoped.
    static func failure(_ reply: BeanstalkReply, _ command: String) -> BeanstalkError {
        let kind: BeanstalkError.Kind = switch reply {
        case .notFound: .notFound
        case .buried: .buried(id: nil)
        case .buriedJob(let id): .buried(id: id)
        case .expectedCRLF: .expectedCRLF
        case .jobTooBig: .jobTooBig
        case .draining: .draining
        case .deadlineSoon: .deadlineSoon
        case .notIgnored: .notIgnored
        case .outOfMemory: .outOfMemory
        case .internalError: .internalError
        case .badFormat: .badFormat
        case .unknownCommand: .unknownCommand
        default: .unexpectedReply("\(reply)".prefix(200).description)
        }
        return BeanstalkError(command: command, kind: kind)
    }

    /// Whole seconds for the protocol (negative: 0; rounding down, as the server would).
    static func seconds(_ duration: Duration) -> UInt32 {
        UInt32(clamping: max(0, duration.components.seconds))
    }
}
