import Synchronization
import WireClient
import Wirestream

/// One connection to a server: it writes requests with the grammar's `RequestHead` encoder and
/// reads response heads with its `ResponseHead` parser. Used by one request at a time (HTTP/1.0:
/// one request, then closed; keep-alive: lent by the host's pool).
final class HTTPConnection: PoolableConnection {
    let stream: IOStream
    let origin: Origin
    /// Requests sent on this connection, so a failure on a reused one can be retried.
    private let requestsSent = Atomic<Int>(0)

    /// Scheme, host and port: what a connection can be reused for.
    struct Origin: Hashable, Sendable {
        let scheme: HTTPURL.Scheme
        let host: String
        let port: Int

        init(_ url: HTTPURL) {
            scheme = url.scheme
            host = url.host.lowercased()
            port = url.port
        }
    }

    private init(stream: IOStream, origin: Origin) {
        self.stream = stream
        self.origin = origin
    }

    /// Connects (and for https, completes a verified TLS handshake) within `connectTimeout`.
    static func open(
        to url: HTTPURL, configuration: HTTPClientConfiguration, tls: () throws -> TLSContext, loop: IOLoop
    ) async throws -> HTTPConnection {
        let stream = url.scheme == .https ? SSLIOStream(context: try tls(), loop: loop) : IOStream(loop: loop)
        stream.setIdleTimeout(configuration.idleTimeout)
        do {
            try await stream.connect(host: url.host, port: url.port, timeout: configuration.connectTimeout)
            if let tlsStream = stream as? SSLIOStream { try await tlsStream.waitForHandshake() }
        } catch {
            stream.close()
            throw HTTPError.translating(error, during: .connecting(host: url.host))
        }
        return HTTPConnection(stream: stream, origin: Origin(url))
    }

    /// True once this connection has carried a request before the current one.
    var isReused: Bool { requestsSent.load(ordering: .relaxed) > 1 }

    var isClosed: Bool { stream.isClosed }

    func close() { stream.close() }

    /// Nothing to prove: a connection the server closed while idle fails its next request before
    /// any response byte, and the client retries that on a new connection.
    func checkHealth() async throws {}

    // MARK: One exchange

    /// Writes the request head and body.
    func send(_ head: RequestHead, body: HTTPRequestBody?) async throws {
        requestsSent.add(1, ordering: .relaxed)
        do {
            let encoded = try head.encoded()
            switch body {
            case nil:
                // Handed to the kernel now but not awaited: a failed write closes the stream, and
                // the head read that follows reports it (one suspension less per request). Not
                // left to that read to flush: the server starts while the read is set up.
                stream.queueWrite(encoded)
                stream.flush { _ in }
            case .bytes(let bytes):
                stream.queueWrite(encoded)
                try await writeBody(bytes)
            case .file(let path):
                // The size was read for Content-Length; a file that changes meanwhile must not
                // send a different count (the server would read the rest as the next request).
                let declared = try FileReader.size(of: path)
                stream.queueWrite(encoded)
                var sent = 0
                try await FileReader.forEachPiece(of: path) { piece in
                    sent += piece.count
                    guard sent <= declared else { throw HTTPError(.requestBodyLength(declared: declared, sent: sent)) }
                    try await writeBody(piece)
                }
                guard sent == declared else { throw HTTPError(.requestBodyLength(declared: declared, sent: sent)) }
            case .stream(let declared, let chunks):
                stream.queueWrite(encoded)
                var sent = 0
                for try await chunk in chunks() {
                    sent += chunk.count
                    guard sent <= declared else { throw HTTPError(.requestBodyLength(declared: declared, sent: sent)) }
                    try await writeBody(chunk)
                }
                guard sent == declared else { throw HTTPError(.requestBodyLength(declared: declared, sent: sent)) }
            }
        } catch let error as HTTPError {
            throw error
        } catch let error as WireEncodingError {
            throw HTTPError(.invalidRequestHeader(name: "\(error.field): \(error.reason)"), underlying: error)
        } catch {
            throw HTTPError.translating(error, during: .awaitingResponse)
        }
    }

    /// Hands body bytes to the kernel 64 KiB at a time (a large body never outgrows the write
    /// buffer), each piece within the idle timeout: the stream's idle timeout bounds reads only,
    /// and a server that never reads an upload would otherwise hold a request without a total
    /// timeout forever. Fails with `TimeoutError(.idle)`, or the request's own deadline error.
    private func writeBody(_ bytes: [UInt8]) async throws {
        var start = 0
        repeat {
            let piece = bytes[start..<min(start + 65_536, bytes.count)]
            start = piece.endIndex
            guard let idle = stream.idleTimeout else {
                try await stream.write(piece)
                continue
            }
            do {
                try await stream.withDeadline(idle) { try await stream.write(piece) }
            } catch let timeout as TimeoutError where timeout.operation == .deadline {
                if let deadline = stream.deadline, deadline.hasPassed { throw timeout }  // the request's total timeout
                throw TimeoutError(.idle, timeout: idle)
            }
        } while start < bytes.count
    }

    /// Reads the final response head (interim 1xx responses are skipped), checked.
    func readHead(maxHeaderBytes: Int, maxHeaderCount: Int) async throws -> HTTPResponseHead {
        var budget = maxHeaderBytes
        while true {
            let source = LimitedByteSource(stream, limit: budget)
            let parsed: ResponseHead
            do {
                // The response's first bytes (at once if some are buffered), then the head parsed
                // in one synchronous pass if it is all there — it nearly always arrives at once;
                // parsed as it came, each header line was a parse of its own after the status
                // line's wait. A head still incomplete is read as it comes.
                try await source.peek(1) { _ in }
                parsed = try await ResponseHead.read(from: source)
            } catch let error as WireProtocolError {
                throw await headError(error)
            } catch let error as ByteLimitExceededError {
                throw HTTPError(.headersTooLarge(limit: maxHeaderBytes), underlying: error)
            } catch {
                throw HTTPError.translating(error, during: .awaitingResponse)
            }
            let head = try HTTPResponseHead(validating: parsed, maxHeaderCount: maxHeaderCount)
            guard (100..<200).contains(head.status), head.status != 101 else { return head }
            budget = max(0, budget - source.consumed)  // 100 Continue, 103 Early Hints: the real head follows
        }
    }

    /// What a parse failure of the head means: a broken status or header line (LF-only line ends
    /// told apart), too many lines, or a connection that ended early.
    private func headError(_ error: WireProtocolError) async -> HTTPError {
        switch error.kind {
        case .truncated:
            return HTTPError(.connectionClosedBeforeResponse, underlying: error)
        case .limitExceeded(let limit, _?) where error.message == "ResponseHead":
            return HTTPError(.tooManyHeaders(limit: limit), underlying: error)
        case .invalidValue(HeaderLine.loneLineFeed):
            return HTTPError(.bareLineFeed, underlying: error)
        default:
            break
        }
        // The failed read consumed nothing: the offending line is still buffered.
        let ahead = (try? await stream.peek(256) { [UInt8]($0) }) ?? []
        let line = ahead.firstIndex(of: 0x0a).map { Array(ahead[...$0]) } ?? ahead
        if line.last == 0x0a && (line.count < 2 || line[line.count - 2] != 0x0d) {
            return HTTPError(.bareLineFeed, underlying: error)
        }
        if error.message == "HeaderLine" {
            return HTTPError(.malformedHeaderLine(found: line), underlying: error)
        }
        return HTTPError(.malformedStatusLine(found: line), underlying: error)
    }
}
