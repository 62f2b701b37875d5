import Wirestream

/// One caller waiting on a ``PipelinedConnection``: a place in the FIFO of replies, owed the
/// replies of its requests (one for `send`, N for a batch), in order.
///
/// The waiter stays in the FIFO until all of its replies have been read, even after its caller
/// gave up (cancelled): they are then read and dropped, so the next caller gets the next reply —
/// never one of these.
@usableFromInline
final class ReplyWaiter<Reply: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: created by the caller, then touched only on the connection's loop thread.
    @usableFromInline
    enum Delivery {
        case one(OneShot<Reply>)
        case many(OneShot<[Reply]>)
    }

    /// Replies still to be read for this waiter.
    @usableFromInline var owed: Int
    @usableFromInline var delivery: Delivery?
    @usableFromInline var gathered: [Reply] = []  // a batch's replies so far
    /// When the caller stops waiting (loop clock; `UInt64.max`: never) and the timeout that gave it.
    @usableFromInline var deadline = UInt64.max
    @usableFromInline var timeout: Duration?

    @inlinable
    init(owed: Int, _ delivery: Delivery) {
        self.owed = owed
        self.delivery = delivery
        if owed > 1 { gathered.reserveCapacity(owed) }
    }

    /// True once the caller has its outcome (its replies, an error, or it gave up).
    @inlinable var isDone: Bool { delivery == nil }

    /// Takes the next of this waiter's replies; true when it was the last one owed.
    @inlinable
    func receive(_ reply: Reply) -> Bool {
        owed -= 1
        switch delivery {
        case .one(let slot)?:
            delivery = nil
            slot.complete(.success(reply))
        case .many(let slot)?:
            gathered.append(reply)
            if owed == 0 {
                delivery = nil
                slot.complete(.success(gathered))
                gathered = []
            }
        case nil:
            break  // given up: dropped
        }
        return owed == 0
    }

    /// Hands `error` to the caller, once; later outcomes are dropped.
    @inlinable
    func fail(_ error: any Error) {
        switch delivery {
        case .one(let slot)?: slot.complete(.failure(error))
        case .many(let slot)?: slot.complete(.failure(error))
        case nil: break
        }
        delivery = nil
        gathered = []
    }
}
