import ArgumentParser
import Foundation
import Wirestream

/// Fetches a URL over HTTP/1.0 with Wirestream — the Tornado `IOStream` documentation example,
/// ported twice: callback style (as in Tornado's old docs) and async/await (as in its current docs).
///
/// With no URL it serves a page itself on loopback and fetches that, so it runs anywhere.
@main
struct HTTPFetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-fetch",
        abstract: "Fetch a URL over HTTP/1.0 with Wirestream's IOStream (callback and async styles).")

    @Argument(help: "An http:// URL. Default: a page served by an embedded server on 127.0.0.1.")
    var url: String?

    @Option(help: "Which port of the example to run: callback, async or both.")
    var style: Style = .both

    enum Style: String, ExpressibleByArgument, CaseIterable {
        case callback, async, both
    }

    func run() throws {
        let loop = try IOLoop()
        var server: EmbeddedServer?
        let target: FetchTarget
        if let url {
            guard let parsed = FetchTarget(url: url) else {
                throw ValidationError("not an http:// URL: \(url)")
            }
            target = parsed
        } else {
            let embedded = try EmbeddedServer(loop: loop)
            server = embedded
            target = FetchTarget(host: "127.0.0.1", port: embedded.port, path: "/")
            print("No URL given: fetching from the embedded server at http://127.0.0.1:\(embedded.port)/")
        }

        if style != .async {
            print("--- callback style ---")
            CallbackFetch(loop: loop, target: target).start()
            loop.run()  // until the fetch stops the loop
        }
        if style != .callback {
            print("--- async style ---")
            let body = try loop.runSync { try await asyncFetch(loop: loop, target: target) }
            print(String(decoding: body, as: UTF8.self))
        }
        server?.close()
    }
}

/// Where to fetch from.
struct FetchTarget: Sendable {
    let host: String
    let port: Int
    let path: String

    init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    init?(url: String) {
        guard let components = URLComponents(string: url), components.scheme == "http",
            let host = components.host
        else { return nil }
        self.init(host: host, port: components.port ?? 80, path: components.path.isEmpty ? "/" : components.path)
    }

    var request: [UInt8] {
        Array("GET \(path) HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8)
    }
}

/// Splits a response head into header fields (names lower-cased).
func parseHeaders(_ head: [UInt8]) -> [String: String] {
    var headers: [String: String] = [:]
    for line in String(decoding: head, as: UTF8.self).split(separator: "\r\n").dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return headers
}
