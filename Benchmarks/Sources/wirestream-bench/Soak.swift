import Glibc
import NIOCore
import NIOPosix
import Wirestream

/// The soak: `wirestream-bench soak-ws|soak-nio CONNECTIONS PORT REQUESTS` against a memcached on
/// 127.0.0.1:PORT. Opens CONNECTIONS connections from this one process, measures the resident
/// memory each idle one costs and the descriptors held, then (Wirestream) sends REQUESTS
/// `get soak` requests across all of them — every connection used, 200 at a time — and measures
/// again; then closes everything and counts descriptors once more. Prints one line of
/// `key=value` pairs for Benchmarks/soak.
enum Soak {
    static let key = "soak"

    static func run(nio: Bool, connections: Int, port: Int, requests: Int) async throws {
        // What lives for the whole process exists before the counts: the shared loop's epoll and
        // wake-up descriptors, libdispatch's timer descriptor (made by the first sleep).
        if !nio { _ = IOLoop.shared }
        try await Task.sleep(for: .milliseconds(1))
        let descriptorsBefore = openDescriptors()
        let socketsBefore = openDescriptors(socketsOnly: true)
        let residentBefore = residentKiB()
        if nio {
            try await runNIO(
                connections: connections, port: port, descriptorsBefore: descriptorsBefore, socketsBefore: socketsBefore,
                residentBefore: residentBefore)
        } else {
            try await runWirestream(
                connections: connections, port: port, requests: requests,
                descriptorsBefore: descriptorsBefore, socketsBefore: socketsBefore, residentBefore: residentBefore)
        }
    }

    private static func runWirestream(
        connections: Int, port: Int, requests: Int, descriptorsBefore: Int, socketsBefore: Int, residentBefore: Int
    ) async throws {
        let loop = IOLoop.shared
        let value = Array(repeating: UInt8(ascii: "v"), count: 32)
        let result = try await Task(executorPreference: loop) { () -> [String: String] in
            // Connect in waves: a listen backlog is finite.
            var streams: [IOStream] = []
            streams.reserveCapacity(connections)
            for start in stride(from: 0, to: connections, by: 500) {
                try await withThrowingTaskGroup(of: IOStream.self) { group in
                    for _ in start..<min(start + 500, connections) {
                        group.addTask(executorPreference: loop) {
                            let stream = IOStream(loop: loop)
                            try await stream.connect(host: "127.0.0.1", port: port)
                            return stream
                        }
                    }
                    for try await stream in group { streams.append(stream) }
                }
            }
            try await streams[0].write(Array("set \(key) 0 0 \(value.count)\r\n".utf8) + value + Array("\r\n".utf8))
            guard try await streams[0].readUntil(Array("\r\n".utf8)) == Array("STORED\r\n".utf8) else { fatalError("set failed") }
            try await Task.sleep(for: .milliseconds(500))
            let residentIdle = residentKiB()
            let descriptorsIdle = openDescriptors()
            let socketsIdle = openDescriptors(socketsOnly: true)

            // 200 workers; worker w serves connections w, w+200, …, one request each in turn. A
            // first pass uses every connection once (its read buffer is made then); the rest of
            // the requests follow, and must not grow the process.
            let workers = min(200, connections)
            let request = Array("get \(key)\r\n".utf8)
            let expected = Array("VALUE \(key) 0 \(value.count)\r\n".utf8) + value + Array("\r\nEND\r\n".utf8)
            let opened = streams
            func send(_ total: Int) async throws -> Int {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for worker in 0..<workers {
                        group.addTask(executorPreference: loop) {
                            var failures = 0
                            let mine = Array(stride(from: worker, to: opened.count, by: workers))
                            let quota = total / workers + (worker < total % workers ? 1 : 0)
                            for sent in 0..<quota {
                                let stream = opened[mine[sent % mine.count]]
                                do {
                                    try await stream.write(request)
                                    let reply = try await stream.readUntil(Array("END\r\n".utf8), maxBytes: 4096)
                                    if reply != expected { failures += 1 }
                                } catch {
                                    failures += 1
                                }
                            }
                            return failures
                        }
                    }
                    return try await group.reduce(0, +)
                }
            }
            var errors = try await send(opened.count)
            let residentUsed = residentKiB()
            errors += try await send(max(requests - opened.count, 0))
            let residentAfter = residentKiB()
            for stream in streams { stream.close() }
            try await Task.sleep(for: .milliseconds(500))
            return [
                "connections": "\(streams.count)", "requests": "\(requests)", "errors": "\(errors)",
                "rss_before_kib": "\(residentBefore)", "rss_idle_kib": "\(residentIdle)",
                "rss_used_kib": "\(residentUsed)", "rss_after_kib": "\(residentAfter)",
                "bytes_per_used": "\((residentUsed - residentBefore) * 1024 / max(streams.count, 1))",
                "bytes_per_idle": "\((residentIdle - residentBefore) * 1024 / max(streams.count, 1))",
                "fds_before": "\(descriptorsBefore)", "fds_idle": "\(descriptorsIdle)", "fds_after": "\(openDescriptors())",
                "sockets_before": "\(socketsBefore)", "sockets_idle": "\(socketsIdle)",
                "sockets_after": "\(openDescriptors(socketsOnly: true))",
            ]
        }.value
        print(result.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }

    /// The same idle shape on SwiftNIO: CONNECTIONS channels on one event loop, each with nothing
    /// but its pipeline's head and tail.
    private static func runNIO(
        connections: Int, port: Int, descriptorsBefore: Int, socketsBefore: Int, residentBefore: Int
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ClientBootstrap(group: group)
        var channels: [Channel] = []
        channels.reserveCapacity(connections)
        for start in stride(from: 0, to: connections, by: 500) {
            let wave = (start..<min(start + 500, connections)).map { _ in bootstrap.connect(host: "127.0.0.1", port: port) }
            for future in wave { channels.append(try await future.get()) }
        }
        try await Task.sleep(for: .milliseconds(500))
        let residentIdle = residentKiB()
        let descriptorsIdle = openDescriptors()
        let socketsIdle = openDescriptors(socketsOnly: true)
        for channel in channels { try? await channel.close() }
        try await group.shutdownGracefully()
        print([
            "connections=\(channels.count)", "rss_before_kib=\(residentBefore)", "rss_idle_kib=\(residentIdle)",
            "bytes_per_idle=\((residentIdle - residentBefore) * 1024 / max(channels.count, 1))",
            "fds_before=\(descriptorsBefore)", "fds_idle=\(descriptorsIdle)", "fds_after=\(openDescriptors())",
            "sockets_before=\(socketsBefore)", "sockets_idle=\(socketsIdle)",
            "sockets_after=\(openDescriptors(socketsOnly: true))",
        ].joined(separator: " "))
    }

    /// The process's open descriptors, or with `socketsOnly` its sockets. The leak check counts
    /// sockets: libdispatch makes its timer descriptors lazily (a CLOCK_BOOTTIME timerfd at the
    /// first continuous-clock sleep of a task with an executor preference, seen with strace), so
    /// the total can grow by one during the run with nothing leaked — and did, failing a CI run.
    static func openDescriptors(socketsOnly: Bool = false) -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = socketsOnly ? 0 : -1  // the directory's own descriptor is not a socket
        var target = [CChar](repeating: 0, count: 64)
        while let entry = readdir(directory) {
            guard entry.pointee.d_name.0 != CChar(UInt8(ascii: ".")) else { continue }
            guard socketsOnly else {
                count += 1
                continue
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let length = readlink("/proc/self/fd/" + name, &target, target.count - 1)
            if length > 0, String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self).hasPrefix("socket:") {
                count += 1
            }
        }
        return count
    }

    static func residentKiB() -> Int {
        guard let file = fopen("/proc/self/status", "r") else { return -1 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("VmRSS:") {  // "VmRSS:\t  12345 kB"
                return Int(text.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? -1
            }
        }
        return -1
    }
}
