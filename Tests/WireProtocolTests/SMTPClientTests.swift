import Foundation
import Testing
import WireClient
import WireSMTP
import Wirestream

/// `SMTPClient` against aiosmtpd (Debian's python3-aiosmtpd) with STARTTLS required and AUTH,
/// checking the delivered bytes on the server side.
@Suite struct SMTPClientTests {
    struct Server {
        let process: ServerProcess
        let folder: String
        let certificate: String

        var port: Int { process.port }

        /// The messages delivered so far, as the fixture wrote them.
        func delivered() throws -> [String] {
            let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".eml") }.sorted()
            return try names.map { try String(contentsOfFile: "\(folder)/\($0)", encoding: .utf8) }
        }
    }

    static func startServer() throws -> Server {
        let files = try RedisTLSTests.selfSignedCertificate()
        let folder = FileManager.default.temporaryDirectory.appending(path: "smtp-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "Fixtures/smtp_server.py").path
        // Debian's python3 (where python3-aiosmtpd installs), whatever python3 comes first on PATH.
        let process = try ServerProcess("/usr/bin/python3") { [script, "\($0)", files.certificate, files.key, folder] }
        return Server(process: process, folder: folder, certificate: files.certificate)
    }

    static func configuration(_ server: Server) -> SMTPConfiguration {
        var configuration = SMTPConfiguration(port: server.port)
        configuration.tls.trustRoots = .file(server.certificate)
        configuration.credentials = ("user", "secret")
        configuration.connectTimeout = .seconds(10)
        configuration.commandTimeout = .seconds(10)
        return configuration
    }

    static let message = "From: app@example.org\r\nTo: ada@example.org\r\nSubject: hi\r\n\r\n"
        + ".leading dot\r\n..two dots\r\nbare LF line\nlast line without end"

    @Test func startTLSAuthPlainAndTheDeliveredBytesAreTheMessage() async throws {
        let server = try Self.startServer()
        let mail = try await SMTPClient.connect(Self.configuration(server))
        #expect(mail.greeting?.code == 220)
        #expect(mail.isSecure)
        #expect(mail.extensions.contains { $0.hasPrefix("AUTH") })
        #expect(!mail.extensions.contains("STARTTLS"))  // offered before TLS, not after
        let final = try await mail.send(from: "app@example.org", to: ["ada@example.org", "bob@example.org"], message: Array(Self.message.utf8))
        #expect(final.code == 250 && final.texts == ["OK queued as 0000"])
        try await mail.quit()
        let delivered = try server.delivered()
        #expect(delivered == [
            "MAIL FROM:<app@example.org>\nRCPT TO:<ada@example.org>\nRCPT TO:<bob@example.org>\n\n"
                + "From: app@example.org\r\nTo: ada@example.org\r\nSubject: hi\r\n\r\n"
                + ".leading dot\r\n..two dots\r\nbare LF line\r\nlast line without end\r\n"
        ])
    }

    @Test func authLoginAndSeveralMessagesOnOneConnection() async throws {
        let server = try Self.startServer()
        var configuration = Self.configuration(server)
        configuration.mechanism = .login
        let mail = try await SMTPClient.connect(configuration)
        for index in 0..<3 {
            try await mail.send(from: "a@example.org", to: ["b@example.org"], message: Array("Subject: \(index)\r\n\r\nbody \(index)\r\n".utf8))
        }
        try await mail.quit()
        #expect(try server.delivered().count == 3)
    }

    @Test func concurrentSendsOnOneClientAreSerialisedIntoWholeTransactions() async throws {
        let server = try Self.startServer()
        let mail = try await SMTPClient.connect(Self.configuration(server))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<5 {
                group.addTask {
                    try await mail.send(from: "s\(index)@example.org", to: ["r\(index)@example.org"], message: Array("Subject: \(index)\r\n\r\nbody \(index)\r\n".utf8))
                }
            }
            try await group.waitForAll()
        }
        try await mail.quit()
        let delivered = try server.delivered()
        #expect(delivered.count == 5)
        for index in 0..<5 {  // each message arrived whole, with its own envelope
            #expect(delivered.contains("MAIL FROM:<s\(index)@example.org>\nRCPT TO:<r\(index)@example.org>\n\nSubject: \(index)\r\n\r\nbody \(index)\r\n"))
        }
    }

    @Test func wrongCredentialsAndARefusedRecipientAreTypedReplies() async throws {
        let server = try Self.startServer()
        var wrong = Self.configuration(server)
        wrong.credentials = ("user", "wrong")
        let refused = await #expect(throws: SMTPReplyError.self) { try await SMTPClient.connect(wrong) }
        #expect(refused?.code == 535 && refused?.command == "AUTH PLAIN" && refused?.isTransient == false)

        let mail = try await SMTPClient.connect(Self.configuration(server))
        let recipient = await #expect(throws: SMTPReplyError.self) {
            try await mail.send(from: "a@example.org", to: ["b@example.org", "reject@example.org"], message: Array("x\r\n".utf8))
        }
        #expect(recipient?.command == "RCPT TO" && recipient?.code == 550)
        try await mail.send(from: "a@example.org", to: ["c@example.org"], message: Array("after RSET\r\n".utf8))  // reset: usable
        try await mail.quit()
        #expect(try server.delivered().count == 1)
        #expect(try server.delivered().first?.hasPrefix("MAIL FROM:<a@example.org>\nRCPT TO:<c@example.org>\n\n") == true)
    }

    @Test func verificationIsOnAndPlainTextIsRefusedBeforeAnyCredential() async throws {
        let server = try Self.startServer()
        var untrusted = Self.configuration(server)
        untrusted.tls = .client()  // the system store does not know the test's certificate
        await #expect(throws: (any Error).self) { try await SMTPClient.connect(untrusted) }

        var plain = Self.configuration(server)
        plain.security = .none
        plain.credentials = nil  // aiosmtpd offers no AUTH before TLS
        let mail = try await SMTPClient.connect(plain)
        let refused = await #expect(throws: SMTPReplyError.self) {
            try await mail.send(from: "a@example.org", to: ["b@example.org"], message: Array("x\r\n".utf8))
        }
        #expect(refused?.code == 530 && refused?.command == "MAIL FROM")  // "Must issue a STARTTLS command first"
        mail.close()
        #expect(try server.delivered().isEmpty)
    }

    @Test func addressesThatWouldBreakTheCommandAreRefused() async throws {
        let server = try Self.startServer()
        let mail = try await SMTPClient.connect(Self.configuration(server))
        defer { mail.close() }
        for bad in ["a>b@example.org", "a@example.org\r\nRCPT TO:<x@y>", "a\n@b"] {
            await #expect(throws: WireEncodingError.self) { try await mail.send(from: bad, to: ["b@example.org"], message: []) }
            await #expect(throws: WireEncodingError.self) { try await mail.send(from: "a@example.org", to: [bad], message: []) }
        }
        try await mail.noop()
    }
}

/// SMTP servers scripted to misbehave.
@Suite struct SMTPHostileServerTests {
    /// Greets with `greeting`, answers EHLO with `ehlo`, then reads and never answers.
    static func serve(greeting: String, ehlo: String = "") throws -> TCPListener {
        let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: .shared)
        ProtocolClientTests.serveEach(listener) { stream in
            try? await stream.write(greeting)
            if !ehlo.isEmpty, (try? await stream.readUntil(Array("\r\n".utf8), maxBytes: 1024)) != nil {
                try? await stream.write(ehlo)
            }
            _ = try? await stream.readUntilClose()
        }
        return listener
    }

    static func connect(_ listener: TCPListener, security: SMTPConfiguration.Security = .none) async throws -> SMTPClient {
        var configuration = SMTPConfiguration(port: listener.port)
        configuration.security = security
        configuration.connectTimeout = .milliseconds(300)
        configuration.commandTimeout = .milliseconds(300)
        return try await SMTPClient.connect(configuration)
    }

    @Test func aReplyWhoseLinesSwitchCodesIsAProtocolError() async throws {
        let listener = try Self.serve(greeting: "220 hi\r\n", ehlo: "250-first\r\n251 second\r\n")
        defer { listener.close() }
        let error = await #expect(throws: WireProtocolError.self) { try await Self.connect(listener) }
        #expect(error?.kind == .invalidValue("reply lines switch codes: 250, then 251"))
        await expectNoConnections(toPort: listener.port)
    }

    @Test func aRefusingGreetingAndAMissingStartTLSAreTypedErrors() async throws {
        let busy = try Self.serve(greeting: "554 no service\r\n")
        defer { busy.close() }
        let refused = await #expect(throws: SMTPReplyError.self) { try await Self.connect(busy) }
        #expect(refused?.code == 554 && refused?.command == "greeting")

        let noTLS = try Self.serve(greeting: "220 hi\r\n", ehlo: "250-hi\r\n250 8BITMIME\r\n")
        defer { noTLS.close() }
        let missing = await #expect(throws: SMTPCapabilityError.self) { try await Self.connect(noTLS, security: .startTLS) }
        #expect(missing == SMTPCapabilityError(missing: "STARTTLS", offered: ["8BITMIME"]))
        await expectNoConnections(toPort: noTLS.port)
    }

    @Test func aServerThatNeverGreetsOrNeverAnswersTimesOut() async throws {
        let silent = try Self.serve(greeting: "")
        defer { silent.close() }
        let start = ContinuousClock.now
        await #expect(throws: TimeoutError.self) { try await Self.connect(silent) }
        let mute = try Self.serve(greeting: "220 hi\r\n")
        defer { mute.close() }
        await #expect(throws: TimeoutError.self) { try await Self.connect(mute) }  // EHLO never answered
        #expect(ContinuousClock.now - start < .seconds(3))
        await expectNoConnections(toPort: silent.port)
        await expectNoConnections(toPort: mute.port)
    }
}
