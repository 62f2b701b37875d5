/// Receives the frames of a continuous read, ``BaseIOStream/readFrames(_:to:)``: the stream calls
/// it for each frame on the loop thread, in order, as SwiftNIO calls a handler's `channelRead`.
///
/// One handler object per connection, and no closure or completion per frame: a frame found in the
/// buffer costs a call, where a chain of one-shot callback reads pays for a callback context, a
/// `Result` and the trampoline on each.
public protocol FrameHandler: AnyObject {
    /// A frame. Return `false` to stop the continuous read after this one (``framesEnded(_:)``
    /// follows with `nil`, and the stream may be read again from there).
    /// While the read runs it is the stream's one read: others fail with ``ReadInProgressError``.
    /// A handler that closes the stream gets no further frame, and ``framesEnded(_:)`` follows.
    func handleFrame(_ frame: ReadFrame) -> Bool

    /// The continuous read is over: `nil` when ``handleFrame(_:)`` stopped it, else why — a
    /// ``StreamClosedError`` at EOF or on close (its `realError` says why, e.g. an
    /// ``UnsatisfiableReadError`` for a frame over its limit), or ``InvalidReadError``.
    func framesEnded(_ error: (any Error)?)
}

/// How the byte stream is cut into frames: by a continuous read (``BaseIOStream/readFrames(_:to:)``),
/// or one frame at a time (``BaseIOStream/readFrame(_:callback:)`` and its async form).
///
/// Make one and reuse it (a `static let` will do): a length-prefixed framing holds its searcher,
/// an object.
public struct Framing: Sendable {
    private enum Cut: Sendable {
        case delimiter([UInt8], maxBytes: Int?)
        case fixed(Int)
        case lengthPrefixed(LengthPrefixSearcher)
    }

    private let cut: Cut

    /// What a read for one frame waits for.
    var target: ReadTarget {
        switch cut {
        case .delimiter(let delimiter, let maxBytes): .delimiter(delimiter, maxBytes: maxBytes)
        case .fixed(let count): .bytes(count: count, partial: false)
        case .lengthPrefixed(let searcher): .search(searcher)
        }
    }

    /// Bytes at the start of each frame that are not delivered (a length prefix).
    var headerBytes: Int {
        if case .lengthPrefixed(let searcher) = cut { return searcher.lengthBytes }
        return 0
    }

    /// Frames that end with `delimiter` (included in the frame); each must end within `maxBytes`.
    public static func delimiter(_ delimiter: [UInt8], maxBytes: Int? = nil) -> Framing {
        Framing(cut: .delimiter(delimiter, maxBytes: maxBytes))
    }

    /// Frames of exactly `count` bytes (a negative count is an ``InvalidReadError``).
    public static func fixed(count: Int) -> Framing {
        precondition(count != 0, "a fixed frame has at least one byte")  // else it never consumes
        return Framing(cut: .fixed(count))
    }

    /// Frames that start with their payload's length as a big-endian unsigned integer of
    /// `lengthBytes` bytes (1, 2, 4 or 8); the payload alone is delivered, as SwiftNIO's
    /// `LengthFieldBasedFrameDecoder` does. A length over `maxLength` closes the stream with an
    /// ``UnsatisfiableReadError`` as soon as the prefix arrives, before any of the payload is buffered.
    public static func lengthPrefixed(lengthBytes: Int = 4, maxLength: Int) -> Framing {
        precondition([1, 2, 4, 8].contains(lengthBytes), "a length prefix is 1, 2, 4 or 8 bytes")
        return Framing(cut: .lengthPrefixed(LengthPrefixSearcher(lengthBytes: lengthBytes, maxLength: maxLength)))
    }
}

/// Finds the end of a length-prefixed frame: the prefix, then as many bytes as it says.
final class LengthPrefixSearcher: FrameSearcher, Sendable {
    let lengthBytes: Int
    let maxLength: Int

    init(lengthBytes: Int, maxLength: Int) {
        self.lengthBytes = lengthBytes
        // A frame's end, prefix included, must fit an Int: `maxLength: .max` means "no limit".
        self.maxLength = min(maxLength, Int.max - lengthBytes)
    }

    /// The whole frame's limit, as a read's `maxBytes`: its prefix and the longest payload.
    var maxBytes: Int? { maxLength < 0 ? maxLength : lengthBytes + maxLength }

    func frameEnd(
        in bytes: UnsafeRawBufferPointer, scanOffset: inout Int, atEOF: Bool, bytesScanned: inout Int
    ) throws -> Int? {
        guard bytes.count >= lengthBytes else { return nil }
        var length: UInt64 = 0
        for index in 0..<lengthBytes { length = length << 8 | UInt64(bytes[index]) }
        guard length <= UInt64(maxLength) else {
            throw UnsatisfiableReadError(
                maxBytes: lengthBytes + maxLength,
                searchingFor: "a frame whose \(lengthBytes)-byte length prefix says \(length) bytes")
        }
        let end = lengthBytes + Int(length)
        return bytes.count >= end ? end : nil
    }
}

extension BaseIOStream {
    /// Reads frames continuously and hands each to `handler` as a ``ReadFrame``, until the handler
    /// returns `false` or the stream ends; then calls its ``FrameHandler/framesEnded(_:)`` once.
    /// Frames already buffered are delivered in a loop, with a return to the loop every
    /// 1,024 frames so that its timers run.
    public func readFrames(_ framing: Framing, to handler: any FrameHandler) {
        startRead(framing.target, streaming: nil, .handler(handler, headerBytes: framing.headerBytes))
    }
}
