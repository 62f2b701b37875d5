import Foundation
import Testing
import WireRedis
import Wirestream

/// RedisClient over TLS to redis-server's own `tls-port`, with a certificate made for this run.
@Suite(.serialized)
struct RedisTLSTests {
    /// A self-signed certificate for 127.0.0.1 and its key, in a fresh temporary folder.
    static func selfSignedCertificate() throws -> (certificate: String, key: String) {
        let folder = NSTemporaryDirectory() + "wirestream-redis-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (certificate, key) = ("\(folder)/redis.pem", "\(folder)/redis.key")
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-keyout", key, "-out", certificate, "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)
        return (certificate, key)
    }

    static func startTLSRedis(_ files: (certificate: String, key: String)) throws -> ServerProcess {
        try RedisClientTests.startRedis([
            "--tls-port", "PORT", "--tls-cert-file", files.certificate, "--tls-key-file", files.key,
            "--tls-ca-cert-file", files.certificate, "--tls-auth-clients", "no",
        ], tlsOnly: true)
    }

    @Test func connectsOverTLSVerifyingTheServerCertificate() async throws {
        let files = try Self.selfSignedCertificate()
        let server = try Self.startTLSRedis(files)
        defer { server.stop() }
        var configuration = try RedisConfiguration(url: "rediss://127.0.0.1:\(server.port)")
        configuration.tls?.trustRoots = .file(files.certificate)
        let redis = try await RedisClient.connect(configuration)
        defer { redis.close() }
        #expect(try await redis.send("SET", "secret", "kept") == .simple("OK"))
        #expect(try await redis.send("GET", "secret").string == "kept")
        let tls = try #require(redis.stream as? SSLIOStream)
        #expect(tls.tlsVersion == "TLSv1.3")
    }

    @Test func anUntrustedCertificateIsRefusedByDefault() async throws {
        let files = try Self.selfSignedCertificate()
        let server = try Self.startTLSRedis(files)
        defer { server.stop() }
        let configuration = try RedisConfiguration(url: "rediss://127.0.0.1:\(server.port)")  // system trust store
        do {
            _ = try await RedisClient.connect(configuration)
            Issue.record("a self-signed certificate must not verify against the system store")
        } catch let closed as StreamClosedError {
            #expect((closed.realError as? TLSError)?.kind == .verification)
        }
    }
}

@Suite(.serialized)
struct RedisUnixSocketTests {
    @Test func connectsOverAUnixSocketFromAURL() async throws {
        let path = NSTemporaryDirectory() + "wirestream-redis-\(getpid()).sock"
        let server = try RedisClientTests.startRedis(["--unixsocket", path, "--unixsocketperm", "700"])
        defer {
            server.stop()
            try? FileManager.default.removeItem(atPath: path)
        }
        let redis = try await RedisClient.connect(try RedisConfiguration(url: "unix://\(path)?db=2"))
        defer { redis.close() }
        #expect(redis.stream is IOStream)
        #expect((redis.stream as? IOStream)?.remoteAddress?.unixPath == path)
        let info = try await redis.send("CLIENT", "INFO").string ?? ""
        #expect(info.contains("db=2"))
        #expect(info.contains("addr=\(path)") || info.contains("laddr=\(path)"))
    }

    @Test func unixURLsAndAddresses() throws {
        let configuration = try RedisConfiguration(url: "unix://:pw@/var/run/redis.sock?db=4")
        #expect(configuration.unixSocketPath == "/var/run/redis.sock")
        #expect(configuration.password == "pw" && configuration.database == 4)
        #expect(throws: RedisURLError.self) { try RedisConfiguration(url: "unix://relative.sock") }
        #expect(throws: RedisURLError.self) { try RedisConfiguration(url: "unix:///x.sock?timeout=1") }
        #expect(SocketAddress(unixPath: "/tmp/a.sock")?.description == "unix:/tmp/a.sock")
        #expect(SocketAddress(unixPath: String(repeating: "x", count: 200)) == nil)
        #expect(SocketAddress(unixPath: "") == nil)
    }
}
