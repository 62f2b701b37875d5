import Glibc
import Wirestream

/// One benchmark run: `wirestream-bench CONTENDER WORKLOAD PORT [COUNT]`.
/// Connects to the producer on 127.0.0.1:PORT, consumes the workload, prints
/// `count seconds maxRSSKiB bytesScanned cpuSeconds`.
let arguments = CommandLine.arguments
// PORT may list several ports, comma-separated (the loop-group workload reads one connection each).
let ports = arguments.count >= 4 ? arguments[3].split(separator: ",").compactMap { Int($0) } : []
guard let port = ports.first else {
    print("usage: wirestream-bench ws-callback|ws-handler|ws-async|ws-borrow|ws-frame|ws-loop1|ws-group2|soak-ws|soak-nio|ws-redis|ws-mc|ws-http|ahc|nio-handler|nio-async|resp-generated|resp-handwritten WORKLOAD PORT[,PORT…] [COUNT]")
    exit(2)
}
let contender = arguments[1]
let workload = arguments[2]
let count = arguments.count > 4 ? Int(arguments[4])! : 0

let started = monotonicSeconds()
let outcome: (count: Int, scanned: Int)
switch contender {
case "ws-callback": outcome = try WirestreamCallback.run(workload: workload, port: port, count: count)
case "ws-handler": outcome = try WirestreamCallback.run(workload: workload, port: port, count: count, handler: true)
case "ws-async": outcome = try WirestreamAsync.run(workload: workload, port: port, count: count, form: .copying)
case "ws-borrow": outcome = try WirestreamAsync.run(workload: workload, port: port, count: count, form: .borrowing)
case "ws-frame": outcome = try WirestreamAsync.run(workload: workload, port: port, count: count, form: .owned)
case "ws-redis": outcome = try await RedisBench.run(workload: workload, port: port, count: count)
case "ws-mc": outcome = try await MemcachedBench.run(workload: workload, port: port, count: count)
case "ws-http": outcome = try await WireHTTPBench.run(workload: workload, port: port, count: count)
case "ahc": outcome = try await AsyncHTTPClientBench.run(workload: workload, port: port, count: count)
case "soak-ws", "soak-nio":  // WORKLOAD is the number of connections, COUNT the requests
    try await Soak.run(nio: contender == "soak-nio", connections: Int(workload)!, port: port, requests: count)
    outcome = (count, 0)
case "ws-loop1": outcome = try await LoopGroupLines.run(loops: 1, ports: ports)
case "ws-group2": outcome = try await LoopGroupLines.run(loops: 2, ports: ports)
case "nio-handler": outcome = try NIOHandlerReader.run(workload: workload, port: port)
case "nio-async": outcome = try await NIOAsyncReader.run(workload: workload, port: port)
case "resp-generated": outcome = try await RESPParsers.run(generated: true, rounds: count / 1000)
case "resp-handwritten": outcome = try await RESPParsers.run(generated: false, rounds: count / 1000)
default:
    print("unknown contender \(contender)")
    exit(2)
}
let elapsed = monotonicSeconds() - started
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
print("\(outcome.count) \(elapsed) \(usage.ru_maxrss) \(outcome.scanned) \(cpu)")

func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// The client loops' idle polling, from `WS_IDLE_POLL_US` (unset or 0: off, the library's default).
/// (A function: a global of main.swift is set only when the top-level code reaches it.)
func benchIdlePolling() -> Duration? {
    guard let text = getenv("WS_IDLE_POLL_US").map({ String(cString: $0) }), let micros = Int(text), micros > 0 else { return nil }
    return .microseconds(micros)
}
