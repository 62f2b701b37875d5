import Glibc

/// The read buffer of a stream: one contiguous, growable byte region with a start offset.
///
/// ```
///   block:   [ consumed (dead) | readable bytes            | free tail          ]
///            0                 start                       end                  capacity
/// ```
/// Reads fill the free tail in place (`reserveTail` + `commit`), frames are lent from the
/// readable part and then consumed by moving `start`. The dead prefix is reclaimed by one
/// `memmove` only when the tail is too small, so each byte is moved O(1) times amortised;
/// there is never a list of chunks to join.
///
/// A ``ReadFrame`` handed out larger than ``ReadFrame/inlineCapacity`` shares the block
/// (``ownedFrame(_:pinLimit:)``). While one may be alive the buffer writes only past `end` — never
/// over the dead prefix — and, needing room, moves its readable bytes to a new block instead of
/// compacting in place.
final class ReadBuffer {
    // @exclusivity(unchecked): touched on every read of a loop-confined stream; no overlapping
    // accesses are possible, and the dynamic checks cost ~10% of a buffered read.
    @exclusivity(unchecked) private var block: ReadStorage?
    @exclusivity(unchecked) private var storage: UnsafeMutableRawPointer?  // block's memory, cached
    @exclusivity(unchecked) private(set) var capacity = 0
    @exclusivity(unchecked) private var start = 0  // first unconsumed byte
    @exclusivity(unchecked) private var end = 0  // one past the last received byte
    /// A frame may still reference `block`; cleared once `block` is found uniquely referenced.
    @exclusivity(unchecked) private var lent = false

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
        if start == end && !lent {
            // Reads start at the front again. Not while a frame may hold the bytes there.
            start = 0
            end = 0
        }
    }

    /// An owned frame of `frame`, which must lie in the readable bytes. Up to
    /// ``ReadFrame/inlineCapacity`` bytes, the frame holds a copy itself. Larger, it shares the
    /// block, unless the block has grown past `pinLimit` and the frame is under 1/16 of it: then the
    /// frame is a copy, so that it cannot keep a large block alive for a few bytes.
    @inline(__always)
    func ownedFrame(_ frame: UnsafeRawBufferPointer, pinLimit: Int) -> ReadFrame {
        assert(frame.count == 0 || (frame.baseAddress! >= UnsafeRawPointer(storage! + start)
               && frame.baseAddress! + frame.count <= UnsafeRawPointer(storage! + end)), "a frame outside the readable bytes")
        // A small frame is a copy in the frame itself: cheaper than counting references to the
        // block, and it never pins one. (Loaded as 64 bytes: safe in a block, see `ReadStorage`.)
        guard frame.count > ReadFrame.inlineCapacity else { return ReadFrame(loadingInline: frame.baseAddress, count: frame.count) }
        if capacity > pinLimit && frame.count < capacity / 16 {
            return ReadFrame(copying: frame)
        }
        lent = true
        return ReadFrame(owner: block!, base: frame.baseAddress!, count: frame.count)
    }

    /// Releases a large allocation once it is empty again (after e.g. one huge line), so an
    /// idle stream does not keep its peak size. Frames still holding it keep it until they go.
    func shrinkIfIdle(keeping limit: Int) {
        guard isEmpty, capacity > limit else { return }
        block = nil
        storage = nil
        capacity = 0
        start = 0
        end = 0
        lent = false
    }

    private func makeRoom(_ minimum: Int) {
        let live = count
        if lent { lent = !isKnownUniquelyReferenced(&block) }
        if !lent, live + minimum <= capacity, let storage {
            // Reclaim the dead prefix.
            memmove(storage, storage + start, live)
        } else {
            // A new block: the readable bytes do not fit, or frames still hold this one (same size).
            var newCapacity = live + minimum <= capacity ? capacity : max(capacity * 2, 4096)
            while newCapacity < live + minimum { newCapacity *= 2 }
            let newBlock = ReadStorage(capacity: newCapacity)
            if let storage, live > 0 { memcpy(newBlock.pointer, storage + start, live) }
            block = newBlock
            storage = newBlock.pointer
            capacity = newCapacity
            lent = false
        }
        start = 0
        end = live
    }
}

/// A block of memory that a ``ReadBuffer`` reads into and ``ReadFrame``s share; freed with the
/// last reference. A class so that the buffer can tell whether any frame still holds it.
@usableFromInline
final class ReadStorage {
    let pointer: UnsafeMutableRawPointer

    /// Bytes allocated past the capacity, never written: a small frame starting anywhere in the
    /// block is loaded as a whole ``ReadFrame/inlineCapacity`` bytes at once
    /// (``ReadFrame/init(loadingInline:count:)``).
    static let padding = ReadFrame.inlineCapacity

    /// A read buffer's block: padded, and zeroed so that a small frame's load never reads memory
    /// nothing has initialized.
    init(capacity: Int) {
        pointer = calloc(max(capacity, 1) + Self.padding, 1)!
    }

    /// A frame's own copy of `bytes` (more than ``ReadFrame/inlineCapacity``): no padding and no
    /// zeroing, since no small frame is ever loaded from it, and every byte is written once.
    init(copying bytes: UnsafeRawBufferPointer) {
        pointer = malloc(max(bytes.count, 1))!
        if let source = bytes.baseAddress { pointer.copyMemory(from: source, byteCount: bytes.count) }
    }

    deinit { free(pointer) }
}
