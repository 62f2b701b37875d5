import Glibc

/// Bytes read from a stream that the caller keeps: the bytes themselves when they are few, or an
/// owned, reference-counted view of the read buffer's memory, so reading one costs no allocation.
///
/// ```swift
/// let line = try await stream.readFrame(until: [0x0A])   // holds its bytes, or shares the buffer's block
/// lines.append(line)
/// ```
///
/// **Small frames** (up to ``inlineCapacity`` bytes, a cache line: a status line, a header line,
/// a RESP header) are stored in the frame itself, as `String` stores a short string. Reading one
/// copies 64 bytes and involves no reference count, and keeping one keeps nothing else
/// alive.
///
/// **Larger frames** hold the block of the read buffer their bytes lie in, as a SwiftNIO
/// `ByteBuffer` slice does: no copy. The stream never writes into a block while a frame
/// references it: when it needs the room it moves on to a new block, leaving the old one to its
/// frames. So the bytes of a frame never change, and a frame may cross threads.
///
/// **Memory.** A kept large frame keeps its whole block: normally 64–128 KiB (the stream's
/// `readChunkSize` and a little more), freed when the last frame in it goes. Keeping a few frames
/// out of many, for long, pins a block for each; copy those (`Array(frame)`) to keep only their
/// bytes. A frame smaller than 1/16 of a block grown past the stream's idle limit (for one large
/// read) is copied when it is read instead of shared, so a small frame never pins a large block.
public struct ReadFrame: RandomAccessCollection, Hashable, @unchecked Sendable {
    // @unchecked Sendable: an inline frame is a plain value. A shared frame's bytes
    // `base..<base+count` are never written while `owner` is referenced (the read buffer checks
    // before it reuses a block), and `owner`'s reference count is atomic.

    /// The most bytes a frame stores in itself: 64, one cache line.
    @inlinable public static var inlineCapacity: Int { 64 }

    /// Eight words: room for ``inlineCapacity`` bytes. One vector rather than a tuple of eight: the
    /// compiler then copies and destroys a frame in place, not through its value witnesses.
    @usableFromInline typealias InlineBytes = SIMD8<UInt64>

    /// A small frame's bytes (its first `count`); a shared frame's start address, in the first word.
    // One struct rather than an enum of the two forms: copying or destroying a frame then touches
    // only `owner`, where the enum's value witnesses loaded all 65 bytes (measured 10% of a read).
    @usableFromInline let inline: InlineBytes
    /// The block a shared frame's bytes lie in, kept alive by the frame; `nil` for a small frame.
    @usableFromInline let owner: ReadStorage?
    /// The number of bytes.
    public let count: Int

    /// A frame sharing `count` bytes at `base`, which `owner` keeps alive.
    @inlinable
    init(owner: ReadStorage, base: UnsafeRawPointer, count: Int) {
        self.inline = InlineBytes(UInt64(UInt(bitPattern: base)), 0, 0, 0, 0, 0, 0, 0)
        self.owner = owner
        self.count = count
    }

    /// A frame holding a copy of `bytes`, which are at most ``inlineCapacity``.
    @inlinable
    init(inlineCopyOf bytes: UnsafeRawBufferPointer) {
        assert(bytes.count <= Self.inlineCapacity)
        var inline = InlineBytes()
        if let source = bytes.baseAddress {
            Swift.withUnsafeMutableBytes(of: &inline) { $0.baseAddress!.copyMemory(from: source, byteCount: bytes.count) }
        }
        self.inline = inline
        self.owner = nil
        self.count = bytes.count
    }

    /// A frame holding the `count` bytes at `base`, at most ``inlineCapacity``, loaded as one
    /// ``inlineCapacity``-byte value: `base` must lie in a ``ReadStorage`` block, whose padding
    /// makes that load safe. The bytes past `count` are whatever the block holds there (a block is
    /// zeroed when allocated, so they are never uninitialized memory); nothing reads them: every
    /// access stops at `count`.
    @inlinable
    init(loadingInline base: UnsafeRawPointer?, count: Int) {
        assert(count <= Self.inlineCapacity)
        self.inline = base.map { $0.loadUnaligned(as: InlineBytes.self) } ?? InlineBytes()
        self.owner = nil
        self.count = count
    }

    /// An empty frame.
    public init() {
        self.init(loadingInline: nil, count: 0)
    }

    /// A frame holding a copy of `bytes`.
    public init(copying bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > Self.inlineCapacity else {
            self.init(inlineCopyOf: bytes)
            return
        }
        let storage = ReadStorage(copying: UnsafeRawBufferPointer(start: source, count: bytes.count))
        self.init(owner: storage, base: storage.pointer, count: bytes.count)
    }

    /// A frame holding a copy of `bytes`.
    public init(_ bytes: some Sequence<UInt8>) {
        // Contiguous bytes (an array, a frame) are copied once; others are gathered first.
        if let frame = bytes.withContiguousStorageIfAvailable({ ReadFrame(copying: UnsafeRawBufferPointer($0)) }) {
            self = frame
        } else {
            self = Array(bytes).withUnsafeBytes { ReadFrame(copying: $0) }
        }
    }

    /// Where a shared frame's bytes start; `nil` for a frame that holds its bytes itself.
    @inlinable
    var base: UnsafeRawPointer? {
        owner == nil ? nil : UnsafeRawPointer(bitPattern: UInt(inline[0]))
    }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { count }

    @inlinable
    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < count, "ReadFrame index out of range")
        if let base { return base.load(fromByteOffset: position, as: UInt8.self) }
        return Swift.withUnsafeBytes(of: inline) { $0[position] }
    }

    /// Lends the bytes in place.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let base {
            return try withExtendedLifetime(owner) { try body(UnsafeRawBufferPointer(start: base, count: count)) }
        }
        return try Swift.withUnsafeBytes(of: inline) { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    /// Lends the bytes in place: `Array(frame)`, `String(decoding: frame, as: UTF8.self)` and other
    /// generic algorithms copy them in one `memcpy` through this.
    @inlinable
    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try withUnsafeBytes { try body($0.bindMemory(to: UInt8.self)) }
    }

    public static func == (lhs: ReadFrame, rhs: ReadFrame) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.count == 0 { return true }
        if let left = lhs.base, left == rhs.base { return true }
        return lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in memcmp(l.baseAddress!, r.baseAddress!, l.count) == 0 } }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

extension ReadFrame: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: UInt8...) {
        self.init(elements)
    }
}

extension ReadFrame: CustomStringConvertible, CustomDebugStringConvertible {
    /// The bytes as UTF-8, invalid sequences replaced.
    public var description: String { String(decoding: self, as: UTF8.self) }

    /// The count and the first 64 bytes.
    public var debugDescription: String {
        let shown = prefix(64).map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : "\\x" + hex($0) }.joined()
        return "ReadFrame(\(count) bytes: \"\(shown)\(count > 64 ? "…" : "")\")"
    }

    private func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
