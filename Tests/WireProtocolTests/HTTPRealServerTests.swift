import Foundation
import Testing
import WireHTTP
import Wirestream

/// HTTPClient against real servers started by the tests: Debian's nginx (HTTP and HTTPS, gzip,
/// redirects, a large file, HEAD, keep-alive), `python3 -m http.server`, and `openssl s_server`
/// for TLS verification and client certificates.
@Suite(.serialized) struct HTTPRealServerTests {
    static let page = Array("<h1>hello from nginx</h1>\n".utf8)
    static let text = Array(String(repeating: "compressible text, said the server. ", count: 400).utf8)
    static let large = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }

    static func nginx() throws -> NginxServer {
        try NginxServer(files: ["index.html": page, "text.txt": text, "large.bin": large])
    }

    static func client(_ change: (inout HTTPClientConfiguration) -> Void = { _ in }) -> HTTPClient {
        var configuration = HTTPClientConfiguration()
        configuration.totalTimeout = .seconds(30)
        configuration.tls.trustRoots = .file(HTTPCertificates.shared.cert("ca"))
        change(&configuration)
        return HTTPClient(configuration: configuration)
    }

    // MARK: nginx

    @Test func nginxOverHTTPAndHTTPS() async throws {
        let nginx = try Self.nginx()
        defer { nginx.stop() }
        let client = Self.client()
        for base in [nginx.url, nginx.tlsURL] {
            let response = try await client.get(base + "/index.html")
            #expect(response.status == 200)
            #expect(response.body == Self.page)
            #expect(response.headers["Content-Type"] == "text/html")
            let missing = try await client.get(base + "/missing")
            #expect(missing.status == 404)
        }
        // Verified by name as well as by address.
        let byName = try await client.get("https://localhost:\(nginx.tlsPort)/index.html")
        #expect(byName.body == Self.page)
        await expectNoConnections(toPort: nginx.port)
        await expectNoConnections(toPort: nginx.tlsPort)
    }

    @Test func gzipIsDecodedWhileReading() async throws {
        let nginx = try Self.nginx()
        defer { nginx.stop() }
        let decoded = try await Self.client().get(nginx.url + "/text.txt")
        #expect(decoded.headers["Content-Encoding"] == "gzip")
        #expect(decoded.body == Self.text)
        let raw = try await Self.client { $0.decompress = false }.get(nginx.url + "/text.txt")
        #expect(raw.headers["Content-Encoding"] == nil)  // not asked for, not sent
        #expect(raw.body == Self.text)
        let tls = try await Self.client().get(nginx.tlsURL + "/text.txt")
        #expect(tls.body == Self.text)
    }

    @Test func redirectsAreFollowedAndBounded() async throws {
        let nginx = try Self.nginx()
        defer { nginx.stop() }
        let client = Self.client()
        let relative = try await client.get(nginx.url + "/redirect")
        #expect(relative.body == Self.page)
        #expect(relative.redirects == 1)
        #expect(relative.url.target == "/index.html")
        let absolute = try await client.get(nginx.url + "/moved")
        #expect(absolute.body == Self.page && absolute.redirects == 2)
        let five = try await client.get(nginx.url + "/chain4")
        #expect(five.redirects == 5)
        await #expect { try await client.get(nginx.url + "/chain5") } throws: { ($0 as? HTTPError)?.kind == .tooManyRedirects(5) }
        await #expect { try await client.get(nginx.url + "/loop") } throws: {
            ($0 as? HTTPError)?.kind == .redirectLoop("http://127.0.0.1:\(nginx.port)/loop")
        }
        let unfollowed = try await Self.client { $0.followRedirects = false }.get(nginx.url + "/redirect")
        #expect(unfollowed.status == 302)
        #expect(unfollowed.headers["Location"] == "http://127.0.0.1:\(nginx.port)/index.html")
    }

    @Test func headHasNoBodyWhateverItsLength() async throws {
        let nginx = try Self.nginx()
        defer { nginx.stop() }
        let response = try await Self.client().execute(try HTTPRequest(method: .head, url: nginx.url + "/large.bin"))
        #expect(response.status == 200)
        #expect(response.headers["Content-Length"] == "\(Self.large.count)")
        #expect(response.body.isEmpty)
    }

    @Test func aLargeFileStreamedAndDownloaded() async throws {
        let nginx = try Self.nginx()
        defer { nginx.stop() }
        let client = Self.client()
        var received: [UInt8] = []
        received.reserveCapacity(Self.large.count)
        var largestPiece = 0
        var expected: Int?
        try await client.execute(try HTTPRequest(url: nginx.tlsURL + "/large.bin")) { response in
            expected = response.body.expectedLength
            for try await piece in response.body {
                received += piece
                largestPiece = max(largestPiece, piece.count)
            }
        }
        #expect(expected == Self.large.count)
        #expect(received == Self.large)
        #expect(largestPiece <= 65_536)
        // The whole-body form refuses it over its limit, before reading it.
        let limited = Self.client { $0.maxBodyBytes = 1 << 20 }
        await #expect { try await limited.get(nginx.url + "/large.bin") } throws: { ($0 as? HTTPError)?.kind == .bodyTooLarge(limit: 1 << 20) }

        let path = NSTemporaryDirectory() + "wire-download-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var reports = 0
        let head = try await client.download(try HTTPRequest(url: nginx.url + "/large.bin"), to: path) { received, expected in
            #expect(expected == Self.large.count && received <= Self.large.count)
            reports += 1
        }
        #expect(head.status == 200)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(Self.large))
        #expect(reports >= Self.large.count / 65_536)
    }

    @Test func keepAliveReusesOneConnectionPerHost() async throws {
        let nginx = try Self.nginx()
        defer { nginx.stop() }
        let client = Self.client { $0.keepAlive = .init(maxConnectionsPerHost: 2, idleTimeout: .seconds(30)) }
        for _ in 0..<20 {
            #expect(try await client.get(nginx.url + "/index.html").body == Self.page)
            #expect(try await client.get(nginx.tlsURL + "/text.txt").body == Self.text)
        }
        #expect(openConnections(toPort: nginx.port) == 1)
        #expect(openConnections(toPort: nginx.tlsPort) == 1)
        client.shutdown()
        await expectNoConnections(toPort: nginx.port)
        await expectNoConnections(toPort: nginx.tlsPort)
    }

    // MARK: python3 -m http.server

    @Test func pythonHTTPServer() async throws {
        let python = try #require(ServerProcess.locate("python3"), "python3 is installed by .ci/run")
        let folder = FileManager.default.temporaryDirectory.appending(path: "wire-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let body = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try Data(body).write(to: folder.appending(path: "data.bin"))
        let server = try ServerProcess(python, arguments: { ["-m", "http.server", "--bind", "127.0.0.1", "\($0)"] }, directory: folder)
        defer {
            server.stop()
            try? FileManager.default.removeItem(at: folder)
        }
        let client = Self.client()
        let whole = try await client.get("http://127.0.0.1:\(server.port)/data.bin")
        #expect(whole.status == 200 && whole.body == body)
        let missing = try await client.get("http://127.0.0.1:\(server.port)/nope")
        #expect(missing.status == 404 && missing.text.contains("File not found"))
        // A folder without its slash: python answers 301 to "/sub/", followed.
        try FileManager.default.createDirectory(at: folder.appending(path: "sub"), withIntermediateDirectories: true)
        let listing = try await client.get("http://127.0.0.1:\(server.port)/sub")
        #expect(listing.status == 200 && listing.redirects == 1 && listing.url.target == "/sub/")
        await expectNoConnections(toPort: server.port)
    }

    // MARK: TLS edge cases with openssl s_server

    static func sServer(_ certificate: String, extra: [String] = []) throws -> ServerProcess {
        let certificates = HTTPCertificates.shared
        return try ServerProcess("/usr/bin/openssl", arguments: {
            ["s_server", "-accept", "127.0.0.1:\($0)", "-cert", certificates.cert(certificate), "-key", certificates.key(certificate), "-www", "-quiet"] + extra
        })
    }

    @Test func verificationIsOnByDefault() async throws {
        let server = try Self.sServer("local")
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/"
        // The system store does not know the test CA.
        await #expect { try await HTTPClient().get(url) } throws: { error in
            guard case .tlsFailed(_, let verification) = (error as? HTTPError)?.kind else { return false }
            return verification
        }
        // With the CA: a page from s_server -www (HTTP/1.0, read until close_notify).
        let trusted = try await Self.client().get(url)
        #expect(trusted.status == 200 && trusted.text.contains("s_server"))
        // Insecure mode accepts anything.
        var insecure = HTTPClientConfiguration()
        insecure.disableCertificateVerification()
        #expect(try await HTTPClient(configuration: insecure).get(url).status == 200)
    }

    @Test func aCertificateForAnotherNameIsRefused() async throws {
        let server = try Self.sServer("foo")
        defer { server.stop() }
        await #expect { try await Self.client().get("https://127.0.0.1:\(server.port)/") } throws: { error in
            guard case .tlsFailed(_, let verification) = (error as? HTTPError)?.kind else { return false }
            return verification
        }
    }

    @Test func aClientCertificateWhenTheServerAsksForOne() async throws {
        let certificates = HTTPCertificates.shared
        let server = try Self.sServer("local", extra: ["-Verify", "1", "-CAfile", certificates.cert("ca")])
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/"
        let withCertificate = Self.client {
            $0.tls.certificateChain = .file(certificates.cert("client"))
            $0.tls.privateKey = .file(certificates.key("client"))
        }
        let response = try await withCertificate.get(url)
        #expect(response.status == 200)
        await #expect(throws: HTTPError.self) { try await Self.client().get(url) }
    }
}
