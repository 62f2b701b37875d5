/// A value read by `get`, `gets`, `gat` or `gats`.
public struct MemcachedValue: Sendable, Hashable {
    public let key: String
    public let data: [UInt8]
    /// The client's own 32 bits, stored with the value.
    public let flags: UInt32
    /// The value's version for `cas` (from `gets` and `gats` only).
    public let cas: UInt64?

    public init(key: String, data: [UInt8], flags: UInt32, cas: UInt64?) {
        self.key = key
        self.data = data
        self.flags = flags
        self.cas = cas
    }

    init(_ item: MemcachedItem) {
        self.init(key: item.key, data: item.data, flags: item.flags, cas: item.cas)
    }
}

/// How a storage command ended: `STORED`, or why not.
public enum MemcachedStoreResult: Sendable, Equatable {
    case stored
    /// `add` of an existing key, `replace`/`append`/`prepend` of a missing one.
    case notStored
    /// `cas`: the value changed since it was read.
    case exists
    /// `cas`: the key is gone.
    case notFound
}

/// The storage commands that differ only in their condition.
public enum MemcachedStoreMode: Sendable {
    case set, add, replace, append, prepend
}

/// `stats`: the counters most used, typed; `fields` has every one as memcached names it.
public struct MemcachedStats: Sendable, Equatable {
    public let pid: Int
    public let uptime: Int
    public let version: String
    public let currentItems: Int
    public let totalItems: Int
    public let bytes: Int
    public let currentConnections: Int
    public let getHits: Int
    public let getMisses: Int
    public let evictions: Int
    public let limitMaxBytes: Int
    public let fields: [String: String]

    init(_ entries: [MemcachedStat]) throws {
        var fields: [String: String] = [:]
        for entry in entries { fields[entry.name] = entry.value }
        func number(_ name: String) throws -> Int {
            guard let text = fields[name], let value = Int(text) else {
                throw MemcachedError(command: "stats", kind: .invalidStats("no numeric field '\(name)'"))
            }
            return value
        }
        pid = try number("pid")
        uptime = try number("uptime")
        guard let version = fields["version"] else { throw MemcachedError(command: "stats", kind: .invalidStats("no field 'version'")) }
        self.version = version
        currentItems = try number("curr_items")
        totalItems = try number("total_items")
        bytes = try number("bytes")
        currentConnections = try number("curr_connections")
        getHits = try number("get_hits")
        getMisses = try number("get_misses")
        evictions = try number("evictions")
        limitMaxBytes = try number("limit_maxbytes")
        self.fields = fields
    }
}
