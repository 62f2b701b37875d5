// Polling before sleeping: what KVM's halt polling does for a vCPU, done by the loop for itself.

/// How long an idle loop keeps polling `epoll` before it sleeps in a blocking `epoll_wait`, and
/// how that window adapts (KVM's halt-polling rule).
///
/// A request/reply client spends most of its time waiting for the peer's next bytes. When the
/// loop's thread sleeps, its CPU may go idle; on a virtual machine whose host does not poll halted
/// vCPUs, waking it again costs an interrupt and a VM entry — tens of µs, more than the round trip
/// itself on loopback. Polling for a few µs first catches a reply that is about to arrive with
/// the thread still running.
///
/// It costs CPU: up to `window` of busy polling per wait. The window therefore adapts:
/// - it starts closed (no polling);
/// - a sleep that ended within `limit` means polling a little longer would have caught it: the
///   window opens (10 µs) or doubles, up to `limit`;
/// - a sleep longer than `limit` means nothing was about to arrive: the window closes.
/// A loop that waits for long stretches therefore polls once after each burst of activity, for at most `limit`.
struct IdlePolling {
    /// The most a loop polls before sleeping (nanoseconds, at most a second); 0: never.
    let limit: UInt64
    /// The current window (nanoseconds), 0 ... `limit`.
    private(set) var window: UInt64 = 0

    private static let openingWindow: UInt64 = 10_000

    init(limit: Duration?) {
        guard let limit, limit > .zero else {
            self.limit = 0
            return
        }
        let (seconds, attoseconds) = min(limit, .seconds(1)).components  // longer is never useful
        self.limit = UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }

    /// Adapts the window to a sleep (after an unsuccessful poll) that lasted `slept` nanoseconds.
    mutating func slept(_ slept: UInt64) {
        if slept <= limit {
            window = Swift.min(limit, window == 0 ? Swift.min(limit, Self.openingWindow) : window * 2)
        } else {
            window = 0
        }
    }
}
