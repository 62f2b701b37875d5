import Glibc
import Testing

@testable import Wirestream

/// A loop that polls before it sleeps (``IOLoop/init(idlePolling:)``): the window's rule, and a
/// polling loop that still does everything a loop does and goes back to sleep when idle.
@Suite struct IdlePollingTests {
    @Test func theWindowOpensAfterShortSleepsAndClosesAfterALongOne() {
        var polling = IdlePolling(limit: .microseconds(100))
        #expect(polling.limit == 100_000)
        #expect(polling.window == 0)  // closed until a sleep shows that polling would have paid
        var windows: [UInt64] = []
        for _ in 0..<6 {
            polling.slept(60_000)
            windows.append(polling.window)
        }
        #expect(windows == [10_000, 20_000, 40_000, 80_000, 100_000, 100_000])
        polling.slept(100_001)  // nothing was about to arrive
        #expect(polling.window == 0)
        polling.slept(100_000)  // a sleep of exactly the limit still counts as short
        #expect(polling.window == 10_000)

        var small = IdlePolling(limit: .microseconds(4))  // a limit under the opening window
        small.slept(3_000)
        #expect(small.window == 4_000)

        #expect(IdlePolling(limit: .seconds(1_000_000_000_000)).limit == 1_000_000_000)  // capped at a second

        for limit: Duration? in [nil, .zero, .microseconds(-5)] {
            var off = IdlePolling(limit: limit)
            off.slept(0)
            #expect(off.limit == 0 && off.window == 0)
        }
    }

    /// 2,000 round trips through two pipes to an echo on a loop that sleeps: every reply is the
    /// request's, the window opened (replies came soon after the sleeps), and once idle the loop
    /// closed it and sleeps: its thread uses next to no CPU over 300 ms.
    @Test func aPollingLoopServesRoundTripsThenSleepsWhenIdle() async throws {
        let client = try IOLoop(idlePolling: .microseconds(200))
        client.startThread(name: "polling-client")
        let echo = try IOLoop()
        echo.startThread(name: "sleeping-echo")
        defer {
            client.close()
            echo.close()
        }
        var toEcho: [Int32] = [-1, -1]
        var fromEcho: [Int32] = [-1, -1]
        #expect(pipe(&toEcho) == 0 && pipe(&fromEcho) == 0)
        let requests = try PipeIOStream(fd: toEcho[1], loop: client)
        let fromEchoReader = try PipeIOStream(fd: fromEcho[0], loop: client)
        let toEchoReader = try PipeIOStream(fd: toEcho[0], loop: echo)
        let replies = try PipeIOStream(fd: fromEcho[1], loop: echo)
        let echoing = Task(executorPreference: echo) {
            while true {
                let bytes = try await toEchoReader.readBytes(4)
                try await replies.write(bytes)
            }
        }
        let (matched, widest) = try await Task(executorPreference: client) { () -> (Int, UInt64) in
            var matched = 0
            var widest: UInt64 = 0
            for i in 0..<2_000 {
                let request = withUnsafeBytes(of: UInt32(i).bigEndian) { Array($0) }
                try await requests.write(request)
                if try await fromEchoReader.readBytes(4) == request { matched += 1 }
                widest = max(widest, client.idlePollingWindow)
            }
            return (matched, widest)
        }.value
        #expect(matched == 2_000)
        #expect(widest > 0)

        /// The loop thread's CPU time (ns), and the window as the loop woke to run this.
        func loopThreadCPUAndWindow() async -> (cpu: UInt64, window: UInt64) {
            await withCheckedContinuation { continuation in
                client.addCallback {
                    var now = timespec()
                    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
                    continuation.resume(returning: (UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec), client.idlePollingWindow))
                }
            }
        }
        let before = await loopThreadCPUAndWindow()
        try await Task.sleep(for: .milliseconds(300))
        let after = await loopThreadCPUAndWindow()
        #expect(after.cpu - before.cpu < 30_000_000, "an idle polling loop used \((after.cpu - before.cpu) / 1_000_000) ms of CPU in 300 ms")
        #expect(after.window == 0)  // the 300 ms sleep closed it
        echoing.cancel()
        toEchoReader.close()
    }

    /// Polling does not delay what a sleeping loop would do at once: a timer due within the
    /// window fires on time (the poll counts toward its timeout), work queued from another thread
    /// runs, and `stop()` ends the loop.
    @Test func timersCallbacksAndStopStillReachAPollingLoop() async throws {
        let loop = try IOLoop(idlePolling: .milliseconds(50))
        let stopped = SharedFlag()
        OSThread.start {
            loop.run()
            stopped.set()
        }
        defer { loop.close() }
        func window() async -> UInt64 {
            await withCheckedContinuation { continuation in loop.addCallback { continuation.resume(returning: loop.idlePollingWindow) } }
        }
        // Open the window past the timer's 20 ms: wake-ups 30 ms apart, each a sleep within the limit.
        var opened: UInt64 = 0
        for _ in 0..<20 where opened < 25_000_000 {
            try await Task.sleep(for: .milliseconds(30))
            opened = await window()
        }
        #expect(opened >= 25_000_000, "the window did not open: \(opened) ns")
        let fired = await withCheckedContinuation { continuation in
            loop.addCallback {
                let armed = IOLoop.time()
                loop.callLater(.milliseconds(20)) { continuation.resume(returning: IOLoop.time() - armed) }
            }
        }
        // Polling 20 ms and then sleeping the whole timeout would fire it after 40 ms.
        #expect(fired >= 20_000_000 && fired < 35_000_000, "a 20 ms timer fired after \(fired / 1_000) µs")
        let ran = SharedFlag()
        loop.addCallback { ran.set() }
        #expect(try await eventually { ran.isSet })
        loop.stop()
        #expect(try await eventually { stopped.isSet })
    }
}
