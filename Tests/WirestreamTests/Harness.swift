import Glibc
import Logging
import Synchronization
import Testing

@testable import Wirestream

/// Runs `body` on a fresh loop thread under the loop's task-executor preference, then stops the loop.
func onLoop<T: Sendable>(_ body: (IOLoop) async throws -> T) async throws -> T {
    let loop = try IOLoop()
    loop.startThread(name: "test-loop")
    defer { loop.close() }  // closes what a test left open, so nothing outlives it
    return try await withTaskExecutorPreference(loop) {
        try await body(loop)
    }
}

/// The two kinds of fd a stream runs over in the shared behaviour tests.
enum Transport: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case tcp
    case pipe
    case tls
    var testDescription: String { rawValue }
}

/// A connected pair: bytes written to `writer` arrive at `reader`; closing `writer` is the peer closing.
struct StreamPair {
    let reader: BaseIOStream
    let writer: BaseIOStream
}

func makePair(
    _ transport: Transport, loop: IOLoop, maxBufferSize: Int? = nil, readChunkSize: Int? = nil,
    logger: Logger? = nil
) async throws -> StreamPair {
    switch transport {
    case .pipe:
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let reader = try PipeIOStream(
            fd: fds[0], loop: loop, maxBufferSize: maxBufferSize, readChunkSize: readChunkSize, logger: logger)
        let writer = try PipeIOStream(fd: fds[1], loop: loop)
        return StreamPair(reader: reader, writer: writer)
    case .tcp:
        let (client, server) = try await tcpPair(loop: loop, serverMaxBufferSize: maxBufferSize, serverReadChunkSize: readChunkSize, logger: logger)
        return StreamPair(reader: server, writer: client)
    case .tls:
        let fixtures = TLSFixtures.shared
        let (client, server) = try await tlsPair(
            loop: loop, server: try fixtures.serverContext("foo"), client: try fixtures.clientContext(),
            serverMaxBufferSize: maxBufferSize, serverReadChunkSize: readChunkSize, logger: logger)
        return StreamPair(reader: server, writer: client)
    }
}

/// A connected TCP pair over loopback: `(client, server)`.
func tcpPair(
    loop: IOLoop, serverMaxBufferSize: Int? = nil, serverReadChunkSize: Int? = nil, logger: Logger? = nil
) async throws -> (client: IOStream, server: IOStream) {
    let listener = try TCPListener(
        loop: loop, maxBufferSize: serverMaxBufferSize, readChunkSize: serverReadChunkSize, logger: logger)
    defer { listener.close() }
    async let accepted = listener.accept()
    let client = IOStream(loop: loop, logger: logger)
    try await client.connect(host: "127.0.0.1", port: listener.port)
    let server = try await accepted
    return (client, server)
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Waits for a callback-form operation.
func awaitCallback<T>(_ start: (@escaping (Result<T, any Error>) -> Void) -> Void) async throws -> T {
    let box = CallbackBox<T>()
    start { box.complete($0) }
    return try await box.value()
}

/// Holds a callback's result until a task asks for it; used on the loop thread only.
final class CallbackBox<T>: @unchecked Sendable {
    // @unchecked Sendable: completed and awaited on the test's loop thread.
    private var result: Result<T, any Error>?
    private var continuation: CheckedContinuation<UncheckedTransfer<T>, any Error>?

    func complete(_ outcome: Result<T, any Error>) {
        if let continuation {
            self.continuation = nil
            continuation.resume(with: outcome.map { UncheckedTransfer($0) })
        } else {
            result = outcome
        }
    }

    func value() async throws -> T {
        if let result { return try result.get() }
        return try await withCheckedThrowingContinuation { self.continuation = $0 }.value
    }
}

/// Expects `operation` to fail with StreamClosedError and returns its realError.
@discardableResult
func expectStreamClosed(
    _ operation: () async throws -> some Any, sourceLocation: SourceLocation = #_sourceLocation
) async -> (any Error)? {
    do {
        _ = try await operation()
        Issue.record("expected StreamClosedError, got success", sourceLocation: sourceLocation)
    } catch let error as StreamClosedError {
        return error.realError
    } catch {
        Issue.record("expected StreamClosedError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// Sleeps `milliseconds` on the loop (lets the kernel deliver bytes between writes).
func pause(_ milliseconds: Int) async throws {
    try await Task.sleep(for: .milliseconds(milliseconds))
}

/// A log handler that records every message, for asserting what was logged at which level.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    // @unchecked Sendable: all storage is behind the lock in `Records`.
    final class Records: Sendable {
        let entries = Locked<[(Logger.Level, String)]>([])
        var all: [(Logger.Level, String)] { entries.withLock { $0 } }
    }

    let records: Records
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(records: Records) { self.records = records }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.entries.withLock { $0.append((event.level, event.message.description)) }
    }
}

func recordingLogger() -> (Logger, RecordingLogHandler.Records) {
    let records = RecordingLogHandler.Records()
    let logger = Logger(label: "test") { _ in RecordingLogHandler(records: records) }
    return (logger, records)
}

/// Starts `body` as a task on `loop` (so it runs concurrently with the test's own steps).
func spawn<T: Sendable>(on loop: IOLoop, _ body: @escaping @Sendable () async throws -> T) -> Task<T, any Error> {
    Task(executorPreference: loop) { try await body() }
}

/// Polls `condition` on the loop every millisecond for up to `seconds`; true once it holds.
func eventually(within seconds: Double = 2, _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while !condition() {
        if ContinuousClock.now > deadline { return false }
        try await pause(1)
    }
    return true
}
