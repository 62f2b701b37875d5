import Dispatch
import Glibc

/// A host name did not resolve. Carries `getaddrinfo`'s code and message.
public struct ResolutionError: Error, Equatable, CustomStringConvertible, Sendable {
    public let host: String
    /// The `EAI_*` code.
    public let code: Int32
    public let message: String

    public init(host: String, code: Int32, message: String) {
        self.host = host
        self.code = code
        self.message = message
    }

    public var description: String { "cannot resolve \(host): \(message)" }
}

/// Resolves host names with `getaddrinfo` on a background thread, never on a loop thread
/// (a blocking lookup there would stall every stream on the loop).
public enum Resolver {
    /// The IPv4 and IPv6 addresses of `host`, in the order `getaddrinfo` prefers them.
    /// Numeric addresses are returned without a lookup.
    public static func resolve(host: String, port: Int) async throws -> [SocketAddress] {
        try await withCheckedThrowingContinuation { continuation in
            resolve(host: host, port: port) { continuation.resume(with: $0) }
        }
    }

    /// The callback form: `completion` runs on a background thread.
    public static func resolve(
        host: String, port: Int, completion: @escaping @Sendable (Result<[SocketAddress], any Error>) -> Void
    ) {
        if let address = SocketAddress(ipAddress: host, port: port) {
            completion(.success([address]))
            return
        }
        DispatchQueue.global().async {
            completion(lookUp(host: host, port: port))
        }
    }

    private static func lookUp(host: String, port: Int) -> Result<[SocketAddress], any Error> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0 else {
            let message = String(cString: gai_strerror(rc))
            return .failure(ResolutionError(host: host, code: rc, message: message))
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry = list
        while let info = entry {
            if let sa = info.pointee.ai_addr,
                let address = SocketAddress(sa, length: Int(info.pointee.ai_addrlen)),
                !addresses.contains(address)
            {
                addresses.append(address)
            }
            entry = info.pointee.ai_next
        }
        if addresses.isEmpty {
            return .failure(ResolutionError(host: host, code: EAI_NONAME, message: "no addresses"))
        }
        return .success(addresses)
    }
}
