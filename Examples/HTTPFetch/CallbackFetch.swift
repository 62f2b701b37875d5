import Wirestream

/// The callback-style port of Tornado's example:
///
/// ```python
/// def send_request():
///     stream.write(b"GET / HTTP/1.0\r\nHost: friendfeed.com\r\n\r\n")
///     stream.read_until(b"\r\n\r\n", on_headers)
/// def on_headers(data): ...; stream.read_bytes(int(headers[b"Content-Length"]), on_body)
/// def on_body(data): print(data); stream.close(); ioloop.IOLoop.current().stop()
/// stream.connect(("friendfeed.com", 80), send_request)
/// ```
struct CallbackFetch {
    let loop: IOLoop
    let target: FetchTarget

    func start() {
        let stream = IOStream(loop: loop)
        stream.connect(host: target.host, port: target.port) { result in
            guard case .success = result else { return fail(stream, result) }
            sendRequest(stream)
        }
    }

    private func sendRequest(_ stream: IOStream) {
        stream.queueWrite(target.request)
        stream.readUntil(Array("\r\n\r\n".utf8), maxBytes: 65_536) { result in
            guard case .success(let head) = result else { return fail(stream, result) }
            onHeaders(stream, head)
        }
    }

    private func onHeaders(_ stream: IOStream, _ head: [UInt8]) {
        let headers = parseHeaders(head)
        guard let length = headers["content-length"].flatMap({ Int($0) }) else {
            // No Content-Length: HTTP/1.0 delimits the body by the close.
            stream.readUntilClose { result in onBody(stream, result) }
            return
        }
        stream.readBytes(length) { result in onBody(stream, result) }
    }

    private func onBody(_ stream: IOStream, _ result: Result<[UInt8], any Error>) {
        switch result {
        case .success(let body): print(String(decoding: body, as: UTF8.self))
        case .failure(let error): print("error: \(error)")
        }
        stream.close()
        loop.stop()
    }

    private func fail<T>(_ stream: IOStream, _ result: Result<T, any Error>) {
        if case .failure(let error) = result { print("error: \(error)") }
        stream.close()
        loop.stop()
    }
}
