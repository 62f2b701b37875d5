import NIOCore
import NIOExtras
import NIOPosix

/// SwiftNIO with a frame decoder and a counting handler: the idiomatic NIO pipeline.
enum NIOHandlerReader {
    static func run(workload: String, port: Int) throws -> (count: Int, scanned: Int) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let done = group.next().makePromise(of: Int.self)
        let bytesMode = workload.hasPrefix("bulk")
        let channel = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let counter = CountingHandler(done: done, countBytes: bytesMode)
                    switch workload {
                    case "frames":
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(LengthFieldBasedFrameDecoder(lengthFieldBitLength: .fourBytes)), counter)
                    case "bulk-stream", "bulk-partial":
                        try channel.pipeline.syncOperations.addHandler(counter)
                    default:
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(LineBasedFrameDecoder()), counter)
                    }
                }
            }
            .connect(host: "127.0.0.1", port: port).wait()
        let count = try done.futureResult.wait()
        try? channel.close().wait()
        return (count, 0)
    }
}

/// Counts frames (or bytes) and reports the total when the channel closes. Lives on its channel's loop.
final class CountingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var count = 0
    private let done: EventLoopPromise<Int>
    private let countBytes: Bool

    init(done: EventLoopPromise<Int>, countBytes: Bool) {
        self.done = done
        self.countBytes = countBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        count += countBytes ? buffer.readableBytes : 1
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.succeed(count)
    }
}

/// SwiftNIO's async/await API: NIOAsyncChannel iterated with `for try await`.
enum NIOAsyncReader {
    static func run(workload: String, port: Int) async throws -> (count: Int, scanned: Int) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                switch workload {
                case "frames":
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LengthFieldBasedFrameDecoder(lengthFieldBitLength: .fourBytes)))
                case "bulk-stream", "bulk-partial":
                    break
                default:
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder()))
                }
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        var count = 0
        let bytesMode = workload.hasPrefix("bulk")
        try await channel.executeThenClose { inbound, _ in
            for try await buffer in inbound { count += bytesMode ? buffer.readableBytes : 1 }
        }
        try await group.shutdownGracefully()
        return (count, 0)
    }
}
