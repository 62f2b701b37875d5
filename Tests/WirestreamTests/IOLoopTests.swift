import Foundation
import Glibc
import Synchronization
import Testing

@testable import Wirestream

@Suite struct IOLoopTests {
    /// Closing a loop closes the streams still on it — a read waiting there fails, their
    /// descriptors are released — and drops its handlers, so the loop and the streams are freed
    /// (a stream's handler holds the stream, which holds its loop: only stopping would keep all).
    @Test func closingALoopClosesItsStreamsAndFreesThemAndItself() async throws {
        func descriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1 }
        weak var weakLoop: IOLoop?
        weak var weakReader: PipeIOStream?
        try await Task.sleep(for: .milliseconds(1))  // libdispatch's timer descriptor, made on first use
        let before = descriptors()
        do {
            let loop = try IOLoop()
            loop.startThread(name: "closing-loop")
            let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
            let waiting = Task { try await reader.readBytes(4) }  // off the loop: it resumes elsewhere
            #expect(try await eventually { reader.isReading })
            loop.callLater(.seconds(3600)) { _ = writer }  // a timer holding a stream, dropped too
            loop.close()
            await #expect(throws: StreamClosedError.self) { _ = try await waiting.value }
            #expect(reader.isClosed)  // the writer had no handler there: it is freed with its last reference
            weakLoop = loop
            weakReader = reader
        }
        #expect(try await eventually { weakLoop == nil && weakReader == nil })
        #expect(try await eventually { descriptors() <= before })
    }

    /// A task that prefers a loop and resumes after the loop closed (here after a sleep of its
    /// own) still runs: its next operation fails at once, it finishes, and the loop is freed.
    /// (Dropped instead, the task waited forever and held the loop and its streams.)
    @Test func aTaskResumedAfterItsLoopClosedStillFinishes() async throws {
        weak var weakLoop: IOLoop?
        let outcome = Locked<String?>(nil)
        do {
            let loop = try IOLoop()
            loop.startThread(name: "closing-loop")
            let (reader, _) = try PipeIOStream.makePipe(loop: loop)
            let started = Locked(false)
            Task(executorPreference: loop) {
                started.withLock { $0 = true }
                try? await Task.sleep(for: .milliseconds(100))
                let onStandIn = loop.inLoopThread
                do {
                    _ = try await reader.readBytes(1)
                    outcome.withLock { $0 = "read" }
                } catch is StreamClosedError {
                    outcome.withLock { $0 = "failed at once, in place of the loop: \(onStandIn)" }
                } catch {
                    outcome.withLock { $0 = "\(error)" }
                }
            }
            #expect(try await eventually { started.withLock { $0 } })
            loop.close()
            weakLoop = loop
        }
        #expect(try await eventually { outcome.withLock { $0 } != nil })
        #expect(outcome.withLock { $0 } == "failed at once, in place of the loop: true")
        #expect(try await eventually { weakLoop == nil })
    }

    @Test func timersFireInDeadlineOrderAndRemovedOnesNever() async throws {
        try await onLoop { loop in
            let events = EventLog()
            let done = CallbackBox<Void>()
            loop.callLater(.milliseconds(30)) {
                events.add("30")
                done.complete(.success(()))
            }
            loop.callLater(.milliseconds(10)) { events.add("10") }
            let removed = loop.callLater(.milliseconds(20)) { events.add("20") }
            loop.callAt(IOLoop.time() + 15_000_000) { events.add("15") }
            loop.removeTimeout(removed)
            try await done.value()
            #expect(events.entries == ["10", "15", "30"])
        }
    }

    @Test func addCallbackFromOtherThreadsRunsEveryCallbackOnTheLoopThread() async throws {
        let loop = try IOLoop()
        loop.startThread()
        defer { loop.close() }
        let count = SharedCounter()
        let offLoop = SharedCounter()
        let total = 4 * 1000
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<1000 {
                        loop.addCallback {
                            if !loop.inLoopThread { offLoop.increment() }
                            count.increment()
                        }
                    }
                }
            }
        }
        for _ in 0..<500 where count.value < total { try await pause(2) }
        #expect(count.value == total)
        #expect(offLoop.value == 0)
    }

    @Test func runBlocksTheCallingThreadUntilStop() async throws {
        let loop = try IOLoop()
        let finished = SharedFlag()
        let sawItself = SharedFlag()
        OSThread.start {
            loop.addCallback { if IOLoop.current === loop && loop.inLoopThread { sawItself.set() } }
            loop.run()
            finished.set()
        }
        try await pause(50)
        #expect(!finished.isSet)
        loop.stop()
        for _ in 0..<500 where !finished.isSet { try await pause(2) }
        #expect(finished.isSet)
        #expect(sawItself.isSet)
    }

    @Test func runSyncRunsAsyncCodeOnTheLoopAndReturnsItsResult() async throws {
        let result = SharedCounter()
        OSThread.start {
            let loop = try! IOLoop()
            defer { loop.close() }  // closes the pipe's streams too: unclosed, they and the loop hold each other
            let value = try? loop.runSync {
                precondition(loop.inLoopThread)
                let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
                writer.queueWrite(bytes("42\n"))
                let line = try await reader.readUntil(bytes("\n"))
                return Int(text(line).dropLast())!
            }
            result.set(value ?? -1)
        }
        for _ in 0..<500 where result.value == 0 { try await pause(2) }
        #expect(result.value == 42)
    }

    @Test func currentIsTheSharedLoopOffLoopThreads() async throws {
        #expect(IOLoop.current === IOLoop.shared)
        let (reader, writer) = try PipeIOStream.makePipe()
        #expect(reader.loop === IOLoop.shared)
        try await writer.write(bytes("shared"))
        #expect(text(try await reader.readBytes(6)) == "shared")
        reader.close()
        writer.close()
    }

    @Test func asyncCodeUnderTheLoopsPreferenceStaysOnTheLoopThread() async throws {
        try await onLoop { loop in
            let pair = try await makePair(.pipe, loop: loop)
            #expect(loop.inLoopThread)
            try await pair.writer.write(bytes("a\nb\n"))
            _ = try await pair.reader.readUntil(bytes("\n"))
            #expect(loop.inLoopThread)  // resumed on the loop, not a pool thread
            async let child = pair.reader.readUntil(bytes("\n"))
            _ = try await child
            #expect(loop.inLoopThread)
        }
    }

    @Test func anActorPinnedToTheLoopRunsOnItsThread() async throws {
        let loop = try IOLoop()
        loop.startThread()
        defer { loop.close() }
        let counter = LoopCounter(loop: loop)
        #expect(await counter.incrementOnLoop() == 1)
        #expect(await counter.incrementOnLoop() == 2)
    }

    @Test func theLoopThreadCarriesItsName() async throws {
        let loop = try IOLoop()
        loop.startThread(name: "a-very-long-loop-name")
        defer { loop.close() }
        let name = await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            loop.addCallback {
                // /proc/thread-self/comm: the calling thread's name, as `top -H` and perf show it.
                var buffer = [UInt8](repeating: 0, count: 32)
                var count = 0
                if let file = fopen("/proc/thread-self/comm", "r") {
                    count = fread(&buffer, 1, buffer.count, file)
                    fclose(file)
                }
                continuation.resume(returning: String(decoding: buffer[0..<count].filter { $0 != 0x0A }, as: UTF8.self))
            }
        }
        #expect(name == "a-very-long-loo")  // Linux keeps 15 bytes
    }

    @Test func handlersSeeReadinessAndCanBeRemoved() async throws {
        try await onLoop { loop in
            var fds: [Int32] = [-1, -1]
            #expect(pipe(&fds) == 0)
            defer { close(fds[0]); close(fds[1]) }
            let fired = CallbackBox<IOEvents>()
            var calls = 0
            try loop.addHandler(fds[0], events: .read) { events in
                calls += 1
                loop.removeHandler(fds[0])
                fired.complete(.success(events))
            }
            _ = write(fds[1], "x", 1)
            #expect(try await fired.value().contains(.read))
            // Still readable (the byte was never read), but removed: no further calls.
            try await pause(20)
            #expect(calls == 1)
        }
    }
}

actor LoopCounter {
    let loop: IOLoop
    var count = 0
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    init(loop: IOLoop) { self.loop = loop }

    func incrementOnLoop() -> Int {
        precondition(loop.inLoopThread, "actor job ran off its loop")
        count += 1
        return count
    }
}

/// Starts a detached OS thread (the loop's `run()` blocks its caller, as in Tornado).
enum OSThread {
    static func start(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(body))
        var thread = pthread_t()
        pthread_create(&thread, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, box.toOpaque())
        pthread_detach(thread)
    }

    final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}

final class SharedCounter: Sendable {
    private let storage = Locked(0)
    var value: Int { storage.withLock { $0 } }
    func increment() { storage.withLock { $0 += 1 } }
    func set(_ value: Int) { storage.withLock { $0 = value } }
}

final class SharedFlag: Sendable {
    private let storage = Locked(false)
    var isSet: Bool { storage.withLock { $0 } }
    func set() { storage.withLock { $0 = true } }
}

@Suite struct TimerHeapMemoryTests {
    @Test func cancellingManyLongTimeoutsKeepsTheHeapSmall() async throws {
        try await onLoop { loop in
            // A client arms a 30 s timeout per request and cancels it when the reply comes: the
            // cancelled entries must not pile up in the heap until their (distant) deadlines.
            for _ in 0..<10_000 {
                let timeout = loop.callLater(.seconds(30)) {}
                loop.removeTimeout(timeout)
            }
            #expect(loop.timerHeapCount <= 128)
            let fired = CallbackBox<Void>()
            loop.callLater(.milliseconds(10)) { fired.complete(.success(())) }  // live timers still fire
            try await fired.value()
        }
    }
}
