import Foundation
import Testing
@testable import Wirestream

/// `Locked` excludes, and ThreadSanitizer sees that it does: under `scripts/sanitize thread` this
/// test's unsynchronised counter would be reported if the lock were invisible to TSan (as
/// `Synchronization.Mutex`'s futex is), and the script fails on any report.
struct LockVisibilityTests {
    /// A plain counter, touched only under the lock.
    // @unchecked Sendable: every access is inside `Locked.withLock`, which is what is tested.
    final class Counter: @unchecked Sendable {
        var value = 0
    }

    @Test func twoThreadsCountingUnderTheLockLoseNothing() async throws {
        let lock = Locked(())
        let counter = Counter()
        let finished = DispatchGroup()
        for _ in 0..<2 {
            finished.enter()
            Thread {
                for _ in 0..<20_000 { lock.withLock { _ in counter.value += 1 } }
                finished.leave()
            }.start()
        }
        #expect(finished.wait(timeout: .now() + 60) == .success)
        #expect(lock.withLock { _ in counter.value } == 40_000)
    }

    /// State handed from one thread to another through the lock — the shape of every loop's
    /// remote queue — arrives whole.
    @Test func stateHandedOverThroughTheLockArrivesWhole() async throws {
        let queue = Locked<[[Int]]>([])
        let done = DispatchSemaphore(value: 0)
        Thread {
            for index in 0..<1_000 { queue.withLock { $0.append(Array(repeating: index, count: 8)) } }
            done.signal()
        }.start()
        var received: [[Int]] = []
        while received.count < 1_000 {
            received += queue.withLock { items in
                defer { items.removeAll() }
                return items
            }
        }
        done.wait()
        #expect(received == (0..<1_000).map { Array(repeating: $0, count: 8) })
    }
}
