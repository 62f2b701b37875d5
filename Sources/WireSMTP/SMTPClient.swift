import WireClient
import Wirestream

/// Sends mail through an SMTP server (RFC 5321): greeting, `EHLO` (its extension list),
/// `STARTTLS` on the same connection with verification on, `AUTH PLAIN` / `AUTH LOGIN`, then
/// `MAIL FROM`, `RCPT TO`, `DATA` with dot-stuffing, `RSET`, `QUIT`. Every stage has a timeout;
/// a negative reply is ``SMTPReplyError`` (4xx transient, 5xx permanent).
///
/// ```swift
/// var configuration = SMTPConfiguration(host: "mail.example.org", port: 587)
/// configuration.credentials = ("app", "secret")
/// let mail = try await SMTPClient.connect(configuration)
/// try await mail.send(from: "app@example.org", to: ["ada@example.org"], message: Array(text.utf8))
/// try await mail.quit()
/// ```
///
/// Commands go one at a time (a conversation, not a pipeline); concurrent `send`s are
/// serialised. The connection does not reconnect by itself: after a transport failure,
/// connect again.
public final class SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    /// The request/reply layer generated from smtp.wire (`client SMTPTransport`).
    public let transport: SMTPTransportClient
    private let negotiated: Negotiated
    /// One mail transaction at a time (MAIL … DATA must not interleave).
    private let turn = TransactionTurn()

    /// What the set-up agreed with the server.
    struct Negotiated: Sendable {
        var extensions: [String] = []
        var isSecure = false
    }

    /// The server's greeting (`220 …`).
    public var greeting: SMTPReply? { transport.greeting }
    /// The extensions of the last `EHLO` (after STARTTLS, the ones offered over TLS): `SIZE
    /// 10240000`, `PIPELINING`, `AUTH PLAIN LOGIN`, ….
    public var extensions: [String] { negotiated.extensions }
    /// True when the conversation runs over TLS.
    public var isSecure: Bool { negotiated.isSecure }

    private init(configuration: SMTPConfiguration, transport: SMTPTransportClient, negotiated: Negotiated) {
        self.configuration = configuration
        self.transport = transport
        self.negotiated = negotiated
    }

    /// Connects, reads the greeting, says `EHLO` (falling back to `HELO` if refused), upgrades
    /// with `STARTTLS` and says `EHLO` again if configured, then authenticates — all within
    /// `connectTimeout`.
    /// - Throws: ``SMTPReplyError`` (a refused greeting, EHLO, STARTTLS or AUTH — e.g. 535 for
    ///   wrong credentials); ``SMTPCapabilityError`` when STARTTLS or a usable AUTH is not
    ///   offered (no credential is sent); `TLSError`; `TimeoutError`; `StreamClosedError`.
    public static func connect(_ configuration: SMTPConfiguration, loop: IOLoop = .current) async throws -> SMTPClient {
        let box = NegotiatedBox()
        let transport = try await SMTPTransportClient.connect(configuration.clientConfiguration, loop: loop) { session in
            let negotiated = try await Self.setUp(session, configuration)
            box.value.withLock { $0 = negotiated }
        }
        return SMTPClient(configuration: configuration, transport: transport, negotiated: box.value.withLock { $0 })
    }

    /// Carries what the set-up (which runs in the transport's connect) agreed back to `connect`.
    private final class NegotiatedBox: Sendable {
        let value = Locked(Negotiated())
    }

    private static func setUp(_ session: ClientSession<SMTPReply>, _ configuration: SMTPConfiguration) async throws -> Negotiated {
        guard let greeting = session.greeting, greeting.code == 220 else {
            throw SMTPReplyError(command: "greeting", reply: session.greeting ?? SMTPReply(lines: []))
        }
        var negotiated = Negotiated(extensions: try await hello(session, configuration), isSecure: configuration.security == .tls)
        if configuration.security == .startTLS {
            guard negotiated.extensions.contains(where: { $0.uppercased() == "STARTTLS" }) else {
                throw SMTPCapabilityError(missing: "STARTTLS", offered: negotiated.extensions)
            }
            try expect(try await session.send(SMTPCommand.startTLS), 220, "STARTTLS")
            var tls = configuration.tls
            tls.role = .client
            try await session.startTLS(tls, serverName: configuration.tlsServerName ?? configuration.host)
            negotiated = Negotiated(extensions: try await hello(session, configuration), isSecure: true)
        }
        if let credentials = configuration.credentials {
            try await authenticate(session, credentials, mechanism: configuration.mechanism, offered: negotiated.extensions)
        }
        return negotiated
    }

    /// `EHLO`, or `HELO` for a server that does not know it; the extension lines.
    private static func hello(_ session: ClientSession<SMTPReply>, _ configuration: SMTPConfiguration) async throws -> [String] {
        let reply = try await session.send(SMTPCommand.ehlo(configuration.clientName))
        if reply.code == 250 { return Array(reply.texts.dropFirst()) }
        if reply.code == 500 || reply.code == 502 {
            try expect(try await session.send(SMTPCommand.helo(configuration.clientName)), 250, "HELO")
            return []
        }
        throw SMTPReplyError(command: "EHLO", reply: reply)
    }

    private static func authenticate(
        _ session: ClientSession<SMTPReply>, _ credentials: (username: String, password: String),
        mechanism: SMTPConfiguration.Mechanism?, offered extensions: [String]
    ) async throws {
        let offered = Set(extensions.filter { $0.uppercased().hasPrefix("AUTH ") }.flatMap { $0.uppercased().split(separator: " ").dropFirst().map(String.init) })
        let chosen = mechanism ?? (offered.contains("PLAIN") ? .plain : .login)
        let name = chosen == .plain ? "PLAIN" : "LOGIN"
        guard offered.contains(name) else { throw SMTPCapabilityError(missing: "AUTH \(name)", offered: extensions) }
        switch chosen {
        case .plain:
            let token = Base64.encode(Array("\0\(credentials.username)\0\(credentials.password)".utf8))
            try expect(try await session.send(SMTPCommand.authPlain(token)), 235, "AUTH PLAIN")
        case .login:
            try expect(try await session.send(SMTPCommand.authLogin), 334, "AUTH LOGIN")
            try expect(try await session.send(SMTPAuthLine(text: Base64.encode(Array(credentials.username.utf8)))), 334, "AUTH LOGIN")
            try expect(try await session.send(SMTPAuthLine(text: Base64.encode(Array(credentials.password.utf8)))), 235, "AUTH LOGIN")
        }
    }

    // MARK: Mail

    /// Sends one message: `MAIL FROM`, a `RCPT TO` per recipient, `DATA`, the content
    /// (dot-stuffed, CRLF line ends) and the final ".". Returns the server's final reply (`250
    /// OK queued as …`).
    /// - Parameters:
    ///   - sender: the envelope sender (`MAIL FROM`), where bounces go.
    ///   - recipients: the envelope recipients (at least one).
    ///   - message: the whole message, headers included (RFC 5322).
    ///   - parameters: `MAIL FROM` parameters, e.g. `" SIZE=1234"` (with the leading space).
    /// - Throws: ``SMTPReplyError`` for the first refused step (the transaction is then reset
    ///   with `RSET`, so the connection can send the next message); `WireEncodingError` for an
    ///   address with CR, LF or ">".
    @discardableResult
    public func send(from sender: String, to recipients: [String], message: [UInt8], parameters: String = "") async throws -> SMTPReply {
        precondition(!recipients.isEmpty, "a message needs at least one recipient")
        for address in [sender] + recipients where address.contains(">") || address.contains("\r") || address.contains("\n") {
            throw WireEncodingError(message: "SMTPCommand", field: "address", reason: "\(address.debugDescription) is not a mailbox")
        }
        return try await turn.run { [transport, configuration] in
            do {
                try Self.expect(try await transport.send(SMTPCommand.mailFrom(address: sender, parameters: parameters)), 250, "MAIL FROM")
                for recipient in recipients {
                    let reply = try await transport.send(SMTPCommand.recipient(address: recipient, parameters: ""))
                    guard reply.code == 250 || reply.code == 251 else { throw SMTPReplyError(command: "RCPT TO", reply: reply) }
                }
                try Self.expect(try await transport.send(SMTPCommand.data), 354, "DATA")
                let final = try await transport.send(SMTPMessageContent(message), timeout: configuration.dataTimeout)
                guard final.code == 250 else { throw SMTPReplyError(command: "DATA", reply: final) }
                return final
            } catch let refused as SMTPReplyError {
                _ = try? await transport.send(SMTPCommand.reset)  // the server forgets the transaction
                throw refused
            }
        }
    }

    /// `RSET`: abandons a transaction.
    public func reset() async throws {
        try Self.expect(try await transport.send(SMTPCommand.reset), 250, "RSET")
    }

    /// `NOOP`: proves the connection works.
    public func noop() async throws {
        try Self.expect(try await transport.send(SMTPCommand.noop), 250, "NOOP")
    }

    /// `QUIT`, then waits for the server to close.
    public func quit() async throws {
        let reply = try await transport.send(SMTPCommand.quit)
        try? await transport.closeGracefully(timeout: configuration.commandTimeout)
        guard reply.code == 221 else { throw SMTPReplyError(command: "QUIT", reply: reply) }
    }

    /// Closes the connection at once.
    public func close() {
        transport.close()
    }

    private static func expect(_ reply: SMTPReply, _ code: Int, _ command: String) throws {
        guard reply.code == code else { throw SMTPReplyError(command: command, reply: reply) }
    }
}

/// Runs one body at a time, in call order (a mail transaction must not interleave with another).
final class TransactionTurn: Sendable {
    private let tail = Locked<Task<Void, Never>?>(nil)

    func run<R: Sendable>(_ body: @escaping @Sendable () async throws -> R) async throws -> R {
        let mine = tail.withLock { tail -> Task<Result<R, any Error>, Never> in
            let previous = tail
            let mine = Task<Result<R, any Error>, Never> {
                await previous?.value  // the transaction before this one ends first
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            tail = Task { _ = await mine.value }
            return mine
        }
        return try await mine.value.get()
    }
}
