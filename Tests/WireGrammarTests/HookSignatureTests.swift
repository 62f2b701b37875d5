import Testing
@testable import WireGrammar

/// `call` hooks become a protocol the message conforms to, so Swift names a missing or mismatched
/// hook and its expected signature (checked once by hand: "protocol requires function 'checkKind'
/// with type '(UInt16) throws -> ()'", one error, at the conformance, with a note at the candidate).
struct HookSignatureTests {
    static func swift(_ grammar: String) throws -> String {
        let output = WireCompiler.compile(grammar, fileName: "hooks.wire")
        return try #require(output.swift, "\(output.diagnostics)")
    }

    @Test func everyHookIsARequirementWithTheArgumentsSwiftTypes() throws {
        let swift = try Self.swift("""
            message Head { name: until "\\n" max 64 as string }
            message Frame {
              kind: u16be
              head: Head
              let flags = until " " max 8 as u8
              tags: until "," max 8 as string * 2
              let length = call bodyLength(head, flags)
              body: bytes(length) max 1KB
              call checkKind(kind, tags)
            }
            """)
        #expect(swift.contains("public protocol FrameHooks {"))
        #expect(swift.contains("static func bodyLength(_ head: Head, _ flags: UInt8) throws -> Int\n"))
        #expect(swift.contains("static func checkKind(_ kind: UInt16, _ tags: [String]) throws\n"))
        #expect(swift.contains("extension Frame: FrameHooks {}"))
        #expect(swift.contains("try Self._wire_bodyLength(head, flags)"))
        #expect(!swift.contains("HeadHooks"))  // a message without hooks gets no protocol
    }

    @Test func aHookUsedTwiceWithOneSignatureIsOneRequirement() throws {
        let swift = try Self.swift("""
            message Twice {
              a: u8
              call positive(a)
              b: u8
              let n = until " " max 8 as int
              call positive(a)
            }
            """)
        #expect(swift.components(separatedBy: "static func positive(").count == 2)  // one requirement
        #expect(swift.components(separatedBy: "static func _wire_positive(").count == 2)  // one caller
    }

    @Test func aHookCalledWithTwoSignaturesIsAGrammarError() {
        let output = WireCompiler.compile("""
            message Mixed {
              a: u8
              b: until " " max 8 as string
              call check(a)
              call check(b)
            }
            """, fileName: "hooks.wire")
        #expect(output.swift == nil)
        #expect(output.diagnostics.map(\.message) == [
            "'check' is called at line 4 as `static func check(_ a: UInt8) throws` and here as `static func check(_ b: String) throws`: one hook has one signature (name them differently)"
        ])
        #expect(output.diagnostics.first?.location.line == 5)
    }
}
