/// The server answered a command with a negative reply: 4xx (transient: try again later) or 5xx
/// (permanent), or with a positive one the conversation did not expect.
public struct SMTPReplyError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The command, as SMTP names it (`MAIL FROM`, `RCPT TO`, `DATA`, `AUTH`, `STARTTLS`, …).
    public let command: String
    public let reply: SMTPReply

    public init(command: String, reply: SMTPReply) {
        self.command = command
        self.reply = reply
    }

    public var code: Int { reply.code }
    /// 4xx: the same command may succeed later.
    public var isTransient: Bool { (400..<500).contains(reply.code) }

    public var description: String { "SMTP \(command) refused: \(reply.code) \(reply.texts.joined(separator: " / "))" }
}

/// The server does not offer what the configuration requires (`STARTTLS`, or an `AUTH`
/// mechanism this client speaks): refused before any credential is sent.
public struct SMTPCapabilityError: Error, Equatable, CustomStringConvertible, Sendable {
    public let missing: String
    /// What the server's `EHLO` did offer.
    public let offered: [String]

    public init(missing: String, offered: [String]) {
        self.missing = missing
        self.offered = offered
    }

    public var description: String { "the SMTP server does not offer \(missing) (it offers: \(offered.joined(separator: ", ")))" }
}
