/// The server refused a command, or answered it with a reply that does not belong to it.
/// Transport failures stay `StreamClosedError` / `TimeoutError`, and bytes that do not parse
/// `WireProtocolError`.
public struct BeanstalkError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: Equatable, Sendable {
        /// `NOT_FOUND`: no such job (or tube), or not one this client reserved.
        case notFound
        /// `BURIED <id>` after `put`: the job exists but was buried (the server ran out of memory
        /// growing its priority queue); `BURIED` after `release`: likewise.
        case buried(id: UInt64?)
        /// `EXPECTED_CRLF`: a job body did not end with CRLF (a client bug: the encoder writes it).
        case expectedCRLF
        /// `JOB_TOO_BIG`: the body is over the server's `max-job-size`.
        case jobTooBig
        /// `DRAINING`: the server takes no new jobs.
        case draining
        /// `DEADLINE_SOON`: a job reserved by this client is about to time out.
        case deadlineSoon
        /// `NOT_IGNORED`: the last watched tube cannot be ignored.
        case notIgnored
        case outOfMemory
        case internalError
        case badFormat
        case unknownCommand
        /// A reply that answers another command (the description says which).
        case unexpectedReply(String)
        /// A stats document without a field the typed stats need, or with one that is not a number.
        case invalidStats(String)
    }

    /// The command, as the protocol names it (`put`, `reserve-with-timeout`, …).
    public let command: String
    public let kind: Kind

    public init(command: String, kind: Kind) {
        self.command = command
        self.kind = kind
    }

    public var description: String { "beanstalkd refused \(command): \(kind)" }
}

/// A tube name beanstalkd would refuse: 1–200 bytes of letters, digits and `-+/;.$_()`, not
/// starting with `-`. Checked before anything is sent.
public struct BeanstalkTubeNameError: Error, Equatable, CustomStringConvertible, Sendable {
    public let name: String

    public init(name: String) { self.name = name }

    public var description: String { "not a beanstalkd tube name: \(name.debugDescription)" }

    static func check(_ name: String) throws {
        let bytes = Array(name.utf8)
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-+/;.$_()".utf8)
        guard (1...200).contains(bytes.count), bytes[0] != UInt8(ascii: "-"), bytes.allSatisfy(allowed.contains) else {
            throw BeanstalkTubeNameError(name: name)
        }
    }
}
