import Wirestream

/// A tiny HTTP/1.0 server on 127.0.0.1 (a free port) that answers every request with one page,
/// so the example has something to fetch on a machine with no network.
final class EmbeddedServer {
    let listener: TCPListener
    var port: Int { listener.port }

    init(loop: IOLoop) throws {
        listener = try TCPListener(host: "127.0.0.1", port: 0, loop: loop)
        try listener.start { stream in
            stream.readUntil(Array("\r\n\r\n".utf8), maxBytes: 65_536) { result in
                guard case .success(let request) = result else { return stream.close() }
                let requestLine = String(decoding: request.prefix { $0 != 13 }, as: UTF8.self)
                let body = "Hello from Wirestream's embedded server.\nYou asked: \(requestLine)\n"
                let response = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                stream.write(Array(response.utf8)) { _ in stream.close() }
            }
        }
    }

    func close() { listener.close() }
}
