import WireRedis
import Wirestream

/// RedisClient against a redis-server on 127.0.0.1:PORT, run on the connection's loop:
/// `redis-get`/`redis-set` one command at a time from one task (redis-benchmark -c1 -P1),
/// `redis-p16` pipelines of 16 (-P16), `redis-c50` 50 tasks sharing the one connection (-c50),
/// `redis-big` GETs of a 10 MiB value. Values are 3 bytes, as redis-benchmark's default.
/// Diagnostics the report does not run, for finding where a GET's time goes: `redis-raw`
/// (write and parse on the bare stream, no client) and `redis-conn` (the pipelined connection
/// without the client's routing and encoding), and `redis-raw16` / `redis-conn16`, the same for
/// pipelines of 16. `WS_IDLE_POLL_US=N` runs the loop with N µs of idle polling.
enum RedisBench {
    static func run(workload: String, port: Int, count: Int) async throws -> (count: Int, scanned: Int) {
        let loop = try IOLoop(idlePolling: benchIdlePolling())
        loop.startThread(name: "redis-bench")
        defer { loop.stop() }
        if workload.hasPrefix("cluster-") { return try await cluster(workload: workload, port: port, count: count, loop: loop) }
        var configuration = RedisConfiguration(port: port)
        configuration.maxReplyBytes = 64 << 20
        let redis = try await RedisClient.connect(configuration, loop: loop)
        defer { redis.close() }
        let done = try await Task(executorPreference: loop) { () -> Int in
            switch workload {
            case "redis-get", "redis-set":
                try await redis.send("SET", "key:bench", "xxx")
                let command = workload == "redis-get" ? ["GET", "key:bench"] : ["SET", "key:bench", "xxx"]
                for _ in 0..<count { _ = try await redis.send(command) }
                return count
            case "redis-raw":
                let stream = redis.stream
                let request = try Command(["GET", "key:bench"]).encoded()
                for _ in 0..<count {
                    try await stream.write(request)
                    _ = try await Reply.read(from: stream)
                }
                return count
            case "redis-conn":
                let connection = redis.connection
                let request = try Command(["GET", "key:bench"]).encoded()
                for _ in 0..<count { _ = try await connection.send(request) }
                return count
            case "redis-raw16":
                let stream = redis.stream
                let request = Array(repeating: try Command(["GET", "key:bench"]).encoded(), count: 16).flatMap { $0 }
                for _ in 0..<(count / 16) {
                    try await stream.write(request)
                    for _ in 0..<16 { _ = try await Reply.read(from: stream) }
                }
                return count / 16 * 16
            case "redis-conn16":
                let connection = redis.connection
                let request = Array(repeating: try Command(["GET", "key:bench"]).encoded(), count: 16).flatMap { $0 }
                for _ in 0..<(count / 16) { _ = try await connection.send(encodedBatch: request, count: 16) }
                return count / 16 * 16
            case "redis-p16":
                try await redis.send("SET", "key:bench", "xxx")
                let batch = Array(repeating: ["GET", "key:bench"], count: 16)
                for _ in 0..<(count / 16) { _ = try await redis.pipeline(batch) }
                return count / 16 * 16
            case "redis-c50":
                try await redis.send("SET", "key:bench", "xxx")
                return try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<50 {
                        group.addTask(executorPreference: loop) {
                            for _ in 0..<(count / 50) { _ = try await redis.send("GET", "key:bench") }
                            return count / 50
                        }
                    }
                    return try await group.reduce(0, +)
                }
            case "redis-big":
                try await redis.send(Command(arguments: [
                    BulkString(value: Array("SET".utf8)), BulkString(value: Array("key:big".utf8)),
                    BulkString(value: [UInt8](repeating: 120, count: 10 << 20)),
                ]))
                for _ in 0..<count {
                    guard case .bulk(let value?) = try await redis.send("GET", "key:big"), value.count == 10 << 20 else {
                        fatalError("the 10 MiB value did not come back")
                    }
                }
                return count
            default:
                fatalError("unknown workload \(workload)")
            }
        }.value
        return (done, 0)
    }

    /// `cluster-get-N` / `cluster-set-N`: N tasks sharing one RedisClusterClient over a cluster
    /// seeded at `port` (redis-benchmark --cluster -c N); with one task, one key (one node), as
    /// redis-benchmark's one client; with more, a key per task, spread over the primaries.
    static func cluster(workload: String, port: Int, count: Int, loop: IOLoop) async throws -> (count: Int, scanned: Int) {
        let parts = workload.split(separator: "-")
        guard parts.count == 3, let tasks = Int(parts[2]) else { fatalError("unknown workload \(workload)") }
        let get = parts[1] == "get"
        let configuration = RedisClusterConfiguration(seeds: [RedisClusterNode(host: "127.0.0.1", port: port)])
        let cluster = try await RedisClusterClient.connect(configuration, loop: loop)
        defer { cluster.close() }
        let done = try await Task(executorPreference: loop) { () -> Int in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for task in 0..<tasks {
                    group.addTask(executorPreference: loop) {
                        let key = tasks == 1 ? "key:bench" : "key:bench:\(task)"
                        try await cluster.send("SET", key, "xxx")
                        let command = get ? Command(["GET", key]) : Command(["SET", key, "xxx"])
                        for _ in 0..<(count / tasks) { _ = try await cluster.send(command) }
                        return count / tasks
                    }
                }
                return try await group.reduce(0, +)
            }
        }.value
        return (done, 0)
    }
}
