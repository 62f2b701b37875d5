import Foundation
import Logging
import Testing

@testable import Wirestream

/// Certificates generated once per test run with the `openssl` CLI, in a temporary directory:
///
/// | name | what |
/// |---|---|
/// | `ca` | a test CA |
/// | `foo` | leaf for `DNS:foo.example.com`, signed by `ca` |
/// | `ip` | leaf for `IP:127.0.0.1` and `DNS:localhost`, signed by `ca` |
/// | `selfSigned` | self-signed, `DNS:localhost`, `IP:127.0.0.1` |
/// | `client` | client certificate `CN=wirestream client`, signed by `ca` |
/// | `otherCA`, `strangerClient` | another CA and a client certificate it signed |
final class TLSFixtures: Sendable {
    static let shared: TLSFixtures = {
        do { return try TLSFixtures() } catch { fatalError("cannot generate test certificates: \(error)") }
    }()

    let directory: String

    func cert(_ name: String) -> String { "\(directory)/\(name).pem" }
    func key(_ name: String) -> String { "\(directory)/\(name).key" }

    private init() throws {
        directory = NSTemporaryDirectory() + "wirestream-tls-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try makeCA("ca", subject: "/CN=Wirestream Test CA")
        try makeCA("otherCA", subject: "/CN=Some Other CA")
        try makeLeaf("foo", subject: "/CN=foo.example.com", extensions: "subjectAltName=DNS:foo.example.com\nextendedKeyUsage=serverAuth", ca: "ca")
        try makeLeaf("ip", subject: "/CN=localhost", extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth", ca: "ca")
        try makeLeaf("client", subject: "/CN=wirestream client", extensions: "extendedKeyUsage=clientAuth", ca: "ca")
        try makeLeaf("strangerClient", subject: "/CN=stranger", extensions: "extendedKeyUsage=clientAuth", ca: "otherCA")
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key("selfSigned"), "-out", cert("selfSigned"), "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
    }

    private func makeCA(_ name: String, subject: String) throws {
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key(name), "-out", cert(name), "-days", "2", "-subj", subject,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    private func makeLeaf(_ name: String, subject: String, extensions: String, ca: String) throws {
        let csr = "\(directory)/\(name).csr"
        let extensionsFile = "\(directory)/\(name).ext"
        try (extensions + "\nbasicConstraints=CA:FALSE\n").write(toFile: extensionsFile, atomically: true, encoding: .utf8)
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key(name), "-out", csr, "-subj", subject,
        ])
        try openssl([
            "x509", "-req", "-in", csr, "-CA", cert(ca), "-CAkey", key(ca), "-CAcreateserial",
            "-out", cert(name), "-days", "2", "-extfile", extensionsFile,
        ])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TLSError(.configuration, reason: "openssl \(arguments.joined(separator: " ")) failed")
        }
    }

    // MARK: Contexts

    func serverContext(_ name: String, verifyClients: Bool = false, alpn: [String] = []) throws -> TLSContext {
        var configuration = TLSConfiguration.server(certificateChain: .file(cert(name)), privateKey: .file(key(name)))
        if verifyClients {
            configuration.verifyPeer = true
            configuration.trustRoots = .file(cert("ca"))
        }
        configuration.alpnProtocols = alpn
        return try TLSContext(configuration)
    }

    /// A client that trusts the test CA.
    func clientContext(
        checkHostname: Bool = true, clientCertificate: String? = nil, alpn: [String] = [],
        ignoreUnexpectedEOF: Bool = false, handshakeTimeout: Duration? = .seconds(10)
    ) throws -> TLSContext {
        var configuration = TLSConfiguration.client(trustRoots: .file(cert("ca")))
        configuration.checkHostname = checkHostname
        if let clientCertificate {
            configuration.certificateChain = .file(cert(clientCertificate))
            configuration.privateKey = .file(key(clientCertificate))
        }
        configuration.alpnProtocols = alpn
        configuration.ignoreUnexpectedEOF = ignoreUnexpectedEOF
        configuration.handshakeTimeout = handshakeTimeout
        return try TLSContext(configuration)
    }
}

/// A TLS pair over loopback: a client (trusting the test CA, checking `serverHostname`) and the
/// server side, both after the handshake.
func tlsPair(
    loop: IOLoop, server: TLSContext, client: TLSContext, serverHostname: String = "foo.example.com",
    serverMaxBufferSize: Int? = nil, serverReadChunkSize: Int? = nil, logger: Logger? = nil
) async throws -> (client: SSLIOStream, server: SSLIOStream) {
    let listener = try TCPListener(
        loop: loop, maxBufferSize: serverMaxBufferSize, readChunkSize: serverReadChunkSize, logger: logger)
    defer { listener.close() }
    let accepted = spawn(on: loop) { () -> UncheckedTransfer<SSLIOStream> in
        let plain = try await listener.accept()
        let upgraded = try await plain.startTLS(serverSide: true, context: server)
        return UncheckedTransfer(upgraded)
    }
    let stream = SSLIOStream(context: client, loop: loop)
    try await stream.connect(host: "127.0.0.1", port: listener.port, serverHostname: serverHostname)
    let serverStream = try await accepted.value.value
    return (stream, serverStream)
}
