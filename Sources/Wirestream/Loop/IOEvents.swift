import CLinux

/// The readiness events an ``IOLoop`` handler listens for and is called with.
public struct IOEvents: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The fd has bytes (or EOF) to read.
    public static let read = IOEvents(rawValue: WS_EPOLLIN)
    /// The fd accepts writes.
    public static let write = IOEvents(rawValue: WS_EPOLLOUT)
    /// An error or hang-up. Always reported, whether asked for or not.
    public static let error = IOEvents(rawValue: WS_EPOLLERR | WS_EPOLLHUP)
}
