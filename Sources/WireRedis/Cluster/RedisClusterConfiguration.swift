/// How to reach a Redis Cluster and how the client follows it. Every wait is bounded.
///
/// ```swift
/// var configuration = RedisClusterConfiguration(seeds: ["127.0.0.1:7000", "127.0.0.1:7001"])
/// configuration.node.password = "secret"        // what every node connection uses
/// configuration.readFromReplicas = true
/// let cluster = try await RedisClusterClient.connect(configuration)
/// ```
public struct RedisClusterConfiguration: Sendable {
    /// Nodes to learn the topology from; one that answers is enough.
    public var seeds: [RedisClusterNode]
    /// Settings for every node connection (user, password, TLS, RESP version, timeouts, limits);
    /// its host and port are ignored, and `database` must stay 0 (a cluster has one).
    public var node: RedisConfiguration
    /// How many `MOVED`/`ASK`/`TRYAGAIN` redirects one command may follow.
    public var maxRedirects = 5
    /// How often the topology is learnt again in the background (`nil`: only after redirects and
    /// failures).
    public var topologyRefreshInterval: Duration? = .seconds(30)
    /// Send read-only commands (the server's `readonly` flag: `GET`, `HGETALL`, `XRANGE`, …) to a
    /// replica of the slot's primary, on connections that said `READONLY`. Off by default:
    /// replicas lag, so a read may not see a write just acknowledged.
    public var readFromReplicas = false
    /// How long a command keeps trying while its slot has no reachable primary (a primary died and
    /// its replica is not yet promoted; `CLUSTERDOWN`): retried with a fresh topology every
    /// `failoverRetryDelay`, then ``RedisClusterUnavailableError``. Redis promotes a replica after
    /// `cluster-node-timeout` (15 s by default) plus an election, hence 20 s.
    public var failoverTimeout: Duration = .seconds(20)
    public var failoverRetryDelay: Duration = .milliseconds(200)
    /// Whether a read-only command whose connection failed while it was in flight is sent again
    /// (it changes nothing, so a second try is safe). Commands that write are never sent twice:
    /// they fail with the transport error, as on ``RedisClient``.
    public var retryReadOnlyCommands = true

    /// A cluster reached through `seeds` with default node settings.
    public init(seeds: [RedisClusterNode], node: RedisConfiguration = RedisConfiguration()) {
        self.seeds = seeds
        self.node = node
    }

    /// Seeds written `host:port`.
    /// - Throws: ``RedisURLError`` for an address that is not `host:port`.
    public init(seeds: [String], node: RedisConfiguration = RedisConfiguration()) throws {
        self.init(seeds: try seeds.map { address in
            guard let node = RedisClusterNode(address) else { throw RedisURLError(url: address, reason: "a cluster seed is written host:port") }
            return node
        }, node: node)
    }
}
