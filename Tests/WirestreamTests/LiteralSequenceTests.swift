import Testing

@testable import Wirestream

/// Patterns of literal bytes (`\r?\n`) are searched without PCRE2 (``LiteralSequence``): which
/// patterns qualify, and that every search gives PCRE2's outcome exactly.
@Suite struct LiteralSequenceTests {
    @Test func onlyLiteralBytesWithOptionalQuestionMarksQualify() throws {
        let lineEnd = try #require(LiteralSequence(#"\r?\n"#, options: []))
        #expect(lineEnd.atoms == [.init(byte: 13, optional: true), .init(byte: 10, optional: false)])
        #expect(LiteralSequence(#"\r\n\r\n"#, options: [])?.atoms.count == 4)
        // A match may start with either byte of `\r?\n`: PCRE2's start bytes, which the search uses.
        let starts = try Pattern(#"\r?\n"#).startBytes
        for (text, first) in [("ab\ncd\r\n", 2), ("ab\rx\n", 2), (String(repeating: "x", count: 40) + "\n", 40), ("abc", nil)] as [(String, Int?)] {
            let bytes = Array(text.utf8)
            #expect(bytes.withUnsafeBytes { starts.firstCandidate(in: $0, from: 0, to: $0.count) } == first, "\(text.debugDescription)")
        }
        #expect(LiteralSequence(#"a\.b?\x41\-"#, options: [])?.atoms.map(\.byte) == Array("a.bA-".utf8))
        #expect(LiteralSequence("; #", options: [])?.atoms.count == 3)  // without .extended, "#" and " " are bytes
        for other in [
            "a|b", "[ab]", "a*", "a+", "(a)", "a{2}", #"\d"#, #"\s"#, #"\b"#, #"\1"#, "a??", "?a", "a?", "a?b??",
            ".", "^a", "a$", #"\x{41}"#, #"\x4"#, #"\xC3"#, "é", #"\Qa\E"#, #"\"#, "a?+",
        ] {
            #expect(LiteralSequence(other, options: []) == nil, "\(other) is not a sequence of literal bytes")
        }
        #expect(LiteralSequence("a", options: .caseless) == nil)
        #expect(LiteralSequence("a", options: .anchored) == nil)
        #expect(LiteralSequence("a?b?c?d?e?f?g?h?i?x", options: []) == nil)  // 9 optional atoms: too many paths
        #expect(LiteralSequence(String(repeating: "a", count: 32), options: [])?.atoms.count == 32)
        #expect(LiteralSequence(String(repeating: "a", count: 33), options: []) == nil)  // kept in a SIMD32
        #expect(try Pattern(#"\r?\n"#).literal != nil)
        #expect(try Pattern(#"\r?\n"#, options: .utf).literal == nil)
        #expect(try Pattern("(a)").literal == nil)
    }

    /// Every pattern, on random data arriving one byte at a time (the search resuming where it
    /// stopped, as a stream's does) and then at EOF, with and without a limit: the literal search
    /// and PCRE2 agree on the frame end, the groups, where the search resumes, the bytes scanned
    /// and the error.
    @Test(arguments: [
        #"\r?\n"#, #"\r\n"#, #"\n"#, "ab?c", "a?a", "a?b?c", #"\r?\n\r?\n"#, "x?y?z", ";", "aa?a", #"\.\r?\n"#, "b?b?b",
        #"\n\r?"#, "ab?", "a?bc?", "a?b?a?c", #"\r?\r?\n"#, "c?a",
    ])
    func theLiteralSearchAgreesWithPCRE2(_ source: String) throws {
        let literal = try Pattern(source)
        let pcre = try Pattern(source, options: [], matchingLiterals: false)
        #expect(literal.literal != nil && pcre.literal == nil)
        var random = SplitMix64(seed: UInt64(source.utf8.count) &* 7919)
        let alphabet = Array("\r\n\r\nabcxyz;.".utf8)
        var compared = 0
        for _ in 0..<300 {
            let subject = (0..<Int(random.next() % 40)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            for maxBytes in [nil, 2, 5, 12] as [Int?] {
                let a = RegexSearcher(pattern: literal, maxBytes: maxBytes, scratch: RegexScratch())
                let b = RegexSearcher(pattern: pcre, maxBytes: maxBytes, scratch: RegexScratch())
                var offsetA = 0, offsetB = 0, scannedA = 0, scannedB = 0
                // One byte more each time, then EOF: stop at the first outcome that ends the read.
                for (length, atEOF) in (0...subject.count).map({ ($0, false) }) + [(subject.count, true)] {
                    let outcomeA = Self.frameEnd(a, subject, length, atEOF, &offsetA, &scannedA)
                    let outcomeB = Self.frameEnd(b, subject, length, atEOF, &offsetB, &scannedB)
                    compared += 1
                    let context = "\(source) on \(subject) [..<\(length), EOF \(atEOF), max \(String(describing: maxBytes))]"
                    #expect(outcomeA == outcomeB, "\(context)")
                    #expect(offsetA == offsetB && scannedA == scannedB, "\(context): resume \(offsetA)/\(offsetB), scanned \(scannedA)/\(scannedB)")
                    if case .end = outcomeA { #expect(a.groups == b.groups, "\(context)") }
                    if outcomeA != .waiting { break }
                }
            }
            // The whole subject at once, as a large read delivers it: the search skips ahead to
            // the required byte, over bytes the byte-at-a-time searches above had already passed.
            for atEOF in [false, true] {
                let a = RegexSearcher(pattern: literal, maxBytes: nil, scratch: RegexScratch())
                let b = RegexSearcher(pattern: pcre, maxBytes: nil, scratch: RegexScratch())
                var offsetA = 0, offsetB = 0, scannedA = 0, scannedB = 0
                let outcomeA = Self.frameEnd(a, subject, subject.count, atEOF, &offsetA, &scannedA)
                let outcomeB = Self.frameEnd(b, subject, subject.count, atEOF, &offsetB, &scannedB)
                compared += 1
                let context = "\(source) on \(subject) at once, EOF \(atEOF)"
                #expect(outcomeA == outcomeB, "\(context)")
                #expect(offsetA == offsetB && scannedA == scannedB, "\(context): resume \(offsetA)/\(offsetB), scanned \(scannedA)/\(scannedB)")
                if case .end = outcomeA { #expect(a.groups == b.groups, "\(context)") }
            }
        }
        #expect(compared > 5_000)
    }

    enum Outcome: Equatable {
        case end(Int)
        case waiting
        case error(String)
    }

    private static func frameEnd(
        _ searcher: RegexSearcher, _ subject: [UInt8], _ length: Int, _ atEOF: Bool, _ offset: inout Int, _ scanned: inout Int
    ) -> Outcome {
        subject.withUnsafeBytes { all in
            do {
                let bytes = UnsafeRawBufferPointer(rebasing: all[0..<length])
                return try searcher.frameEnd(in: bytes, scanOffset: &offset, atEOF: atEOF, bytesScanned: &scanned).map(Outcome.end) ?? .waiting
            } catch {
                return .error("\(error)")
            }
        }
    }
}
