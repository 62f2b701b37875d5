import Testing
import Wirestream  // not @testable: these initialisers must be public, for users' test doubles

@Suite struct PublicErrorInitializerTests {
    @Test func everyPublicErrorCanBeMadeOutsideTheModule() {
        let errors: [any Error] = [
            StreamClosedError(realError: nil),
            StreamBufferFullError(buffer: .read, limit: 1, size: 2),
            UnsatisfiableReadError(maxBytes: 1, searchingFor: "x"),
            ReadInProgressError(),
            TimeoutError(.idle, timeout: .seconds(1)),
            InvalidReadError(.negativeCount(-1)),
            TLSError(.handshake, reason: "x"),
            HandshakeAlreadyAwaitedError(),
            StartTLSError(reason: "x"),
            PatternError(pattern: "(", offset: 1, message: "x"),
            PatternMismatchError(pattern: "x"),
            PatternMatchError(pattern: "x", code: -1, message: "x"),
            ConnectStateError(),
            ResolutionError(host: "h", code: 1, message: "x"),
            SystemError("read", errno: 1),
            WireConversionFailure(.invalidValue("x")),
            WireProtocolError(message: "M", field: "f", offset: 0, kind: .truncated),
            WireEncodingError(message: "M", field: "f", reason: "x"),
        ]
        #expect(errors.allSatisfy { !String(describing: $0).isEmpty })
    }
}
