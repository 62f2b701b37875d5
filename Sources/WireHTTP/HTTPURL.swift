/// An `http://` or `https://` URL as a client needs it: scheme, credentials, host, port and the
/// request target, with percent-encoding kept exactly as given (the target is sent byte for byte).
///
/// ```swift
/// let url = try HTTPURL("https://user:pw@[::1]:8443/a%20b?q=1#top")
/// url.host          // "::1"      url.port   // 8443     url.target   // "/a%20b?q=1"
/// url.user          // "user"     url.password // "pw"   (sent as Basic auth)
/// ```
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable { case http, https }

    public var scheme: Scheme
    /// The user name of `user:password@`, percent-decoded (for the Authorization header).
    public var user: String?
    public var password: String?
    /// A name or an IP address; an IPv6 literal without its brackets.
    public var host: String
    public var port: Int
    /// Path and query as written (`/` when the URL has no path); the fragment is dropped.
    public var target: String

    /// Parses `text`.
    /// - Throws: `HTTPError` `.invalidURL` (with the reason) or `.unsupportedScheme`.
    public init(_ text: String) throws {
        func invalid(_ reason: String) -> HTTPError { HTTPError(.invalidURL(text, reason: reason)) }
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else {
            throw invalid("no scheme (http:// or https://)")
        }
        let schemeText = text[..<colon].lowercased()
        guard let scheme = Scheme(rawValue: schemeText) else { throw HTTPError(.unsupportedScheme(schemeText)) }
        self.scheme = scheme
        var rest = text[text.index(colon, offsetBy: 3)...]
        if let fragment = rest.firstIndex(of: "#") { rest = rest[..<fragment] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let parts = userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            user = try Self.percentDecoded(parts[0], in: text)
            password = try parts.count > 1 ? Self.percentDecoded(parts[1], in: text) : nil
        }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("unclosed [ in the host") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "%" }) else {
                throw invalid("not an IPv6 address in brackets")
            }
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after ]") }
                portText = after.dropFirst()
            }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                portText = authority[authority.index(after: colon)...]
                authority = authority[..<colon]
            }
            host = String(authority)
            let allowed = host.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-._~%".unicodeScalars.contains($0)) }
            guard allowed else { throw invalid("not a host name") }
        }
        guard !host.isEmpty else { throw invalid("no host") }
        if let portText, !portText.isEmpty {
            guard portText.allSatisfy(\.isASCII), let port = Int(portText), (1...65535).contains(port) else {
                throw invalid("port \(portText) is not 1–65535")
            }
            self.port = port
        } else {
            port = scheme == .https ? 443 : 80
        }
        guard !path.contains(where: { $0 == " " || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? false }) else {
            throw invalid("spaces or control characters in the path (percent-encode them)")
        }
        target = path.isEmpty ? "/" : path.hasPrefix("?") ? "/" + path : String(path)
    }

    /// `host:port` for the Host header: the port only when it is not the scheme's default, an
    /// IPv6 literal in brackets.
    public var hostHeader: String {
        let name = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host  // bytes: no grapheme breaking per request
        return port == (scheme == .https ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// The URL without its credentials.
    public var description: String { "\(scheme.rawValue)://\(hostHeader)\(target)" }

    /// Where a `Location` header points, relative to this URL (RFC 3986 §5.2): absolute URLs as
    /// they are, `//host/…` with this scheme, `/path` on this host, `a/b` beside this path, `?q` on
    /// this path. Credentials are not carried to the new URL.
    public func resolving(_ reference: String) throws -> HTTPURL {
        if reference.contains("://") { return try HTTPURL(reference) }
        if reference.hasPrefix("//") { return try HTTPURL("\(scheme.rawValue):\(reference)") }
        var resolved = self
        resolved.user = nil
        resolved.password = nil
        let reference = reference.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        if reference.isEmpty {
            return resolved
        } else if reference.hasPrefix("?") {
            resolved.target = path + reference
        } else if reference.hasPrefix("/") {
            resolved.target = Self.removingDotSegments(reference)
        } else {
            let directory = path.lastIndex(of: "/").map { path[...$0] } ?? "/"
            resolved.target = Self.removingDotSegments(directory + reference)
        }
        guard !resolved.target.contains(where: { $0 == " " || $0.asciiValue.map { $0 < 0x20 } ?? false }) else {
            throw HTTPError(.invalidURL(reference, reason: "spaces or control characters in the path"))
        }
        return resolved
    }

    /// RFC 3986 §5.2.4 on the path part (the query is kept as it is).
    static func removingDotSegments(_ target: String) -> String {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var output: [Substring] = []
        let segments = parts[0].split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (index, segment) in segments.enumerated() {
            let last = index == segments.count - 1
            switch segment {
            case ".": if last { output.append("") }
            case "..":
                if !output.isEmpty { output.removeLast() }
                if last { output.append("") }
            default: output.append(segment)
            }
        }
        let path = "/" + output.joined(separator: "/")
        return parts.count > 1 ? path + "?" + parts[1] : path
    }

    private static func percentDecoded(_ text: Substring, in url: String) throws -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else {
                throw HTTPError(.invalidURL(url, reason: "a bad percent escape in the user info"))
            }
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
