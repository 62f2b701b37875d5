import Glibc
import Testing

@testable import Wirestream

/// ``IOLoop/init(idlePolling:rearmBeforeSleep:)``: a loop that re-registers an idle eventfd before
/// each sleep still wakes for everything a loop wakes for, every time.
@Suite struct RearmBeforeSleepTests {
    @Test func loopsRearmOnlyWhenAsked() throws {
        let rearming = try IOLoop(rearmBeforeSleep: true)
        let plain = try IOLoop()
        defer {
            rearming.close()
            plain.close()
        }
        #expect(rearming.rearmsBeforeSleep)
        #expect(!plain.rearmsBeforeSleep)
    }

    /// 300 callbacks queued from another thread, each after the loop has had time to fall asleep
    /// (and so to re-register first): every one wakes it, with the setting on and off.
    @Test(arguments: [true, false])
    func everyWakeUpFromAnotherThreadReachesASleepingLoop(_ rearm: Bool) async throws {
        let loop = try IOLoop(rearmBeforeSleep: rearm)
        loop.startThread(name: "rearm-\(rearm)")
        defer { loop.close() }
        let ran = Locked(0)
        var missed: Int?
        for index in 0..<300 {
            usleep(300)  // the loop goes back to epoll_wait
            loop.addCallback { ran.withLock { $0 += 1 } }
            let woke = try await eventually(within: 2) { ran.withLock { $0 } == index + 1 }
            if !woke {
                missed = index
                break
            }
        }
        #expect(missed == nil, "wake-up \(missed ?? -1) never reached the loop")
        // Its timers and fds still fire too: a timer, then a pipe becoming readable.
        let fired = SharedFlag()
        loop.addCallback { _ = loop.callLater(.milliseconds(5)) { fired.set() } }
        #expect(try await eventually { fired.isSet })
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let reader = try PipeIOStream(fd: fds[0], loop: loop)
        let writer = try PipeIOStream(fd: fds[1], loop: loop)
        let read = Task(executorPreference: loop) { try await reader.readBytes(5) }
        try await Task.sleep(for: .milliseconds(5))  // the read waits, the loop sleeps
        try await Task(executorPreference: loop) { try await writer.write(bytes("hello")) }.value
        #expect(try await read.value == bytes("hello"))
        reader.close()
        writer.close()
    }
}
