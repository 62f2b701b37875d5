import Foundation
import Synchronization
import Testing
import WireHTTP
import Wirestream

/// A tiny HTTP server scripted by a test: for each request it reads the head (and a body of the
/// declared Content-Length), asks `respond` what to send, sends it and then ends as told.
final class ScriptedHTTPServer: Sendable {
    enum End: Sendable {
        /// Close the connection (FIN).
        case close
        /// Reset it (RST, SO_LINGER 0).
        case reset
        /// Say nothing more and keep it open until the client closes.
        case stayOpen
        /// Read the next request on the same connection (keep-alive).
        case keepAlive
    }

    /// One request as the server saw it.
    struct Seen: Sendable {
        let head: String
        let body: [UInt8]
        let connection: Int

        var requestLine: String { String(head.prefix { $0 != "\r\n" }) }  // "\r\n" is one Character
        func header(_ name: String) -> String? {
            head.split(separator: "\r\n").dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
        }
    }

    /// What the server saw, shared with its connection tasks.
    private final class Record: Sendable {
        let seen = Locked<[Seen]>([])
        let connections = Atomic<Int>(0)
    }

    let listener: TCPListener
    private let record = Record()

    var port: Int { listener.port }
    var url: String { listener.address.family == AF_INET6 ? "http://[::1]:\(port)" : "http://127.0.0.1:\(port)" }
    var requests: [Seen] { record.seen.withLock { $0 } }
    var connectionCount: Int { record.connections.load(ordering: .relaxed) }

    /// - Parameter respond: the bytes to send for a request, and what to do after them.
    init(host: String = "127.0.0.1", _ respond: @escaping @Sendable (Seen) -> (response: [UInt8], end: End)) throws {
        listener = try TCPListener(host: host, port: 0, loop: .shared)
        let record = self.record
        ProtocolClientTests.serveEach(listener) { stream in
            let number = record.connections.add(1, ordering: .relaxed).newValue
            while true {
                guard let headBytes = try? await stream.readUntil(Array("\r\n\r\n".utf8), maxBytes: 1 << 20) else { break }
                let head = String(decoding: headBytes, as: UTF8.self)
                var request = Seen(head: head, body: [], connection: number)
                if let length = request.header("Content-Length").flatMap(Int.init), length > 0 {
                    guard let body = try? await stream.readBytes(length) else { break }
                    request = Seen(head: head, body: body, connection: number)
                }
                record.seen.withLock { $0.append(request) }
                let (response, end) = respond(request)
                try? await stream.write(response)
                switch end {
                case .close: stream.close()
                case .reset:
                    resetWhenClosed(stream)
                    stream.close()
                case .stayOpen: _ = try? await stream.readUntilClose()
                case .keepAlive: continue
                }
                break
            }
            stream.close()
        }
    }

    /// Answers every request with the same bytes.
    convenience init(always response: String, then end: End = .close) throws {
        try self.init { _ in (Array(response.utf8), end) }
    }

    func stop() { listener.close() }
}

/// Each open socket as `fd→socket:[inode]`. (Only sockets: the runtime opens timer descriptors of
/// its own the first time a task sleeps.)
func describeFileDescriptors() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return names.compactMap { name in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)"),
              target.hasPrefix("socket:") else { return nil }
        return "\(name)→\(target)"
    }
}

/// Runs `body` and checks that every socket it opened is closed afterwards (waiting up to a second:
/// closes complete on the loop). Sockets are told apart by descriptor and inode, so one that an
/// earlier test left closing neither counts against `body` nor hides a socket `body` left open.
func expectNoDescriptorLeak<R>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> R) async rethrows -> R {
    let before = Set(describeFileDescriptors())
    let result = try await body()
    var opened = Set(describeFileDescriptors()).subtracting(before)
    for _ in 0..<100 where !opened.isEmpty {
        try? await Task.sleep(for: .milliseconds(10))
        opened = Set(describeFileDescriptors()).subtracting(before)
    }
    if !opened.isEmpty { Issue.record("a descriptor leaked: \(opened.sorted())", sourceLocation: sourceLocation) }
    return result
}
