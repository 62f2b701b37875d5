import COpenSSL

/// Consistent hashing as libmemcached's ketama does it: each server owns points on a 32-bit
/// circle (160 per server at equal weights, in proportion to weight otherwise), four taken from
/// each MD5 of "host:port-i"; a key belongs to the server of the first point at or after the
/// first four bytes of its MD5. Adding one server to N moves about 1/(N+1) of the keys, all to it.
public struct KetamaRing<Server: Hashable & Sendable>: Sendable {
    private let points: [(hash: UInt32, server: Server)]

    /// `servers` with their weights and the name each is hashed by (`"host:port"`).
    public init(_ servers: [(server: Server, name: String, weight: Int)]) {
        precondition(!servers.isEmpty && servers.allSatisfy { $0.weight > 0 }, "a ring needs servers with positive weights")
        let total = Double(servers.reduce(0) { $0 + $1.weight })
        var points: [(UInt32, Server)] = []
        for (server, name, weight) in servers {
            // 40 digests (160 points) per server at equal weights, as libmemcached computes it.
            let digests = Int((Double(weight) / total * 40 * Double(servers.count)).rounded(.down))
            for index in 0..<max(1, digests) {
                let digest = Self.md5(Array("\(name)-\(index)".utf8))
                for part in 0..<4 { points.append((Self.littleEndian(digest, at: part * 4), server)) }
            }
        }
        self.points = points.sorted { $0.0 < $1.0 }
    }

    /// The server that owns `key`.
    public func server(for key: some Collection<UInt8>) -> Server {
        let hash = Self.littleEndian(Self.md5(Array(key)), at: 0)
        // The first point at or after the hash, wrapping to the first point.
        var low = 0
        var high = points.count
        while low < high {
            let middle = (low + high) / 2
            if points[middle].hash < hash { low = middle + 1 } else { high = middle }
        }
        return points[low == points.count ? 0 : low].server
    }

    static func md5(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 16)
        var length: UInt32 = 0
        bytes.withUnsafeBytes { input in
            _ = EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_md5(), nil)
        }
        return digest
    }

    private static func littleEndian(_ digest: [UInt8], at offset: Int) -> UInt32 {
        UInt32(digest[offset]) | UInt32(digest[offset + 1]) << 8 | UInt32(digest[offset + 2]) << 16 | UInt32(digest[offset + 3]) << 24
    }
}
