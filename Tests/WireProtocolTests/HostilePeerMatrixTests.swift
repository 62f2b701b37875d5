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
}

/// One client, as the matrix drives it: one representative call against a hostile peer, with
/// every deadline at `deadline`, and the misbehaviours in its protocol's bytes (absent: the
/// protocol has no such thing — RESP has no status line, SMTP no lengths).
struct HostileSubject: Sendable, CustomStringConvertible {
    let name: String
    let serverSpeaksFirst: Bool
    let scripts: [HostileScenario: HostilePeer.Script]
    /// Where what the peer sends is allowed by the protocol: a value, not an error, is right.
    let lenient: Set<HostileScenario>
    let call: @Sendable (_ port: Int, _ deadline: Duration) async throws -> Void

    var description: String { name }

    typealias Script = HostilePeer.Script

    static let all: [HostileSubject] = [http, redis, memcached, smtp, beanstalk, lines]

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
        ],
        lenient: [],
        call: { port, deadline in
            var configuration = HTTPClientConfiguration()
            configuration.connectTimeout = deadline
            configuration.idleTimeout = deadline
            configuration.totalTimeout = deadline
            let client = HTTPClient(configuration: configuration)
            defer { client.shutdown() }
            _ = try await client.get("http://127.0.0.1:\(port)/")
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
        call: { port, deadline in
            var configuration = RedisConfiguration(port: port)
            configuration.connectTimeout = deadline
            configuration.commandTimeout = deadline
            configuration.reconnect = false
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
        call: { port, deadline in
            var configuration = ClientConfiguration(port: port)
            configuration.connectTimeout = deadline
            configuration.requestTimeout = deadline
            configuration.reconnect = false
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
        call: { port, deadline in
            var configuration = SMTPConfiguration(port: port)
            configuration.security = .none
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
        call: { port, deadline in
            var configuration = ClientConfiguration(port: port)
            configuration.connectTimeout = deadline
            configuration.requestTimeout = deadline
            configuration.reconnect = false
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
        call: { port, deadline in
            let stream = IOStream(loop: .shared, maxBufferSize: 1 << 20)
            defer { stream.close() }
            try await stream.connect(host: "127.0.0.1", port: port, timeout: deadline)
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
            let script = scenario == .neverAnswers ? HostilePeer.Script("", then: .stayOpen) : subject.scripts[scenario]
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
        _ = IOLoop.shared  // its epoll and wake-up descriptors exist before the count is taken
        let descriptors = ProcessResources.openDescriptors
        ProcessResources.resetPeak()
        let residentBefore = ProcessResources.statusKiB("VmRSS")
        let peer = try HostilePeer(script, serverSpeaksFirst: subject.serverSpeaksFirst)
        let clock = ContinuousClock()
        let started = clock.now
        let outcome: Result<Void, any Error>
        do {
            try await subject.call(peer.port, deadline)
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
        // Every descriptor the cell opened (client, server side, listener) is closed again.
        var now = ProcessResources.openDescriptors
        for _ in 0..<300 where now > descriptors {
            try await Task.sleep(for: .milliseconds(10))
            now = ProcessResources.openDescriptors
        }
        #expect(now <= descriptors, "\(where_): \(now - descriptors) descriptor(s) left open")
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
        default: return String(describing: type(of: error))
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return milliseconds < 100 ? "<0.1 s" : String(format: "%.1f s", Double(milliseconds) / 1000)
    }
}
