import Glibc

/// A pattern that is only literal bytes, each optionally followed by `?` — `\r?\n`, `\r\n\r\n`,
/// `;` — matched without calling PCRE2.
///
/// The line-ending patterns protocols read with are of this kind, and for them a PCRE2 call (its
/// set-up, the JIT entry, the match data) cost more than the search. The match follows PCRE2's
/// rules exactly: the leftmost start, `?` greedy with backtracking, and, until EOF, hard partial
/// matching (an attempt that reaches the end of the data reports a partial match at its start
/// at once). `LiteralSequenceTests` checks it against PCRE2 on random data, fed a byte at a time and whole.
///
/// **Line ends.** When every atom but the last is optional and the last one's byte is none of
/// theirs (`\r?\n`), every match ends just after the first occurrence of that byte: the optional
/// atoms cannot pass over it. The search is then libc's `memchr` for that byte, as `readUntil`'s,
/// and a look at the few bytes before it for where the match starts.
///
/// Anything else — classes, groups, alternation, other quantifiers, lazy `??`, escapes that are
/// not a single byte, bytes outside ASCII, any option — leaves the pattern to PCRE2.
struct LiteralSequence: Sendable {
    struct Atom: Sendable, Equatable {
        let byte: UInt8
        let optional: Bool
    }

    // Plain values, no arrays: a search retains nothing (two arrays' retains and releases were
    // most of a `\r?\n` line's time).
    /// Atom `i`'s byte; bit `i` of `optionalAtoms` says whether it is optional.
    private let bytes: SIMD32<UInt8>
    private let optionalAtoms: UInt32
    private let count: Int
    /// The atoms before the last are all optional and none has the last one's byte: a match ends
    /// at the first occurrence of that byte (see the type's discussion).
    private let endsAtLastByte: Bool
    /// For that case, plain values (indexing a `SIMD32` by a variable spills it to the stack):
    /// the last byte, and the optional atoms' bytes, the first in the lowest byte.
    private let lastByte: UInt8
    private let optionalBytes: UInt64
    /// At most this many atoms (they are kept in a `SIMD32`).
    static let maxAtoms = 32
    /// At most this many optional atoms: an attempt tries at most 2^n paths.
    static let maxOptionalAtoms = 8

    var atoms: [Atom] { (0..<count).map { Atom(byte: bytes[$0], optional: optionalAtoms & (1 << $0) != 0) } }

    typealias Outcome = RegexSearcher.Outcome

    /// The sequence `source` spells, or `nil` if it is not one (or `options` are not empty).
    init?(_ source: String, options: Pattern.Options) {
        guard options.isEmpty else { return nil }
        var atoms: [Atom] = []
        var bytes = Array(source.utf8)[...]
        while let byte = bytes.popFirst() {
            switch byte {
            case UInt8(ascii: "?"):
                // `?` after an atom makes it optional; `??` (lazy) or a leading `?` is not ours.
                guard let last = atoms.last, !last.optional, bytes.first != UInt8(ascii: "?") else { return nil }
                atoms[atoms.count - 1] = Atom(byte: last.byte, optional: true)
            case UInt8(ascii: "\\"):
                guard let escaped = bytes.popFirst(), let value = Self.escape(escaped, &bytes) else { return nil }
                atoms.append(Atom(byte: value, optional: false))
            case _ where Self.isMeta(byte) || byte >= 0x80 || byte < 0x20:
                return nil
            default:
                atoms.append(Atom(byte: byte, optional: false))
            }
        }
        // A quantifier after an optional atom's `?` (`a?+`, `a?{2}`) was refused as a meta byte.
        guard atoms.contains(where: { !$0.optional }), atoms.count <= Self.maxAtoms,
            atoms.count(where: \.optional) <= Self.maxOptionalAtoms
        else { return nil }
        var packed = SIMD32<UInt8>()
        var optional: UInt32 = 0
        for (i, atom) in atoms.enumerated() {
            packed[i] = atom.byte
            if atom.optional { optional |= 1 << i }
        }
        self.bytes = packed
        self.optionalAtoms = optional
        self.count = atoms.count
        let last = atoms[atoms.count - 1]
        self.endsAtLastByte = !last.optional && atoms.dropLast().allSatisfy { $0.optional && $0.byte != last.byte }
        self.lastByte = last.byte
        // Then every atom before the last is optional, so there are at most 8: they fit in a word.
        self.optionalBytes = endsAtLastByte ? atoms.dropLast().reversed().reduce(0) { $0 << 8 | UInt64($1.byte) } : 0
    }

    /// The leftmost match in `bytes[from..<end]`, a partial match (only when `!atEOF`), or none.
    /// `starts` are the pattern's possible first bytes (PCRE2's, as ``Pattern`` keeps them).
    func search(in bytes: UnsafeRawBufferPointer, from: Int, to end: Int, atEOF: Bool, starts: StartBytes) -> Outcome {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return .none }
        if endsAtLastByte && from < end {
            let optionalCount = count - 1
            guard let found = memchr(base + from, Int32(lastByte), end - from) else {
                // No match here; a partial one can only start among the last few bytes.
                return searchFrom(max(from, end - optionalCount), in: bytes, base, to: end, atEOF: atEOF, starts: starts)
            }
            let last = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
            var start = max(from, last - optionalCount)
            while start < last && !optionalAtomsSpell(base, from: start, to: last) { start += 1 }
            return .match(start: start, end: last + 1)
        }
        return searchFrom(from, in: bytes, base, to: end, atEOF: atEOF, starts: starts)
    }

    /// Whether `base[from..<to]` is some of the optional atoms, in order (each taken or skipped).
    @inline(__always)
    private func optionalAtomsSpell(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Bool {
        var p = from
        var rest = optionalBytes
        for _ in 0..<(count - 1) where p < to {
            if base[p] == UInt8(truncatingIfNeeded: rest) { p += 1 }
            rest >>= 8
        }
        return p == to
    }

    /// The search from `position`, at each possible first byte in turn.
    private func searchFrom(
        _ position: Int, in bytes: UnsafeRawBufferPointer, _ base: UnsafePointer<UInt8>, to end: Int, atEOF: Bool, starts: StartBytes
    ) -> Outcome {
        var position = position
        while let start = starts.firstCandidate(in: bytes, from: position, to: end) {
            switch attempt(base, atom: 0, at: start, end: end, atEOF: atEOF) {
            case .match(_, let matchEnd): return .match(start: start, end: matchEnd)
            case .partial: return .partial(start: start)
            case .none: position = start + 1
            }
        }
        return .none
    }

    /// Matches atoms from `index` on at `position`, as PCRE2 would: an optional atom taken
    /// first, then skipped; reaching the end of the data before EOF is a (hard) partial match.
    /// Required atoms are matched in a loop: only an optional atom that could be taken recurses.
    private func attempt(_ base: UnsafePointer<UInt8>, atom index: Int, at position: Int, end: Int, atEOF: Bool) -> Outcome {
        var i = index
        var p = position
        while i < count {
            if p == end {
                if !atEOF { return .partial(start: 0) }
                guard optionalAtoms & (1 << i) != 0 else { return .none }
                i += 1  // at EOF an optional atom can only be skipped
                continue
            }
            let matches = base[p] == bytes[i]
            if optionalAtoms & (1 << i) != 0 {
                if matches {
                    let taken = attempt(base, atom: i + 1, at: p + 1, end: end, atEOF: atEOF)
                    if taken != .none { return taken }
                }
                i += 1  // skipped
                continue
            }
            guard matches else { return .none }
            i += 1
            p += 1
        }
        return .match(start: 0, end: p)
    }

    /// PCRE2's metacharacters outside a class (with no options): these are not literal bytes.
    private static func isMeta(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: "."), UInt8(ascii: "|"), UInt8(ascii: "*"),
            UInt8(ascii: "+"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"),
            UInt8(ascii: "{"), UInt8(ascii: "}"):
            true
        default:
            false
        }
    }

    /// The byte an escape stands for, if it is one byte: `\r \n \t \f \e \a`, `\xHH`, or an
    /// escaped punctuation byte. Letters and digits with other meanings (`\d`, `\b`, `\1`, `\Q`) are not.
    private static func escape(_ escaped: UInt8, _ rest: inout ArraySlice<UInt8>) -> UInt8? {
        switch escaped {
        case UInt8(ascii: "r"): return 13
        case UInt8(ascii: "n"): return 10
        case UInt8(ascii: "t"): return 9
        case UInt8(ascii: "f"): return 12
        case UInt8(ascii: "e"): return 27
        case UInt8(ascii: "a"): return 7
        case UInt8(ascii: "x"):
            guard rest.count >= 2, let high = hexValue(rest[rest.startIndex]), let low = hexValue(rest[rest.startIndex + 1]) else {
                return nil  // \x{…} or a short \x: PCRE2's
            }
            rest.removeFirst(2)
            let value = high << 4 | low
            return value < 0x80 ? value : nil
        case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E:
            return escaped  // escaped punctuation is that byte
        default:
            return nil
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
