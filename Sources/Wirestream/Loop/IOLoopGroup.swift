import Glibc
import Synchronization

/// N loops on N threads, handed out round-robin: how a process uses every core.
///
/// ```swift
/// let group = try IOLoopGroup()                       // one loop per core
/// let stream = IOStream(loop: group.next())           // each stream lives on one loop…
/// let other = IOStream(loop: group.next())            // …the next on the next loop
/// ```
/// A stream stays on the loop it was made with (its buffers are that thread's), so work spreads by
/// connection: N busy connections on an N-loop group run on N cores. ``IOLoop/shared`` stays the
/// one-loop default for code that never asks for a group.
public final class IOLoopGroup: Sendable {
    /// The loops, each running on a thread of its own.
    public let loops: [IOLoop]
    private let cursor = Atomic<Int>(0)

    /// Starts `loopCount` loops (default: one per online core), each on its own thread.
    /// `idlePolling` is each loop's (see ``IOLoop/init(idlePolling:)``).
    /// - Throws: ``SystemError`` if a loop cannot get its epoll or eventfd descriptors.
    public init(loopCount: Int = IOLoopGroup.coreCount, threadName: String = "wirestream-loop", idlePolling: Duration? = nil) throws {
        precondition(loopCount > 0, "an IOLoopGroup needs at least one loop")
        var loops: [IOLoop] = []
        for index in 0..<loopCount {
            let loop = try IOLoop(idlePolling: idlePolling)
            loop.startThread(name: "\(threadName)-\(index)")
            loops.append(loop)
        }
        self.loops = loops
    }

    /// The next loop, round-robin. Safe from any thread.
    public func next() -> IOLoop {
        let index = cursor.add(1, ordering: .relaxed).oldValue
        return loops[index % loops.count]
    }

    /// Stops every loop (after its current iteration). Streams still on them stop being served.
    public func shutdown() {
        for loop in loops { loop.stop() }
    }

    /// The cores this process may run on now.
    public static var coreCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
