/// What a grammar's fuzz entry point runs (`wirec --fuzz-target`): every input is read as one of
/// the grammar's messages, and every property a resumable parser and its encoder promise is checked.
/// A broken property (a ``WireFuzzFinding``) stops the process with `fatalError` — which libFuzzer records as a crash, with
/// the input that caused it.
///
/// An input is `[selector][split][wire bytes…]`: `selector` picks the message (modulo their count),
/// `split` the pattern of chunk sizes the bytes arrive in (0: all at once). For that input:
/// 1. messages are read one after another from a ``MemoryByteSource`` (up to ``maxMessages``, until
///    the first error) with the bytes in one chunk, then again in the chunks `split` gives: both
///    runs must read the same values and end with the same error — a parser's result cannot depend
///    on how the network cut its input;
/// 2. each value of a request message is encoded, and the encoding read back must be the same value
///    and encode to the same bytes (parse ∘ encode ∘ parse is stable).
///
/// Errors of the input are the expected outcome (they are typed, and that is what is checked);
/// crashes, traps, sanitizer reports and broken properties are the findings.
public struct WireFuzzTarget: Sendable {
    public let messages: [WireFuzzMessage]
    /// At most this many messages are read from one input.
    public let maxMessages: Int

    public init(_ messages: [WireFuzzMessage], maxMessages: Int = 64) {
        precondition(!messages.isEmpty, "a fuzz target needs at least one message")
        self.messages = messages
        self.maxMessages = maxMessages
    }

    /// Checks one input and stops the process on a finding (the fuzzer's entry point calls this).
    public func run(_ input: UnsafeRawBufferPointer) {
        if let finding = check(input) { fatalError(finding.description) }
    }

    /// Checks one input: `nil` when every property held (whether or not the bytes were valid).
    /// The whole check runs in one task on the calling thread (see `runWithoutSuspending`): under
    /// the sanitizers a task per message read cost more than the parsing it wrapped.
    public func check(_ input: UnsafeRawBufferPointer) -> WireFuzzFinding? {
        guard input.count >= 2 else { return nil }
        let message = messages[Int(input[0]) % messages.count]
        let pattern = input[1]
        let bytes = Array(input[2...])
        let maxMessages = maxMessages
        // `try!`: the body throws nothing — every error of the input is part of its outcome.
        return try! runWithoutSuspending { await Self.check(bytes, as: message, pattern: pattern, maxMessages: maxMessages) }
    }

    private static func check(_ bytes: [UInt8], as message: WireFuzzMessage, pattern: UInt8, maxMessages: Int) async -> WireFuzzFinding? {
        let whole = await message.readAll(MemoryByteSource(bytes, chunkEnds: bytes.isEmpty ? [] : [bytes.count]), max: maxMessages)
        let split = await message.readAll(MemoryByteSource(bytes, chunkEnds: chunkEnds(bytes.count, pattern: pattern)), max: maxMessages)
        guard WireFuzzMessage.sameValues(whole.values, split.values), WireFuzzMessage.sameEnd(whole.end, split.end) else {
            return WireFuzzFinding(message: message.name, problem: """
                the result depends on how the input is split (pattern \(pattern)):
                  in one chunk: \(whole.values.count) value(s), then \(whole.end.map { "\($0)" } ?? "EOF")
                  split:        \(split.values.count) value(s), then \(split.end.map { "\($0)" } ?? "EOF")
                """)
        }
        for value in whole.values {
            if let problem = await message.roundTripProblem(value) { return WireFuzzFinding(message: message.name, problem: problem) }
        }
        return nil
    }

    /// Where the chunks of `count` bytes end when cut into 1…(pattern & 31) + 1 bytes each, the sizes
    /// drawn from a generator seeded by `pattern` (so an input always splits the same way);
    /// pattern 0 keeps one chunk.
    static func chunkEnds(_ count: Int, pattern: UInt8) -> [Int] {
        guard pattern != 0, count > 0 else { return count == 0 ? [] : [count] }
        let largest = UInt32(pattern & 31) + 1
        var state = UInt32(pattern) &* 0x9E37_79B9 | 1
        var ends: [Int] = []
        var index = 0
        while index < count {
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            index += min(Int(state % largest) + 1, count - index)
            ends.append(index)
        }
        return ends
    }
}

/// A property of a grammar's parser or encoder that one input broke.
public struct WireFuzzFinding: Error, CustomStringConvertible, Sendable {
    /// The message type the input was read as.
    public let message: String
    public let problem: String
    public var description: String { "\(message): \(problem)" }
}

/// One message type of a grammar, as a fuzz target reads it.
public struct WireFuzzMessage: Sendable {
    public let name: String
    private let read: @Sendable (MemoryByteSource) async throws -> AnyHashable
    private let roundTrip: (@Sendable (AnyHashable) async -> String?)?

    /// A message read by `read`; `roundTrip`, given a value `read` returned, checks its encoding
    /// and describes what went wrong (`nil`: nothing).
    public init(
        name: String, read: @escaping @Sendable (MemoryByteSource) async throws -> AnyHashable,
        roundTrip: (@Sendable (AnyHashable) async -> String?)? = nil
    ) {
        self.name = name
        self.read = read
        self.roundTrip = roundTrip
    }

    /// A message the client only reads (a reply).
    public static func message<M: WireMessage & Hashable>(_ type: M.Type) -> WireFuzzMessage {
        WireFuzzMessage(name: "\(M.self)", read: { try await M.read(from: $0) })
    }

    /// A request message: read, and its values' encodings checked.
    public static func request<M: WireMessage & WireRequest & Hashable>(_ type: M.Type) -> WireFuzzMessage {
        WireFuzzMessage(name: "\(M.self)", read: { try await M.read(from: $0) }, roundTrip: { value in
            let message = value.base as! M
            let encoded: [UInt8]
            do {
                encoded = try message.encoded()
            } catch {
                return "a value its parser read cannot be encoded (\(error)): \(message)"
            }
            let again: M
            do {
                again = try await M.read(from: MemoryByteSource(encoded))
            } catch {
                return "its own encoding does not read back (\(error)): \(message) → \(encoded)"
            }
            guard again == message || "\(again)" == "\(message)" else { return "read back as a different value: \(message) → \(encoded) → \(again)" }
            guard (try? again.encoded()) == encoded else { return "encodes differently the second time: \(message) → \(encoded)" }
            return nil
        })
    }

    struct Outcome {
        var values: [AnyHashable] = []
        /// The error that ended the reading; `nil` when it stopped at `max` or at a clean EOF.
        var end: (any Error)?
    }

    func readAll(_ source: MemoryByteSource, max: Int) async -> Outcome {
        var outcome = Outcome()
        while outcome.values.count < max {
            do {
                outcome.values.append(try await read(source))
            } catch is StreamClosedError where source.atEOF {
                return outcome  // a clean EOF between messages
            } catch {
                outcome.end = error
                return outcome
            }
        }
        return outcome
    }

    func roundTripProblem(_ value: AnyHashable) async -> String? {
        await roundTrip?(value)
    }

    /// Two runs read the same values. A value holding a NaN (`,nan` in RESP3) is not equal to
    /// itself, so values that differ under `==` are compared by their full descriptions too.
    static func sameValues(_ a: [AnyHashable], _ b: [AnyHashable]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0 == $1 || String(reflecting: $0) == String(reflecting: $1) }
    }

    /// Two runs ended alike: the same protocol error, or errors of one type saying the same.
    static func sameEnd(_ a: (any Error)?, _ b: (any Error)?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let a as WireProtocolError, let b as WireProtocolError): return a == b
        case (let a?, let b?): return type(of: a) == type(of: b) && "\(a)" == "\(b)"
        default: return false
        }
    }
}

/// Runs `body` to its end on the calling thread, for async code that never suspends (reads of a
/// ``MemoryByteSource``): its task runs on an executor drained right here, so a fuzz entry point
/// — a synchronous C function — pays no thread hop per input. A `body` that suspends and is not
/// resumed by the time the queue is empty traps.
func runWithoutSuspending<R>(_ body: @escaping () async throws -> R) throws -> R {
    let executor = DrainedHereExecutor()
    let task = ConfinedToCaller(body)
    let result = ConfinedToCaller<Result<R, any Error>?>(nil)
    Task(executorPreference: executor) {
        do {
            result.value = .success(try await task.value())
        } catch {
            result.value = .failure(error)
        }
    }
    executor.drain()
    guard let outcome = result.value else { fatalError("runWithoutSuspending: the body suspended") }
    return try outcome.get()
}

/// A task executor whose jobs wait in a list until ``drain()`` runs them on the caller's thread.
// @unchecked Sendable: confined to the thread that calls runWithoutSuspending — its task is
// created there, enqueued there, and run there before the call returns.
private final class DrainedHereExecutor: TaskExecutor, @unchecked Sendable {
    private var jobs: [UnownedJob] = []

    func enqueue(_ job: consuming ExecutorJob) {
        jobs.append(UnownedJob(job))
    }

    func drain() {
        var next = 0
        while next < jobs.count {
            jobs[next].runSynchronously(on: asUnownedTaskExecutor())
            next += 1
        }
        jobs.removeAll()
    }
}

/// A value handed into and out of a task that runs on the creating thread (see
/// ``DrainedHereExecutor``).
// @unchecked Sendable: only touched on the thread of runWithoutSuspending, before it returns.
private final class ConfinedToCaller<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
