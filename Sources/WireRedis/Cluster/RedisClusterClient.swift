import WireClient
import Wirestream

/// A client for Redis Cluster: each command goes to the node serving its keys' hash slot, and the
/// client follows the cluster as it changes — resharding (`MOVED`, `ASK`) and failover.
///
/// ```swift
/// let cluster = try await RedisClusterClient.connect(try RedisClusterConfiguration(seeds: ["127.0.0.1:7000"]))
/// try await cluster.set("user:1", value: "ada")                       // to the owner of slot 10778
/// let name = try await cluster.get("user:1")
/// try await cluster.send("MSET", "{user:1}:a", "1", "{user:1}:b", "2")  // one hash tag, one slot
/// let replies = try await cluster.pipeline([["INCR", "a"], ["INCR", "b"]])  // split by node
/// ```
///
/// - **Routing.** Keys are found with the server's own key specs (`COMMAND`, fetched once), so
///   `EVAL`'s `numkeys`, `XREAD … STREAMS` and the rest route right; a command whose keys span
///   slots is refused before sending (``RedisClusterCrossSlotError``). Commands without keys go
///   to one primary; `sendToPrimaries(_:)` and ``scan(match:count:type:)`` cover them all.
/// - **Resharding.** `MOVED` updates the slot map at once (and the whole map is learnt again in
///   the background); `ASK` sends `ASKING` and the command to the importing node once; `TRYAGAIN`
///   waits and retries; at most ``RedisClusterConfiguration/maxRedirects`` redirects.
/// - **Failover.** A command that could not be sent (its node refuses connections, the slot has no
///   primary, `CLUSTERDOWN`) waits for the cluster to repair itself — retrying with a fresh
///   topology until ``RedisClusterConfiguration/failoverTimeout`` — and is then sent to the new
///   primary. A command that *was* sent when its connection failed may or may not have run: a
///   read-only one is sent again (``RedisClusterConfiguration/retryReadOnlyCommands``), one that
///   writes fails with the transport error (`StreamClosedError`, `TimeoutError`) and is never
///   sent twice.
/// - **Connections.** One ``RedisClient`` per node (pipelined, shared by every task), opened when
///   first needed, with the timeouts, TLS and credentials of ``RedisClusterConfiguration/node``.
///
/// Not supported: `SELECT` (a cluster has one database), pub/sub (use a ``RedisClient`` to a
/// node), `WATCH` (it needs a connection of its own; use a ``RedisClient`` to the slot's primary).
public final class RedisClusterClient: RedisCommands {
    public let configuration: RedisClusterConfiguration
    /// Where each command's keys are, as the cluster's nodes described their commands.
    public let commands: RedisCommandTable
    private let loop: IOLoop
    private let state: Locked<State>
    private let clock = ContinuousClock()

    private struct State {
        var topology: RedisClusterTopology
        /// Node connections being made (a failed attempt is removed: the next caller retries), and made.
        var connecting: [NodeKey: Task<RedisClient, any Error>] = [:]
        var connected: [NodeKey: RedisClient] = [:]
        var refresh: Task<RedisClusterTopology, any Error>?
        var background: Task<Void, Never>?
        var turn = 0
        var closed = false
    }

    /// A node connection: replicas read through connections of their own that said `READONLY`.
    private struct NodeKey: Hashable {
        var node: RedisClusterNode
        var readOnly: Bool
    }

    /// A node's connection as `connectedClient` finds it.
    private enum NodeConnection {
        case open(RedisClient)
        case connecting(Task<RedisClient, any Error>)
    }

    /// A failure before the command was written: sending it elsewhere is safe.
    private struct NotSent: Error {
        let error: any Error
    }

    private init(configuration: RedisClusterConfiguration, commands: RedisCommandTable, topology: RedisClusterTopology, loop: IOLoop) {
        self.configuration = configuration
        self.commands = commands
        self.loop = loop
        self.state = Locked(State(topology: topology))
    }

    // MARK: Connecting

    /// Learns the topology from the first seed that answers (`CLUSTER SHARDS`, or `CLUSTER SLOTS`
    /// before Redis 7) and the commands' key positions (`COMMAND`); node connections open as
    /// commands need them.
    /// - Throws: ``RedisClusterUnavailableError`` when no seed answers (its `lastError` says why).
    public static func connect(_ configuration: RedisClusterConfiguration, loop: IOLoop = .current) async throws -> RedisClusterClient {
        precondition(configuration.node.database == 0, "a Redis Cluster has only database 0")
        var lastError: (any Error)?
        for seed in configuration.seeds {
            do {
                let redis = try await RedisClient.connect(nodeConfiguration(configuration, seed, readOnly: false), loop: loop)
                do {
                    let topology = try await fetchTopology(from: redis, asked: seed, tls: configuration.node.tls != nil)
                    let commands = try RedisCommandTable(commandReply: try await redis.send("COMMAND"))
                    let cluster = RedisClusterClient(configuration: configuration, commands: commands, topology: topology, loop: loop)
                    cluster.adopt(redis, for: seed)
                    cluster.startBackgroundRefresh()
                    return cluster
                } catch {
                    redis.close()
                    throw error
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastError = error
            }
        }
        throw RedisClusterUnavailableError(reason: "no seed answered (\(configuration.seeds.map(\.description).joined(separator: ", ")))", lastError: lastError)
    }

    /// The topology as last learnt (with the `MOVED` redirects seen since).
    public var topology: RedisClusterTopology { state.withLock { $0.topology } }

    // MARK: Commands

    /// Sends `command` to the node serving its keys and returns its reply (an error reply other
    /// than a redirect is returned as `.error`, as ``RedisClient/send(_:)-(Command)`` does).
    /// - Throws: ``RedisClusterCrossSlotError`` (nothing sent), ``RedisClusterRedirectError``,
    ///   ``RedisClusterUnavailableError``, and the node's transport errors (`StreamClosedError`,
    ///   `TimeoutError`) for a command in flight when its connection failed.
    @discardableResult
    public func send(_ command: Command) async throws -> Reply {
        try await run(command, slot: try await slot(of: command))
    }

    /// Writes the commands grouped by node — each node's share in one go, all nodes at once —
    /// and returns the replies in the commands' order. Commands redirected meanwhile (`MOVED`,
    /// `ASK`) are sent again one by one, in order. Every command is routed before any is sent,
    /// so a cross-slot command refuses the whole pipeline.
    public func pipeline(_ commands: [[String]]) async throws -> [Reply] {
        try await pipeline(commands: commands.map(Command.init))
    }

    /// ``pipeline(_:)`` for commands whose arguments are bytes.
    public func pipeline(commands: [Command]) async throws -> [Reply] {
        var slots: [Int?] = []
        for command in commands { slots.append(try await slot(of: command)) }
        var groups: [RedisClusterNode: [Int]] = [:]  // a slot without a primary: sent one by one below
        for (index, slot) in slots.enumerated() {
            if let node = pick(slot: slot, readOnly: false)?.node { groups[node, default: []].append(index) }
        }
        var replies = [Reply?](repeating: nil, count: commands.count)
        try await withThrowingTaskGroup(of: [(Int, Reply)].self) { group in
            for (node, indices) in groups {
                group.addTask {
                    do {
                        let redis = try await self.connectedClient(node, readOnly: false)
                        return Array(zip(indices, try await redis.pipeline(commands: indices.map { commands[$0] })))
                    } catch is NotSent {
                        return []  // sent again one by one below
                    }
                }
            }
            for try await answered in group {
                for (index, reply) in answered { replies[index] = reply }
            }
        }
        for index in commands.indices {
            if let reply = replies[index], !Self.isRedirect(reply) { continue }
            replies[index] = try await run(commands[index], slot: slots[index])
        }
        return replies.map { $0! }
    }

    /// Runs `commands` atomically (`MULTI` … `EXEC`) on the node serving their keys, which must all
    /// be in one slot (use a `{hash tag}`). Retried after a redirect (a transaction that hit `MOVED`
    /// was discarded by the server, so nothing ran).
    /// - Throws: ``RedisClusterCrossSlotError`` (nothing sent), ``RedisTransactionAbortedError``,
    ///   ``RedisServerError``, ``RedisClusterRedirectError``, transport errors.
    public func transaction(_ commands: [[String]]) async throws -> [Reply] {
        let parsed = commands.map(Command.init)
        var keys: [[UInt8]] = []
        for command in parsed { keys += try await self.keys(of: command) }
        let slot = try Self.commonSlot(of: keys) { "MULTI" }
        let giveUpAt = clock.now + configuration.failoverTimeout
        var redirects = 0
        while true {
            let node = try await routedNode(slot: slot, readOnly: false).node
            do {
                return try await connectedClient(node, readOnly: false).transaction(commands)
            } catch let notSent as NotSent {
                try await waitForRepair(until: giveUpAt, reason: "\(node) is unreachable", lastError: notSent.error)
            } catch let refused as RedisServerError where Self.redirect(in: refused.message) != nil {
                redirects += 1
                guard redirects <= configuration.maxRedirects else {
                    throw RedisClusterRedirectError(redirects: redirects - 1, lastRedirect: refused.message)
                }
                _ = try? await refreshTopology()
            }
        }
    }

    /// Sends a command without keys to every primary at once (`DBSIZE`, `FLUSHALL`,
    /// `SCRIPT LOAD`, `FUNCTION LOAD`), returning each one's reply.
    public func sendToPrimaries(_ arguments: String...) async throws -> [RedisClusterNode: Reply] {
        try await sendToPrimaries(Command(arguments))
    }

    /// `sendToPrimaries(_:)` for a command whose arguments are bytes.
    public func sendToPrimaries(_ command: Command) async throws -> [RedisClusterNode: Reply] {
        let primaries = topology.primaries
        return try await withThrowingTaskGroup(of: (RedisClusterNode, Reply).self) { group in
            for node in primaries {
                group.addTask { (node, try await self.connectedClient(node, readOnly: false).send(command)) }
            }
            var replies: [RedisClusterNode: Reply] = [:]
            for try await (node, reply) in group { replies[node] = reply }
            return replies
        }
    }

    /// Every key in the cluster (`SCAN` on each primary in turn), optionally those matching `match`
    /// or of a `type`. As `SCAN` promises, per node: a key present throughout is returned at least
    /// once; a slot migrated during the iteration may show its keys twice or not at all.
    public func scan(match: String? = nil, count: Int? = nil, type: String? = nil) -> RedisClusterScanSequence {
        RedisClusterScanSequence(cluster: self, options: ScanPage.options(match: match, count: count) + (type.map { ["TYPE", $0] } ?? []))
    }

    /// The connection to `node` (a primary's, or a replica's that said `READONLY`), for what the
    /// cluster client does not route itself — `WATCH` on a slot's primary, a node's `INFO`.
    public func client(for node: RedisClusterNode, readOnly: Bool = false) async throws -> RedisClient {
        do {
            return try await connectedClient(node, readOnly: readOnly)
        } catch let notSent as NotSent {
            throw notSent.error
        }
    }

    /// Learns the topology again now (it is also learnt after redirects, failures and every
    /// ``RedisClusterConfiguration/topologyRefreshInterval``); concurrent calls share one attempt.
    /// - Throws: ``RedisClusterUnavailableError`` when no known node answers.
    @discardableResult
    public func refreshTopology() async throws -> RedisClusterTopology {
        let task = state.withLock { state in
            if let running = state.refresh { return running }
            let running = Task { try await self.fetchTopology() }
            state.refresh = running
            return running
        }
        let result = await task.result
        state.withLock { state in
            guard state.refresh == task else { return }
            state.refresh = nil
            if case .success(let topology) = result { state.topology = topology }
        }
        return try result.get()
    }

    /// Closes every node connection; later commands fail with `StreamClosedError`.
    public func close() {
        let (clients, background) = state.withLock { state in
            state.closed = true
            defer { state.connected = [:] }
            return (Array(state.connected.values), state.background)
        }
        background?.cancel()
        for client in clients { client.close() }
    }

    // MARK: Routing

    /// The keys of `command`: from the command table, or asked of a node for the few whose keys
    /// only the server can find (`COMMAND GETKEYS`).
    private func keys(of command: Command) async throws -> [[UInt8]] {
        switch commands.keys(of: command) {
        case .keys(let keys): return keys
        case .unknownCommand: return []  // the node will say it does not know it
        case .askServer:
            let reply = try await run(Command(arguments: [BulkString(value: Array("COMMAND".utf8)), BulkString(value: Array("GETKEYS".utf8))] + command.arguments), slot: nil)
            return (reply.elements ?? []).compactMap { element in
                if case .bulk(let key?) = element { return key }
                return element.string.map { Array($0.utf8) }
            }
        }
    }

    /// The one slot of the command's keys (`nil`: it has none).
    private func slot(of command: Command) async throws -> Int? {
        try Self.commonSlot(of: try await keys(of: command)) {
            command.arguments.first.map { String(decoding: $0.value, as: UTF8.self).uppercased() } ?? ""
        }
    }

    /// The slot all `keys` share; `command` names the command only for the error (made only then).
    private static func commonSlot(of keys: [[UInt8]], command: () -> String) throws -> Int? {
        guard let first = keys.first else { return nil }
        let slot = RedisHashSlot.of(first)
        if keys.dropFirst().contains(where: { RedisHashSlot.of($0) != slot }) {
            throw RedisClusterCrossSlotError(command: command(), keys: keys.map { (String(decoding: $0, as: UTF8.self), RedisHashSlot.of($0)) })
        }
        return slot
    }

    /// The node for `slot`: its primary, or one of its replicas for a read when replicas are
    /// asked for; any primary (in turn) for a command without keys. `nil`: the slot has no primary.
    private func pick(slot: Int?, readOnly: Bool) -> (node: RedisClusterNode, replica: Bool)? {
        let useReplicas = readOnly && configuration.readFromReplicas
        return state.withLock { state in
            state.turn &+= 1
            guard let slot else {
                let primaries = state.topology.primaries
                return primaries.isEmpty ? nil : (primaries[state.turn % primaries.count], false)
            }
            guard let primary = state.topology.primary(forSlot: slot) else { return nil }
            let replicas = useReplicas ? state.topology.replicas(of: primary) : []
            return replicas.isEmpty ? (primary, false) : (replicas[state.turn % replicas.count], true)
        }
    }

    /// ``pick(slot:readOnly:)``, waiting for the cluster to repair itself while the slot has no primary.
    private func routedNode(slot: Int?, readOnly: Bool) async throws -> (node: RedisClusterNode, replica: Bool) {
        let giveUpAt = clock.now + configuration.failoverTimeout
        while true {
            if let picked = pick(slot: slot, readOnly: readOnly) { return picked }
            try await waitForRepair(until: giveUpAt, reason: slot.map { "slot \($0) has no primary" } ?? "no primary is known", lastError: nil)
        }
    }

    /// Sends `command` where `slot` is served, following redirects and failovers (see the type's
    /// discussion for what is retried).
    private func run(_ command: Command, slot: Int?) async throws -> Reply {
        let readOnly = commands.isReadOnly(command)
        let giveUpAt = clock.now + configuration.failoverTimeout
        var redirected: (node: RedisClusterNode, asking: Bool)?
        var redirects = 0
        while true {
            let node: RedisClusterNode, replica: Bool
            if let redirected {
                (node, replica) = (redirected.node, false)
            } else {
                (node, replica) = try await routedNode(slot: slot, readOnly: readOnly)
            }
            let reply: Reply
            do {
                let redis = try await connectedClient(node, readOnly: replica)
                if redirected?.asking == true {
                    reply = try await redis.pipeline(commands: [Command(["ASKING"]), command])[1]
                } else {
                    reply = try await redis.send(command)
                }
            } catch let notSent as NotSent {
                redirected = nil
                try await waitForRepair(until: giveUpAt, reason: "\(node) is unreachable", lastError: notSent.error)
                continue
            } catch let error where !(error is CancellationError) {
                refreshInBackground()
                guard readOnly, configuration.retryReadOnlyCommands, clock.now < giveUpAt else { throw error }
                redirected = nil
                try await waitForRepair(until: giveUpAt, reason: "\(node) failed", lastError: error)
                continue
            }
            guard case .error(let message) = reply, let redirect = Self.redirect(in: message) else { return reply }
            redirected = nil
            if redirect == .clusterDown {  // a slot without a primary (failover under way): bounded by time
                try await waitForRepair(until: giveUpAt, reason: "the cluster is down", lastError: RedisServerError(message))
                continue
            }
            if case .moved(let movedSlot, let target) = redirect {  // remembered even when giving up
                state.withLock { $0.topology.assign(slot: movedSlot, to: target) }
                refreshInBackground()
            }
            redirects += 1
            guard redirects <= configuration.maxRedirects else { throw RedisClusterRedirectError(redirects: redirects - 1, lastRedirect: message) }
            switch redirect {
            case .moved(_, let target):
                redirected = (target, false)
            case .ask(_, let target):
                redirected = (target, true)
            case .tryAgain, .clusterDown:  // a multi-key command while its slot migrates: wait for it
                try await Task.sleep(for: configuration.failoverRetryDelay)
            }
        }
    }

    /// Waits `failoverRetryDelay` and learns the topology again, or fails if that would pass `giveUpAt`.
    private func waitForRepair(until giveUpAt: ContinuousClock.Instant, reason: String, lastError: (any Error)?) async throws {
        guard clock.now + configuration.failoverRetryDelay <= giveUpAt else {
            throw RedisClusterUnavailableError(reason: reason, lastError: lastError)
        }
        try await Task.sleep(for: configuration.failoverRetryDelay)
        _ = try? await refreshTopology()
    }

    // MARK: Redirects

    enum Redirect: Equatable {
        case moved(slot: Int, to: RedisClusterNode)
        case ask(slot: Int, to: RedisClusterNode)
        case tryAgain
        case clusterDown
    }

    /// The redirect an error reply (or a transaction's joined errors) carries, if any.
    static func redirect(in message: String) -> Redirect? {
        for part in message.split(separator: ";") {
            let words = part.split(separator: " ")
            guard let code = words.first else { continue }
            switch code {
            case "MOVED", "ASK":
                guard words.count == 3, let slot = Int(words[1]), (0..<RedisHashSlot.count).contains(slot),
                    let node = RedisClusterNode(words[2])
                else { continue }
                return code == "MOVED" ? .moved(slot: slot, to: node) : .ask(slot: slot, to: node)
            case "TRYAGAIN": return .tryAgain
            case "CLUSTERDOWN": return .clusterDown
            default: continue
            }
        }
        return nil
    }

    private static func isRedirect(_ reply: Reply) -> Bool {
        if case .error(let message) = reply { return redirect(in: message) != nil }
        return false
    }

    // MARK: Node connections

    /// The open connection to `node`, connecting (again) if needed. Failures here happen before
    /// anything is written: they come wrapped in `NotSent`.
    private func connectedClient(_ node: RedisClusterNode, readOnly: Bool) async throws -> RedisClient {
        let key = NodeKey(node: node, readOnly: readOnly)
        let found = try state.withLock { state -> NodeConnection in
            if state.closed { throw StreamClosedError() }
            if let redis = state.connected[key] { return .open(redis) }  // the usual case: one lookup
            if let attempt = state.connecting[key] { return .connecting(attempt) }
            let configuration = Self.nodeConfiguration(configuration, node, readOnly: readOnly)
            let loop = self.loop
            let attempt = Task { try await RedisClient.connect(configuration, loop: loop) }
            state.connecting[key] = attempt
            return .connecting(attempt)
        }
        switch found {
        case .open(let redis):
            // Reconnects a dropped connection, or fails at once in its backoff: nothing sent yet.
            do { try await redis.client.checkHealth() } catch { throw NotSent(error: error) }
            return redis
        case .connecting(let attempt):
            let redis: RedisClient
            do {
                redis = try await attempt.value
            } catch {
                state.withLock { state in
                    if state.connecting[key] == attempt { state.connecting[key] = nil }  // the next caller tries again
                }
                throw NotSent(error: error)
            }
            let closed = state.withLock { state in
                if state.connecting[key] == attempt { state.connecting[key] = nil }
                if !state.closed { state.connected[key] = redis }
                return state.closed
            }
            if closed {
                redis.close()
                throw StreamClosedError()
            }
            return redis
        }
    }

    /// Keeps the seed connection that answered first.
    private func adopt(_ redis: RedisClient, for node: RedisClusterNode) {
        state.withLock { $0.connected[NodeKey(node: node, readOnly: false)] = redis }
    }

    private static func nodeConfiguration(_ configuration: RedisClusterConfiguration, _ node: RedisClusterNode, readOnly: Bool) -> RedisConfiguration {
        var settings = configuration.node
        settings.host = node.host
        settings.port = node.port
        settings.unixSocketPath = nil
        if readOnly { settings.setUpCommands.append(["READONLY"]) }
        return settings
    }

    // MARK: Topology

    /// Asks the known nodes (primaries first, then replicas, then the seeds) until one describes a
    /// cluster whose every slot has a primary; if none does, the most complete answer.
    private func fetchTopology() async throws -> RedisClusterTopology {
        let known = state.withLock { $0.topology.nodes }
        var candidates: [RedisClusterNode] = []
        for node in known + configuration.seeds where !candidates.contains(node) { candidates.append(node) }
        var best: RedisClusterTopology?
        var lastError: (any Error)?
        for node in candidates {
            do {
                let topology = try await Self.fetchTopology(from: try await connectedClient(node, readOnly: false), asked: node, tls: configuration.node.tls != nil)
                if topology.coveredSlots == RedisHashSlot.count { return topology }
                if topology.coveredSlots > best?.coveredSlots ?? -1 { best = topology }
            } catch let notSent as NotSent {
                lastError = notSent.error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastError = error
            }
        }
        if let best { return best }
        throw RedisClusterUnavailableError(reason: "no node answered CLUSTER SHARDS", lastError: lastError)
    }

    /// `CLUSTER SHARDS`, or `CLUSTER SLOTS` from a server that does not know it.
    private static func fetchTopology(from redis: RedisClient, asked: RedisClusterNode, tls: Bool) async throws -> RedisClusterTopology {
        let shards = try await redis.send("CLUSTER", "SHARDS")
        if case .error(let message) = shards {
            guard message.lowercased().contains("unknown subcommand") else { throw RedisServerError(message) }
            return try RedisClusterTopology(slotsReply: try await redis.send("CLUSTER", "SLOTS"), asked: asked)
        }
        return try RedisClusterTopology(shardsReply: shards, asked: asked, tls: tls)
    }

    private func refreshInBackground() {
        Task { _ = try? await self.refreshTopology() }
    }

    private func startBackgroundRefresh() {
        guard let interval = configuration.topologyRefreshInterval else { return }
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                _ = try? await self.refreshTopology()
            }
        }
        state.withLock { $0.background = task }
    }
}
