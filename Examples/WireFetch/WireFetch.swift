import ArgumentParser
import Foundation
import WireHTTP
import Wirestream

/// A curl-like fetcher on WireHTTP's `HTTPClient`: curl's common options and exit codes, a
/// progress bar on a terminal, and — with no URL — a tour against an embedded server.
@main
struct WireFetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire-fetch",
        abstract: "Transfer a URL over HTTP or HTTPS, as curl does (on Wirestream's HTTPClient).",
        discussion: """
            Exit codes follow curl's: 3 bad URL, 6 cannot resolve, 7 cannot connect, 8 malformed \
            response, 18 body cut short, 22 HTTP error with --fail, 23 write error, 28 timeout, \
            35 TLS failure, 47 too many redirects, 52 empty reply, 56 receive failure, 60 certificate \
            not verified, 61 bad content encoding, 63 --max-filesize exceeded.

            With no URL, wire-fetch starts a small server on 127.0.0.1 and fetches a page, a \
            redirect, a gzip'd page and an 8 MiB download from it.
            """)

    @Argument(help: "An http:// or https:// URL. None: a tour against an embedded server.")
    var url: String?

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("Write the body to FILE instead of standard output.", valueName: "file"))
    var output: String?

    @Flag(name: [.customShort("O"), .customLong("remote-name")], help: "Write the body to a file named like the URL's last path segment.")
    var remoteName = false

    @Flag(name: [.customShort("L"), .customLong("location")], help: "Follow redirects (301, 302, 303, 307, 308).")
    var location = false

    @Option(name: .customLong("max-redirs"), help: ArgumentHelp("At most this many redirects with -L.", valueName: "n"))
    var maxRedirects = 5

    @Option(name: [.customShort("H"), .customLong("header")], help: ArgumentHelp("Add a request header (repeatable).", valueName: "Name: value"))
    var headers: [String] = []

    @Option(name: [.customShort("X"), .customLong("request")], help: ArgumentHelp("The request method.", valueName: "method"))
    var method: String?

    @Option(name: [.customShort("d"), .customLong("data")], help: ArgumentHelp("POST this data (repeatable, joined with &; @FILE reads a file, dropping newlines).", valueName: "data"))
    var data: [String] = []

    @Option(name: .customLong("data-binary"), help: ArgumentHelp("POST this data exactly (@FILE streams a file as it is).", valueName: "data"))
    var dataBinary: String?

    @Flag(name: [.customShort("I"), .customLong("head")], help: "Send HEAD and show the response headers only.")
    var headOnly = false

    @Flag(name: [.customShort("i"), .customLong("include")], help: "Show the response status line and headers before the body.")
    var include = false

    @Flag(name: [.customShort("s"), .customLong("silent")], help: "No progress bar and no error messages.")
    var silent = false

    @Flag(name: [.customShort("S"), .customLong("show-error")], help: "With -s, still show error messages.")
    var showError = false

    @Flag(name: [.customShort("f"), .customLong("fail")], help: "Fail (exit 22, no body) on an HTTP status of 400 or more.")
    var fail = false

    @Flag(name: [.customShort("k"), .customLong("insecure")], help: "Do not verify the server's certificate or name.")
    var insecure = false

    @Option(help: ArgumentHelp("Trust the CA certificates in this PEM file instead of the system's.", valueName: "file"))
    var cacert: String?

    @Option(name: [.customShort("E"), .customLong("cert")], help: ArgumentHelp("A client certificate (PEM).", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("The client certificate's private key (PEM).", valueName: "file"))
    var key: String?

    @Option(name: [.customShort("u"), .customLong("user")], help: ArgumentHelp("Basic credentials.", valueName: "user:password"))
    var user: String?

    @Option(name: [.customShort("A"), .customLong("user-agent")], help: "The User-Agent header.")
    var userAgent = "wire-fetch/1.0"

    @Flag(help: "Ask for a compressed response (gzip, deflate) and decode it.")
    var compressed = false

    @Option(name: .customLong("connect-timeout"), help: ArgumentHelp("Seconds allowed for connecting (incl. TLS).", valueName: "seconds"))
    var connectTimeout: Double?

    @Option(name: [.customShort("m"), .customLong("max-time")], help: ArgumentHelp("Seconds allowed for the whole transfer.", valueName: "seconds"))
    var maxTime: Double?

    @Option(name: .customLong("max-filesize"), help: ArgumentHelp("Refuse a body larger than this many bytes (exit 63).", valueName: "bytes"))
    var maxFilesize: Int?

    @Option(name: [.customShort("w"), .customLong("write-out")], help: ArgumentHelp("Print this after the transfer: %{http_code}, %{size_download}, %{url_effective}, %{num_redirects}, %{content_type}, %{time_total}.", valueName: "format"))
    var writeOut: String?

    func validate() throws {
        if output != nil && remoteName { throw ValidationError("use -o or -O, not both") }
        if !data.isEmpty && dataBinary != nil { throw ValidationError("use -d or --data-binary, not both") }
        for header in headers where !header.contains(":") { throw ValidationError("-H needs 'Name: value': \(header)") }
    }

    func run() async throws {
        guard let url else { return try await DemoTour.run() }
        do {
            let summary = try await fetch(url)
            if let writeOut { FileHandle.standardOutput.write(Data(summary.render(writeOut).utf8)) }
        } catch let failure as HTTPStatusFailure {
            report("(22) The requested URL returned error: \(failure.status)")
            throw ExitCode(22)
        } catch let error as ValidationError {
            throw error
        } catch {
            report("(\(CurlExitCode.forError(error))) \(error)")
            throw ExitCode(CurlExitCode.forError(error))
        }
    }

    private func report(_ message: String) {
        if !silent || showError { FileHandle.standardError.write(Data("wire-fetch: \(message)\n".utf8)) }
    }

    // MARK: The transfer

    func fetch(_ text: String) async throws -> WriteOut {
        var url = try HTTPURL(text)
        if let user {
            let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            url.user = String(parts[0])
            url.password = parts.count > 1 ? String(parts[1]) : ""
        }
        let request = HTTPRequest(method: requestMethod, url: url, headers: try requestHeaders(), body: try requestBody())
        let client = HTTPClient(configuration: clientConfiguration())
        let started = ContinuousClock.now
        let progress = ProgressBar.make(silent: silent || (output == nil && !remoteName))
        var summary = WriteOut()
        try await client.execute(request) { response in
            summary.status = response.status
            summary.url = response.url.description
            summary.redirects = response.redirects
            summary.contentType = response.headers["Content-Type"] ?? ""
            if fail && response.status >= 400 { throw HTTPStatusFailure(status: response.status) }
            let sink = try OutputSink(path: try destination(for: response.url))
            defer { sink.close() }
            if include || headOnly { try sink.write(Array(Self.headText(response.head).utf8)) }
            try await response.body.forEachPiece { piece in  // lent in place: no array per piece
                try sink.write(piece)
                summary.sizeDownload += piece.count
                progress?.update(received: response.body.receivedBytes, expected: response.body.expectedLength)
            }
            progress?.finish(received: response.body.receivedBytes, expected: response.body.expectedLength)
        }
        summary.elapsed = ContinuousClock.now - started
        return summary
    }

    private var requestMethod: HTTPMethod {
        if let method { return HTTPMethod(method) }
        if headOnly { return .head }
        return data.isEmpty && dataBinary == nil ? .get : .post
    }

    private func requestHeaders() throws -> HTTPHeaders {
        var result = HTTPHeaders()
        for header in headers {
            let colon = header.firstIndex(of: ":")!
            result.add(String(header[..<colon]), String(header[header.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
        if (!data.isEmpty || dataBinary != nil) && !result.contains("Content-Type") {
            result.add("Content-Type", "application/x-www-form-urlencoded")
        }
        return result
    }

    private func requestBody() throws -> HTTPRequestBody? {
        if let dataBinary {
            return dataBinary.hasPrefix("@") ? .file(path: String(dataBinary.dropFirst())) : .string(dataBinary)
        }
        guard !data.isEmpty else { return nil }
        let parts = try data.map { item -> String in
            guard item.hasPrefix("@") else { return item }
            let path = String(item.dropFirst())
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw HTTPError(.requestBodyFile(path: path, reason: "cannot read it"))
            }
            return String(decoding: contents, as: UTF8.self).filter { $0 != "\n" && $0 != "\r" && $0 != "\r\n" }
        }
        return .string(parts.joined(separator: "&"))
    }

    private func clientConfiguration() -> HTTPClientConfiguration {
        var configuration = HTTPClientConfiguration()
        configuration.followRedirects = location
        configuration.maxRedirects = maxRedirects
        configuration.decompress = compressed
        configuration.userAgent = userAgent
        if insecure { configuration.disableCertificateVerification() }
        if let cacert { configuration.tls.trustRoots = .file(cacert) }
        if let cert {
            configuration.tls.certificateChain = .file(cert)
            configuration.tls.privateKey = .file(key ?? cert)
        }
        if let connectTimeout { configuration.connectTimeout = .milliseconds(Int(connectTimeout * 1000)) }
        if let maxTime { configuration.totalTimeout = .milliseconds(Int(maxTime * 1000)) }
        configuration.maxStreamedBodyBytes = maxFilesize
        return configuration
    }

    /// Standard output, `-o FILE`, or for `-O` the URL's last path segment.
    private func destination(for url: HTTPURL) throws -> String? {
        if let output { return output == "-" ? nil : output }
        guard remoteName else { return nil }
        let path = url.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard let name = path.split(separator: "/").last, !name.isEmpty else {
            throw FileWriteError(path: url.target, reason: "the URL has no file name for -O")
        }
        return String(name)
    }

    static func headText(_ head: HTTPResponseHead) -> String {
        var text = "HTTP/\(head.major).\(head.minor) \(head.status)" + (head.reason.isEmpty ? "" : " \(head.reason)") + "\r\n"
        for (name, value) in head.headers { text += "\(name): \(value)\r\n" }
        return text + "\r\n"
    }
}

/// `--fail` met a status of 400 or more.
struct HTTPStatusFailure: Error {
    let status: Int
}
