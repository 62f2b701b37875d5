/// A command whose keys are in different hash slots: a cluster cannot run it (the server would
/// answer `CROSSSLOT`), so it is refused before anything is sent. Give the keys one `{hash tag}`.
public struct RedisClusterCrossSlotError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The command's name (`MSET`, or `MULTI` for a transaction).
    public let command: String
    /// Each key and its slot, in the command's order.
    public let keys: [(key: String, slot: Int)]

    public init(command: String, keys: [(key: String, slot: Int)]) {
        self.command = command
        self.keys = keys
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.command == b.command && a.keys.map(\.key) == b.keys.map(\.key) && a.keys.map(\.slot) == b.keys.map(\.slot)
    }

    public var description: String {
        "\(command): keys in different hash slots (\(keys.map { "\($0.key) → \($0.slot)" }.joined(separator: ", "))); give them one {hash tag}"
    }
}

/// A command was redirected (`MOVED`/`ASK`/`TRYAGAIN`) more often than
/// ``RedisClusterConfiguration/maxRedirects`` allows: the cluster is being resharded faster than
/// the client can follow, or its nodes disagree.
public struct RedisClusterRedirectError: Error, Equatable, CustomStringConvertible, Sendable {
    /// How many redirects were followed.
    public let redirects: Int
    /// The last redirect (`MOVED 3999 127.0.0.1:7002`).
    public let lastRedirect: String

    public init(redirects: Int, lastRedirect: String) {
        self.redirects = redirects
        self.lastRedirect = lastRedirect
    }

    public var description: String { "gave up after \(redirects) cluster redirects (last: \(lastRedirect))" }
}

/// No node could serve the command within ``RedisClusterConfiguration/failoverTimeout``: none of
/// the known nodes answered, or the slot had no primary (the cluster is down or failing over).
public struct RedisClusterUnavailableError: Error, CustomStringConvertible, Sendable {
    /// What was wrong: `"no node answered CLUSTER SHARDS"`, `"slot 3999 has no primary"`, ….
    public let reason: String
    /// The last failure behind it, if any (a connect error, a `CLUSTERDOWN` reply).
    public let lastError: (any Error)?

    public init(reason: String, lastError: (any Error)? = nil) {
        self.reason = reason
        self.lastError = lastError
    }

    public var description: String {
        "Redis Cluster unavailable: \(reason)" + (lastError.map { " (last error: \($0))" } ?? "")
    }
}
