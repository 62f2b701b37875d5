/// Strict UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF), as PCRE2
/// requires of a subject it is told not to check.
enum UTF8Validation {
    enum Stop: Equatable {
        case end  // every byte up to the end is valid
        case incomplete  // the bytes end inside a character that may still be completed
        case invalid  // an invalid byte
    }

    /// Validates `bytes[from..<to]` (`from` must be a character boundary). Returns where the valid
    /// part ends and why it stopped.
    static func validPrefix(_ bytes: UnsafeRawBufferPointer, from: Int, to end: Int) -> (validEnd: Int, stop: Stop) {
        var i = from
        while i < end {
            let lead = bytes[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80  // the allowed range of the second byte
            var upper: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: return (i, .invalid)
            }
            for k in 1..<length {
                guard i + k < end else { return (i, .incomplete) }
                let byte = bytes[i + k]
                let (low, high) = k == 1 ? (lower, upper) : (UInt8(0x80), UInt8(0xBF))
                guard byte >= low && byte <= high else { return (i, .invalid) }
            }
            i += length
        }
        return (end, .end)
    }
}
