import CLinux
import Dispatch
import Glibc
import Logging

/// A TCP stream, Tornado's `IOStream`: wraps a connected socket, or connects one.
///
/// ```swift
/// let stream = IOStream()
/// try await stream.connect(host: "localhost", port: 8080)
/// try await stream.write(Array("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8))
/// let head = try await stream.readUntil(Array("\r\n\r\n".utf8), maxBytes: 65_536)
/// ```
///
/// `connect` takes a numeric address or a host name; names are resolved off the loop thread, and
/// each address (IPv6 and IPv4) is tried in turn. Writes and reads issued while connecting wait
/// and start once the connection is up.
open class IOStream: BaseIOStream, @unchecked Sendable {
    // @unchecked Sendable: loop-confined like every stream (see BaseIOStream).
    var fd: Int32
    private var candidates: [SocketAddress] = []  // addresses still to try while connecting

    /// The host name given to `connect` (or its `serverHostname`), kept for TLS (SNI, verification).
    public internal(set) var serverHostname: String?

    /// Wraps a socket, connected or not (see ``connect(to:timeout:callback:)``). The stream owns it.
    public init(
        socket fd: Int32, loop: IOLoop = .current, maxBufferSize: Int? = nil, readChunkSize: Int? = nil,
        maxWriteBufferSize: Int? = nil, logger: Logger? = nil
    ) throws {
        try FileDescriptorIO.setNonBlocking(fd)
        self.fd = fd
        super.init(
            loop: loop, maxBufferSize: maxBufferSize, readChunkSize: readChunkSize,
            maxWriteBufferSize: maxWriteBufferSize, logger: logger)
    }

    /// A stream with no socket yet; ``connect(host:port:serverHostname:timeout:callback:)`` makes one.
    public override init(
        loop: IOLoop = .current, maxBufferSize: Int? = nil, readChunkSize: Int? = nil,
        maxWriteBufferSize: Int? = nil, logger: Logger? = nil
    ) {
        self.fd = -1
        super.init(
            loop: loop, maxBufferSize: maxBufferSize, readChunkSize: readChunkSize,
            maxWriteBufferSize: maxWriteBufferSize, logger: logger)
    }

    open override func fileno() -> Int32 { fd }

    /// A stream dropped without being closed still gives its socket back. (One that is registered
    /// on a loop is held by it, so this runs only for a stream the loop no longer knows.)
    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    open override func closeFD() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    open override func readFromFD(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        try FileDescriptorIO.read(fd, into: buffer)
    }

    open override func writeToFD(_ vectors: UnsafeBufferPointer<iovec>) throws -> Int? {
        try FileDescriptorIO.write(fd, vectors)
    }

    override func shutdownOutput() -> Bool {
        guard fd >= 0 else { return false }
        return Glibc.shutdown(fd, Int32(SHUT_WR)) == 0
    }

    open override func getFDError() -> (any Error)? {
        let code = socketError()
        return code == 0 ? nil : SystemError("socket", errno: code)
    }

    private func socketError() -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) < 0 { return ws_errno() }
        return code
    }

    // MARK: Options

    /// Turns Nagle's algorithm off (`TCP_NODELAY`), so small writes leave at once.
    /// - Throws: ``SystemError`` from `setsockopt`.
    open override func setNoDelay(_ enabled: Bool) throws {
        guard fd >= 0 else { return }  // not connected yet: nothing to set
        var value: Int32 = enabled ? 1 : 0
        if setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &value, socklen_t(MemoryLayout<Int32>.size)) < 0 {
            let code = ws_errno()
            if code == EOPNOTSUPP { return }  // a Unix domain socket: no Nagle to turn off
            throw SystemError("setsockopt(TCP_NODELAY)", errno: code)
        }
    }

    /// The local address of the socket.
    public var localAddress: SocketAddress? { address(getsockname) }
    /// The peer's address.
    public var remoteAddress: SocketAddress? { address(getpeername) }

    private func address(
        _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                call(fd, sa, &length) == 0 ? SocketAddress(sa, length: Int(length)) : nil
            }
        }
    }

    // MARK: Connect

    /// Connects to `host` (a name or a numeric address) and `port`. `serverHostname` (default:
    /// `host`) is kept for TLS. Reads and writes issued meanwhile wait for the connection.
    ///
    /// `timeout` (default 10 s; `nil`: none) bounds the whole connect: name resolution, every
    /// address tried, and on an ``SSLIOStream`` the TLS handshake.
    ///
    /// On failure the stream closes: ``BaseIOStream/error`` is the `connect` ``SystemError``
    /// (e.g. `ECONNREFUSED`), the ``ResolutionError`` or ``TimeoutError`` (`.connect`), and
    /// `callback` gets a ``StreamClosedError`` whose `realError` is it.
    public func connect(
        host: String, port: Int, serverHostname: String? = nil, timeout: Duration? = .seconds(10),
        callback: @escaping (Result<Void, any Error>) -> Void
    ) {
        guard loop.inLoopThread else {
            return hop {
                self.connect(host: host, port: port, serverHostname: serverHostname, timeout: timeout, callback: callback)
            }
        }
        guard beginConnect(timeout: timeout, callback) else { return }
        self.serverHostname = serverHostname ?? host
        if let address = SocketAddress(ipAddress: host, port: port) {
            connectNext([address])
            return
        }
        Resolver.resolve(host: host, port: port) { [self] result in
            self.loop.addCallback {
                guard self.state == .connecting else { return }
                switch result {
                case .success(let addresses): self.connectNext(addresses)
                case .failure(let error): self.closeNow(error: error)
                }
            }
        }
    }

    /// Connects to a resolved address (`timeout` as for ``connect(host:port:serverHostname:timeout:callback:)``).
    public func connect(
        to address: SocketAddress, timeout: Duration? = .seconds(10),
        callback: @escaping (Result<Void, any Error>) -> Void
    ) {
        guard loop.inLoopThread else { return hop { self.connect(to: address, timeout: timeout, callback: callback) } }
        guard beginConnect(timeout: timeout, callback) else { return }
        connectNext([address])
    }

    /// The async form of ``connect(host:port:serverHostname:timeout:callback:)``.
    public func connect(
        host: String, port: Int, serverHostname: String? = nil, timeout: Duration? = .seconds(10)
    ) async throws {
        try await withOperation { stream, done in
            (stream as! IOStream).connect(
                host: host, port: port, serverHostname: serverHostname, timeout: timeout, callback: done)
        }
    }

    /// The async form of ``connect(to:timeout:callback:)``.
    public func connect(to address: SocketAddress, timeout: Duration? = .seconds(10)) async throws {
        try await withOperation { stream, done in
            (stream as! IOStream).connect(to: address, timeout: timeout, callback: done)
        }
    }

    private func beginConnect(timeout: Duration?, _ callback: @escaping (Result<Void, any Error>) -> Void) -> Bool {
        precondition(loop.inLoopThread, "connect's callback form hops to the loop before this")
        guard state == .open, !isReading, connectWaiters.isEmpty else {
            callback(.failure(state == .closed ? StreamClosedError(realError: error) : ConnectStateError()))
            return false
        }
        if deadlinePassed {
            callback(.failure(timeoutForDeadline()))
            return false
        }
        state = .connecting
        connectWaiters.append(callback)
        armConnectTimer(timeout)
        return true
    }

    /// Tries the first of `addresses`; the rest are kept for when it fails.
    private func connectNext(_ addresses: [SocketAddress]) {
        guard state == .connecting, let address = addresses.first else { return }
        candidates = Array(addresses.dropFirst())
        if fd < 0 {
            let socket = Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard socket >= 0 else {
                closeNow(error: SystemError("socket", errno: ws_errno()))
                return
            }
            fd = socket
        }
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 {
            finishConnecting()
            return
        }
        let code = ws_errno()
        if code == EINPROGRESS || code == EINTR {
            updateInterest()  // wait for writability
        } else {
            connectFailed(SystemError("connect", errno: code))
        }
    }

    override func handleConnectEvent(_ events: IOEvents) {
        let code = socketError()
        if code != 0 {
            connectFailed(SystemError("connect", errno: code))
        } else if events.contains(.write) {
            finishConnecting()
        }
    }

    private func connectFailed(_ error: SystemError) {
        if candidates.isEmpty {
            closeNow(error: error)
            return
        }
        // Another address of the same name may work (IPv6 first, then IPv4): a fresh socket.
        detachFromLoop()
        closeFD()
        connectNext(candidates)
    }
}

/// `connect` was called on a stream that is already connecting or has a read pending.
public struct ConnectStateError: Error, Equatable, CustomStringConvertible, Sendable {
    public init() {}
    public var description: String { "connect called on a stream that is connecting or in use" }
}
