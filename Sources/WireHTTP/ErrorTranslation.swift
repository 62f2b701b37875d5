import Wirestream

/// Where a stream error happened, which decides what it means for HTTP.
enum RequestPhase {
    case connecting(host: String)
    /// Writing the request or reading the response head.
    case awaitingResponse
    /// Reading the body: `expected` bytes declared (nil: chunked or until close), `received` so far.
    case readingBody(expected: Int?, received: Int)
}

extension HTTPError {
    /// The `HTTPError` for an error a stream or parser threw during `phase` (an `HTTPError` as is).
    static func translating(_ error: any Error, during phase: RequestPhase) -> HTTPError {
        if let error = error as? HTTPError { return error }
        var cause = error
        if let closed = error as? StreamClosedError {
            guard let real = closed.realError else { return closedCleanly(phase, error) }
            cause = real
        }
        switch cause {
        case let timeout as TimeoutError:
            switch timeout.operation {
            case .connect: return HTTPError(.connectTimeout(timeout.timeout), underlying: timeout)
            case .idle: return HTTPError(.idleTimeout(timeout.timeout), underlying: timeout)
            case .deadline, .close: return HTTPError(.deadlineExceeded(timeout.timeout), underlying: timeout)
            }
        case let resolution as ResolutionError:
            return HTTPError(.cannotResolve(host: resolution.host), underlying: resolution)
        case let tls as TLSError:
            if tls.kind == .truncated, case .readingBody = phase { return closedCleanly(phase, tls) }
            if tls.kind == .timeout { return HTTPError(.connectTimeout(.zero), underlying: tls) }
            if case .connecting = phase {
                return HTTPError(.tlsFailed(reason: tls.reason, verification: tls.kind == .verification), underlying: tls)
            }
            return failedMidway(phase, tls)
        case let system as SystemError:
            if case .connecting = phase { return HTTPError(.cannotConnect(reason: system.description), underlying: system) }
            return failedMidway(phase, system)
        case let budget as ByteLimitExceededError:
            return HTTPError(.headersTooLarge(limit: budget.limit), underlying: budget)
        default:
            return failedMidway(phase, cause)
        }
    }

    /// The server ended the connection (an orderly EOF) before HTTP was done.
    private static func closedCleanly(_ phase: RequestPhase, _ error: any Error) -> HTTPError {
        switch phase {
        case .connecting: return HTTPError(.cannotConnect(reason: "closed while connecting"), underlying: error)
        case .awaitingResponse: return HTTPError(.connectionClosedBeforeResponse, underlying: error)
        case .readingBody(let expected, let received): return HTTPError(.bodyTruncated(expected: expected, received: received), underlying: error)
        }
    }

    /// A reset or other failure after the connection was up.
    private static func failedMidway(_ phase: RequestPhase, _ error: any Error) -> HTTPError {
        switch phase {
        case .connecting: return HTTPError(.cannotConnect(reason: "\(error)"), underlying: error)
        case .awaitingResponse: return HTTPError(.connectionClosedBeforeResponse, underlying: error)
        case .readingBody: return HTTPError(.connectionReset(reason: "\(error)"), underlying: error)
        }
    }
}
