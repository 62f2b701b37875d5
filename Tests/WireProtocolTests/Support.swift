import Foundation
import WireClient
import Testing
@testable import Wirestream

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Reads with `read` from `input` fed whole, one byte per chunk, and split in two at every
/// position; every feeding must give the same result and consume all of `input`. Returns it.
func readEverySplit<T: Equatable>(
    _ input: [UInt8], sourceLocation: SourceLocation = #_sourceLocation,
    _ read: (MemoryByteSource) async throws -> T
) async throws -> T {
    let whole = MemoryByteSource(input)
    let expected = try await read(whole)
    #expect(whole.offset == input.count, "whole input not consumed", sourceLocation: sourceLocation)
    var feedings = [MemoryByteSource(input, chunkSize: 1)]
    for split in 1..<max(input.count, 1) {
        feedings.append(MemoryByteSource(chunks: [Array(input[..<split]), Array(input[split...])]))
    }
    for (index, source) in feedings.enumerated() {
        let value = try await read(source)
        #expect(value == expected, "feeding \(index) differs", sourceLocation: sourceLocation)
        #expect(source.offset == input.count, "feeding \(index) left bytes", sourceLocation: sourceLocation)
    }
    return expected
}

/// Reads with `read` from `input` fed whole, byte by byte and split in two (at every position of a
/// small input, at 64 of a large one), and
/// returns the protocol error every feeding must throw — the same one, whole (kind, field, offset).
func protocolError<T>(
    _ input: [UInt8], sourceLocation: SourceLocation = #_sourceLocation,
    _ read: (MemoryByteSource) async throws -> T
) async -> WireProtocolError? {
    var errors: [WireProtocolError] = []
    var feedings = [MemoryByteSource(input), MemoryByteSource(input, chunkSize: 1)]
    // Every split of a small input; 64 evenly spread ones of a large input (an oversize line).
    let step = max(1, input.count / 64)
    for split in stride(from: 1, to: max(input.count, 1), by: step) {
        feedings.append(MemoryByteSource(chunks: [Array(input[..<split]), Array(input[split...])]))
    }
    for source in feedings {
        do {
            _ = try await read(source)
            Issue.record("no error for \(String(decoding: input.prefix(40), as: UTF8.self))", sourceLocation: sourceLocation)
        } catch let error as WireProtocolError {
            errors.append(error)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }
    guard errors.count == feedings.count else { return nil }
    for (index, error) in errors.enumerated() where error != errors[0] {
        Issue.record("feeding \(index) fails differently: \(error) vs \(errors[0])", sourceLocation: sourceLocation)
    }
    return errors[0]
}

/// A server process started by a test on a free loopback port, killed when the test ends.
final class ServerProcess: @unchecked Sendable {
    // @unchecked Sendable: used by one test at a time; Process is thread-safe for these calls.
    let process: Process
    let port: Int

    init(_ executable: String, port fixedPort: Int? = nil, arguments: (Int) -> [String], directory: URL? = nil) throws {
        port = try fixedPort ?? Self.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments(port)
        if let directory { process.currentDirectoryURL = directory }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !Self.accepts(port) {
            guard Date() < deadline, process.isRunning else { throw ServerDidNotStart(executable: executable) }
            usleep(20_000)
        }
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Finds an executable on the PATH or in the usual system folders.
    static func locate(_ name: String) -> String? {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func accepts(_ port: Int) -> Bool {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        let address = SocketAddress(ipAddress: "127.0.0.1", port: port)!
        return address.withSockAddr { connect(probe, $0, $1) } == 0
    }

    static func freePort() throws -> Int {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        let address = SocketAddress(ipAddress: "127.0.0.1", port: 0)!
        _ = address.withSockAddr { bind(probe, $0, $1) }
        var storage = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &length) }
        }
        return Int(UInt16(bigEndian: storage.sin_port))
    }
}

struct ServerDidNotStart: Error {
    let executable: String
}

/// A connected stream to 127.0.0.1:`port` on the shared loop.
func connect(port: Int) async throws -> IOStream {
    let stream = IOStream(loop: .shared)
    try await stream.connect(host: "127.0.0.1", port: port)
    return stream
}

/// Our sockets still connected to `port` on 127.0.0.1 (ESTABLISHED or CLOSE_WAIT in
/// /proc/net/tcp, remote port `port`): a client that leaks a descriptor leaves one behind.
func openConnections(toPort port: Int) -> Int {
    // FileHandle reads to the end: procfs reports a size of 0, and a read by size stops at one page.
    guard let file = FileHandle(forReadingAtPath: "/proc/net/tcp"), let data = try? file.readToEnd() else { return -1 }
    let table = String(decoding: data, as: UTF8.self)
    let remote = String(format: ":%04X", port)
    return table.split(separator: "\n").dropFirst().filter { line in
        let columns = line.split(separator: " ")
        return columns.count > 3 && columns[2].hasSuffix(remote) && (columns[3] == "01" || columns[3] == "08")
    }.count
}

/// Waits (at most a second: closes complete on the loop) until nothing of ours is connected to `port`.
func expectNoConnections(toPort port: Int, sourceLocation: SourceLocation = #_sourceLocation) async {
    for _ in 0..<100 {
        if openConnections(toPort: port) == 0 { return }
        try? await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("a connection to port \(port) is still open", sourceLocation: sourceLocation)
}

/// What a client's one call throws against a server scripted to answer the first request with
/// `reply` (then close, or read on and say nothing); records an issue if the call succeeds, and
/// checks that no connection to the server is left open afterwards, whatever went wrong.
func failureAgainstScriptedServer<Reply: WireMessage & Sendable, Value>(
    replying reply: String, thenClose: Bool, timeout: Duration, maxReplyBytes: Int? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    connect: (ClientConfiguration) async throws -> ProtocolClient<Reply>,
    call: (ProtocolClient<Reply>) async throws -> Value
) async throws -> any Error {
    let listener = try BeanstalkHostileServerTests.serve(reply, thenClose: thenClose)
    defer { listener.close() }
    var configuration = ClientConfiguration(port: listener.port)
    configuration.requestTimeout = timeout
    configuration.reconnect = false
    if let maxReplyBytes { configuration.maxReplyBytes = maxReplyBytes }
    let client = try await connect(configuration)
    let outcome: any Error
    do {
        let value = try await call(client)
        Issue.record("got \(value) from a misbehaving server", sourceLocation: sourceLocation)
        outcome = CancellationError()
    } catch {
        outcome = error
    }
    client.close()
    await expectNoConnections(toPort: listener.port, sourceLocation: sourceLocation)
    return outcome
}
