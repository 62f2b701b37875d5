// Layer Loop/: the event loop — IOLoop (epoll, eventfd wake-ups, the callback queues, the
// Swift Concurrency executor faces), its timer heap, deadlines and IOLoopGroup. Nothing here knows
// about streams.

import CLinux
import Dispatch
import Glibc
import Synchronization

/// A single-threaded event loop on `epoll`, Tornado's `IOLoop`.
///
/// One thread runs the loop: it waits on an `epoll` instance, calls the handlers
/// of ready file descriptors, fires due timers and runs queued callbacks and
/// Swift Concurrency jobs. An `eventfd` wakes it when another thread queues work.
///
/// ```
///   other threads ──addCallback/enqueue──▶ remote queue ─┐  (Locked + eventfd wake-up)
///   loop thread ───callSoon/enqueue──────▶ local queue ──┼─▶ run ─▶ epoll_wait ─▶ handlers ─▶ timers
/// ```
///
/// - ``IOLoop/current`` is the loop running on this thread, else the shared
///   default loop, which runs on its own thread from first use, so `try await`
///   code works from anywhere with no set-up.
/// - The loop is a `TaskExecutor`: under `withTaskExecutorPreference(loop)` or
///   `Task(executorPreference: loop)` async code runs on the loop thread, and a
///   stream read that the buffer already satisfies completes without a thread hop.
///   It is also a `SerialExecutor`, so an actor can pin itself to the loop.
/// - A loop made with `idlePolling` polls for events a little before it sleeps, trading CPU for
///   the latency of waking a sleeping thread (see ``init(idlePolling:)``).
public final class IOLoop: @unchecked Sendable {
    // @unchecked Sendable: handlers, timers and the local queue are touched only on
    // the loop thread (checked by `inLoopThread`); what other threads may touch —
    // the remote queue, the wake flag and the stop flag — lives in `remote`, a lock (``Locked``).

    // @unchecked Sendable: work reaches the remote queue only from `addCallback` (a @Sendable
    // closure) and executor `enqueue` (jobs); loop-confined callbacks stay in the local queue.
    private enum Work: @unchecked Sendable {
        case callback(() -> Void)
        case taskJob(UnownedJob)
        case actorJob(UnownedJob)
    }

    private struct RemoteState {
        var queue: [Work] = []
        var sleeping = false  // the loop is in (or about to enter) a blocking epoll_wait
        var stopRequested = false
        var running = false  // `running`, readable off the loop (for close())
        var closed = false  // handed over: new work goes to `afterClose`
    }

    private let epollFD: Int32
    private let wakeFD: Int32
    private let remote = Locked(RemoteState())
    private var localQueue: [Work] = []
    private var runningQueue: [Work] = []  // the batch being run; kept to reuse its storage
    private var handlers: [((IOEvents) -> Void)?] = []  // indexed by fd
    private var timers = TimerHeap()
    private var timerCallbacks: [UInt64: () -> Void] = [:]
    private let nextTimerID = Atomic<UInt64>(1)
    private var running = false
    private var idlePolling: IdlePolling  // loop thread
    private var closing = false  // close() began; the queues are handed over once the loop is out of run()
    private var handedOver = false  // queued work now runs on `afterClose`
    /// Stands in for the loop's thread once the loop is closed (see ``handOver()``).
    private let afterClose = DispatchQueue(label: "wirestream.closed-loop")
    private var actorExecutor: LoopActorExecutor!  // set once in init, read-only after

    /// Creates a loop. It does nothing until some thread calls ``run()``.
    /// - Parameter idlePolling: the most the loop polls for events before it sleeps (`nil`, the
    ///   default: never). Polling trades CPU for latency: a request/reply exchange over loopback
    ///   on a virtual machine whose idle vCPUs halt can run twice as fast with 50–100 µs. The
    ///   window adapts (it closes when nothing arrives within it), as KVM's halt polling does.
    ///   Capped at one second.
    public init(idlePolling: Duration? = nil) throws {
        self.idlePolling = IdlePolling(limit: idlePolling)
        let ep = ws_epoll_create()
        guard ep >= 0 else { throw SystemError("epoll_create1", errno: -ep) }
        let ev = ws_eventfd()
        guard ev >= 0 else {
            Glibc.close(ep)
            throw SystemError("eventfd", errno: -ev)
        }
        self.epollFD = ep
        self.wakeFD = ev
        let rc = ws_epoll_ctl(ep, 1, ev, WS_EPOLLIN)
        precondition(rc == 0, "epoll_ctl(eventfd) failed: \(rc)")
        self.actorExecutor = LoopActorExecutor(loop: self)
    }

    deinit {
        Glibc.close(epollFD)
        Glibc.close(wakeFD)
    }

    // MARK: - Which loop

    /// The loop running on the calling thread; elsewhere the shared default loop.
    public static var current: IOLoop {
        if let raw = ws_current_loop_get() {
            return Unmanaged<IOLoop>.fromOpaque(raw).takeUnretainedValue()
        }
        return shared
    }

    /// The shared default loop. It runs on a thread of its own, started on first use.
    public static let shared: IOLoop = {
        // A loop that cannot get an epoll fd means the process is out of descriptors;
        // nothing in Wirestream can work then, so failing loudly is the honest answer.
        let loop = try! IOLoop()
        loop.startThread(name: "wirestream-loop")
        return loop
    }()

    /// True when called on the thread that is running this loop.
    public var inLoopThread: Bool {
        ws_current_loop_get() == Unmanaged.passUnretained(self).toOpaque()
    }

    /// Starts a thread that runs this loop until ``stop()``.
    public func startThread(name: String = "wirestream-loop") {
        let box = Unmanaged.passRetained(ThreadStart { [self] in
            // Named for `top -H`, perf and debuggers (Linux allows 15 bytes).
            _ = ws_set_thread_name(name)
            self.run()
        })
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue()
            start.body()
            return nil
        }, box.toOpaque())
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(thread)
    }

    // MARK: - Running

    /// Runs the loop on the calling thread until ``stop()`` is called. Blocks the caller.
    public func run() {
        precondition(!running, "IOLoop.run() called while the loop is already running")
        let previous = ws_current_loop_get()
        ws_current_loop_set(Unmanaged.passUnretained(self).toOpaque())
        running = true
        remote.withLock { $0.running = true }
        defer {
            running = false
            if closing { handOver() }
            ws_current_loop_set(previous)
            remote.withLock {
                $0.stopRequested = false
                $0.running = false
            }
        }
        let fds = UnsafeMutablePointer<Int32>.allocate(capacity: 256)
        let events = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
        defer {
            fds.deallocate()
            events.deallocate()
        }
        while true {
            runQueuedWork()
            let timeout = pollTimeout()
            if timeout == Int32.min { break }  // stop requested
            let n = waitForEvents(fds, events, timeout: timeout)
            if timeout != 0 { remote.withLock { $0.sleeping = false } }
            if n < 0 {
                precondition(-n == EINTR, "epoll_wait failed: errno \(-n)")
                continue
            }
            for i in 0..<Int(n) {
                let fd = fds[i]
                if fd == wakeFD {
                    _ = ws_eventfd_drain(wakeFD)
                    continue
                }
                guard Int(fd) < handlers.count, let handler = handlers[Int(fd)] else { continue }
                handler(IOEvents(rawValue: events[i]))
            }
            runDueTimers()
        }
    }

    /// One `epoll_wait` for up to `timeout` ms; before a wait that would sleep, polls for the
    /// idle-polling window, and adapts the window to how long the sleep then lasted.
    private func waitForEvents(_ fds: UnsafeMutablePointer<Int32>, _ events: UnsafeMutablePointer<UInt32>, timeout: Int32) -> Int32 {
        guard timeout != 0, idlePolling.limit > 0 else {
            return ws_epoll_wait(epollFD, fds, events, 256, timeout)
        }
        let start = ws_monotonic_ns()
        // A timer due sooner than the window ends the poll (a timeout is at least 1 ms).
        let window = timeout > 0 ? min(idlePolling.window, UInt64(timeout) * 1_000_000) : idlePolling.window
        if window > 0 {
            repeat {
                let n = ws_epoll_wait(epollFD, fds, events, 256, 0)
                if n != 0 { return n }
            } while ws_monotonic_ns() &- start < window
        }
        // The poll counts toward a timer's timeout (it was rounded up to whole ms).
        let polled = ws_monotonic_ns() &- start
        let remaining = timeout > 0 ? max(0, timeout - Int32(clamping: polled / 1_000_000)) : timeout
        let n = ws_epoll_wait(epollFD, fds, events, 256, remaining)
        if n > 0 { idlePolling.slept(ws_monotonic_ns() &- start) } else if n == 0 { idlePolling.slept(.max) }
        return n
    }

    /// The idle-polling window now, in nanoseconds (0: the loop sleeps at once). Loop thread.
    var idlePollingWindow: UInt64 { idlePolling.window }

    /// Runs `body` as a task on this loop, running the loop on the calling thread until
    /// the task finishes, and returns its result (Tornado's `run_sync`).
    public func runSync<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Locked<Result<T, Error>?>(nil)
        Task(executorPreference: self) {
            let outcome: Result<T, Error>
            do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            self.stop()
        }
        run()
        return try result.withLock { $0! }.get()
    }

    /// Stops the loop after the current iteration. Safe from any thread.
    public func stop() {
        let wake = remote.withLock { state -> Bool in
            state.stopRequested = true
            defer { state.sleeping = false }
            return state.sleeping
        }
        if wake { _ = ws_eventfd_signal(wakeFD) }
    }

    /// Stops the loop for good and lets go of everything it holds (Tornado's
    /// `close(all_fds=True)`): every stream still registered sees its descriptor fail and closes
    /// (its pending operations fail with ``StreamClosedError``), then the handlers and timers are
    /// dropped. Work queued afterwards — a task that prefers this loop, resumed by its failed read
    /// or its own timer — runs on a serial queue standing in for the loop's thread, so it
    /// finishes instead of waiting forever. A loop only stopped keeps it all — and, through their closures,
    /// the streams, which keep the loop: a stopped loop with open streams is never freed, nor are
    /// their descriptors. Safe from any thread, while the loop runs or after it stopped; a
    /// closed loop must not run again.
    public func close() {
        let runningElsewhere = !inLoopThread && remote.withLock { $0.running }
        if runningElsewhere {
            execute { self.closeNow() }
            return
        }
        guard !inLoopThread else { return closeNow() }
        // Not running: this thread stands in for the loop's while the streams close.
        let previous = ws_current_loop_get()
        ws_current_loop_set(Unmanaged.passUnretained(self).toOpaque())
        defer { ws_current_loop_set(previous) }
        closeNow()
    }

    private func closeNow() {
        guard !closing else { return }
        closing = true
        for fd in handlers.indices {  // a stream's handler removes itself as it closes
            handlers[fd]?(.error)
        }
        runQueuedWork()  // what the closes queued: failed operations report, callbacks run
        handlers.removeAll()
        timers = TimerHeap()
        timerCallbacks.removeAll()
        if running {
            stop()  // run() hands the queues over as it returns
        } else {
            handOver()
        }
    }

    /// After ``close()`` the loop's thread is gone, but work still arrives — above all tasks that
    /// prefer this loop, resumed by the failures of the close or by a timer of their own. Dropped,
    /// such a task would wait forever and keep everything it holds. From here on work runs, in
    /// order, on a serial queue that stands in for the loop's thread: the task goes on, and its
    /// next operation on a closed stream fails at once. (Timers and handlers are gone for good.)
    private func handOver() {
        handedOver = true
        let queued = remote.withLock { state -> [Work] in
            state.closed = true
            defer { state.queue.removeAll() }
            return state.queue
        }
        let left = localQueue + runningQueue + queued
        localQueue.removeAll()
        runningQueue.removeAll()
        for work in left { runAfterClose(work) }
    }

    private func runAfterClose(_ work: Work) {
        afterClose.async { [self] in
            let previous = ws_current_loop_get()
            ws_current_loop_set(Unmanaged.passUnretained(self).toOpaque())
            run(work)
            ws_current_loop_set(previous)
        }
    }

    /// Milliseconds for epoll_wait; `Int32.min` means "stop now".
    private func pollTimeout() -> Int32 {
        let hasLocalWork = !localQueue.isEmpty
        var timeoutMs: Int32 = -1
        if hasLocalWork {
            timeoutMs = 0
        } else if let next = nextLiveTimer() {
            let now = ws_monotonic_ns()
            timeoutMs = next <= now ? 0 : Int32(min((next - now + 999_999) / 1_000_000, 60_000))
        }
        return remote.withLock { state -> Int32 in
            if state.stopRequested { return Int32.min }
            if !state.queue.isEmpty { return 0 }
            if timeoutMs != 0 { state.sleeping = true }
            return timeoutMs
        }
    }

    private func runQueuedWork() {
        // Local work is drained in a few rounds so that a chain of awaits on the loop
        // runs without an epoll_wait between each step, yet I/O is never starved.
        for _ in 0..<16 {
            let remoteWork = remote.withLock { state -> [Work] in
                if state.queue.isEmpty { return [] }
                let batch = state.queue
                state.queue.removeAll(keepingCapacity: true)
                return batch
            }
            if localQueue.isEmpty && remoteWork.isEmpty { return }
            swap(&localQueue, &runningQueue)
            for work in remoteWork { run(work) }
            for work in runningQueue { run(work) }
            runningQueue.removeAll(keepingCapacity: true)
            // A timer that came due (a deadline) runs before more rounds: tasks that keep
            // re-queueing themselves (yielding reads) must not hold it off.
            // (The first timer's deadline, cancelled or not: a cancelled one costs at most an
            // early epoll_wait, where the liveness check — a dictionary lookup — is made.)
            if let next = timers.first?.deadline, next <= ws_monotonic_ns() { return }
        }
    }

    private func run(_ work: Work) {
        switch work {
        case .callback(let body): body()
        case .taskJob(let job): job.runSynchronously(on: asUnownedTaskExecutor())
        case .actorJob(let job):
            job.runSynchronously(
                isolatedTo: actorExecutor.asUnownedSerialExecutor(),
                taskExecutor: asUnownedTaskExecutor())
        }
    }

    private func enqueueWork(_ work: Work) {
        if inLoopThread {
            if handedOver { return runAfterClose(work) }
            localQueue.append(work)
            return
        }
        let (wake, closed) = remote.withLock { state -> (Bool, Bool) in
            if state.closed { return (false, true) }
            state.queue.append(work)
            defer { state.sleeping = false }  // one wake-up per sleep is enough
            return (state.sleeping, false)
        }
        if closed { runAfterClose(work) }
        if wake { _ = ws_eventfd_signal(wakeFD) }
    }

    // MARK: - Callbacks

    /// Queues `callback` to run on the loop thread on its next iteration. Safe from any thread.
    public func addCallback(_ callback: @escaping @Sendable () -> Void) {
        enqueueWork(.callback(callback))
    }

    /// Queues a loop-confined callback. Must be called on the loop thread.
    func callSoon(_ callback: @escaping () -> Void) {
        assert(inLoopThread, "callSoon must be called on the loop thread")
        localQueue.append(.callback(callback))
    }

    /// Runs `body` now if called on the loop thread, else queues it.
    @usableFromInline package func execute(_ body: @escaping @Sendable () -> Void) {
        if inLoopThread { body() } else { addCallback(body) }
    }

    // MARK: - Handlers

    /// Calls `handler` on the loop thread whenever `fd` is ready for `events`
    /// (errors and hang-ups are always reported). Loop thread only.
    /// - Throws: ``SystemError`` from `epoll_ctl` (e.g. `EEXIST` for a registered fd).
    public func addHandler(_ fd: Int32, events: IOEvents, _ handler: @escaping (IOEvents) -> Void) throws {
        precondition(inLoopThread || !running, "addHandler must be called on the loop thread")
        let rc = ws_epoll_ctl(epollFD, 1, fd, events.rawValue)
        guard rc == 0 else { throw SystemError("epoll_ctl(ADD)", errno: -rc) }
        if Int(fd) >= handlers.count {
            handlers.append(contentsOf: repeatElement(nil, count: Int(fd) - handlers.count + 1))
        }
        handlers[Int(fd)] = handler
    }

    /// Changes the events `fd` is watched for. Loop thread only.
    public func updateHandler(_ fd: Int32, events: IOEvents) throws {
        let rc = ws_epoll_ctl(epollFD, 3, fd, events.rawValue)
        guard rc == 0 else { throw SystemError("epoll_ctl(MOD)", errno: -rc) }
    }

    /// Stops watching `fd`. Loop thread only. Removing an unknown fd is harmless.
    public func removeHandler(_ fd: Int32) {
        guard fd >= 0 else { return }
        if Int(fd) < handlers.count { handlers[Int(fd)] = nil }
        _ = ws_epoll_ctl(epollFD, 2, fd, 0)
    }

    // MARK: - Timers

    /// Nanoseconds on the loop's monotonic clock (`CLOCK_MONOTONIC`); deadlines for ``callAt(_:_:)``.
    public static func time() -> UInt64 { ws_monotonic_ns() }

    /// Runs `callback` on the loop thread after `delay`. Safe from any thread.
    @discardableResult
    public func callLater(_ delay: Duration, _ callback: @escaping @Sendable () -> Void) -> Timeout {
        callAt(IOLoop.time().saturatingAdd(delay.clampedNanoseconds), callback)
    }

    /// Runs `callback` on the loop thread at `deadline` (see ``time()``). Safe from any thread.
    @discardableResult
    public func callAt(_ deadline: UInt64, _ callback: @escaping @Sendable () -> Void) -> Timeout {
        let id = nextTimerID.add(1, ordering: .relaxed).oldValue
        execute { [self] in
            self.timerCallbacks[id] = callback
            self.timers.insert(.init(deadline: deadline, id: id))
        }
        return Timeout(id: id)
    }

    /// Cancels a timeout that has not fired yet. Safe from any thread; harmless after it fired.
    public func removeTimeout(_ timeout: Timeout) {
        execute { [self] in
            guard self.timerCallbacks.removeValue(forKey: timeout.id) != nil else { return }
            // Removal is lazy (the entry stays in the heap until it reaches the top); when most
            // entries are dead — many long timeouts cancelled early — rebuild, so memory stays flat.
            if self.timers.count > 64 && self.timerCallbacks.count * 2 < self.timers.count {
                self.timers.removeAll { self.timerCallbacks[$0.id] == nil }
            }
        }
    }

    /// Entries in the timer heap, cancelled ones not yet dropped included (for tests). Loop thread.
    var timerHeapCount: Int { timers.count }

    private func nextLiveTimer() -> UInt64? {
        while let top = timers.first {
            if timerCallbacks[top.id] != nil { return top.deadline }
            _ = timers.removeFirst()
        }
        return nil
    }

    private func runDueTimers() {
        guard !timers.isEmpty else { return }
        let now = ws_monotonic_ns()
        while let top = timers.first, top.deadline <= now {
            _ = timers.removeFirst()
            if let callback = timerCallbacks.removeValue(forKey: top.id) { callback() }
        }
    }

    // MARK: - Executor plumbing

    fileprivate func enqueueTaskJob(_ job: UnownedJob) { enqueueWork(.taskJob(job)) }
    fileprivate func enqueueActorJob(_ job: UnownedJob) { enqueueWork(.actorJob(job)) }
}

/// A handle for a timeout scheduled with ``IOLoop/callLater(_:_:)`` or ``IOLoop/callAt(_:_:)``.
public struct Timeout: Hashable, Sendable {
    let id: UInt64
}

extension IOLoop: TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        enqueueTaskJob(UnownedJob(job))
    }
}

extension IOLoop: SerialExecutor {
    /// Actor jobs go through a companion executor so that they run "isolated to" the
    /// loop, while task-executor jobs take the cheaper `runSynchronously(on:)` path.
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        actorExecutor.asUnownedSerialExecutor()
    }

    public func checkIsolated() {
        precondition(inLoopThread, "expected to run on the IOLoop thread")
    }
}

/// The `SerialExecutor` face of an ``IOLoop`` for actors pinned to it.
final class LoopActorExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked Sendable: holds only an unowned reference to its (Sendable) loop.
    unowned let loop: IOLoop

    init(loop: IOLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        loop.enqueueActorJob(UnownedJob(job))
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func checkIsolated() {
        precondition(loop.inLoopThread, "expected to run on the IOLoop thread")
    }
}

private final class ThreadStart {
    let body: () -> Void
    init(body: @escaping () -> Void) { self.body = body }
}
