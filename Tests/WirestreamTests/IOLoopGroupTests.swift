import Glibc
import Synchronization
import Testing

@testable import Wirestream

@Suite struct IOLoopGroupTests {
    @Test func loopsAreHandedOutRoundRobinEachOnItsOwnThread() async throws {
        let group = try IOLoopGroup(loopCount: 3)
        defer { group.shutdown() }
        let handedOut = (0..<6).map { _ in group.next() }
        #expect(handedOut.map { ObjectIdentifier($0) } == (group.loops + group.loops).map { ObjectIdentifier($0) })
        // Each loop runs on a thread of its own: on it, only that loop is `inLoopThread`.
        for loop in group.loops {
            let seen = await withTaskExecutorPreference(loop) {
                group.loops.map { $0.inLoopThread }
            }
            #expect(seen.filter { $0 }.count == 1)
            #expect(seen[group.loops.firstIndex { $0 === loop }!])
        }
    }

    @Test func streamsOnDifferentLoopsOfAGroupTalkToEachOther() async throws {
        let group = try IOLoopGroup(loopCount: 2)
        defer { group.shutdown() }
        let serverLoop = group.next()
        let clientLoop = group.next()
        let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: serverLoop)
        let server = Task(executorPreference: serverLoop) { () -> String in
            let stream = try await listener.accept()
            let line = try await stream.readUntil(bytes("\n"))
            try await stream.write(line.reversed().dropFirst() + bytes("\n"))
            try await stream.closeGracefully()
            return text(line)
        }
        let reply = try await Task(executorPreference: clientLoop) { () -> String in
            let stream = IOStream(loop: clientLoop)
            try await stream.connect(host: "127.0.0.1", port: listener.port)
            try await stream.write("hello\n")
            return text(try await stream.readUntil(bytes("\n")))
        }.value
        #expect(try await server.value == "hello\n")
        #expect(reply == "olleh\n")
        listener.close()
    }

    @Test func theDefaultGroupHasOneLoopPerCore() throws {
        let group = try IOLoopGroup()
        defer { group.shutdown() }
        #expect(group.loops.count == IOLoopGroup.coreCount)
        #expect(IOLoopGroup.coreCount == Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
