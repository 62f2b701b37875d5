import CLinux
import Glibc
import Logging

/// A listening TCP socket that turns accepted connections into server-side ``IOStream``s.
///
/// ```swift
/// let listener = try TCPListener(host: "127.0.0.1", port: 0)   // port 0: a free port
/// let server = try await listener.accept()
/// ```
/// Either call ``start(_:)`` once with a handler (callback style), or ``accept()`` repeatedly.
public final class TCPListener: @unchecked Sendable {
    // @unchecked Sendable: loop-confined; the handler, queues and waiters are touched only on the loop.
    public let loop: IOLoop
    /// The bound address (with the real port when 0 was asked for).
    public let address: SocketAddress
    private var fd: Int32
    private var onAccept: ((IOStream) -> Void)?
    private var waiting = FIFO<(Result<IOStream, any Error>) -> Void>()
    private var accepted = FIFO<IOStream>()
    private let streamOptions: (maxBufferSize: Int?, readChunkSize: Int?, logger: Logger?)

    /// The bound port.
    public var port: Int { address.port }

    /// Binds and listens on `host` (a numeric address) and `port` (0 picks a free one).
    /// - Throws: ``SystemError`` from socket, bind or listen.
    public init(
        host: String = "127.0.0.1", port: Int = 0, backlog: Int32 = 128, loop: IOLoop = .current,
        maxBufferSize: Int? = nil, readChunkSize: Int? = nil, logger: Logger? = nil
    ) throws {
        guard let requested = SocketAddress(ipAddress: host, port: port) else {
            throw ResolutionError(host: host, code: EAI_NONAME, message: "listener needs a numeric address")
        }
        let socket = Glibc.socket(requested.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw SystemError("socket", errno: ws_errno()) }
        var one: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if requested.withSockAddr({ bind(socket, $0, $1) }) < 0 {
            let code = ws_errno()
            Glibc.close(socket)
            throw SystemError("bind", errno: code)
        }
        if listen(socket, backlog) < 0 {
            let code = ws_errno()
            Glibc.close(socket)
            throw SystemError("listen", errno: code)
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let bound = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                getsockname(socket, sa, &length) == 0 ? SocketAddress(sa, length: Int(length)) : nil
            }
        }
        self.fd = socket
        self.loop = loop
        self.address = bound ?? requested
        self.streamOptions = (maxBufferSize, readChunkSize, logger)
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Calls `handler` on the loop with each accepted connection. Loop thread (or before the loop runs).
    public func start(_ handler: @escaping (IOStream) -> Void) throws {
        onAccept = handler
        try loop.addHandler(fd, events: .read) { [self] _ in self.acceptAll() }
    }

    /// The next accepted connection.
    /// - Throws: ``StreamClosedError`` if the listener is closed.
    public func accept() async throws -> IOStream {
        let transfer: UncheckedTransfer<IOStream> = try await withUnsafeThrowingContinuation { continuation in
            loop.execute { [self] in
                guard self.fd >= 0 else {
                    continuation.resume(throwing: StreamClosedError())
                    return
                }
                if let stream = self.accepted.popFirst() {
                    continuation.resume(returning: UncheckedTransfer(stream))
                    return
                }
                self.waiting.append { result in continuation.resume(with: result.map { UncheckedTransfer($0) }) }
                if self.onAccept == nil {
                    self.onAccept = { [unowned self] stream in
                        if let waiter = self.waiting.popFirst() {
                            waiter(.success(stream))
                        } else {
                            self.accepted.append(stream)
                        }
                    }
                    do {
                        try self.loop.addHandler(self.fd, events: .read) { [unowned self] _ in self.acceptAll() }
                    } catch {
                        while let waiter = self.waiting.popFirst() { waiter(.failure(error)) }
                    }
                }
            }
        }
        return transfer.value
    }

    /// Stops listening and closes the socket. Pending ``accept()`` calls fail. Safe from any thread.
    public func close() {
        loop.execute { [self] in
            guard self.fd >= 0 else { return }
            self.loop.removeHandler(self.fd)
            Glibc.close(self.fd)
            self.fd = -1
            while let waiter = self.waiting.popFirst() { waiter(.failure(StreamClosedError())) }
            while let stream = self.accepted.popFirst() { stream.close() }
        }
    }

    private func acceptAll() {
        while fd >= 0 {
            let client = ws_accept(fd)
            guard client >= 0 else { return }  // EAGAIN, or a transient error such as ECONNABORTED
            guard let stream = try? IOStream(
                socket: client, loop: loop, maxBufferSize: streamOptions.maxBufferSize,
                readChunkSize: streamOptions.readChunkSize, logger: streamOptions.logger)
            else {
                Glibc.close(client)
                continue
            }
            onAccept?(stream)
        }
    }
}
