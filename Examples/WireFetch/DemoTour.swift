import Foundation
import WireHTTP
import Wirestream

/// `wire-fetch` with no URL: the client against an embedded server, one feature per step.
enum DemoTour {
    static func run() async throws {
        let server = try await DemoServer(loop: .shared)
        defer { server.close() }
        print("No URL given: a tour against the embedded server at \(server.url)\n")
        var configuration = HTTPClientConfiguration()
        configuration.totalTimeout = .seconds(30)
        let client = HTTPClient(configuration: configuration)

        let page = try await client.get(server.url + "/")
        print("GET /              → \(page.status) \(page.head.reason), \(page.headers["Content-Type"] ?? "?"), \(page.body.count) bytes")
        print(page.text.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))

        let redirected = try await client.get(server.url + "/redirect")
        print("GET /redirect      → \(redirected.status) after \(redirected.redirects) redirect, now at \(redirected.url)")

        let compressed = try await client.get(server.url + "/compressed")
        let raw = try await HTTPClient(configuration: { var plain = configuration; plain.decompress = false; return plain }())
            .execute(try HTTPRequest(url: server.url + "/compressed", headers: ["Accept-Encoding": "gzip"]))
        print("GET /compressed    → \(compressed.status), Content-Encoding \(compressed.headers["Content-Encoding"] ?? "none"): \(raw.body.count) bytes on the wire, \(compressed.body.count) decoded")

        let missing = try await client.get(server.url + "/missing")
        print("GET /missing       → \(missing.status) (wire-fetch -f would exit 22)")

        let path = NSTemporaryDirectory() + "wire-fetch-demo-\(getpid()).bin"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let progress = ProgressBar.make(silent: false)
        let started = ContinuousClock.now
        var received = 0
        let head = try await client.download(try HTTPRequest(url: server.url + "/download.bin"), to: path) { bytes, expected in
            received = bytes
            progress?.update(received: bytes, expected: expected)
        }
        progress?.finish(received: received, expected: DemoServer.downloadSize)
        let elapsed = ContinuousClock.now - started
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("GET /download.bin  → \(head.status), \(ProgressBar.size(size)) written to a file in \(String(format: "%.2f", seconds)) s (\(ProgressBar.size(Int(Double(size) / max(seconds, 0.000001))))/s), constant memory")
        guard size == DemoServer.downloadSize else { throw ExitCodeError(message: "the download is \(size) bytes, not \(DemoServer.downloadSize)") }
        print("\nNext: wire-fetch --help (curl's options: -o, -L, -H, -d, -I, -f, -k, --cacert, --max-time, -w …)")
    }
}

struct ExitCodeError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
