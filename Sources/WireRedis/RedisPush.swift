/// A pub/sub message or confirmation as the server sends it: a RESP3 push (`>3 message news hi`),
/// or an array on a RESP2 connection that subscribed.
enum RedisPush {
    /// A message for a channel, pattern or shard channel.
    case message(RedisMessage)
    /// `subscribe`, `unsubscribe`, … confirming one name: keyed `"subscribe news"`.
    case confirmation(String)
    /// Anything else (`pong`, `invalidate`, newer kinds): not for subscribers.
    case other

    init(_ reply: Reply) {
        guard let elements = reply.elements, let kind = elements.first?.string?.lowercased() else {
            self = .other
            return
        }
        func text(_ index: Int) -> String? { index < elements.count ? elements[index].string : nil }
        func bytes(_ index: Int) -> [UInt8] {
            guard index < elements.count else { return [] }
            if case .bulk(let value?) = elements[index] { return value }
            return Array((elements[index].string ?? "").utf8)
        }
        switch kind {
        case "message", "smessage":
            guard let channel = text(1) else { self = .other; return }
            self = .message(RedisMessage(kind: kind == "message" ? .message : .smessage, channel: channel, payload: bytes(2)))
        case "pmessage":
            guard let pattern = text(1), let channel = text(2) else { self = .other; return }
            self = .message(RedisMessage(kind: .pmessage, channel: channel, pattern: pattern, payload: bytes(3)))
        case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe":
            self = .confirmation("\(kind) \(text(1) ?? "")")
        default:
            self = .other
        }
    }
}
