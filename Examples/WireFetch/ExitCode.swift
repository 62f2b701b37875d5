import WireHTTP

/// curl's exit codes for the failures a fetch can meet, so scripts written for curl read ours
/// the same way (`man curl`, EXIT CODES).
enum CurlExitCode {
    static func forError(_ error: any Error) -> Int32 {
        if error is FileWriteError { return 23 }
        guard let error = error as? HTTPError else { return 1 }
        switch error.kind {
        case .unsupportedScheme: return 1
        case .invalidURL: return 3
        case .cannotResolve: return 6
        case .cannotConnect: return 7
        case .malformedStatusLine, .bareLineFeed, .invalidStatus, .malformedHeaderLine, .invalidHeaderName,
             .controlCharacterInHeader, .headersTooLarge, .tooManyHeaders, .invalidContentLength,
             .conflictingContentLength, .unsupportedTransferEncoding, .malformedChunk, .trailersTooLarge,
             .invalidRedirect:
            return 8  // weird server reply
        case .bodyTruncated: return 18  // partial file
        case .requestBodyFile, .requestBodyLength: return 26  // read error
        case .connectTimeout, .idleTimeout, .deadlineExceeded: return 28
        case .tlsFailed(_, let verification): return verification ? 60 : 35
        case .invalidRequestHeader: return 43
        case .tooManyRedirects, .redirectLoop: return 47
        case .connectionClosedBeforeResponse: return 52  // empty reply from server
        case .connectionReset: return 56  // failure receiving network data
        case .unsupportedContentEncoding, .decompressionFailed: return 61
        case .bodyTooLarge: return 63  // maximum file size exceeded
        }
    }
}
