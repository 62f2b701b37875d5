import Wirestream

/// What the grammar's parse of a response head must also satisfy, and what the head says about
/// the body (RFC 9112 §6.3): each fault a distinct `HTTPError`.

/// How a response's body is delimited.
enum BodyFraming: Equatable {
    /// No body: a HEAD request, 1xx, 204, 304.
    case none
    case length(Int)
    case chunked
    /// Until the server closes the connection (the connection cannot be reused).
    case untilClose
}

extension HTTPResponseHead {
    /// Checks the parsed head: status range, header names (tokens), values (no control bytes but
    /// tab), at most `maxHeaderCount` lines.
    init(validating head: ResponseHead, maxHeaderCount: Int) throws {
        guard (100...599).contains(head.status) else { throw HTTPError(.invalidStatus(head.status)) }
        self.init(
            major: head.major, minor: head.minor, status: head.status, reason: head.reason ?? "",
            headers: try HTTPHeaders(validating: head.headers, maxCount: maxHeaderCount, trailers: false))
    }

    /// How the body is delimited for a request with `method`, and whether the connection may carry
    /// another request once that body has been read (`reusable(after:_:)`): one pass over the
    /// headers for both.
    func framing(for method: HTTPMethod) throws -> (framing: BodyFraming, reusable: Bool) {
        let fields = FramingFields(headers)
        let framing = try framing(for: method, fields)
        return (framing, reusable(after: framing, fields))
    }

    private func framing(for method: HTTPMethod, _ fields: FramingFields) throws -> BodyFraming {
        if method == .head || (100..<200).contains(status) || status == 204 || status == 304 { return .none }
        if let encodings = fields.transferEncodings.nonEmpty {
            let codings = encodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingBlanks().lowercased() }
            // chunked must be last; other transfer codings (gzip, compress) are not accepted.
            guard codings.last == "chunked", codings.dropLast().allSatisfy({ $0 == "identity" }) else {
                throw HTTPError(.unsupportedTransferEncoding(encodings.joined(separator: ", ")))
            }
            return .chunked  // overrides any Content-Length (RFC 9112 §6.3 item 3); see `reusable`
        }
        let lengths = fields.contentLengths
        guard !lengths.isEmpty else { return .untilClose }
        // "5, 5" and repeated headers are one length if every value is the same (§6.3 item 5).
        var length: Int?
        for field in lengths {
            try forEachListItem(field) { item in
                // Digits only (no sign, no blanks inside), overflow-checked, and within `Int`.
                guard let digits = try? WireConvert.uint(UnsafeRawBufferPointer(item)), let parsed = Int(exactly: digits) else {
                    throw HTTPError(.invalidContentLength(String(decoding: item, as: UTF8.self)))
                }
                if let length, length != parsed { throw HTTPError(.conflictingContentLength(lengths)) }
                length = parsed
            }
        }
        return .length(length!)
    }

    /// The Content-Encoding to decode, `nil` for none.
    func contentCoding() throws -> Inflater.Format? {
        guard let value = headers.values("Content-Encoding").nonEmpty?.joined(separator: ",") else { return nil }
        let codings = value.split(separator: ",").map { $0.trimmingBlanks().lowercased() }.filter { $0 != "identity" }
        switch codings {
        case []: return nil
        case ["gzip"], ["x-gzip"]: return .gzip
        case ["deflate"]: return .deflate
        default: throw HTTPError(.unsupportedContentEncoding(value))
        }
    }

    /// Whether the connection may carry another request once this body has been read: HTTP/1.1
    /// without `Connection: close`, or HTTP/1.0 with `keep-alive`; never after a body read until
    /// close or a head with both Transfer-Encoding and Content-Length (a smuggling sign).
    private func reusable(after framing: BodyFraming, _ fields: FramingFields) -> Bool {
        if framing == .untilClose { return false }
        if !fields.transferEncodings.isEmpty && !fields.contentLengths.isEmpty { return false }
        if fields.close { return false }
        return major > 1 || (major == 1 && minor >= 1) || fields.keepAlive
    }
}

/// The fields a response's framing and reuse depend on, gathered in one pass over its headers
/// (looking each up by name made an array per lookup and lowercased copies of every token).
private struct FramingFields {
    var transferEncodings: [String] = []
    var contentLengths: [String] = []
    /// `Connection` lists `close` / `keep-alive` (tokens compare ASCII case-insensitively).
    var close = false
    var keepAlive = false

    init(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            switch name.utf8.count {  // the length first: most names are none of these
            case 17 where HTTPHeaders.sameName(name, "Transfer-Encoding"): transferEncodings.append(value)
            case 14 where HTTPHeaders.sameName(name, "Content-Length"): contentLengths.append(value)
            case 10 where HTTPHeaders.sameName(name, "Connection"):
                forEachListItem(value) { token in
                    if HTTPHeaders.sameName(token, Self.closeToken) { close = true }
                    if HTTPHeaders.sameName(token, Self.keepAliveToken) { keepAlive = true }
                }
            default: continue
            }
        }
    }

    private static let closeToken = Array("close".utf8)
    private static let keepAliveToken = Array("keep-alive".utf8)
}

/// Calls `body` with each item of a comma-separated list (`a, b,c`), blanks around it dropped,
/// empty items included (`5,,5` has one): over the value's bytes, where splitting and trimming
/// `String`s went through grapheme breaking (a tenth of a keep-alive request's time before its
/// next write).
private func forEachListItem(_ value: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
    var value = value
    try value.withUTF8 { bytes in
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: ",") { end += 1 }
            try body(UnsafeBufferPointer(rebasing: bytes[blanksTrimmed(start..<end, of: bytes)]))
            start = end + 1
        }
    }
}

extension HTTPHeaders {
    /// Header (or trailer) lines as the grammar read them, checked: the first fault a line holds
    /// (no colon, a name that is not a token, a control byte in a value: see ``HeaderField``) is
    /// thrown as its own `HTTPError`; at most `maxCount` lines.
    init(validating lines: [HeaderLine], maxCount: Int, trailers: Bool) throws {
        guard lines.count <= maxCount else {
            throw HTTPError(trailers ? .trailersTooLarge(limit: maxCount) : .tooManyHeaders(limit: maxCount))
        }
        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(lines.count)
        for header in lines {
            switch header.line.content {
            case .field(let name, let value): fields.append((name: name, value: value))
            case .noColon(let line): throw HTTPError(.malformedHeaderLine(found: line + [0x0a]))
            case .invalidName(let name): throw HTTPError(.invalidHeaderName(name))
            case .controlCharacter(let name): throw HTTPError(.controlCharacterInHeader(name: name))
            }
        }
        self.init(fields)
    }
}

extension Array {
    var nonEmpty: Self? { isEmpty ? nil : self }
}

extension StringProtocol {
    /// Without surrounding spaces and tabs (HTTP's OWS).
    func trimmingBlanks() -> String {
        guard let first = firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let last = lastIndex { $0 != " " && $0 != "\t" }!
        return String(self[first...last])
    }
}
