import Wirestream

/// The async/await port of Tornado's example:
///
/// ```python
/// stream = tornado.iostream.IOStream(socket.socket())
/// await stream.connect(("friendfeed.com", 80))
/// await stream.write(b"GET / HTTP/1.0\r\nHost: friendfeed.com\r\n\r\n")
/// header_data = await stream.read_until(b"\r\n\r\n")
/// ...
/// body_data = await stream.read_bytes(int(headers[b"Content-Length"]))
/// ```
func asyncFetch(loop: IOLoop, target: FetchTarget) async throws -> [UInt8] {
    let stream = IOStream(loop: loop)
    defer { stream.close() }
    try await stream.connect(host: target.host, port: target.port)
    try await stream.write(target.request)
    let head = try await stream.readUntil(Array("\r\n\r\n".utf8), maxBytes: 65_536)
    if let length = parseHeaders(head)["content-length"].flatMap({ Int($0) }) {
        return try await stream.readBytes(length)
    }
    return try await stream.readUntilClose()
}
