import AsyncHTTPClient
import NIOCore
import WireHTTP
import Wirestream

/// HTTP GETs from a server on 127.0.0.1:PORT (nginx, started by Benchmarks/run):
/// `http-seq` COUNT GETs of /1k.bin one after another, a new connection each; `http-keep` the
/// same on one kept-alive connection; `http-big` one GET of /big.bin (COUNT bytes), read in pieces
/// and dropped. Prints bytes for `http-big`, requests otherwise.
enum WireHTTPBench {
    static func run(workload: String, port: Int, count: Int) async throws -> (count: Int, scanned: Int) {
        let loop = try IOLoop(idlePolling: benchIdlePolling())
        loop.startThread(name: "http-bench")
        defer { loop.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.decompress = false
        if workload == "http-keep" { configuration.keepAlive = .init(maxConnectionsPerHost: 1) }
        let client = WireHTTP.HTTPClient(configuration: configuration, loop: loop)
        defer { client.shutdown() }
        let done = try await Task(executorPreference: loop) { () -> Int in
            switch workload {
            case "http-seq", "http-keep":
                let request = try HTTPRequest(url: "http://127.0.0.1:\(port)/1k.bin")
                for _ in 0..<count {
                    let response = try await client.execute(request)
                    precondition(response.status == 200 && response.body.count == 1024)
                }
                return count
            case "http-big":
                return try await client.execute(try HTTPRequest(url: "http://127.0.0.1:\(port)/big.bin")) { response in
                    var received = 0
                    for try await piece in response.body { received += piece.count }
                    return received
                }
            default:
                fatalError("unknown workload \(workload)")
            }
        }.value
        return (done, 0)
    }
}

/// The same workloads with AsyncHTTPClient (swift-server), as its README shows it used; `http-seq`
/// sends `Connection: close` so each request opens a new connection, as ours do.
enum AsyncHTTPClientBench {
    static func run(workload: String, port: Int, count: Int) async throws -> (count: Int, scanned: Int) {
        let client = AsyncHTTPClient.HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = client.shutdown() }
        switch workload {
        case "http-seq", "http-keep":
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/1k.bin")
            if workload == "http-seq" { request.headers.add(name: "Connection", value: "close") }
            for _ in 0..<count {
                let response = try await client.execute(request, timeout: .seconds(30))
                let body = try await response.body.collect(upTo: 1 << 20)
                precondition(response.status == .ok && body.readableBytes == 1024)
            }
            return (count, 0)
        case "http-big":
            let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/big.bin"), timeout: .seconds(600))
            var received = 0
            for try await buffer in response.body { received += buffer.readableBytes }
            return (received, 0)
        default:
            fatalError("unknown workload \(workload)")
        }
    }
}
