import Wirestream

/// The callback API, Tornado style: each completion starts the next read; the loop runs on this thread.
enum WirestreamCallback {
    static func run(workload: String, port: Int, count: Int) throws -> (count: Int, scanned: Int) {
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
                func next() {
                    stream.readUntil(delimiter) { result in
                        guard case .success = result else { return done(stream) }
                        state.count += 1
                        next()
                    }
                }
                next()
            case "regex":
                let pattern = try! Pattern(#"\r?\n"#)
                func next() {
                    stream.readUntilRegex(pattern) { result in
                        guard case .success = result else { return done(stream) }
                        state.count += 1
                        next()
                    }
                }
                next()
            case "frames":
                func next() {
                    // The header borrowed, the payload copied: the shape of the async copying form.
                    stream.readBytes(4, borrowing: { Int($0.loadUnaligned(as: UInt32.self).bigEndian) }) { result in
                        guard case .success(let length) = result else { return done(stream) }
                        stream.readBytes(length) { result in
                            guard case .success = result else { return done(stream) }
                            state.count += 1
                            next()
                        }
                    }
                }
                next()
            case "bulk-stream":
                stream.streamUntilClose(to: { state.count += $0.count }) { _ in done(stream) }
            case "bulk-partial":
                func next() {
                    stream.readBytes(65_536, partial: true) { result in
                        guard case .success(let bytes) = result else { return done(stream) }
                        state.count += bytes.count
                        next()
                    }
                }
                next()
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

/// Counters shared by the callbacks of one run (all on the loop thread).
final class Tally {
    var count = 0
    var scanned = 0
}
