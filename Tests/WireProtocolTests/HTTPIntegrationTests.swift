import Foundation
import Testing
import WireHTTP
import Wirestream

/// The HTTP/1.0 grammar reading real responses from `python3 -m http.server` started by the test.
@Suite(.serialized)
struct HTTPIntegrationTests {
    static func serve(_ files: [String: [UInt8]]) throws -> (ServerProcess, URL) {
        let folder = FileManager.default.temporaryDirectory.appending(path: "wire-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, contents) in files { try Data(contents).write(to: folder.appending(path: name)) }
        let python = try #require(ServerProcess.locate("python3"), "python3 is installed by .ci/run")
        let server = try ServerProcess(python, arguments: { ["-m", "http.server", "--bind", "127.0.0.1", "\($0)"] }, directory: folder)
        return (server, folder)
    }

    static func get(_ path: String, port: Int) async throws -> IOStream {
        let stream = try await connect(port: port)
        try stream.queueWrite(Request(method: "GET", target: path, headers: [RequestHeader(name: "Host", value: "127.0.0.1")]))
        return stream
    }

    @Test func readsRealResponses() async throws {
        let page = Array("<h1>hello from a real server</h1>\n".utf8)
        let (server, folder) = try Self.serve(["index.html": page])
        defer {
            server.stop()
            try? FileManager.default.removeItem(at: folder)
        }
        let ok = try await Self.get("/index.html", port: server.port)
        let response = try await Response.read(from: ok)
        #expect(response.head.status == 200)
        #expect(response.head.header("Content-Type") == "text/html")
        #expect(response.head.header("Content-Length") == "\(page.count)")
        #expect(response.body == page)
        ok.close()

        let missing = try await Self.get("/missing", port: server.port)
        let notFound = try await Response.read(from: missing)
        #expect(notFound.head.status == 404)
        #expect(String(decoding: notFound.body, as: UTF8.self).contains("File not found"))
        missing.close()
    }

    @Test func streamsALargeBody() async throws {
        let large = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let (server, folder) = try Self.serve(["large.bin": large])
        defer {
            server.stop()
            try? FileManager.default.removeItem(at: folder)
        }
        let stream = try await Self.get("/large.bin", port: server.port)
        defer { stream.close() }
        var received: [UInt8] = []
        received.reserveCapacity(large.count)
        var largestChunk = 0
        let response = try await StreamedResponse.read(from: stream) { chunk in
            received += chunk
            largestChunk = max(largestChunk, chunk.count)
        }
        #expect(response.head.status == 200)
        #expect(received == large)
        #expect(largestChunk <= 65_536)  // chunks, never the whole body at once
    }
}
