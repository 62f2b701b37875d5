import Foundation
import Testing
import Wirestream

/// A misbehaving server scripted by a test: on each connection it (with `tls`, after a TLS
/// handshake as the server) waits for the client's first bytes (unless the protocol has the server
/// speak first), sends `script.prefix`, and then goes on as `script.then` says — for ever, if that
/// is the misbehaviour.
final class HostilePeer: Sendable {
    enum Tail: Sendable {
        /// Say nothing more; close once the client has.
        case stayOpen
        /// Close (FIN).
        case close
        /// Reset (RST, SO_LINGER 0).
        case reset
        /// One byte per `interval`, for ever (slowloris).
        case drip(UInt8, interval: Duration)
        /// `unit` again and again as fast as the client takes it, for ever.
        case flood([UInt8])
        /// End the TCP connection under TLS without a close_notify (what a truncation attack does).
        case finWithoutCloseNotify
    }

    struct Script: Sendable {
        var prefix: [UInt8]
        var then: Tail

        init(_ prefix: String, then: Tail) {
            self.prefix = Array(prefix.utf8)
            self.then = then
        }

        init(bytes prefix: [UInt8], then: Tail) {
            self.prefix = prefix
            self.then = then
        }
    }

    let listener: TCPListener
    var port: Int { listener.port }

    init(_ script: Script, serverSpeaksFirst: Bool, tls: TLSContext? = nil) throws {
        listener = try TCPListener(host: "127.0.0.1", port: 0, loop: .shared)
        ProtocolClientTests.serveEach(listener) { plain in
            guard let tls else { return await Self.run(script, on: plain, serverSpeaksFirst: serverSpeaksFirst) }
            // A client that refuses the certificate ends the handshake: nothing more to do.
            guard let secure = try? await plain.startTLS(serverSide: true, context: tls) else { return plain.close() }
            await Self.run(script, on: secure, serverSpeaksFirst: serverSpeaksFirst)
        }
    }

    private static func run(_ script: Script, on stream: BaseIOStream, serverSpeaksFirst: Bool) async {
        defer { stream.close() }
        if !serverSpeaksFirst {
            guard (try? await stream.readBytes(1, partial: true)) != nil else { return }
        }
        do {
            if !script.prefix.isEmpty { try await stream.write(script.prefix) }
            switch script.then {
            case .stayOpen:
                _ = try await stream.readUntilClose()
            case .close:
                return
            case .reset:
                resetWhenClosed(stream)
            case .drip(let byte, let interval):
                // Closed as soon as the client goes, not at the next byte up to `interval` later:
                // a socket left half-closed meanwhile would look like a client's to later tests.
                let watcher = Task { _ = try? await stream.readUntilClose(); stream.close() }
                defer { watcher.cancel() }
                while !stream.isClosed {
                    try await stream.write([byte])
                    try await Task.sleep(for: interval)
                }
            case .flood(let unit):
                var chunk: [UInt8] = []
                while chunk.count < 64 * 1024 { chunk += unit }
                while !stream.isClosed { try await stream.write(chunk) }
            case .finWithoutCloseNotify:
                shutdown(stream.fileno(), Int32(SHUT_RDWR))  // under the TLS layer: no alert is sent
            }
        } catch {
            return  // the client went away: what every endless script waits for
        }
    }

    func close() { listener.close() }
}

/// Makes closing `stream` send an RST instead of a FIN (SO_LINGER with a zero timeout).
func resetWhenClosed(_ stream: BaseIOStream) {
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    setsockopt(stream.fileno(), SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
}

/// What one process holds, for "nothing leaked" checks: open descriptors and resident memory.
enum ProcessResources {
    /// What each open descriptor is (`socket:[inode]`, a path), for saying which one was left.
    static var descriptorTargets: [String: String] {
        _ = sanitizerSymbolizerStarted
        var targets: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            targets[name] = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name)
        }
        return targets
    }

    /// A sanitizer's runtime starts a symbolizer process the first time it symbolizes a stack
    /// (ThreadSanitizer does to match a suppression, with no report) and keeps two pipes to it open
    /// from then on; a check that straddled that moment counted them as left open (the matrix under
    /// TSan, in whichever cell came first). Symbolizing one address before any snapshot starts it
    /// up front. Without a sanitizer the function is absent and this does nothing.
    static let sanitizerSymbolizerStarted: Void = {
        guard let symbol = dlsym(nil, "__sanitizer_symbolize_pc") else { return }
        typealias Symbolize = @convention(c) (
            UnsafeMutableRawPointer?, UnsafePointer<CChar>, UnsafeMutablePointer<CChar>, Int
        ) -> Void
        var description = [CChar](repeating: 0, count: 256)
        unsafeBitCast(symbol, to: Symbolize.self)(symbol, "%p %F %L", &description, description.count)
    }()

    /// A field of /proc/self/status in KiB (`VmRSS`, `VmHWM`).
    static func statusKiB(_ field: String) -> Int {
        guard let file = FileHandle(forReadingAtPath: "/proc/self/status"), let data = try? file.readToEnd() else { return -1 }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
        }
        return -1
    }

    /// Resets the peak resident size (`VmHWM`) to the current one (Linux: `5` to clear_refs).
    static func resetPeak() {
        guard let file = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return }
        file.write(Data("5".utf8))
        try? file.close()
    }
}
