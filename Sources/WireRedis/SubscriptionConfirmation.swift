import Wirestream

/// One confirmation the server owes a subscriber; completed once — by the confirmation, the
/// deadline or the close — and awaited by the caller that asked for it.
final class SubscriptionConfirmation: Sendable, Equatable {
    private let state = Locked<(result: Result<Void, any Error>?, waiter: CheckedContinuation<Void, any Error>?)>((nil, nil))

    var isComplete: Bool { state.withLock { $0.result != nil } }

    func complete(_ result: Result<Void, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    func wait() async throws {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<Void, any Error>? in
                if state.result == nil { state.waiter = continuation }
                return state.result
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    static func == (a: SubscriptionConfirmation, b: SubscriptionConfirmation) -> Bool { a === b }
}
