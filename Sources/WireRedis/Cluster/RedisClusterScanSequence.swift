/// Every key of a Redis Cluster: `SCAN` on each primary in turn (the primaries known when the
/// iteration starts), pages fetched as the iteration needs them.
///
/// ```swift
/// for try await key in cluster.scan(match: "session:*") { … }
/// ```
public struct RedisClusterScanSequence: AsyncSequence, Sendable {
    let cluster: RedisClusterClient
    /// `MATCH`, `COUNT` and `TYPE` words.
    let options: [String]

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(cluster: cluster, options: options)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let cluster: RedisClusterClient
        let options: [String]
        var remaining: [RedisClusterNode]?
        var current: RedisScanSequence<String>.AsyncIterator?

        public mutating func next() async throws -> String? {
            if remaining == nil { remaining = cluster.topology.primaries }
            while true {
                if var node = current {
                    if let key = try await node.next() {
                        current = node
                        return key
                    }
                    current = nil
                }
                guard let next = remaining?.first else { return nil }
                remaining?.removeFirst()
                let redis = try await cluster.client(for: next)
                current = RedisScanSequence(client: redis, command: ["SCAN"], options: options) { try $0.map(ScanPage.text) }
                    .makeAsyncIterator()
            }
        }
    }
}
