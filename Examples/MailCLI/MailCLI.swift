import ArgumentParser
import Glibc
import WireSMTP
import Wirestream

/// `wire-mail --from A --to B [--to C]… [--host H] [--port P] [--starttls|--tls|--plain]
/// [--auth USER:PASSWORD] [--cafile F] [FILE]`: sends the message in FILE (or standard input)
/// through an SMTP server with `SMTPClient`, and prints the server's final reply.
@main
struct MailCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire-mail", abstract: "Send a message (RFC 5322, headers included) through an SMTP server.")

    enum Security: String, ExpressibleByArgument, CaseIterable {
        case starttls, tls, plain
    }

    @Option(help: "SMTP server host.") var host = "127.0.0.1"
    @Option(help: "SMTP server port (25, 587 with STARTTLS, 465 with TLS).") var port = 25
    @Option(help: "starttls (required, the default), tls (from the first byte) or plain.") var security = Security.starttls
    @Option(help: "USER:PASSWORD for AUTH (PLAIN, or LOGIN if that is all the server offers).") var auth: String?
    @Option(help: "A PEM file of the CA certificates to trust instead of the system's.") var cafile: String?
    @Option(help: "The name this client gives in EHLO.") var clientName = "localhost"
    @Option(help: "The envelope sender.") var from: String
    @Option(help: "An envelope recipient; repeat for several.") var to: [String]
    @Option(help: "Seconds to wait for each reply.") var timeout: Double = 60
    @Argument(help: "The message file (default: standard input).") var file: String?

    func run() async throws {
        guard !to.isEmpty else { throw ValidationError("at least one --to is needed") }
        var configuration = SMTPConfiguration(host: host, port: port)
        configuration.clientName = clientName
        configuration.security = switch security {
        case .starttls: .startTLS
        case .tls: .tls
        case .plain: .none
        }
        if let cafile { configuration.tls.trustRoots = .file(cafile) }
        if let auth {
            guard let colon = auth.firstIndex(of: ":") else { throw ValidationError("--auth must be USER:PASSWORD") }
            configuration.credentials = (String(auth[..<colon]), String(auth[auth.index(after: colon)...]))
        }
        configuration.commandTimeout = .milliseconds(Int(timeout * 1000))
        configuration.connectTimeout = .milliseconds(Int(timeout * 1000))
        let message = try file.map(Self.read) ?? Self.readStandardInput()
        let mail = try await SMTPClient.connect(configuration)
        defer { mail.close() }
        let reply = try await mail.send(from: from, to: to, message: message)
        print("\(reply.code) \(reply.texts.joined(separator: " "))")
        try await mail.quit()
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let handle = fopen(path, "rb") else { throw ValidationError("cannot open \(path)") }
        defer { fclose(handle) }
        return readAll(handle)
    }

    static func readStandardInput() -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = Glibc.read(STDIN_FILENO, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }

    private static func readAll(_ handle: UnsafeMutablePointer<FILE>) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, handle)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }
}
