import Synchronization

/// What a pending read is waiting for.
@usableFromInline
enum ReadTarget {
    /// Exactly `count` bytes, or with `partial` whatever is buffered (at least 1, at most `count`).
    case bytes(count: Int, partial: Bool)
    /// `remaining` more bytes, each chunk handed to the streaming callback as it arrives.
    case streamingBytes(remaining: Int)
    /// Everything through the end of `delimiter`; the frame must end within `maxBytes`.
    case delimiter([UInt8], maxBytes: Int?)
    /// A frame end found by a searcher (the seam for `readUntilRegex`).
    case search(any FrameSearcher)
    /// Everything until EOF (streamed to the callback if there is one).
    case untilClose
    /// The next `count` bytes (fewer only at EOF), lent without being consumed: lookahead.
    case peek(count: Int)

    /// How many bytes a frame ending at `end` consumes: all of it, except for a peek.
    @inlinable
    func consumed(_ end: Int) -> Int {
        if case .peek = self { return 0 }
        return end
    }
}

/// Finds where a frame ends in buffered bytes. `readUntilRegex` plugs in here.
@usableFromInline
protocol FrameSearcher: AnyObject {
    /// The read's limit: its frame must end within this many bytes (`nil`: no limit).
    var maxBytes: Int? { get }

    /// Returns the end offset of the frame in `bytes`, or `nil` to wait for more data.
    /// `scanOffset` is where the previous search stopped, so a search resumes instead of rescanning;
    /// `atEOF` says no more data will come; `bytesScanned` grows by the bytes examined.
    /// Throws ``UnsatisfiableReadError`` past the read's limit.
    func frameEnd(
        in bytes: UnsafeRawBufferPointer, scanOffset: inout Int, atEOF: Bool, bytesScanned: inout Int
    ) throws -> Int?
}

/// A read waiting for data: its target and who to tell.
struct PendingRead {
    var target: ReadTarget
    let streaming: ((UnsafeRawBufferPointer) -> Void)?
    let delivery: ReadDelivery
}

/// Who a read's outcome goes to.
enum ReadDelivery {
    /// The copying callback forms (`readUntil`, `readBytes`, `readUntilClose`): the frame as a new
    /// array. The caller's callback is held as it is, so such a read allocates nothing but its
    /// array — a completion object per read was a quarter of a buffered callback read's cost.
    case bytes((Result<[UInt8], any Error>) -> Void)
    /// The owned-frame callback forms (`readFrame`): the frame, without its first `headerBytes`
    /// (a length prefix), as a ``ReadFrame`` sharing the buffer's block, with no allocation at all.
    case frame((Result<ReadFrame, any Error>) -> Void, headerBytes: Int)
    /// A continuous read (`readFrames`): every frame to the handler, without its first
    /// `headerBytes`, until the handler stops it.
    case handler(any FrameHandler, headerBytes: Int)
    /// Every other form: an object that converts the frame while it is lent.
    case completion(ReadCompletion)

    func fail(_ error: any Error) {
        switch self {
        case .bytes(let callback): callback(.failure(error))
        case .frame(let callback, _): callback(.failure(error))
        case .handler(let handler, _): handler.framesEnded(error)
        case .completion(let completion): completion.fail(error)
        }
    }
}

/// Receives the outcome of a read. The stream lends the frame to ``take(_:)`` while it is still in
/// the buffer, consumes it, and only then calls ``succeed()``, so code run by `succeed` may start
/// the next read safely.
@usableFromInline
class ReadCompletion {
    /// Converts the frame while it is lent. Must not call into the stream.
    func take(_ frame: UnsafeRawBufferPointer) {}
    /// The frame has been consumed; deliver the converted result.
    func succeed() {}
    /// The read failed or was withdrawn.
    func fail(_ error: any Error) {}
}

/// The callback form: converts the frame with `transform` and calls `callback` on the loop.
@usableFromInline
final class CallbackReadCompletion<R>: ReadCompletion {
    private let transform: (UnsafeRawBufferPointer) throws -> R
    private let callback: (Result<R, any Error>) -> Void
    private var result: Result<R, any Error>?

    @usableFromInline
    init(
        transform: @escaping (UnsafeRawBufferPointer) throws -> R,
        callback: @escaping (Result<R, any Error>) -> Void
    ) {
        self.transform = transform
        self.callback = callback
    }

    override func take(_ frame: UnsafeRawBufferPointer) {
        result = Result { try transform(frame) }
    }

    override func succeed() {
        callback(result!)
    }

    override func fail(_ error: any Error) {
        callback(.failure(error))
    }
}

/// Carries a value across an isolation boundary that Swift cannot see is safe: the value is
/// created on the loop thread while its receiver is suspended, and only the receiver reads it.
struct UncheckedTransfer<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// The async form: lends the frame to `transform` (which keeps what it makes of it in the
/// waiting caller's frame) and resumes the suspended task.
///
/// A read started on the loop thread may finish before the task suspends (a speculative read
/// satisfies it); the outcome is then kept and returned without suspending.
///
/// `transform` and `streaming` are the caller's non-escaping closures, lent with
/// `withoutActuallyEscaping`: they are referenced from here only, and dropped *before* the task is
/// resumed, so nothing still holds them when the caller's scope ends. Not generic: the result's
/// type is the caller's business, so a waiting read needs no metadata lookups.
final class AsyncReadCompletion: ReadCompletion, @unchecked Sendable {
    // @unchecked Sendable: everything but `cancelled` is touched only on the stream's loop thread.
    private var transform: ((UnsafeRawBufferPointer) throws -> Void)?
    private var streaming: ((UnsafeRawBufferPointer) -> Void)?
    private var continuation: UnsafeContinuation<Void, any Error>?
    private(set) var result: Result<Void, any Error>?
    private var converted: Result<Void, any Error>?
    /// Set by the cancellation handler on any thread; checked on the loop before the read starts.
    let cancelled = Atomic<Bool>(false)

    init(
        transform: @escaping (UnsafeRawBufferPointer) throws -> Void,
        streaming: ((UnsafeRawBufferPointer) -> Void)?
    ) {
        self.transform = transform
        self.streaming = streaming
    }

    /// A streaming callback for the pending read that calls through this object, so the
    /// caller's closure itself is never held by the stream.
    var streamingForwarder: ((UnsafeRawBufferPointer) -> Void)? {
        guard streaming != nil else { return nil }
        return { [self] chunk in self.streaming?(chunk) }
    }

    /// Resumes `continuation` with the outcome now if there is one, else when it comes.
    func attach(_ continuation: UnsafeContinuation<Void, any Error>) {
        if let result {
            continuation.resume(with: result)
        } else {
            self.continuation = continuation
        }
    }

    override func take(_ frame: UnsafeRawBufferPointer) {
        guard let transform else { return }
        converted = Result { try transform(frame) }
    }

    override func succeed() {
        finish(converted ?? .failure(CancellationError()))
    }

    override func fail(_ error: any Error) {
        finish(.failure(error))
    }

    private func finish(_ outcome: Result<Void, any Error>) {
        guard result == nil else { return }
        transform = nil
        streaming = nil
        converted = nil
        result = outcome
        if let continuation {
            self.continuation = nil
            continuation.resume(with: outcome)
        }
    }
}
