/// A node of a Redis Cluster, by the address clients reach it at.
public struct RedisClusterNode: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, `[v6]:port` or `v6:port` (the last colon ends the host), as `MOVED` replies
    /// and `--cluster create` write them; `nil` if it is not one.
    public init?(_ address: some StringProtocol) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Who serves what: each shard's primary, its replicas and its slots, as a node reported them.
public struct RedisClusterTopology: Sendable {
    /// One primary, its replicas, and the slot ranges it owns.
    public struct Shard: Sendable, Equatable {
        public var primary: RedisClusterNode
        public var replicas: [RedisClusterNode]
        public var slots: [ClosedRange<Int>]
    }

    public private(set) var shards: [Shard]
    /// The primary serving each slot (`nil`: nobody, the cluster is down for it).
    private var owners: [RedisClusterNode?]

    init(shards: [Shard]) {
        self.shards = shards
        owners = Array(repeating: nil, count: RedisHashSlot.count)
        for shard in shards {
            for range in shard.slots where range.lowerBound >= 0 && range.upperBound < RedisHashSlot.count {
                for slot in range { owners[slot] = shard.primary }
            }
        }
    }

    /// The primary serving `slot`.
    public func primary(forSlot slot: Int) -> RedisClusterNode? { owners[slot] }

    /// The replicas of `primary` (none if it is not a known primary).
    public func replicas(of primary: RedisClusterNode) -> [RedisClusterNode] {
        shards.first { $0.primary == primary }?.replicas ?? []
    }

    /// Every primary that owns slots.
    public var primaries: [RedisClusterNode] { shards.filter { !$0.slots.isEmpty }.map(\.primary) }

    /// Every node, primaries first.
    public var nodes: [RedisClusterNode] { shards.map(\.primary) + shards.flatMap(\.replicas) }

    /// How many slots have a primary.
    public var coveredSlots: Int { owners.count { $0 != nil } }

    /// Records a `MOVED` redirect: `slot` is now served by `node` (until the next refresh).
    mutating func assign(slot: Int, to node: RedisClusterNode) {
        owners[slot] = node
    }

    // MARK: Reading CLUSTER SHARDS and CLUSTER SLOTS

    /// From `CLUSTER SHARDS` (Redis 7): the online primary of each shard and its online replicas.
    /// `asked` is the node that answered (for endpoints it reports as `?`); `tls` picks `tls-port`.
    init(shardsReply reply: Reply, asked: RedisClusterNode, tls: Bool) throws {
        guard let entries = try reply.redisChecked().elements else { throw RedisReplyTypeError(expected: "the CLUSTER SHARDS list", reply: reply) }
        var shards: [Shard] = []
        for entry in entries {
            let fields = try Self.fields(entry)
            let bounds = (fields["slots"]?.elements ?? []).compactMap { reply -> Int? in
                if case .integer(let value) = reply { return value } else { return Int(reply.string ?? "") }
            }
            guard bounds.count % 2 == 0 else { throw RedisReplyTypeError(expected: "slot ranges in pairs", reply: entry) }
            let slots = stride(from: 0, to: bounds.count, by: 2).compactMap { index -> ClosedRange<Int>? in
                bounds[index] <= bounds[index + 1] ? bounds[index]...bounds[index + 1] : nil
            }
            var primaries: [(RedisClusterNode, online: Bool)] = []
            var replicas: [RedisClusterNode] = []
            for nodeReply in fields["nodes"]?.elements ?? [] {
                let node = try Self.fields(nodeReply)
                func number(_ name: String) -> Int? {
                    if case .integer(let value) = node[name] { return value } else { return Int(node[name]?.string ?? "") }
                }
                guard let port = tls ? number("tls-port") : number("port") else { continue }
                var host = node["endpoint"]?.string ?? node["ip"]?.string ?? ""
                if host.isEmpty || host == "?" { host = node["ip"]?.string ?? asked.host }
                if host.isEmpty || host == "?" { host = asked.host }
                let address = RedisClusterNode(host: host, port: port)
                let online = node["health"]?.string == "online"
                if node["role"]?.string == "master" {
                    primaries.append((address, online))
                } else if online {
                    replicas.append(address)
                }
            }
            // After a failover the old primary is still listed ("fail") beside the promoted one.
            guard let primary = primaries.first(where: { $0.online }) ?? primaries.first else { continue }
            shards.append(Shard(primary: primary.0, replicas: replicas, slots: slots))
        }
        self.init(shards: shards)
    }

    /// From `CLUSTER SLOTS` (before Redis 7): `[start, end, [host, port, id], [replica…]…]`.
    init(slotsReply reply: Reply, asked: RedisClusterNode) throws {
        guard let entries = try reply.redisChecked().elements else { throw RedisReplyTypeError(expected: "the CLUSTER SLOTS list", reply: reply) }
        var shards: [Shard] = []
        for entry in entries {
            guard let parts = entry.elements, parts.count >= 3, case .integer(let start) = parts[0], case .integer(let end) = parts[1],
                start <= end
            else { throw RedisReplyTypeError(expected: "a CLUSTER SLOTS range", reply: entry) }
            let nodes = try parts.dropFirst(2).map { part -> RedisClusterNode in
                guard let fields = part.elements, fields.count >= 2, case .integer(let port) = fields[1] else {
                    throw RedisReplyTypeError(expected: "a CLUSTER SLOTS node", reply: part)
                }
                let host = fields[0].string ?? ""
                return RedisClusterNode(host: host.isEmpty || host == "?" ? asked.host : host, port: port)
            }
            if let index = shards.firstIndex(where: { $0.primary == nodes[0] }) {
                shards[index].slots.append(start...end)
            } else {
                shards.append(Shard(primary: nodes[0], replicas: Array(nodes.dropFirst()), slots: [start...end]))
            }
        }
        self.init(shards: shards)
    }

    private static func fields(_ reply: Reply) throws -> [String: Reply] {
        var fields: [String: Reply] = [:]
        for (key, value) in try reply.redisPairs() { fields[try key.redisString()] = value }
        return fields
    }
}
