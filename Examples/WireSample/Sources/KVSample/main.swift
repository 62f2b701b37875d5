import Wirestream

// A client and a server of the KV protocol (kv.wire) talking over two pipes on the shared loop:
// requests are encoded and pipelined, the server parses them as they arrive and answers, the
// client parses the answers. Everything the grammar generated: Request, Answer, read, encode.

let toServer = try PipeIOStream.makePipe(loop: .shared)
let toClient = try PipeIOStream.makePipe(loop: .shared)

let server = Task {
    var store: [String: [UInt8]] = [:]
    while true {
        let request: Request
        do {
            request = try await Request.read(from: toServer.reader)
        } catch is StreamClosedError {
            try await toClient.writer.flush()
            toClient.writer.close()
            return store.count
        }
        let answer: Answer
        switch request {
        case .get(let key): answer = store[key].map { .value(bytes: $0) } ?? .missing
        case .put(let key, let value):
            store[key] = value
            answer = .done
        case .delete(let key): answer = store.removeValue(forKey: key) == nil ? .missing : .done
        }
        try toClient.writer.queueWrite(answer)
    }
}

let requests: [Request] = [
    .put(key: "greeting", value: Array("hello, wire".utf8)),
    .get(key: "greeting"),
    .delete(key: "greeting"),
    .get(key: "greeting"),
]
for request in requests { try toServer.writer.queueWrite(request) }  // pipelined: no waiting
try await toServer.writer.flush()  // close() would drop what is still queued, as in Tornado
toServer.writer.close()

for request in requests {
    let answer = try await Answer.read(from: toClient.reader)
    print("\(request) → \(answer)")
    if case .value(let bytes) = answer { print("  value: \(String(decoding: bytes, as: UTF8.self))") }
}
let kept = try await server.value
print("server stopped with \(kept) keys")
