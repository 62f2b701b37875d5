import CLinux
import Synchronization

/// A `Mutex` that ThreadSanitizer can see: every state shared across threads in the package is
/// behind one of these.
///
/// On Linux, `Synchronization.Mutex` locks with futex calls inside the (uninstrumented) standard
/// library, so TSan sees no order between two critical sections and reports every access they
/// guard as a race — and every loop-confined access handed over through them, such as work queued
/// to a loop from another thread (measured: a counter incremented under `Mutex.withLock` by two
/// threads, correct at 20,000, reports a race; `LockVisibilityTests` checks that this one does
/// not). Each critical section here tells TSan it acquires and releases the lock (weak
/// annotations: two calls to an empty function in ordinary builds).
///
/// Inlinable, so the critical section is specialized where it is written (the client modules'
/// state machines took an unspecialized generic call and its metadata lookups per lock).
@usableFromInline
package final class Locked<State: ~Copyable>: Sendable {
    @usableFromInline let mutex: Mutex<State>

    @inlinable
    package init(_ state: consuming sending State) {
        mutex = Mutex(state)
    }

    /// Runs `body` with the state, holding the lock.
    @inlinable @inline(__always)
    package func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending State) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        let address = Unmanaged.passUnretained(self).toOpaque()
        return try mutex.withLock { (state: inout sending State) throws(E) -> sending Result in
            ws_tsan_acquire(address)
            defer { ws_tsan_release(address) }
            return try body(&state)
        }
    }
}
