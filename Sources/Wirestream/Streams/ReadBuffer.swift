import Glibc

/// The read buffer of a stream: one contiguous, growable byte region with a start offset.
///
/// ```
///   storage: [ consumed (dead) | readable bytes            | free tail          ]
///            0                 start                       end                  capacity
/// ```
/// Reads fill the free tail in place (`reserveTail` + `commit`), frames are lent from the
/// readable part and then consumed by moving `start`. The dead prefix is reclaimed by one
/// `memmove` only when the tail is too small, so each byte is moved O(1) times amortised;
/// there is never a list of chunks to join.
final class ReadBuffer {
    // @exclusivity(unchecked): touched on every read of a loop-confined stream; no overlapping
    // accesses are possible, and the dynamic checks cost ~10% of a buffered read.
    @exclusivity(unchecked) private var storage: UnsafeMutableRawPointer?
    @exclusivity(unchecked) private(set) var capacity = 0
    @exclusivity(unchecked) private var start = 0  // first unconsumed byte
    @exclusivity(unchecked) private var end = 0  // one past the last received byte

    deinit { free(storage) }

    /// Number of readable bytes.
    var count: Int { end - start }
    var isEmpty: Bool { end == start }

    /// The readable bytes, valid until the next mutation.
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.map { $0 + start }, count: end - start)
    }

    /// A free region of at least `minimum` bytes after the readable bytes.
    func reserveTail(_ minimum: Int) -> UnsafeMutableRawBufferPointer {
        if capacity - end < minimum {
            makeRoom(minimum)
        }
        return UnsafeMutableRawBufferPointer(start: storage! + end, count: capacity - end)
    }

    /// Marks `n` bytes written into the tail as readable.
    func commit(_ n: Int) {
        precondition(n >= 0 && end + n <= capacity)
        end += n
    }

    /// Drops the first `n` readable bytes.
    func consume(_ n: Int) {
        precondition(n >= 0 && n <= count)
        start += n
        if start == end {
            start = 0
            end = 0
        }
    }

    /// Releases a large allocation once it is empty again (after e.g. one huge line), so an
    /// idle stream does not keep its peak size.
    func shrinkIfIdle(keeping limit: Int) {
        guard isEmpty, capacity > limit else { return }
        free(storage)
        storage = nil
        capacity = 0
    }

    private func makeRoom(_ minimum: Int) {
        let live = count
        if live + minimum <= capacity, let storage {
            // Reclaim the dead prefix.
            memmove(storage, storage + start, live)
        } else {
            var newCapacity = max(capacity * 2, 4096)
            while newCapacity < live + minimum { newCapacity *= 2 }
            let newStorage = malloc(newCapacity)!
            if let storage, live > 0 { memcpy(newStorage, storage + start, live) }
            free(storage)
            storage = newStorage
            capacity = newCapacity
        }
        start = 0
        end = live
    }
}
