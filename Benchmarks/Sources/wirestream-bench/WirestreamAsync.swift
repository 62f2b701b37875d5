import Glibc
import Wirestream

/// The async API, run on the loop's task executor (`IOLoop.runSync`).
enum WirestreamAsync {
    /// How each frame reaches the caller.
    enum Form {
        /// A new `[UInt8]` per frame: what a first program writes.
        case copying
        /// Lent in place to a closure.
        case borrowing
        /// A `ReadFrame` the caller owns, sharing the read buffer's memory (`readFrame`).
        case owned
    }

    static func run(workload: String, port: Int, count: Int, form: Form) throws -> (count: Int, scanned: Int) {
        let loop = try IOLoop()
        return try loop.runSync {
            if workload == "pipe" { return try await pipeLines(loop: loop, count: count, form: form) }
            // WS_READ_CHUNK: a diagnostic, the read size (default 64 KiB; 256 KiB and 1 MiB measured no faster).
            let stream = IOStream(loop: loop, readChunkSize: getenv("WS_READ_CHUNK").flatMap { Int(String(cString: $0)) })
            try await stream.connect(host: "127.0.0.1", port: port)
            defer { stream.close() }
            if workload.hasPrefix("write") { return try await write(stream, workload: workload, count: count) }
            var n = 0
            do {
                switch workload {
                case "lines-lf", "longline", "lines-crlf":
                    let delimiter: [UInt8] = workload == "lines-crlf" ? [13, 10] : [10]
                    while true {
                        switch form {
                        case .copying: n += try await stream.readUntil(delimiter).isEmpty ? 0 : 1
                        case .borrowing: n += try await stream.readUntil(delimiter) { $0.count > 0 ? 1 : 0 }
                        case .owned: n += try await stream.readFrame(until: delimiter).isEmpty ? 0 : 1
                        }
                    }
                case "regex":
                    let pattern = try Pattern(#"\r?\n"#)
                    while true {
                        if form == .borrowing {
                            n += try await stream.readUntilRegex(pattern) { $0.bytes.count > 0 ? 1 : 0 }
                        } else {
                            n += try await stream.readUntilRegex(pattern).bytes.isEmpty ? 0 : 1
                        }
                    }
                case "frames":
                    while true {
                        let length = try await stream.readBytes(4) { header in
                            Int(header.loadUnaligned(as: UInt32.self).bigEndian)
                        }
                        switch form {
                        case .copying: n += try await stream.readBytes(length).count == length ? 1 : 0
                        case .borrowing: n += try await stream.readBytes(length) { $0.count == length ? 1 : 0 }
                        case .owned: n += try await stream.readFrame(count: length).count == length ? 1 : 0
                        }
                    }
                case "bulk-stream":
                    try await stream.streamUntilClose { n += $0.count }
                case "bulk-partial":
                    while true {
                        n += try await stream.readBytes(65_536, partial: true) { $0.count }
                    }
                default:
                    fatalError("unknown workload \(workload)")
                }
            } catch is StreamClosedError {
                // EOF: the workload is over.
            }
            return (n, stream.bytesScanned)
        }
    }

    static func write(_ stream: IOStream, workload: String, count: Int) async throws -> (count: Int, scanned: Int) {
        if workload == "write-small" {
            let message = [UInt8](repeating: 97, count: 63) + [10]
            for i in 0..<count {
                stream.queueWrite(message)
                if i % 4096 == 4095 { try await stream.flush() }  // bound the queue
            }
            try await stream.flush()
        } else {
            let block = [UInt8](repeating: 98, count: 1 << 20)
            for _ in 0..<count { try await stream.write(block) }
        }
        return (count, 0)
    }

    static func pipeLines(loop: IOLoop, count: Int, form: Form) async throws -> (count: Int, scanned: Int) {
        let (reader, writer) = try PipeIOStream.makePipe(loop: loop)
        let fd = writer.fileno()
        // A plain thread writes the lines with write(2), so only the reader is measured.
        let feeder = PipeFeeder(fd: fd, count: count)
        feeder.start()
        writer.close()  // the feeder holds its own descriptor
        var n = 0
        do {
            while true {
                switch form {
                case .copying: n += try await reader.readUntil([10]).isEmpty ? 0 : 1
                case .borrowing: n += try await reader.readUntil([10]) { $0.count > 0 ? 1 : 0 }
                case .owned: n += try await reader.readFrame(until: [10]).isEmpty ? 0 : 1
                }
            }
        } catch is StreamClosedError {}
        return (n, reader.bytesScanned)
    }
}
