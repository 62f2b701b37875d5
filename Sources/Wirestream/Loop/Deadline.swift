import CLinux

/// A point in time on the loop's monotonic clock (``IOLoop/time()``) by which something must finish.
///
/// ```swift
/// stream.deadline = .after(.seconds(5))        // callback forms: every wait of this stream
/// try await stream.withDeadline(.seconds(5)) {  // async forms: the waits inside the closure
///     try await stream.write(request)
///     return try await stream.readUntil(crlf)
/// }
/// ```
public struct Deadline: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds on ``IOLoop/time()``'s clock.
    public let uptimeNanoseconds: UInt64

    public init(uptimeNanoseconds: UInt64) {
        self.uptimeNanoseconds = uptimeNanoseconds
    }

    /// `duration` from now (a negative duration is now).
    public static func after(_ duration: Duration) -> Deadline {
        Deadline(uptimeNanoseconds: IOLoop.time().saturatingAdd(duration.clampedNanoseconds))
    }

    /// The present moment: a deadline that has already passed.
    public static var now: Deadline { Deadline(uptimeNanoseconds: IOLoop.time()) }

    /// True once the loop's clock has reached this deadline.
    public var hasPassed: Bool { IOLoop.time() >= uptimeNanoseconds }

    /// Time left until the deadline (zero once it has passed).
    public var remaining: Duration {
        let now = IOLoop.time()
        return now >= uptimeNanoseconds ? .zero : .nanoseconds(Int64(clamping: uptimeNanoseconds - now))
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool {
        lhs.uptimeNanoseconds < rhs.uptimeNanoseconds
    }

    public var description: String { "Deadline(in \(remaining))" }
}

extension Duration {
    /// Whole nanoseconds, clamped to 0…UInt64.max (negative durations are zero).
    var clampedNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        return whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}

extension UInt64 {
    /// `self + other`, or `UInt64.max` where that overflows (a deadline past the end of time).
    func saturatingAdd(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
