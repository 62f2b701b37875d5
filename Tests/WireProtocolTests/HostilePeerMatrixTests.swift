import Foundation
import Testing
import WireBeanstalk
import WireClient
import WireHTTP
import WireLines
import WireMemcached
import WireRedis
import WireSMTP
import Wirestream

/// The ways a server can misbehave, each asked of every client in its own protocol's terms.
enum HostileScenario: String, CaseIterable, Sendable {
    case neverAnswers = "never answers"
    case slowloris = "1 byte/s for ever"
    case endlessLine = "a line past every limit"
    case negativeLength = "negative length"
    case hugeLength = "huge length"
    case nonNumericLength = "non-numeric length"
    case conflictingLengths = "conflicting lengths"
    case shortThenClose = "fewer bytes than declared, then FIN"
    case resetMidFrame = "reset mid-frame"
    case deepNesting = "deep nesting / endless repetition"
    case unknownType = "unknown type byte / status"
    case controlBytes = "NUL and control bytes in text"
    case tlsExpired = "TLS: expired certificate"
    case tlsWrongHost = "TLS: certificate for another host"
    case tlsSelfSigned = "TLS: self-signed certificate"
    case tlsTruncatedHandshake = "TLS: handshake cut short"
    case tlsNoCloseNotify = "TLS: FIN mid-reply, no close_notify"

    /// The server's certificate (from `HTTPCertificates`) for the TLS scenarios that complete a
    /// handshake as far as the certificate.
    var serverCertificate: String? {
        switch self {
        case .tlsExpired: "expired"
        case .tlsWrongHost: "foo"
        case .tlsSelfSigned: "selfSigned"
        case .tlsNoCloseNotify: "local"
        default: nil
        }
    }

    var usesTLS: Bool { rawValue.hasPrefix("TLS") }
}

/// One client, as the matrix drives it: one representative call against a hostile peer, with
/// every deadline at `deadline` (over TLS with `tls`, which trusts the tests' CA), and the
/// misbehaviours in its protocol's bytes (absent: the protocol has no such thing — RESP has no
/// status line, SMTP no lengths). A reply cut by a FIN without close_notify is `shortThenClose`'s
/// bytes unless the subject names its own (HTTP: a body delimited by the close).
struct HostileSubject: Sendable, CustomStringConvertible {
    let name: String
    let serverSpeaksFirst: Bool
    let scripts: [HostileScenario: HostilePeer.Script]
    /// Where what the peer sends is allowed by the protocol: a value, not an error, is right.
    let lenient: Set<HostileScenario>
    let call: @Sendable (_ port: Int, _ deadline: Duration, _ tls: TLSConfiguration?) async throws -> Void

    var description: String { name }

    typealias Script = HostilePeer.Script

    static let all: [HostileSubject] = [http, redis, memcached, smtp, beanstalk, lines]

    /// The generated clients' configuration (memcached, beanstalkd): every deadline at `deadline`,
    /// no reconnecting (one call, one connection).
    static func clientConfiguration(_ port: Int, _ deadline: Duration, _ tls: TLSConfiguration?) -> ClientConfiguration {
        var configuration = ClientConfiguration(port: port)
        configuration.connectTimeout = deadline
        configuration.requestTimeout = deadline
        configuration.reconnect = false
        configuration.tls = tls
        return configuration
    }

    static let http = HostileSubject(
        name: "HTTP", serverSpeaksFirst: false,
        scripts: [
            .slowloris: Script("HTTP/1.1 200 OK\r\n", then: .drip(UInt8(ascii: "X"), interval: .seconds(1))),
            .endlessLine: Script("HTTP/1.1 200 OK\r\nX-Long: ", then: .flood(Array("a".utf8))),
            .negativeLength: Script("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", then: .stayOpen),
            .hugeLength: Script("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n", then: .stayOpen),
            .nonNumericLength: Script("HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", then: .stayOpen),
            .conflictingLengths: Script("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", then: .stayOpen),
            .shortThenClose: Script("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", then: .close),
            .resetMidFrame: Script("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", then: .reset),
            .deepNesting: Script("HTTP/1.1 200 OK\r\n", then: .flood(Array("A: b\r\n".utf8))),
            .unknownType: Script("HTTP/1.1 999 Nope\r\nContent-Length: 0\r\n\r\n", then: .stayOpen),
            .controlBytes: Script("HTTP/1.1 200 OK\r\nX-A: a\u{0}b\u{1}\r\nContent-Length: 0\r\n\r\n", then: .stayOpen),
            // No length: the body ends at the close, so a close that is not TLS's own is a truncation.
            .tlsNoCloseNotify: Script("HTTP/1.0 200 OK\r\n\r\nthe body until the close", then: .finWithoutCloseNotify),
        ],
        lenient: [],
        call: { port, deadline, tls in
            var configuration = HTTPClientConfiguration()
            configuration.connectTimeout = deadline
            configuration.idleTimeout = deadline
            configuration.totalTimeout = deadline
            if let tls { configuration.tls = tls }
            let client = HTTPClient(configuration: configuration)
            defer { client.shutdown() }
            _ = try await client.get("\(tls == nil ? "http" : "https")://127.0.0.1:\(port)/")
        })

    static let redis = HostileSubject(
        name: "Redis", serverSpeaksFirst: false,
        scripts: [
            .slowloris: Script("+", then: .drip(UInt8(ascii: "a"), interval: .seconds(1))),
            .endlessLine: Script("+", then: .flood(Array("a".utf8))),
            .negativeLength: Script("$-5\r\n", then: .stayOpen),
            .hugeLength: Script("$99999999999\r\n", then: .stayOpen),
            .nonNumericLength: Script("$abc\r\n", then: .stayOpen),
            .conflictingLengths: Script("$3\r\nabcdef\r\n", then: .stayOpen),
            .shortThenClose: Script("$10\r\nabc", then: .close),
            .resetMidFrame: Script("$10\r\nabc", then: .reset),
            .deepNesting: Script(String(repeating: "*1\r\n", count: 100) + ":1\r\n", then: .stayOpen),
            .unknownType: Script("?what\r\n", then: .stayOpen),
            .controlBytes: Script("+O\u{0}K\u{1}\r\n", then: .stayOpen),
        ],
        lenient: [],
        call: { port, deadline, tls in
            var configuration = RedisConfiguration(port: port)
            configuration.connectTimeout = deadline
            configuration.commandTimeout = deadline
            configuration.reconnect = false
            configuration.tls = tls
            let client = try await RedisClient.connect(configuration)
            defer { client.close() }
            _ = try await client.get("k")
        })

    static let memcached = HostileSubject(
        name: "memcached", serverSpeaksFirst: false,
        scripts: [
            .slowloris: Script("VALUE ", then: .drip(UInt8(ascii: "k"), interval: .seconds(1))),
            .endlessLine: Script("VALUE ", then: .flood(Array("k".utf8))),
            .negativeLength: Script("VALUE k 0 -5\r\n", then: .stayOpen),
            .hugeLength: Script("VALUE k 0 99999999999\r\n", then: .stayOpen),
            .nonNumericLength: Script("VALUE k 0 abc\r\n", then: .stayOpen),
            .conflictingLengths: Script("VALUE k 0 3\r\nabcdef\r\nEND\r\n", then: .stayOpen),
            .shortThenClose: Script("VALUE k 0 10\r\nabc", then: .close),
            .resetMidFrame: Script("VALUE k 0 10\r\nabc", then: .reset),
            .deepNesting: Script("", then: .flood(Array("VALUE k 0 1\r\na\r\n".utf8))),
            .unknownType: Script("MAYBE\r\n", then: .stayOpen),
            .controlBytes: Script("VALUE k\u{0}\u{1} 0 1\r\na\r\nEND\r\n", then: .stayOpen),
        ],
        lenient: [],
        call: { port, deadline, tls in
            let configuration = clientConfiguration(port, deadline, tls)
            let client = try await MemcachedClient.connect(configuration)
            defer { client.close() }
            _ = try await client.get("k")
        })

    static let smtp = HostileSubject(
        name: "SMTP", serverSpeaksFirst: true,
        scripts: [
            .slowloris: Script("220 ", then: .drip(UInt8(ascii: "a"), interval: .seconds(1))),
            .endlessLine: Script("220 ", then: .flood(Array("a".utf8))),
            .nonNumericLength: Script("2x0 hello\r\n", then: .stayOpen),
            .conflictingLengths: Script("220-first\r\n250 second\r\n", then: .stayOpen),
            .shortThenClose: Script("220-first\r\n", then: .close),
            .resetMidFrame: Script("220-first\r\n", then: .reset),
            .deepNesting: Script("", then: .flood(Array("220-again\r\n".utf8))),
            .unknownType: Script("999 what\r\n", then: .stayOpen),
            .controlBytes: Script("220 a\u{0}b\u{1}\r\n", then: .stayOpen),
        ],
        lenient: [],
        call: { port, deadline, tls in
            var configuration = SMTPConfiguration(port: port)
            configuration.security = tls == nil ? .none : .tls
            if let tls { configuration.tls = tls }
            configuration.connectTimeout = deadline
            configuration.commandTimeout = deadline
            let client = try await SMTPClient.connect(configuration)
            client.close()
        })

    static let beanstalk = HostileSubject(
        name: "beanstalkd", serverSpeaksFirst: false,
        scripts: [
            .slowloris: Script("INSERTED ", then: .drip(UInt8(ascii: "1"), interval: .seconds(1))),
            .endlessLine: Script("USING ", then: .flood(Array("a".utf8))),
            .negativeLength: Script("OK -5\r\n", then: .stayOpen),
            .hugeLength: Script("OK 99999999999\r\n", then: .stayOpen),
            .nonNumericLength: Script("INSERTED abc\r\n", then: .stayOpen),
            .conflictingLengths: Script("RESERVED 1 3\r\nabcdef\r\n", then: .stayOpen),
            .shortThenClose: Script("RESERVED 1 10\r\nabc", then: .close),
            .resetMidFrame: Script("RESERVED 1 10\r\nabc", then: .reset),
            .deepNesting: Script("OK 1000000\r\n---\n", then: .flood(Array("- a\n".utf8))),
            .unknownType: Script("WHAT\r\n", then: .stayOpen),
            .controlBytes: Script("USING a\u{0}b\u{1}\r\n", then: .stayOpen),
        ],
        lenient: [],
        call: { port, deadline, tls in
            let configuration = clientConfiguration(port, deadline, tls)
            let client = try await BeanstalkClient.connect(configuration)
            defer { client.close() }
            _ = try await client.put(Array("job".utf8))
        })

    static let lines = HostileSubject(
        name: "lines", serverSpeaksFirst: false,
        scripts: [
            .slowloris: Script("", then: .drip(UInt8(ascii: "a"), interval: .seconds(1))),
            .endlessLine: Script("", then: .flood(Array("a".utf8))),
            .shortThenClose: Script("partial", then: .close),
            .resetMidFrame: Script("partial", then: .reset),
            .unknownType: Script(bytes: [0xFF, 0xFE, 0x0A], then: .stayOpen),
            .controlBytes: Script("a\u{0}b\u{1}\n", then: .stayOpen),
        ],
        // A line may hold any byte but its delimiter: NUL and control bytes are text here.
        lenient: [.controlBytes],
        call: { port, deadline, tls in
            let plain = IOStream(loop: .shared, maxBufferSize: 1 << 20)
            defer { plain.close() }
            try await plain.connect(host: "127.0.0.1", port: port, timeout: deadline)
            var stream: BaseIOStream = plain
            if let tls {
                stream = try await plain.startTLS(serverSide: false, context: TLSContext(tls), serverHostname: "127.0.0.1")
            }
            defer { stream.close() }
            let lines = LineClient(stream: stream, timeout: deadline)
            try lines.send("hello")
            try await lines.flush()
            _ = try await lines.nextLine()
        })
}

/// Every scenario against every client: each must end in a typed error (or, where the protocol
/// allows the bytes, a value) within its deadline plus slack, with the process's descriptors back
/// where they were and its peak memory bounded. The outcomes are printed as a Markdown table (and
/// appended to the file named by `WIRESTREAM_HOSTILE_MATRIX`, for docs/reliability.md).
@Suite(.serialized) struct HostilePeerMatrixTests {
    static let deadline = Duration.seconds(2)
    static let slack = Duration.milliseconds(1500)
    static let memoryBoundKiB = 128 * 1024

    @Test(arguments: HostileSubject.all)
    func everyMisbehaviourEndsInATypedErrorInTime(_ subject: HostileSubject) async throws {
        var row: [String] = []
        for scenario in HostileScenario.allCases {
            let script: HostilePeer.Script? = switch scenario {
            case .neverAnswers, .tlsExpired, .tlsWrongHost, .tlsSelfSigned: HostilePeer.Script("", then: .stayOpen)
            // A TLS record header announcing a handshake message, a few of its bytes, then FIN.
            case .tlsTruncatedHandshake: HostilePeer.Script(bytes: [0x16, 0x03, 0x03, 0x00, 0x40, 0x02, 0x00, 0x00], then: .close)
            case .tlsNoCloseNotify:
                subject.scripts[.tlsNoCloseNotify]
                    ?? subject.scripts[.shortThenClose].map { HostilePeer.Script(bytes: $0.prefix, then: .finWithoutCloseNotify) }
            default: subject.scripts[scenario]
            }
            guard let script else {
                row.append("n/a")
                continue
            }
            row.append(try await Self.run(subject, scenario, script))
        }
        let line = "| \(subject.name) | " + row.joined(separator: " | ") + " |"
        FileHandle.standardError.write(Data((line + "\n").utf8))
        if let path = ProcessInfo.processInfo.environment["WIRESTREAM_HOSTILE_MATRIX"],
           let file = FileHandle(forWritingAtPath: path) {
            file.seekToEndOfFile()
            file.write(Data((line + "\n").utf8))
            try? file.close()
        }
    }

    /// One cell: what the call ended with, and how long it took.
    static func run(_ subject: HostileSubject, _ scenario: HostileScenario, _ script: HostilePeer.Script) async throws -> String {
        let where_ = "\(subject.name), \(scenario.rawValue)"
        // What lives for the whole run exists before the count is taken: the loop's epoll and
        // wake-up descriptors, libdispatch's timer descriptor (made by the first Task.sleep, which
        // the dripping peer does), the certificates (made by openssl processes on first use).
        _ = IOLoop.shared
        try await Task.sleep(for: .milliseconds(1))
        let certificates = HTTPCertificates.shared
        let targetsBefore = ProcessResources.descriptorTargets
        ProcessResources.resetPeak()
        let residentBefore = ProcessResources.statusKiB("VmRSS")
        let serverTLS = try scenario.serverCertificate.map { name in
            try TLSContext(.server(certificateChain: .file(certificates.cert(name)), privateKey: .file(certificates.key(name))))
        }
        // The cut handshake comes from a plain server, which must wait for the ClientHello.
        let speaksFirst = subject.serverSpeaksFirst && scenario != .tlsTruncatedHandshake
        let peer = try HostilePeer(script, serverSpeaksFirst: speaksFirst, tls: serverTLS)
        var clientTLS: TLSConfiguration?
        if scenario.usesTLS {
            clientTLS = .client(trustRoots: .file(certificates.cert("ca")))
            clientTLS?.handshakeTimeout = deadline
        }
        let clock = ContinuousClock()
        let started = clock.now
        let outcome: Result<Void, any Error>
        do {
            try await subject.call(peer.port, deadline, clientTLS)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        let elapsed = clock.now - started
        peer.close()

        #expect(elapsed <= deadline + slack, "\(where_): took \(elapsed)")
        let text: String
        switch outcome {
        case .success:
            #expect(subject.lenient.contains(scenario), "\(where_): the call succeeded")
            text = "value (allowed)"
        case .failure(let error):
            let type = String(reflecting: Swift.type(of: error))
            #expect(type.hasPrefix("Wire"), "\(where_): \(type) is not one of the library's typed errors: \(error)")
            text = label(error)
        }
        // Every descriptor the cell opened (client, server side, listener) is closed again. They
        // are told apart by what they point at, so one an earlier test left closing is not counted.
        var left = ProcessResources.descriptorTargets.filter { targetsBefore[$0.key] != $0.value }
        for _ in 0..<300 where !left.isEmpty {
            try await Task.sleep(for: .milliseconds(10))
            left = ProcessResources.descriptorTargets.filter { targetsBefore[$0.key] != $0.value }
        }
        if !left.isEmpty {
            Issue.record("\(where_): \(left.count) descriptor(s) left open: \(left.sorted { $0.key < $1.key })")
        }
        let peakGrowth = ProcessResources.statusKiB("VmHWM") - residentBefore
        #expect(peakGrowth < memoryBoundKiB, "\(where_): peak memory grew by \(peakGrowth) KiB")
        return "\(text) \(Self.seconds(elapsed))"
    }

    /// The error's type, and its kind where it has one (`WireProtocolError.negativeLength`).
    static func label(_ error: any Error) -> String {
        func caseName(_ value: Any) -> String { String(String(describing: value).prefix { $0 != "(" }) }
        func protocolCase(_ kind: WireProtocolError.Kind) -> String {
            if let name = Mirror(reflecting: kind).children.first?.label { return name }
            switch kind {  // the cases without a payload, which a mirror does not name
            case .truncated: return "truncated"
            case .invalidUTF8: return "invalidUTF8"
            case .arithmeticOverflow: return "arithmeticOverflow"
            case .frameEndedEarly: return "frameEndedEarly"
            default: return "\(kind)"
            }
        }
        switch error {
        case let error as WireProtocolError: return "WireProtocolError.\(protocolCase(error.kind))"
        case let error as HTTPError: return "HTTPError.\(caseName(error.kind))"
        case let error as StreamClosedError: return error.realError.map { "StreamClosedError(\(label($0)))" } ?? "StreamClosedError"
        case let error as TLSError: return "TLSError(\(error.reason))"
        default: return String(describing: type(of: error))
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return milliseconds < 100 ? "<0.1 s" : String(format: "%.1f s", Double(milliseconds) / 1000)
    }
}
