import CLinux
import Glibc

/// The bytes a stream has accepted for writing and not yet handed to the kernel.
///
/// Large writes of arrays and array slices are kept as the caller's storage (a reference, not a
/// copy); other byte types are copied once, straight from their contiguous storage; runs of small
/// writes are coalesced into one buffer so that many pipelined requests leave in one syscall.
/// ```
///   write(8 B) write(20 B) write(1 MiB) write(5 B)
///   chunks: [ 28 B coalesced ][ caller's 1 MiB array ][ 5 B coalesced ]
/// ```
struct WriteQueue {
    /// Writes up to this size are copied into a coalescing buffer; larger ones are referenced.
    static let coalesceLimit = 4096
    /// A coalescing buffer stops growing at this size.
    static let coalesceCapacity = 64 * 1024
    /// At most this many chunks go to one `writev`.
    static let maxVectors = 16

    private var chunks: [ArraySlice<UInt8>] = []
    private var head = 0  // index of the first unsent chunk
    private var headOffset = 0  // bytes of chunks[head] already sent
    private var lastIsCoalescing = false  // chunks.last is ours and may grow
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Queues `bytes`: referenced if large, copied into the coalescing buffer if small.
    mutating func append(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        if bytes.count <= Self.coalesceLimit {
            bytes.withUnsafeBytes { coalesce($0) }
        } else {
            count += bytes.count
            chunks.append(bytes)
            lastIsCoalescing = false
        }
    }

    /// Queues a copy of `bytes` (storage the queue cannot keep a reference to).
    mutating func append(copying bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if bytes.count <= Self.coalesceLimit {
            coalesce(bytes)
        } else {
            count += bytes.count
            chunks.append(ArraySlice(bytes))
            lastIsCoalescing = false
        }
    }

    private mutating func coalesce(_ bytes: UnsafeRawBufferPointer) {
        count += bytes.count
        if lastIsCoalescing, chunks[chunks.count - 1].count + bytes.count <= Self.coalesceCapacity {
            chunks[chunks.count - 1].append(contentsOf: bytes)
        } else {
            var buffer = ArraySlice<UInt8>()
            buffer.reserveCapacity(Self.coalesceLimit * 2)
            buffer.append(contentsOf: bytes)
            chunks.append(buffer)
            lastIsCoalescing = true
        }
    }

    /// Lends up to ``maxVectors`` unsent chunks as an iovec array to `body`, which returns the
    /// number of bytes the kernel took (or `nil` if it took none); those bytes are then dropped.
    mutating func send(_ body: (UnsafeBufferPointer<iovec>) throws -> Int?) rethrows -> Int? {
        guard count > 0 else { return 0 }
        let vectorCount = min(Self.maxVectors, chunks.count - head)
        let sent = try withUnsafeTemporaryAllocation(of: iovec.self, capacity: vectorCount) { iov in
            try lend(index: head, into: iov, filled: 0, body)
        }
        if let sent, sent > 0 { drop(sent) }
        return sent
    }

    /// Pins chunk after chunk with nested `withUnsafeBytes` calls, so every pointer in the
    /// iovec array is valid while the system call runs, without copying.
    private func lend(
        index: Int, into iov: UnsafeMutableBufferPointer<iovec>, filled: Int,
        _ body: (UnsafeBufferPointer<iovec>) throws -> Int?
    ) rethrows -> Int? {
        if filled == iov.count || index == chunks.count {
            return try body(UnsafeBufferPointer(rebasing: iov[0..<filled]))
        }
        return try chunks[index].withUnsafeBytes { raw in
            let skip = index == head ? headOffset : 0
            iov[filled] = iovec(
                iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress! + skip),
                iov_len: raw.count - skip)
            return try lend(index: index + 1, into: iov, filled: filled + 1, body)
        }
    }

    private mutating func drop(_ n: Int) {
        var remaining = n
        count -= n
        while remaining > 0 {
            let available = chunks[head].count - headOffset
            if remaining < available {
                headOffset += remaining
                return
            }
            remaining -= available
            head += 1
            headOffset = 0
        }
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            head = 0
            lastIsCoalescing = false
        } else if head > 64 && head * 2 > chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }

    mutating func removeAll() {
        chunks.removeAll()
        head = 0
        headOffset = 0
        count = 0
        lastIsCoalescing = false
    }
}
