import WireClient
import WireMemcached
import Wirestream

/// MemcachedClient against a memcached on 127.0.0.1:PORT, run on the connection's loop:
/// `mc-get` one GET at a time from one task, `mc-multi` GETs of 100 keys per request (count is
/// keys), `mc-c50` 50 tasks sharing the one connection. Values are 3 bytes.
enum MemcachedBench {
    static func run(workload: String, port: Int, count: Int) async throws -> (count: Int, scanned: Int) {
        let loop = try IOLoop(idlePolling: benchIdlePolling())
        loop.startThread(name: "memcached-bench")
        defer { loop.stop() }
        let cache = try await MemcachedClient.connect(ClientConfiguration(port: port), loop: loop)
        defer { cache.close() }
        let done = try await Task(executorPreference: loop) { () -> Int in
            switch workload {
            case "mc-get":
                try await cache.set("key:bench", Array("xxx".utf8))
                for _ in 0..<count { guard try await cache.get("key:bench") != nil else { fatalError("a miss") } }
                return count
            case "mc-multi":
                let keys = (0..<100).map { "key:\($0)" }
                for key in keys { try await cache.set(key, Array("xxx".utf8)) }
                for _ in 0..<(count / 100) { guard try await cache.get(keys).count == 100 else { fatalError("a miss") } }
                return count / 100 * 100
            case "mc-c50":
                try await cache.set("key:bench", Array("xxx".utf8))
                return try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<50 {
                        group.addTask(executorPreference: loop) {
                            for _ in 0..<(count / 50) { _ = try await cache.get("key:bench") }
                            return count / 50
                        }
                    }
                    return try await group.reduce(0, +)
                }
            default:
                fatalError("unknown workload \(workload)")
            }
        }.value
        return (done, 0)
    }
}
