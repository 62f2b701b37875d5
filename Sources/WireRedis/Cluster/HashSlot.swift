/// Which of Redis Cluster's 16384 hash slots a key belongs to: CRC16 (XMODEM) of the key — or of
/// its hash tag, the part between the first `{` and the next `}` when that part is not empty —
/// modulo 16384. Keys with the same tag (`{user:1}:name`, `{user:1}:mail`) share a slot, so
/// multi-key commands and transactions may use them together.
public enum RedisHashSlot {
    public static let count = 16384

    /// The slot of `key`, as `CLUSTER KEYSLOT` computes it.
    public static func of(_ key: some Collection<UInt8>) -> Int {
        var bytes = key[...]
        if let open = key.firstIndex(of: UInt8(ascii: "{")) {
            let afterOpen = key.index(after: open)
            if let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen {
                bytes = key[afterOpen..<close]
            }
        }
        return Int(crc16(bytes) & 0x3FFF)
    }

    /// The slot of `key`'s UTF-8 bytes.
    public static func of(_ key: String) -> Int { of(Array(key.utf8)) }

    /// CRC16/XMODEM: polynomial 0x1021, initial 0, no reflection (what Redis uses).
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
