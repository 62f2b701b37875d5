import Wirestream

/// HTTP/1.0 requests, one connection each (as HTTP/1.0 does): the request is written by the
/// encoder generated from `http10.wire`, the response read by its parser.
public enum HTTPClient {
    /// Fetches `path` from `host:port` and returns the whole response (body at most 64 MiB).
    public static func get(
        host: String, port: Int = 80, path: String = "/", headers: [RequestHeader] = [], loop: IOLoop = .shared
    ) async throws -> Response {
        let stream = try await send(Request(method: "GET", target: path, headers: request(headers, host: host)), host: host, port: port, loop: loop)
        defer { stream.close() }
        return try await Response.read(from: stream)
    }

    /// Fetches `path`, handing the body to `chunks` as it arrives; returns the status line and headers.
    public static func get(
        host: String, port: Int = 80, path: String = "/", headers: [RequestHeader] = [], loop: IOLoop = .shared,
        chunks: (UnsafeRawBufferPointer) throws -> Void
    ) async throws -> ResponseHead {
        let stream = try await send(Request(method: "GET", target: path, headers: request(headers, host: host)), host: host, port: port, loop: loop)
        defer { stream.close() }
        return try await StreamedResponse.read(from: stream, chunks: chunks).head
    }

    private static func request(_ headers: [RequestHeader], host: String) -> [RequestHeader] {
        headers.contains { $0.name.lowercased() == "host" } ? headers : [RequestHeader(name: "Host", value: host)] + headers
    }

    private static func send(_ request: Request, host: String, port: Int, loop: IOLoop) async throws -> IOStream {
        let stream = IOStream(loop: loop)
        do {
            try await stream.connect(host: host, port: port)
            try stream.queueWrite(request)
            return stream
        } catch {
            stream.close()
            throw error
        }
    }
}
