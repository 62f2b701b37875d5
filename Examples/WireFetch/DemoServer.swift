import Wirestream

/// What `wire-fetch` with no URL fetches: a small HTTP/1.0 server on 127.0.0.1 (a free port), so
/// the example shows the client working with no outside service.
///
/// | path | answer |
/// |---|---|
/// | `/` | a small HTML page |
/// | `/redirect` | 302 → `/` |
/// | `/compressed` | a text page, gzip'd (`Content-Encoding: gzip`) |
/// | `/download.bin` | 8 MiB of bytes with a Content-Length, sent in 64 KiB pieces |
final class DemoServer: Sendable {
    let listener: TCPListener
    var port: Int { listener.port }
    var url: String { "http://127.0.0.1:\(port)" }

    static let downloadSize = 8 << 20
    static let page = Array("<!doctype html>\n<title>wire-fetch</title>\n<h1>Hello from the embedded server</h1>\n".utf8)
    static let text = Array(String(repeating: "Wirestream decodes gzip while it reads. ", count: 200).utf8)

    init(loop: IOLoop) async throws {
        listener = try TCPListener(host: "127.0.0.1", port: 0, loop: loop)
        let listener = self.listener
        let compressed = Gzip.compress(Self.text)
        Task(executorPreference: loop) {
            while let stream = try? await listener.accept() {
                Task(executorPreference: loop) { await Self.answer(stream, compressed: compressed) }
            }
        }
    }

    private static func answer(_ stream: IOStream, compressed: [UInt8]) async {
        defer { stream.close() }
        guard let head = try? await stream.readUntil(Array("\r\n\r\n".utf8), maxBytes: 65_536) else { return }
        let requestLine = head.prefix { $0 != 13 }.split(separator: UInt8(ascii: " "))
        let path = requestLine.count > 1 ? String(decoding: requestLine[1], as: UTF8.self) : "/"
        let isHead = requestLine.first.map { String(decoding: $0, as: UTF8.self) } == "HEAD"
        func respond(_ status: String, _ headers: [String], _ body: [UInt8]) async {
            let head = (["HTTP/1.0 \(status)", "Server: wire-fetch demo"] + headers + ["Content-Length: \(body.count)", "", ""]).joined(separator: "\r\n")
            try? await stream.write(Array(head.utf8) + (isHead ? [] : body))
        }
        switch path {
        case "/": await respond("200 OK", ["Content-Type: text/html"], page)
        case "/redirect": await respond("302 Found", ["Location: /"], [])
        case "/compressed": await respond("200 OK", ["Content-Type: text/plain", "Content-Encoding: gzip"], compressed)
        case "/download.bin":
            let head = "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: \(downloadSize)\r\n\r\n"
            guard (try? await stream.write(head)) != nil, !isHead else { return }
            let piece = (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            for _ in 0..<(downloadSize / piece.count) {
                guard (try? await stream.write(piece)) != nil else { return }
            }
        default: await respond("404 Not Found", ["Content-Type: text/plain"], Array("no such page\n".utf8))
        }
    }

    func close() { listener.close() }
}
