import Glibc

/// An IPv4 or IPv6 address with a port, or the path of a Unix domain socket.
public struct SocketAddress: Sendable, CustomStringConvertible, Equatable {
    /// The raw address: `sockaddr_in`, `sockaddr_in6` or `sockaddr_un` bytes.
    private let storage: [UInt8]

    /// `AF_INET`, `AF_INET6` or `AF_UNIX`.
    public var family: Int32 {
        storage.withUnsafeBytes { Int32($0.load(as: sa_family_t.self)) }
    }

    /// Parses a numeric address (`"127.0.0.1"`, `"::1"`); `nil` for anything else (e.g. a host name).
    public init?(ipAddress: String, port: Int) {
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, ipAddress, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
            self.storage = withUnsafeBytes(of: v4) { Array($0) }
            return
        }
        var v6 = sockaddr_in6()
        var text = ipAddress
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if inet_pton(AF_INET6, text, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = UInt16(truncatingIfNeeded: port).bigEndian
            self.storage = withUnsafeBytes(of: v6) { Array($0) }
            return
        }
        return nil
    }

    /// A Unix domain socket at `path` (at most 107 bytes); `nil` for a longer or empty path.
    public init?(unixPath path: String) {
        var address = sockaddr_un()
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + 1
        self.storage = withUnsafeBytes(of: address) { Array($0.prefix(length)) }
    }

    /// Copies a `sockaddr` of `length` bytes (IPv4, IPv6 or Unix).
    init?(_ address: UnsafePointer<sockaddr>, length: Int) {
        let family = Int32(address.pointee.sa_family)
        guard family == AF_INET || family == AF_INET6 || family == AF_UNIX else { return nil }
        self.storage = Array(UnsafeRawBufferPointer(start: address, count: length))
    }

    /// The path of a Unix domain socket address; `nil` for IP addresses.
    public var unixPath: String? {
        guard family == AF_UNIX else { return nil }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        return String(decoding: storage.dropFirst(offset).prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The numeric host, e.g. `"127.0.0.1"` or `"::1"` (a Unix socket's path).
    public var host: String {
        if let unixPath { return unixPath }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        storage.withUnsafeBytes { raw in
            if family == AF_INET {
                var address = raw.load(as: sockaddr_in.self).sin_addr
                _ = inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
            } else {
                var address = raw.load(as: sockaddr_in6.self).sin6_addr
                _ = inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            }
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The port (0 for a Unix socket).
    public var port: Int {
        if family == AF_UNIX { return 0 }
        return storage.withUnsafeBytes { raw in
            family == AF_INET
                ? Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
                : Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
        }
    }

    public var description: String {
        if let unixPath { return "unix:\(unixPath)" }
        return family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Lends the address as a `sockaddr` pointer and length to a system call.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
    }
}
