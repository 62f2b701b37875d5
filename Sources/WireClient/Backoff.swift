/// The wait before the next reconnect attempt after `failures` failed ones in a row: `initial`
/// doubled per failure, at most `maximum`. Shared by every client that reconnects.
public func reconnectDelay(afterFailures failures: Int, initial: Duration, maximum: Duration) -> Duration {
    min(initial * (1 << min(max(failures, 1) - 1, 20)), maximum)
}
