import CPCRE2

/// Finds the end of a `readUntilRegex` frame, resuming where a match could still start.
///
/// ```
///   buffered: "HTTP/1.0 2"            partial-hard: PARTIAL at 0  → wait, resume at 0
///   buffered: "HTTP/1.0 200 OK\r\n"   complete match [0, 17)      → frame of 17 bytes
///   buffered: "junk junk junk "       no match                    → wait, resume at 15
/// ```
/// Until EOF every search is partial-hard, so a match that touches the end of the buffered data
/// and could grow with more data waits for it: the frames do not depend on how the bytes were
/// split into reads. At EOF the search is a plain complete match.
@usableFromInline
final class RegexSearcher: FrameSearcher {
    @usableFromInline let pattern: Pattern
    @usableFromInline let maxBytes: Int?
    private let scratch: RegexScratch
    // @exclusivity(unchecked) on the state below: a searcher serves one read at a time of one
    // loop-confined stream (or memory source); the dynamic checks were ~15% of a regex read.
    /// Group ranges of the match PCRE2 found last (index 0: the whole match).
    @exclusivity(unchecked) private var pcreGroups: [Range<Int>?] = []
    /// The match the literal search found last (a pattern of literals has no other group): a
    /// plain field, where writing an array's element cost a uniqueness check per match.
    @exclusivity(unchecked) private var literalMatch: Range<Int>?
    private var matchesLiterals: Bool { pattern.literal != nil }
    @exclusivity(unchecked) private var validatedUpTo = 0  // UTF patterns: the bytes before this are valid UTF-8

    /// Group ranges of the match found by the last successful search (index 0: the whole match).
    var groups: [Range<Int>?] { matchesLiterals ? [literalMatch] : pcreGroups }

    /// Group `index` of the last match, if it took part.
    func group(_ index: Int) -> Range<Int>? {
        if matchesLiterals { return index == 0 ? literalMatch : nil }
        return index >= 0 && index < pcreGroups.count ? pcreGroups[index] : nil
    }

    /// Forgets the previous read's state, for reuse by the next read.
    @usableFromInline
    func reset() {
        validatedUpTo = 0
    }

    /// The frame and the groups of the match just found, lent.
    @usableFromInline
    func view(_ frame: UnsafeRawBufferPointer) -> RegexMatchView {
        RegexMatchView(bytes: frame, searcher: self)
    }

    @usableFromInline
    init(pattern: Pattern, maxBytes: Int?, scratch: RegexScratch) {
        self.pattern = pattern
        self.maxBytes = maxBytes
        self.scratch = scratch
    }

    /// Where one search ended: a match, a partial match (a match may still start at `start`),
    /// or none.
    enum Outcome: Equatable {
        case match(start: Int, end: Int)
        case partial(start: Int)
        case none
    }

    @usableFromInline
    func frameEnd(
        in bytes: UnsafeRawBufferPointer, scanOffset: inout Int, atEOF: Bool, bytesScanned: inout Int
    ) throws -> Int? {
        // Never look further than one byte past the limit: a match must end within it.
        let limited = maxBytes.map { min(bytes.count, $0 + 1) } ?? bytes.count
        let start = min(scanOffset, limited)
        let (outcome, length) = try pattern.literal.map { literal in
            (literalSearch(literal, in: bytes, from: start, length: limited, atEOF: atEOF), limited)
        } ?? pcreSearch(in: bytes, from: start, length: limited, atEOF: atEOF)
        let from = min(start, length)  // under `.utf` the search may have stopped short of `limited`
        switch outcome {
        case .match(_, let end):
            bytesScanned += end - from  // the search stopped at the match
            if let maxBytes, end > maxBytes { throw unsatisfiable(maxBytes) }
            return end
        case .partial(let matchStart):
            bytesScanned += length - from
            scanOffset = matchStart  // a match may still start here
        case .none:
            bytesScanned += length - from
            scanOffset = length
        }
        if let maxBytes {
            // No match can end within the limit once the first `maxBytes` bytes hold none (and
            // nothing could start one), or once a possible match already runs past the limit.
            // A partial match that ends exactly at the limit waits for one more byte (or EOF):
            // "12" under [0-9]+ with maxBytes 2 is "12" if ";" follows and too long if "3" does.
            let overLimit = if case .partial = outcome { length > maxBytes } else { bytes.count >= maxBytes }
            if overLimit { throw unsatisfiable(maxBytes) }
        }
        return nil
    }

    /// A pattern of literal bytes, searched without PCRE2 (no UTF, no anchor, no groups but the
    /// whole match, which it records).
    private func literalSearch(
        _ literal: LiteralSequence, in bytes: UnsafeRawBufferPointer, from start: Int, length: Int, atEOF: Bool
    ) -> Outcome {
        let outcome = literal.search(in: bytes, from: start, to: length, atEOF: atEOF, starts: pattern.startBytes)
        if case .match(let matchStart, let end) = outcome { literalMatch = matchStart..<end }
        return outcome
    }

    /// The PCRE2 search, which records the groups of a match, and the length it searched (less
    /// than `length` under `.utf` when a character is cut or invalid).
    /// - Throws: ``PatternMatchError`` (invalid UTF-8 reached, or PCRE2 failed);
    ///   ``PatternMismatchError`` (an anchored pattern cannot match).
    private func pcreSearch(in bytes: UnsafeRawBufferPointer, from start: Int, length limited: Int, atEOF: Bool) throws -> (Outcome, Int) {
        var length = limited
        var endsAtData = atEOF  // true when nothing can follow `length` (EOF, or an invalid byte)
        var invalidAt: Int?
        var options: UInt32 = 0
        if pattern.options.contains(.utf) {
            // Validate once, incrementally, and hand PCRE2 only whole, valid characters: it reports
            // a character cut by a read as an error, and any invalid byte anywhere in the subject.
            let checked = UTF8Validation.validPrefix(bytes, from: validatedUpTo, to: length)
            validatedUpTo = checked.validEnd
            switch checked.stop {
            case .end:
                break
            case .incomplete where !atEOF:
                length = checked.validEnd  // the rest of the character is still on its way
            case .incomplete, .invalid:
                length = checked.validEnd
                endsAtData = true
                invalidAt = checked.validEnd
            }
            options |= UInt32(PCRE2_NO_UTF_CHECK)
        }
        let start = min(start, length)
        let data = scratch.matchData(pairs: pattern.captureCount + 1)
        if !endsAtData { options |= UInt32(PCRE2_PARTIAL_HARD) }
        // Partial-hard matching turns off PCRE2's own start-of-match search, so do it here: every
        // match, complete or partial, begins with one of the pattern's possible first bytes.
        var rc = PCRE2_ERROR_NOMATCH
        if let from = pattern.startBytes.firstCandidate(in: bytes, from: start, to: length) {
            let subject = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(scratch.emptySubject)
            rc = pattern.isJITCompiled
                ? ws_pcre2_jit_match(pattern.code, subject, length, from, options, data)
                : ws_pcre2_match(pattern.code, subject, length, from, options, data)
        }
        let ovector = pcre2_get_ovector_pointer_8(data)!
        if rc >= 0 {
            recordGroups(ovector, count: Int(rc == 0 ? UInt32(pattern.captureCount + 1) : UInt32(rc)))
            return (.match(start: ovector[0], end: ovector[1]), length)
        }
        if let invalidAt, rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_PARTIAL {
            // No match before the invalid byte, and no match can include it.
            throw PatternMatchError(
                pattern: pattern.source, code: PCRE2_ERROR_BADUTFOFFSET,
                message: "invalid UTF-8 at byte \(invalidAt) of the data read")
        }
        switch rc {
        case PCRE2_ERROR_PARTIAL:
            return (.partial(start: ovector[0]), length)
        case PCRE2_ERROR_NOMATCH:
            if pattern.isAnchored && length > start { throw PatternMismatchError(pattern: pattern.source) }
            return (.none, length)
        default:
            throw PatternMatchError(pattern: pattern.source, code: rc, message: Pattern.message(for: rc))
        }
    }

    /// Fills `pcreGroups` in place: the array is reused from match to match (copied only if a
    /// `RegexMatch` still holds the previous one), so a match allocates nothing here.
    private func recordGroups(_ ovector: UnsafeMutablePointer<Int>, count: Int) {
        let unset = ws_pcre2_unset()
        let total = pattern.captureCount + 1
        if pcreGroups.count != total { pcreGroups = Array(repeating: nil, count: total) }
        for i in 0..<total {
            let lower = ovector[2 * i]
            pcreGroups[i] = i < count && lower != unset ? lower..<ovector[2 * i + 1] : nil
        }
    }

    private func unsatisfiable(_ maxBytes: Int) -> UnsatisfiableReadError {
        UnsatisfiableReadError(maxBytes: maxBytes, searchingFor: "pattern \(pattern.source.debugDescription)")
    }
}

/// A stream's reusable PCRE2 match data, grown to the largest pattern it has seen.
@usableFromInline
final class RegexScratch {
    // @exclusivity(unchecked): owned by one loop-confined stream (or memory source), used by one read at a time.
    @exclusivity(unchecked) private var data: OpaquePointer?
    @exclusivity(unchecked) private var pairs = 0
    /// A valid pointer for an empty subject (PCRE2 rejects NULL with a non-zero length only,
    /// but a real address keeps every call uniform).
    let emptySubject = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

    func matchData(pairs needed: Int) -> OpaquePointer {
        if let data, pairs >= needed { return data }
        if let data { pcre2_match_data_free_8(data) }
        data = pcre2_match_data_create_8(UInt32(needed), nil)
        pairs = needed
        return data!
    }

    deinit {
        if let data { pcre2_match_data_free_8(data) }
        emptySubject.deallocate()
    }
}
