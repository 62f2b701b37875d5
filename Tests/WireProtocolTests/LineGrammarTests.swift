import Testing
import WireLines
import Wirestream

/// The memcached and line grammars (Grammars/WireLines/) on fixtures, at every split.
struct LineGrammarTests {
    @Test func retrievalReplyWithValues() async throws {
        let input = bytes("VALUE foo 5 3\r\nbar\r\nVALUE k2 0 4 99\r\na\r\nb\r\nEND\r\n")
        let reply = try await readEverySplit(input) { try await RetrievalReply.read(from: $0) }
        #expect(reply == .values(items: [
            Item(key: "foo", flags: 5, length: 3, cas: nil, data: bytes("bar")),
            Item(key: "k2", flags: 0, length: 4, cas: 99, data: bytes("a\r\nb")),
        ]))
    }

    @Test func retrievalReplyAlternativesByLookahead() async throws {
        let miss = try await readEverySplit(bytes("END\r\n")) { try await RetrievalReply.read(from: $0) }
        #expect(miss == .values(items: []))
        let failure = try await readEverySplit(bytes("SERVER_ERROR out of memory\r\n")) { try await RetrievalReply.read(from: $0) }
        #expect(failure == .serverError(message: "out of memory"))
        let error = try await readEverySplit(bytes("ERROR\r\n")) { try await RetrievalReply.read(from: $0) }
        #expect(error == .error)
    }

    @Test func storageReplies() async throws {
        let input = bytes("STORED\r\nNOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nERROR\r\nCLIENT_ERROR bad data chunk\r\n")
        let replies = try await readEverySplit(input) { source in
            var replies: [StorageReply] = []
            for _ in 0..<6 { replies.append(try await StorageReply.read(from: source)) }
            return replies
        }
        #expect(replies == [.stored, .notStored, .exists, .notFound, .error, .clientError("bad data chunk")])
    }

    @Test func storageCommandEncoder() throws {
        let command = StorageCommand(verb: .set, key: "greeting", flags: 7, exptime: 0, data: bytes("hi\r\nthere"))
        #expect(try command.encoded() == bytes("set greeting 7 0 9\r\nhi\r\nthere\r\n"))
        #expect(throws: WireEncodingError.self) {
            try StorageCommand(verb: .add, key: "two words", flags: 0, exptime: 0, data: []).encoded()
        }
    }

    @Test func unknownStorageReplyIsRefused() async throws {
        let error = await protocolError(bytes("MAYBE\r\n")) { try await StorageReply.read(from: $0) }
        #expect(error?.kind == .noAlternative(found: bytes("M")))  // as far as it had to look
    }

    @Test func itemLengthOverTheLimitIsRefused() async throws {
        let error = await protocolError(bytes("VALUE k 0 2000000\r\n")) { try await RetrievalReply.read(from: $0) }
        #expect(error?.kind == .limitExceeded(limit: 1 << 20, value: 2_000_000))
        #expect(error?.message == "Item")
        #expect(error?.field == "data")
    }

    @Test func lines() async throws {
        let input = bytes("héllo\nworld\r\n\n")
        let lines = try await readEverySplit(input) { source in
            [try await Line.read(from: source), try await Line.read(from: source), try await Line.read(from: source)]
        }
        #expect(lines.map(\.text) == ["héllo", "world\r", ""])
        #expect(try Line(text: "ok").encoded() == bytes("ok\n"))
        #expect(throws: WireEncodingError.self) { try Line(text: "two\nlines").encoded() }
    }

    @Test func oversizeLineIsRefused() async throws {
        let error = await protocolError(bytes(String(repeating: "x", count: 70_000) + "\n")) { try await Line.read(from: $0) }
        #expect(error?.kind == .limitExceeded(limit: 65_536, value: nil))
    }
}
