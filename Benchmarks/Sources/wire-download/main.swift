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
var configuration = HTTPClientConfiguration()
configuration.decompress = false
let client = HTTPClient(configuration: configuration)
let received = try await client.execute(try HTTPRequest(url: url)) { response in
    var received = 0
    for try await piece in response.body { received += piece.count }
    return received
}
var end = timespec()
clock_gettime(CLOCK_MONOTONIC, &end)
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
print("\(received) \(seconds) \(usage.ru_maxrss)")
