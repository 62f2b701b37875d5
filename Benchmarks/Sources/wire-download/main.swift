import Glibc
import WireHTTP
import Wirestream

/// `wire-download URL`: streams URL's body with HTTPClient and drops it, then prints
/// `bytes seconds maxRSSKiB` — the download row's contender in a process of its own, linking only
/// WireHTTP (the benchmark binary also carries SwiftNIO, AsyncHTTPClient and Foundation, whose
/// resident pages would hide the client's own footprint).
let url = CommandLine.arguments[1]
var start = timespec()
clock_gettime(CLOCK_MONOTONIC, &start)
let received = try await download(url)
var end = timespec()
clock_gettime(CLOCK_MONOTONIC, &end)
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
print("\(received) \(seconds) \(usage.ru_maxrss)")

/// Not on the main actor (as top-level code is): the handler then runs on the client's loop.
nonisolated func download(_ url: String) async throws -> Int {
    var configuration = HTTPClientConfiguration()
    configuration.decompress = false
    let client = HTTPClient(configuration: configuration)
    return try await client.execute(try HTTPRequest(url: url)) { response in
        var received = 0
        try await response.body.forEachPiece { received += $0.count }  // lent in place, as a file sink reads it
        return received
    }
}
