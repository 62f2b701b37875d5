import Foundation
import Synchronization
import Testing
import Wirestream
import WireRedis

/// Every cluster node process started by this test run, killed when the process exits, and the
/// folder of their files, removed then.
private let clusterProcesses = Locked<[pid_t]>([])
private let clusterDirectory = Locked<String?>(nil)

/// A local Redis Cluster for the tests: six `redis-server --cluster-enabled yes` processes on free
/// loopback ports (3 primaries + 3 replicas, `cluster-node-timeout` 2 s), joined with
/// `redis-cli --cluster create … --cluster-replicas 1`. Started once per test run, on first use
/// (``shared``), and killed at exit; tests that change it (kill a primary, migrate a slot) leave it
/// healthy again.
final class RedisClusterFixture: @unchecked Sendable {
    // @unchecked Sendable: `nodes` is guarded by `lock`; the rest is immutable.
    static let nodeTimeoutMilliseconds = 2000
    private static let started = Locked<Result<RedisClusterFixture, any Error>?>(nil)

    /// The one cluster of this run (started by the first caller).
    static func shared() throws -> RedisClusterFixture {
        try started.withLock { started in
            if started == nil {
                started = Result { try RedisClusterFixture() }
                atexit {
                    for pid in clusterProcesses.withLock({ $0 }) { Foundation.kill(pid, SIGKILL) }
                    if let directory = clusterDirectory.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: directory) }
                }
            }
            return try started!.get()
        }
    }

    let ports: [Int]
    let directory: URL
    private let lock = NSLock()
    private var nodes: [Int: Process] = [:]

    private init() throws {
        guard ServerProcess.locate("redis-server") != nil, ServerProcess.locate("redis-cli") != nil else {
            throw ServerDidNotStart(executable: "redis-server / redis-cli (installed by .ci/run)")
        }
        ports = try Self.freePortPairs(6)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("wirestream-cluster-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        clusterDirectory.withLock { $0 = directory.path }
        for port in ports { try start(port) }
        let create = try Self.cli(["--cluster", "create"] + ports.map { "127.0.0.1:\($0)" } + ["--cluster-replicas", "1", "--cluster-yes"])
        guard create.contains("All 16384 slots covered") else { throw ClusterDidNotForm(output: create) }
        try waitUntilHealthy()
    }

    /// The seeds a client starts from.
    var seeds: [RedisClusterNode] { ports.map { RedisClusterNode(host: "127.0.0.1", port: $0) } }

    /// A client of this cluster; `adjust` changes its configuration.
    func connect(_ adjust: (inout RedisClusterConfiguration) -> Void = { _ in }) async throws -> RedisClusterClient {
        var configuration = RedisClusterConfiguration(seeds: seeds)
        adjust(&configuration)
        return try await RedisClusterClient.connect(configuration, loop: .shared)
    }

    /// Starts (or restarts, with its saved cluster state) the node on `port`.
    func start(_ port: Int) throws {
        let executable = ServerProcess.locate("redis-server")!
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.currentDirectoryURL = directory
        process.arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", "nodes-\(port).conf",
            "--cluster-node-timeout", "\(Self.nodeTimeoutMilliseconds)", "--save", "", "--appendonly", "no",
            "--dbfilename", "dump-\(port).rdb",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        clusterProcesses.withLock { $0.append(process.processIdentifier) }
        lock.withLock { nodes[port] = process }
        let deadline = Date().addingTimeInterval(10)
        while (try? Self.cli(["-p", "\(port)", "PING"])) != "PONG\n" {
            guard Date() < deadline, process.isRunning else { throw ServerDidNotStart(executable: "redis-server --port \(port)") }
            usleep(20_000)
        }
    }

    /// Kills the node on `port` with SIGKILL (no goodbye to the cluster or its clients).
    func kill(_ port: Int) {
        guard let process = lock.withLock({ nodes[port] }) else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits until every node says `cluster_state:ok`, three primaries own all slots, each has a
    /// replica (`redis-cli --cluster check` with no warning), and every node sees all six online.
    func waitUntilHealthy(timeout: TimeInterval = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            let states = ports.map { (try? Self.cli(["-p", "\($0)", "CLUSTER", "INFO"])) ?? "" }
            last = (try? Self.cli(["--cluster", "check", "127.0.0.1:\(ports[0])"])) ?? ""
            // (redis-cli colours its output: a line may begin with an escape sequence)
            let replicas = last.components(separatedBy: "\n").filter { $0.contains("S: ") }.count
            // Every node sees all six healthy (a fresh replica is "loading" until its first sync).
            let online = ports.map { port in
                ((try? Self.cli(["-p", "\(port)", "CLUSTER", "SHARDS"])) ?? "").components(separatedBy: "\n").filter { $0 == "online" }.count
            }
            if states.allSatisfy({ $0.contains("cluster_state:ok") }), online.allSatisfy({ $0 == 6 }), last.contains("[OK] All 16384 slots covered"),
                !last.contains("[ERR]"), !last.contains("[WARNING]"), replicas == 3
            {
                return
            }
            usleep(200_000)
        }
        throw ClusterDidNotForm(output: last + "\n" + ports.map { port in
            "\(port): " + ((try? Self.cli(["-p", "\(port)", "CLUSTER", "SHARDS"])) ?? "?").replacingOccurrences(of: "\n", with: " ")
        }.joined(separator: "\n"))
    }

    /// A node's answer to a command, through `redis-cli`.
    func cli(port: Int, _ words: String...) throws -> String {
        try Self.cli(["-p", "\(port)"] + words)
    }

    /// How many times a node ran command `name` (`calls` in `INFO commandstats`; 0 if never).
    func calls(of name: String, port: Int) throws -> Int {
        try stat("calls", of: name, port: port)
    }

    /// A field of `cmdstat_<name>` in a node's `INFO commandstats`: `calls`, `rejected_calls`
    /// (refused before running, as a `MOVED` is), …; 0 if the command was never seen.
    func stat(_ field: String, of name: String, port: Int) throws -> Int {
        let stats = try cli(port: port, "INFO", "commandstats")
        guard let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(name):") }) else { return 0 }
        for pair in line.dropFirst("cmdstat_\(name):".count).split(separator: ",") where pair.hasPrefix("\(field)=") {
            return Int(pair.dropFirst(field.count + 1)) ?? 0
        }
        return 0
    }

    static func cli(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.locate("redis-cli")!)
        process.arguments = ["-h", "127.0.0.1"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// `count` ports below 55536 whose cluster bus port (port + 10000) is free as well.
    private static func freePortPairs(_ count: Int) throws -> [Int] {
        var ports: [Int] = []
        var candidate = 21000 + Int(getpid() % 500) * 16
        while ports.count < count, candidate < 30000 {
            if isFree(candidate), isFree(candidate + 10000) { ports.append(candidate) }
            candidate += 1
        }
        guard ports.count == count else { throw ServerDidNotStart(executable: "no free port pairs for a cluster") }
        return ports
    }

    private static func isFree(_ port: Int) -> Bool {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

struct ClusterDidNotForm: Error, CustomStringConvertible {
    let output: String
    var description: String { "the test cluster did not form:\n\(output)" }
}
