import Foundation
import Testing
import Wirestream

/// Certificates for the HTTPS tests, made once per run with the `openssl` CLI: a CA, a server
/// leaf for `IP:127.0.0.1` and `DNS:localhost`, one for `DNS:foo.example.com` only, and a client
/// certificate, all signed by the CA; `expired` (the local names, signed by the CA, valid for one
/// day in 2020) and `selfSigned` (the local names, signed by nobody) for the hostile-peer matrix.
final class HTTPCertificates: Sendable {
    static let shared: HTTPCertificates = {
        do { return try HTTPCertificates() } catch { fatalError("cannot generate test certificates: \(error)") }
    }()

    let directory: String
    func cert(_ name: String) -> String { "\(directory)/\(name).pem" }
    func key(_ name: String) -> String { "\(directory)/\(name).key" }

    private init() throws {
        directory = NSTemporaryDirectory() + "wire-http-tls-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key("ca"), "-out", cert("ca"), "-days", "2", "-subj", "/CN=Wire HTTP Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        try leaf("local", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth")
        try leaf("foo", "/CN=foo.example.com", "subjectAltName=DNS:foo.example.com\nextendedKeyUsage=serverAuth")
        try leaf("client", "/CN=wire client", "extendedKeyUsage=clientAuth")
        try expiredLeaf()
        try Self.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key("selfSigned"), "-out", cert("selfSigned"), "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
    }

    /// `openssl x509` (3.0) cannot back-date a certificate; `openssl ca` can, with a minimal database.
    private func expiredLeaf() throws {
        let database = "\(directory)/ca-database"
        try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: true)
        try "".write(toFile: "\(database)/index.txt", atomically: true, encoding: .utf8)
        try "01\n".write(toFile: "\(database)/serial", atomically: true, encoding: .utf8)
        try """
            [ ca ]
            default_ca = test
            [ test ]
            database = \(database)/index.txt
            new_certs_dir = \(database)
            serial = \(database)/serial
            default_md = sha256
            policy = anything
            [ anything ]
            commonName = supplied

            """.write(toFile: "\(database)/ca.cnf", atomically: true, encoding: .utf8)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
            .write(toFile: "\(directory)/expired.ext", atomically: true, encoding: .utf8)
        try Self.openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key("expired"), "-out", "\(directory)/expired.csr", "-subj", "/CN=localhost",
        ])
        try Self.openssl([
            "ca", "-batch", "-config", "\(database)/ca.cnf", "-cert", cert("ca"), "-keyfile", key("ca"),
            "-in", "\(directory)/expired.csr", "-out", cert("expired"), "-notext",
            "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-extfile", "\(directory)/expired.ext",
        ])
    }

    private func leaf(_ name: String, _ subject: String, _ extensions: String) throws {
        let extensionsFile = "\(directory)/\(name).ext"
        try (extensions + "\nbasicConstraints=CA:FALSE\n").write(toFile: extensionsFile, atomically: true, encoding: .utf8)
        try Self.openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key(name), "-out", "\(directory)/\(name).csr", "-subj", subject,
        ])
        try Self.openssl([
            "x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", cert("ca"), "-CAkey", key("ca"),
            "-CAcreateserial", "-out", cert(name), "-days", "2", "-extfile", extensionsFile,
        ])
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ServerDidNotStart(executable: "openssl \(arguments[0])") }
    }
}

/// Debian's nginx on two free loopback ports, HTTP and HTTPS (the `local` certificate), serving
/// `files` from a fresh folder with gzip on and a few redirects:
///
/// | path | answer |
/// |---|---|
/// | `/redirect` | 302 → `/index.html` |
/// | `/moved` | 301 → `http://127.0.0.1:PORT/redirect` (absolute, then relative) |
/// | `/loop` | 302 → `/loop` |
/// | `/chainN` (N ≤ 9) | 302 → `/chain(N-1)`, … `/chain0` → `/index.html` |
final class NginxServer {
    let process: ServerProcess
    let folder: URL
    let tlsPort: Int
    var port: Int { process.port }
    var url: String { "http://127.0.0.1:\(port)" }
    var tlsURL: String { "https://127.0.0.1:\(tlsPort)" }

    init(files: [String: [UInt8]]) throws {
        let nginx = try #require(ServerProcess.locate("nginx"), "nginx is installed by .ci/run")
        let certificates = HTTPCertificates.shared
        folder = FileManager.default.temporaryDirectory.appending(path: "wire-nginx-\(UUID().uuidString)")
        let root = folder.appending(path: "root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (name, contents) in files { try Data(contents).write(to: root.appending(path: name)) }
        let tlsPort = try ServerProcess.freePort()
        self.tlsPort = tlsPort
        let folder = self.folder
        process = try ServerProcess(nginx, arguments: { port in
            let temp = folder.path
            let config = """
                daemon off;
                master_process off;
                worker_processes 1;
                pid \(temp)/nginx.pid;
                error_log \(temp)/error.log;
                events { worker_connections 128; }
                http {
                  access_log off;
                  client_body_temp_path \(temp)/body; proxy_temp_path \(temp)/proxy;
                  fastcgi_temp_path \(temp)/fastcgi; uwsgi_temp_path \(temp)/uwsgi; scgi_temp_path \(temp)/scgi;
                  types { text/html html; text/plain txt; application/octet-stream bin; }
                  gzip on; gzip_types text/plain; gzip_min_length 20; gzip_http_version 1.0;
                  keepalive_requests 1000;
                  server {
                    listen 127.0.0.1:\(port);
                    listen 127.0.0.1:\(tlsPort) ssl;
                    ssl_certificate \(certificates.cert("local"));
                    ssl_certificate_key \(certificates.key("local"));
                    root \(root.path);
                    location = /redirect { return 302 /index.html; }
                    location = /moved { return 301 http://127.0.0.1:\(port)/redirect; }
                    location = /loop { return 302 /loop; }
                    location = /chain0 { return 302 /index.html; }
                    \((1...9).map { "location = /chain\($0) { return 302 /chain\($0 - 1); }" }.joined(separator: "\n"))
                  }
                }
                """
            try? config.write(to: folder.appending(path: "nginx.conf"), atomically: true, encoding: .utf8)
            return ["-p", temp, "-c", folder.appending(path: "nginx.conf").path, "-e", "\(temp)/error.log"]
        })
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: folder)
    }
}
