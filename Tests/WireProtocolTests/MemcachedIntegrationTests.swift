import Foundation
import Testing
import WireMemcached
import Wirestream

/// The memcached grammar against a real memcached started by the test.
struct MemcachedIntegrationTests {
    @Test func storesAndRetrieves() async throws {
        let executable = try #require(ServerProcess.locate("memcached"), "memcached is installed by .ci/run")
        let server = try ServerProcess(executable) { ["-p", "\($0)", "-l", "127.0.0.1", "-U", "0", "-u", "root"] }
        defer { server.stop() }
        let stream = try await connect(port: server.port)
        defer { stream.close() }

        try stream.queueWrite(MemcachedCommand.set(MemcachedStorage(key: "k", flags: 42, exptime: 0, data: Array("v\r\n1".utf8))))
        #expect(try await MemcachedReply.read(from: stream) == .stored)
        try stream.queueWrite(MemcachedCommand.add(MemcachedStorage(key: "k", flags: 0, exptime: 0, data: [])))
        #expect(try await MemcachedReply.read(from: stream) == .notStored)
        try stream.queueWrite(MemcachedCommand.get("k"))
        #expect(try await MemcachedReply.read(from: stream)
            == .values(items: [MemcachedItem(key: "k", flags: 42, length: 4, cas: nil, data: Array("v\r\n1".utf8))]))
        try stream.queueWrite(MemcachedCommand.delete("k"))
        #expect(try await MemcachedReply.read(from: stream) == .deleted)
        try stream.queueWrite(MemcachedCommand.get("k"))
        #expect(try await MemcachedReply.read(from: stream) == .end)
    }
}
