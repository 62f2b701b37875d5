import Wirestream

/// One caller waiting on a ``PipelinedConnection``: a place in the FIFO of replies, owed the
/// replies of its requests (one for `send`, N for a batch), in order.
///
/// The waiter stays in the FIFO until all of its replies have been read, even after its caller
/// gave up (cancelled): they are then read and dropped, so the next caller gets the next reply —
/// never one of these.
///
/// It holds the caller's continuation itself. Every field has the same layout whatever `Reply`
/// is (continuations and arrays are pointers), so releasing a waiter needs no metadata: a slot
/// object holding a `Result<Reply, Error>?` cost two generic metadata lookups per request in its
/// unspecialized deinit (4% of a Redis GET's user time).
@usableFromInline
final class ReplyWaiter<Reply: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: created by the caller, then touched only on the connection's loop thread.
    @usableFromInline
    enum Delivery {
        case one(UnsafeContinuation<Reply, any Error>)
        case many(UnsafeContinuation<[Reply], any Error>)

        @inlinable
        func resume(throwing error: any Error) {
            switch self {
            case .one(let continuation): continuation.resume(throwing: error)
            case .many(let continuation): continuation.resume(throwing: error)
            }
        }
    }

    /// Replies still to be read for this waiter.
    @usableFromInline var owed: Int
    /// The caller, once it waits; `nil` before that and after it has its outcome.
    @usableFromInline var delivery: Delivery?
    /// True once the caller has its outcome (its replies, an error, or it gave up).
    @usableFromInline var isDone = false
    /// A failure that came before the caller waited (cancelled before its request was queued).
    @usableFromInline var earlyError: (any Error)?
    @usableFromInline var gathered: [Reply] = []  // a batch's replies so far
    /// When the caller stops waiting (loop clock; `UInt64.max`: never) and the timeout that gave it.
    @usableFromInline var deadline = UInt64.max
    @usableFromInline var timeout: Duration?

    @inlinable
    init(owed: Int) {
        self.owed = owed
        if owed > 1 { gathered.reserveCapacity(owed) }
    }

    /// The caller waits: resumed at once if the waiter already failed.
    @inlinable
    func attach(_ delivery: Delivery) {
        guard let error = earlyError else {
            self.delivery = delivery
            return
        }
        earlyError = nil
        delivery.resume(throwing: error)
    }

    /// Takes the next of this waiter's replies; true when it was the last one owed.
    @inlinable
    func receive(_ reply: Reply) -> Bool {
        owed -= 1
        switch delivery {
        case .one(let continuation)?:
            finish()
            continuation.resume(returning: reply)
        case .many(let continuation)?:
            gathered.append(reply)
            if owed == 0 {
                let replies = gathered
                finish()
                continuation.resume(returning: replies)
            }
        case nil:
            break  // given up: dropped (a request is queued only once its caller waits)
        }
        return owed == 0
    }

    /// Hands `error` to the caller, once; later outcomes are dropped.
    @inlinable
    func fail(_ error: any Error) {
        guard !isDone else { return }
        let delivery = self.delivery
        finish()
        if let delivery { delivery.resume(throwing: error) } else { earlyError = error }  // for `attach`
    }

    @inlinable
    func finish() {
        isDone = true
        delivery = nil
        gathered = []
    }
}
