import Wirestream

/// The 64 B lines workload over several connections (one producer each), read with borrowing
/// `readUntil` on an `IOLoopGroup` of `loops` loops: connection i lives on loop i % loops.
/// With 2 connections, 1 loop vs 2 loops shows what the second core buys.
enum LoopGroupLines {
    static func run(loops: Int, ports: [Int]) async throws -> (count: Int, scanned: Int) {
        let group = try IOLoopGroup(loopCount: loops)
        defer { group.shutdown() }
        return try await withThrowingTaskGroup(of: (Int, Int).self) { tasks in
            for (index, port) in ports.enumerated() {
                let loop = group.loops[index % loops]
                tasks.addTask(executorPreference: loop) {
                    let stream = IOStream(loop: loop)
                    try await stream.connect(host: "127.0.0.1", port: port)
                    var n = 0
                    do {
                        while true { n += try await stream.readUntil([10]) { $0.count > 0 ? 1 : 0 } }
                    } catch is StreamClosedError {}
                    return (n, stream.bytesScanned)
                }
            }
            var total = (count: 0, scanned: 0)
            for try await (count, scanned) in tasks {
                total.count += count
                total.scanned += scanned
            }
            return total
        }
    }
}
