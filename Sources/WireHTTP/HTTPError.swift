import Wirestream

/// Why a request failed: one case per fault, so a caller (or `wire-fetch`'s exit code) can tell a
/// timeout from a refused connection from a lying server.
public struct HTTPError: Error, CustomStringConvertible, @unchecked Sendable {
    // @unchecked Sendable: `underlying` is an error the client caught (stream, TLS and system errors,
    // all Sendable values); it is kept for diagnosis only.

    public enum Kind: Equatable, Sendable {
        // The request
        case invalidURL(String, reason: String)
        case unsupportedScheme(String)
        /// A request header name that is not a token, or a name or value with CR, LF or NUL.
        case invalidRequestHeader(name: String)
        /// A `.stream` body gave more or fewer bytes than its declared length.
        case requestBodyLength(declared: Int, sent: Int)
        /// A `.file` body could not be read.
        case requestBodyFile(path: String, reason: String)

        // Connecting and waiting
        /// The host name did not resolve.
        case cannotResolve(host: String)
        /// The TCP connection failed (refused, unreachable, reset while connecting).
        case cannotConnect(reason: String)
        /// The TLS handshake failed; `verification` is true when the server's certificate or name
        /// did not verify.
        case tlsFailed(reason: String, verification: Bool)
        case connectTimeout(Duration)
        /// No byte arrived for this long while a response was awaited.
        case idleTimeout(Duration)
        /// The request's total timeout passed.
        case deadlineExceeded(Duration)
        /// The server closed (or reset) the connection before a complete response head.
        case connectionClosedBeforeResponse
        /// The connection was reset (or failed) while the body was being read.
        case connectionReset(reason: String)

        // The response head
        /// The first line is not `HTTP/x.y NNN reason`.
        case malformedStatusLine(found: [UInt8])
        /// A line ends with LF alone. Rejected, not tolerated: RFC 9112 §2.2 lets a client accept
        /// it, but a server that sends it is broken, and lenient line parsing is how responses are
        /// split and smuggled.
        case bareLineFeed
        /// A status code outside 100–599.
        case invalidStatus(Int)
        /// A header line without a colon (or an obsolete folded continuation line).
        case malformedHeaderLine(found: [UInt8])
        /// A header name that is not a token (spaces, control bytes, empty).
        case invalidHeaderName([UInt8])
        /// A NUL or other control byte (except tab) in the value of header `name`.
        case controlCharacterInHeader(name: String)
        case headersTooLarge(limit: Int)
        case tooManyHeaders(limit: Int)
        /// Content-Length that is negative, not decimal, or past Int.
        case invalidContentLength(String)
        /// Several Content-Length values that differ.
        case conflictingContentLength([String])
        /// A Transfer-Encoding other than chunked (alone or last).
        case unsupportedTransferEncoding(String)
        /// A Content-Encoding other than gzip, deflate or identity.
        case unsupportedContentEncoding(String)

        // The body
        /// More body than the limit (`maxBodyBytes` or `maxStreamedBodyBytes`), seen before it is read
        /// when the length is declared.
        case bodyTooLarge(limit: Int)
        /// The connection ended before the declared length (`expected`) or the last chunk.
        case bodyTruncated(expected: Int?, received: Int)
        /// A chunk-size line or the CRLF after a chunk is not as RFC 9112 §7.1 says.
        case malformedChunk(found: [UInt8])
        case trailersTooLarge(limit: Int)
        case decompressionFailed(reason: String)

        // Redirects
        case tooManyRedirects(Int)
        /// A redirect back to a URL already visited in this request.
        case redirectLoop(String)
        /// A 3xx redirect without a usable Location.
        case invalidRedirect(String)
    }

    public let kind: Kind
    /// What caused it, when another error did (a `SystemError`, a `TLSError`, a `WireProtocolError`).
    public let underlying: (any Error)?

    public init(_ kind: Kind, underlying: (any Error)? = nil) {
        self.kind = kind
        self.underlying = underlying
    }

    public var description: String {
        switch kind {
        case .invalidURL(let url, let reason): return "invalid URL \(url): \(reason)"
        case .unsupportedScheme(let scheme): return "unsupported scheme \(scheme) (http and https are)"
        case .invalidRequestHeader(let name): return "request header \(name.debugDescription) is not a valid header"
        case .requestBodyLength(let declared, let sent): return "request body declared \(declared) bytes but gave \(sent)"
        case .requestBodyFile(let path, let reason): return "cannot read \(path): \(reason)"
        case .cannotResolve(let host): return "could not resolve host \(host)"
        case .cannotConnect(let reason): return "could not connect: \(reason)"
        case .tlsFailed(let reason, _): return "TLS failed: \(reason)"
        case .connectTimeout(let timeout): return "connect timed out after \(timeout)"
        case .idleTimeout(let timeout): return "no data for \(timeout)"
        case .deadlineExceeded(let timeout): return "request did not finish within \(timeout)"
        case .connectionClosedBeforeResponse: return "the server closed the connection without a response"
        case .connectionReset(let reason): return "the connection failed while reading the body: \(reason)"
        case .malformedStatusLine(let found): return "malformed status line: \(Self.show(found))"
        case .bareLineFeed: return "a response line ends with LF alone (CRLF required)"
        case .invalidStatus(let status): return "status code \(status) is outside 100–599"
        case .malformedHeaderLine(let found): return "malformed header line: \(Self.show(found))"
        case .invalidHeaderName(let name): return "invalid header name \(Self.show(name))"
        case .controlCharacterInHeader(let name): return "a control character in the value of header \(name)"
        case .headersTooLarge(let limit): return "response headers larger than \(limit) bytes"
        case .tooManyHeaders(let limit): return "more than \(limit) header lines"
        case .invalidContentLength(let value): return "invalid Content-Length \(value.debugDescription)"
        case .conflictingContentLength(let values): return "conflicting Content-Length values \(values)"
        case .unsupportedTransferEncoding(let coding): return "unsupported Transfer-Encoding \(coding)"
        case .unsupportedContentEncoding(let coding): return "unsupported Content-Encoding \(coding)"
        case .bodyTooLarge(let limit): return "response body larger than \(limit) bytes"
        case .bodyTruncated(let expected, let received):
            return "response body ended after \(received) bytes" + (expected.map { " of \($0)" } ?? " (chunked, no last chunk)")
        case .malformedChunk(let found): return "malformed chunk framing: \(Self.show(found))"
        case .trailersTooLarge(let limit): return "trailers larger than \(limit) bytes"
        case .decompressionFailed(let reason): return "cannot decode the body: \(reason)"
        case .tooManyRedirects(let count): return "more than \(count) redirects"
        case .redirectLoop(let url): return "redirect loop at \(url)"
        case .invalidRedirect(let reason): return "bad redirect: \(reason)"
        }
    }

    /// Bytes from the wire for a message: printable ASCII as is, the rest escaped, at most 64.
    static func show(_ bytes: [UInt8]) -> String {
        var text = ""
        for byte in bytes.prefix(64) {
            switch byte {
            case 0x0d: text += "\\r"
            case 0x0a: text += "\\n"
            case 0x20..<0x7f: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return "\"" + text + (bytes.count > 64 ? "…" : "") + "\""
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
