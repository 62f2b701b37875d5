import Foundation
import Testing
import WireLines
import Wirestream

/// The memcached grammar against a real memcached started by the test.
struct MemcachedIntegrationTests {
    @Test func storesAndRetrieves() async throws {
        let executable = try #require(ServerProcess.locate("memcached"), "memcached is installed by .ci/run")
        let server = try ServerProcess(executable) { ["-p", "\($0)", "-l", "127.0.0.1", "-U", "0", "-u", "root"] }
        defer { server.stop() }
        let stream = try await connect(port: server.port)
        defer { stream.close() }

        try stream.queueWrite(StorageCommand(verb: .set, key: "k", flags: 42, exptime: 0, data: Array("v\r\n1".utf8)))
        #expect(try await StorageReply.read(from: stream) == .stored)
        try stream.queueWrite(StorageCommand(verb: .add, key: "k", flags: 0, exptime: 0, data: []))
        #expect(try await StorageReply.read(from: stream) == .notStored)
        try stream.queueWrite(RetrievalCommand(key: "k"))
        #expect(try await RetrievalReply.read(from: stream)
            == .values(items: [Item(key: "k", flags: 42, length: 4, cas: nil, data: Array("v\r\n1".utf8))]))
        try stream.queueWrite(DeletionCommand(key: "k"))
        #expect(try await DeletionReply.read(from: stream) == .deleted)
        try stream.queueWrite(RetrievalCommand(key: "k"))
        #expect(try await RetrievalReply.read(from: stream) == .values(items: []))
    }
}
