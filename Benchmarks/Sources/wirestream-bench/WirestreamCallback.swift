import Wirestream

/// The callback API, Tornado style: each completion starts the next read; the loop runs on this thread.
enum WirestreamCallback {
    /// `handler`: the line and frame workloads read through `readFrames(_:to:)` instead of a chain
    /// of one-shot callback reads.
    static func run(workload: String, port: Int, count: Int, handler: Bool = false) throws -> (count: Int, scanned: Int) {
        let loop = try IOLoop()
        let stream = IOStream(loop: loop)
        let state = Tally()
        let done = { (stream: IOStream) in
            state.scanned = stream.bytesScanned
            stream.close()
            loop.stop()
        }
        stream.connect(host: "127.0.0.1", port: port) { result in
            guard case .success = result else { return done(stream) }
            switch workload {
            case "lines-lf", "lines-crlf", "longline":
                let delimiter: [UInt8] = workload == "lines-crlf" ? [13, 10] : [10]
                if handler { return stream.readFrames(.delimiter(delimiter), to: CountingFrameHandler(stream, state, done)) }
                CallbackReader(stream, state, done, delimiter: delimiter).nextLine()
            case "regex":
                CallbackReader(stream, state, done, pattern: try! Pattern(#"\r?\n"#)).nextMatch()
            case "frames":
                if handler { return stream.readFrames(.lengthPrefixed(maxLength: 1 << 20), to: CountingFrameHandler(stream, state, done)) }
                CallbackReader(stream, state, done).nextFrame()
            case "bulk-stream":
                stream.streamUntilClose(to: { state.count += $0.count }) { _ in done(stream) }
            case "bulk-partial":
                CallbackReader(stream, state, done).nextPiece()
            case "write-small":
                let message = [UInt8](repeating: 97, count: 63) + [10]
                func batch(_ from: Int) {
                    let end = min(count, from + 4096)
                    for _ in from..<end { stream.queueWrite(message) }
                    stream.flush { _ in
                        state.count = end
                        if end < count { batch(end) } else { done(stream) }
                    }
                }
                batch(0)
            case "write-large":
                let block = [UInt8](repeating: 98, count: 1 << 20)
                func next(_ i: Int) {
                    guard i < count else { return done(stream) }
                    stream.write(block) { _ in
                        state.count = i + 1
                        next(i + 1)
                    }
                }
                next(0)
            default:
                fatalError("unknown workload \(workload)")
            }
        }
        loop.run()
        return (state.count, state.scanned)
    }
}

/// The read workloads' callbacks, written as a SwiftNIO handler is: one object per connection, and
/// each callback captures only `self` — its context is then the object itself (one retain, no
/// allocation per read). The same chain as nested closures that each capture the stream, the
/// tally, `done` and `next` allocated a context per read and spent about half its time in
/// retain/release of the captures (measured with perf on `frames`).
final class CallbackReader {
    let stream: IOStream
    let state: Tally
    let done: (IOStream) -> Void
    // What the line and regex workloads read to: kept here, so their callbacks capture only `self`.
    let delimiter: [UInt8]
    let pattern: Pattern?
    let framing = Framing.lengthPrefixed(maxLength: 1 << 20)

    init(
        _ stream: IOStream, _ state: Tally, _ done: @escaping (IOStream) -> Void,
        delimiter: [UInt8] = [], pattern: Pattern? = nil
    ) {
        (self.stream, self.state, self.done, self.delimiter, self.pattern) = (stream, state, done, delimiter, pattern)
    }

    /// Each line as an owned `ReadFrame`, as a NIO handler gets each line as a `ByteBuffer` slice.
    func nextLine() {
        stream.readFrame(until: delimiter) { [self] result in
            guard case .success = result else { return done(stream) }
            state.count += 1
            nextLine()
        }
    }

    func nextMatch() {
        stream.readUntilRegex(pattern!) { [self] result in
            guard case .success = result else { return done(stream) }
            state.count += 1
            nextMatch()
        }
    }

    /// One read per frame, its payload an owned `ReadFrame` (NIO's decoder hands on a slice).
    func nextFrame() {
        stream.readFrame(framing) { [self] result in
            guard case .success = result else { return done(stream) }
            state.count += 1
            nextFrame()
        }
    }

    func nextPiece() {
        stream.readBytes(65_536, partial: true) { [self] result in
            guard case .success(let bytes) = result else { return done(stream) }
            state.count += bytes.count
            nextPiece()
        }
    }
}

/// The continuous read, `readFrames(_:to:)`: one handler object gets every frame, as a NIO
/// handler's `channelRead` does — no callback, `Result` or completion per frame.
final class CountingFrameHandler: FrameHandler {
    let stream: IOStream
    let state: Tally
    let done: (IOStream) -> Void

    init(_ stream: IOStream, _ state: Tally, _ done: @escaping (IOStream) -> Void) {
        (self.stream, self.state, self.done) = (stream, state, done)
    }

    func handleFrame(_ frame: ReadFrame) -> Bool {
        state.count += frame.isEmpty ? 0 : 1
        return true
    }

    func framesEnded(_ error: (any Error)?) { done(stream) }
}

/// Counters shared by the callbacks of one run (all on the loop thread).
final class Tally {
    var count = 0
    var scanned = 0
}
