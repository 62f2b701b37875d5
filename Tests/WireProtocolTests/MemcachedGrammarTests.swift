import Testing
import WireMemcached
import Wirestream

/// memcached.wire (Grammars/WireMemcached/) on fixtures, at every split.
struct MemcachedGrammarTests {
    @Test func valuesUntilEndWithAndWithoutCas() async throws {
        let input = bytes("VALUE foo 5 3\r\nbar\r\nVALUE k2 0 4 99\r\na\r\nb\r\nEND\r\n")
        let reply = try await readEverySplit(input) { try await MemcachedReply.read(from: $0) }
        #expect(reply == .values(items: [
            MemcachedItem(key: "foo", flags: 5, length: 3, cas: nil, data: bytes("bar")),
            MemcachedItem(key: "k2", flags: 0, length: 4, cas: 99, data: bytes("a\r\nb")),
        ]))
    }

    @Test func everyStatusCounterVersionAndStatsReply() async throws {
        let input = bytes("END\r\nSTORED\r\nNOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nDELETED\r\nTOUCHED\r\nOK\r\n42\r\n"
            + "VERSION 1.6.18\r\nSTAT pid 7\r\nSTAT uptime 3\r\nEND\r\nERROR\r\nCLIENT_ERROR bad data chunk\r\nSERVER_ERROR out of memory\r\n")
        let replies = try await readEverySplit(input) { source in
            var replies: [MemcachedReply] = []
            for _ in 0..<14 { replies.append(try await MemcachedReply.read(from: source)) }
            return replies
        }
        #expect(replies == [
            .end, .stored, .notStored, .exists, .notFound, .deleted, .touched, .ok, .counter(value: 42),
            .version(text: "1.6.18"),
            .stats(entries: [MemcachedStat(name: "pid", value: "7"), MemcachedStat(name: "uptime", value: "3")]),
            .error, .clientError(message: "bad data chunk"), .serverError(message: "out of memory"),
        ])
    }

    @Test func commandsEncodeAsTheProtocolSays() throws {
        let storage = MemcachedStorage(key: "greeting", flags: 7, exptime: 0, data: bytes("hi\r\nthere"))
        #expect(try MemcachedCommand.set(storage).encoded() == bytes("set greeting 7 0 9\r\nhi\r\nthere\r\n"))
        #expect(try MemcachedCommand.cas(key: "k", flags: 0, exptime: 60, unique: 99, data: bytes("v")).encoded()
            == bytes("cas k 0 60 1 99\r\nv\r\n"))
        #expect(try MemcachedCommand.gets("a b c").encoded() == bytes("gets a b c\r\n"))
        #expect(try MemcachedCommand.incr(key: "n", delta: 5).encoded() == bytes("incr n 5\r\n"))
        let quiet = MemcachedQuietStorage(key: "k", flags: 1, exptime: 2, data: bytes("abc"))
        #expect(try MemcachedQuietCommand.add(quiet).encoded() == bytes("add k 1 2 3 noreply\r\nabc\r\n"))
        #expect(try MemcachedQuietCommand.delete(key: "k").encoded() == bytes("delete k noreply\r\n"))
        #expect(try MemcachedQuietCommand.decr(key: "n", delta: 2).encoded() == bytes("decr n 2 noreply\r\n"))
        #expect(throws: WireEncodingError.self) {
            try MemcachedCommand.add(MemcachedStorage(key: "two words", flags: 0, exptime: 0, data: [])).encoded()
        }
    }

    @Test func badRepliesAreTypedErrors() async throws {
        let unknown = await protocolError(bytes("MAYBE\r\n")) { try await MemcachedReply.read(from: $0) }
        #expect(unknown?.kind == .invalidNumber(expected: "decimal integer", text: bytes("MAYBE")))
        let huge = await protocolError(bytes("VALUE k 0 2000000000\r\n")) { try await MemcachedReply.read(from: $0) }
        #expect(huge?.kind == .limitExceeded(limit: 1 << 30, value: 2_000_000_000))
        #expect(huge?.message == "MemcachedItem" && huge?.field == "data")
        let miscounted = await protocolError(bytes("VALUE k 0 2\r\nabc\r\nEND\r\n")) { try await MemcachedReply.read(from: $0) }
        #expect(miscounted?.kind == .unexpectedBytes(expected: "\"\\r\\n\"", found: bytes("c\r")))
        let noEnd = await protocolError(bytes("VALUE k 0 1\r\na\r\n")) { try await MemcachedReply.read(from: $0) }
        #expect(noEnd?.kind == .truncated)
    }
}
