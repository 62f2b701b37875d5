import Wirestream

/// One caller waiting for one reply on a ``PipelinedConnection``: a slot in the FIFO of replies.
///
/// The slot stays in the FIFO until its reply arrives, even after its caller gave up (cancelled):
/// the reply is then read and dropped, so the next caller gets the next reply — never this one.
final class ReplyWaiter<Reply: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: created by the caller, then touched only on the connection's loop thread.
    private var deliver: ((Result<Reply, any Error>) -> Void)?
    /// When the caller stops waiting (loop clock; `UInt64.max`: never) and the timeout that gave it.
    var deadline = UInt64.max
    var timeout: Duration?

    init(_ deliver: @escaping (Result<Reply, any Error>) -> Void) {
        self.deliver = deliver
    }

    /// True once the caller has its outcome (a reply, an error, or it gave up).
    var isDone: Bool { deliver == nil }

    /// Hands the outcome to the caller, once; later outcomes (the reply of a cancelled caller,
    /// a failure after a timeout) are dropped.
    func complete(_ outcome: Result<Reply, any Error>) {
        guard let deliver else { return }
        self.deliver = nil
        deliver(outcome)
    }
}
