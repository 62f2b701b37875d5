// Layer Regex/: PCRE2 under readUntilRegex — Pattern (compiled, JIT), the incremental searcher
// that resumes across chunks, match views and UTF-8 validation. Everything that includes CPCRE2
// lives here.

import CLinux
import CPCRE2
import Glibc

/// A compiled PCRE2 regular expression, JIT-compiled for complete and partial matching.
///
/// ```swift
/// let statusLine = try Pattern(#"HTTP/(?<version>1\.[01]) (?<code>[0-9]{3}) (?<reason>[^\r\n]*)\r\n"#)
/// let match = try await stream.readUntilRegex(statusLine, maxBytes: 8192)
/// match["code"]   // "200" as bytes
/// ```
///
/// A pattern is immutable and `Sendable`: compile it once and use it from any stream. Each search
/// uses match data of its own (one per stream, reused), never the pattern's.
public final class Pattern: @unchecked Sendable {
    // @unchecked Sendable: the compiled code is never mutated after init, and PCRE2 documents
    // compiled patterns as shareable between threads.

    /// Compile options.
    public struct Options: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let caseless = Options(rawValue: UInt32(PCRE2_CASELESS))
        /// `^` and `$` match at line boundaries.
        public static let multiline = Options(rawValue: UInt32(PCRE2_MULTILINE))
        /// `.` matches newlines too.
        public static let dotAll = Options(rawValue: UInt32(PCRE2_DOTALL))
        /// Whitespace and `#` comments in the pattern are ignored.
        public static let extended = Options(rawValue: UInt32(PCRE2_EXTENDED))
        /// The pattern and the subject are UTF-8. Invalid UTF-8 in the bytes searched is a
        /// ``PatternMatchError`` (the stream closes with it), never a crash. A character split
        /// between two reads is not an error: the search waits for the rest of it.
        ///
        /// `PCRE2_MATCH_INVALID_UTF` would instead skip invalid bytes, but PCRE2 10.42's JIT
        /// reports wrong match starts with it (`(\S+)\n` on `" héllo\n"` starts at "llo").
        public static let utf = Options(rawValue: UInt32(PCRE2_UTF))
        /// A match must start where the read starts (PCRE2_ANCHORED): a parser reading the next
        /// field, not a search. Data that cannot begin a match fails the read at once.
        public static let anchored = Options(rawValue: UInt32(PCRE2_ANCHORED))
    }

    /// The pattern as written.
    public let source: String
    public let options: Options
    /// The number of capture groups (group 0, the whole match, not counted).
    public let captureCount: Int
    /// Named groups and their numbers.
    public let groupNumbers: [String: Int]
    /// True if the JIT compiled it for both complete and partial-hard matching.
    public let isJITCompiled: Bool
    /// Whether every match must start where the search starts (``Options/anchored``, or a pattern
    /// that begins with `\A`): then data that does not match at its start never will, and a read
    /// fails at once.
    public let isAnchored: Bool

    let code: OpaquePointer
    /// The bytes a match can start with, when PCRE2 knows them (used to skip ahead).
    let startBytes: StartBytes
    /// The pattern as a sequence of literal bytes, when it is one: then searches do not call PCRE2.
    let literal: LiteralSequence?

    /// Compiles `source`.
    /// - Throws: ``PatternError`` with PCRE2's message and the offset of the mistake.
    public convenience init(_ source: String, options: Options = []) throws {
        try self.init(source, options: options, matchingLiterals: true)
    }

    /// `matchingLiterals: false` always searches with PCRE2 (tests compare the two).
    init(_ source: String, options: Options, matchingLiterals: Bool) throws {
        let compileOptions = options.rawValue
        var errorCode: Int32 = 0
        var errorOffset = 0
        let compiled = Array(source.utf8).withUnsafeBufferPointer { pattern in
            ws_pcre2_compile(pattern.baseAddress, pattern.count, compileOptions, &errorCode, &errorOffset)
        }
        guard let compiled else {
            throw PatternError(pattern: source, offset: errorOffset, message: Pattern.message(for: errorCode))
        }
        self.code = compiled
        self.source = source
        self.options = options
        // Both modes, or a partial search silently falls back to the interpreter.
        let jit = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD))
        self.isJITCompiled = jit == 0
        var allOptions: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_ALLOPTIONS), &allOptions)
        self.isAnchored = allOptions & UInt32(PCRE2_ANCHORED) != 0
        var captures: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &captures)
        self.captureCount = Int(captures)
        self.groupNumbers = Pattern.readNameTable(compiled)
        // An anchored match starts where the read starts: skipping ahead to a possible first byte
        // would skip input the pattern must match.
        self.startBytes = isAnchored ? .any : StartBytes(compiled, caseless: options.contains(.caseless))
        // PCRE2 compiled it, so it is valid; a sequence of literals has no groups and no anchor.
        self.literal = matchingLiterals && !isAnchored && captures == 0 ? LiteralSequence(source, options: options) : nil
    }

    deinit { pcre2_code_free_8(code) }

    private static func readNameTable(_ code: OpaquePointer) -> [String: Int] {
        var names: [String: Int] = [:]
        for index in 0..<ws_pcre2_name_count(code) {
            var name: UnsafePointer<CChar>?
            let number = ws_pcre2_name_entry(code, index, &name)
            if let name { names[String(cString: name)] = Int(number) }
        }
        return names
    }

    static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = ws_pcre2_message(code, &buffer, buffer.count)
        return length > 0 ? String(decoding: buffer.prefix(Int(length)), as: UTF8.self) : "PCRE2 error \(code)"
    }
}

/// A pattern that does not compile.
public struct PatternError: Error, Equatable, CustomStringConvertible, Sendable {
    public let pattern: String
    /// The byte offset in the pattern where PCRE2 noticed the mistake.
    public let offset: Int
    /// PCRE2's message, e.g. "missing closing parenthesis".
    public let message: String

    public init(pattern: String, offset: Int, message: String) {
        self.pattern = pattern
        self.offset = offset
        self.message = message
    }

    public var description: String { "bad pattern \(pattern.debugDescription) at offset \(offset): \(message)" }
}

/// An anchored pattern (``Pattern/isAnchored``) cannot match the data at the read's start, however
/// much more arrives. The stream closes with it, as with ``UnsatisfiableReadError``.
public struct PatternMismatchError: Error, Equatable, CustomStringConvertible, Sendable {
    public let pattern: String

    public init(pattern: String) {
        self.pattern = pattern
    }

    public var description: String { "the data does not match the anchored pattern \(pattern.debugDescription)" }
}

/// PCRE2 failed while matching (e.g. a resource limit). The stream closes with it.
public struct PatternMatchError: Error, Equatable, CustomStringConvertible, Sendable {
    public let pattern: String
    public let code: Int32
    public let message: String

    public init(pattern: String, code: Int32, message: String) {
        self.pattern = pattern
        self.code = code
        self.message = message
    }

    public var description: String { "matching \(pattern.debugDescription) failed: \(message) (\(code))" }
}

/// The set of bytes any match of a pattern starts with, read from PCRE2's compiled pattern
/// (first code unit or first-unit bitmap), or `.any` when it is not known (anchored patterns,
/// patterns that can match the empty string, lookbehinds).
enum StartBytes {
    case any
    case single(UInt8)
    /// Two possible first bytes (`\r?\n`, `[ab]`): one SSE2 scan for either beats a table walk.
    case pair(UInt8, UInt8)
    case set(StartTable)

    init(_ code: OpaquePointer, caseless: Bool) {
        var minLength: UInt32 = 0
        var lookbehind: UInt32 = 0
        var type: UInt32 = 0
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_MINLENGTH), &minLength)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_MAXLOOKBEHIND), &lookbehind)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_FIRSTCODETYPE), &type)
        guard minLength > 0, lookbehind == 0 else {
            self = .any
            return
        }
        if type == 1 && !caseless {
            var unit: UInt32 = 0
            pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_FIRSTCODEUNIT), &unit)
            self = unit < 256 ? .single(UInt8(unit)) : .any
            return
        }
        var bitmap: UnsafePointer<UInt8>?
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_FIRSTBITMAP), &bitmap)
        guard type == 0, let bitmap else {
            self = .any
            return
        }
        let members = (0..<256).filter { bitmap[$0 / 8] & (1 << ($0 % 8)) != 0 }.map(UInt8.init)
        if members.count == 2 {
            self = .pair(members[0], members[1])
            return
        }
        let table = StartTable()
        for byte in members { table.flags[Int(byte)] = 1 }
        self = .set(table)
    }

    /// The first offset in `from..<to` where a match could start, or `nil` if none can.
    func firstCandidate(in bytes: UnsafeRawBufferPointer, from: Int, to end: Int) -> Int? {
        switch self {
        case .any:
            return from
        case .single(let byte):
            guard from < end, let base = bytes.baseAddress,
                let found = memchr(base + from, Int32(byte), end - from)
            else { return nil }
            return base.distance(to: UnsafeRawPointer(found))
        case .pair(let first, let second):
            guard from < end, let base = bytes.baseAddress,
                let found = ws_memchr2(base + from, Int32(first), Int32(second), end - from)
            else { return nil }
            return base.distance(to: found)
        case .set(let table):
            guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
            let flags = table.flags
            var i = from
            while i < end {
                if flags[Int(base[i])] != 0 { return i }
                i += 1
            }
            return nil
        }
    }
}

/// A 256-entry table of possible first bytes, in stable memory so the scan is a plain pointer loop.
final class StartTable: @unchecked Sendable {
    // @unchecked Sendable: filled once while the pattern is compiled, read-only after.
    let flags = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)

    init() { flags.initialize(repeating: 0, count: 256) }

    deinit { flags.deallocate() }
}
