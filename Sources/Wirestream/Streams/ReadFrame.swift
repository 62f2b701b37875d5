import Glibc

/// Bytes read from a stream that the caller keeps: an owned, reference-counted view of the read
/// buffer's memory, so reading one costs no allocation and no copy.
///
/// ```swift
/// let line = try await stream.readFrame(until: [0x0A])   // shares the buffer's block
/// lines.append(line)                                     // keeps that block alive
/// ```
///
/// A frame holds the block of the read buffer its bytes lie in, as a SwiftNIO `ByteBuffer` slice
/// does. The stream never writes into a block while a frame references it: when it needs the room
/// it moves on to a new block, leaving the old one to its frames. So the bytes of a frame never
/// change, and a frame may cross threads.
///
/// **Memory.** A kept frame keeps its whole block: normally 64–128 KiB (the stream's
/// `readChunkSize` and a little more), freed when the last frame in it goes. Keeping a few frames
/// out of many, for long, pins a block for each; copy those (`Array(frame)`) to keep only their
/// bytes. A frame smaller than 1/16 of a block grown past the stream's idle limit (for one large
/// read) is copied when it is read instead of shared, so a small frame never pins a large block.
public struct ReadFrame: RandomAccessCollection, Hashable, @unchecked Sendable {
    // @unchecked Sendable: the bytes `base..<base+count` are never written while `owner` is
    // referenced (the read buffer checks before it reuses a block), and `owner`'s reference count
    // is atomic; the frame is an immutable value.

    /// Keeps `base` alive: a block of a stream's read buffer, or a frame's own copy.
    @usableFromInline let owner: ReadStorage?
    @usableFromInline let base: UnsafeRawPointer?
    /// The number of bytes.
    public let count: Int

    @inlinable
    init(owner: ReadStorage?, base: UnsafeRawPointer?, count: Int) {
        self.owner = owner
        self.base = base
        self.count = count
    }

    /// An empty frame.
    public init() {
        self.init(owner: nil, base: nil, count: 0)
    }

    /// A frame holding a copy of `bytes`.
    public init(copying bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else {
            self.init()
            return
        }
        let storage = ReadStorage(capacity: bytes.count)
        storage.pointer.copyMemory(from: source, byteCount: bytes.count)
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

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { count }

    @inlinable
    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < count, "ReadFrame index out of range")
        return base.unsafelyUnwrapped.load(fromByteOffset: position, as: UInt8.self)
    }

    /// Lends the bytes in place.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) { try body(UnsafeRawBufferPointer(start: base, count: count)) }
    }

    /// Lends the bytes in place: `Array(frame)`, `String(decoding: frame, as: UTF8.self)` and other
    /// generic algorithms copy them in one `memcpy` through this.
    @inlinable
    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try withUnsafeBytes { try body($0.bindMemory(to: UInt8.self)) }
    }

    public static func == (lhs: ReadFrame, rhs: ReadFrame) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.base == rhs.base || lhs.count == 0 { return true }
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
