import Foundation
import Testing

/// The `wirec` executable itself: exit status, output file, error format on stderr.
struct WirecCommandTests {
    /// `wirec` is built next to the test bundle (the build plugin depends on it).
    static let wirec: URL = {
        var folder = Bundle.main.bundleURL
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appending(path: "wirec").path) {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appending(path: "wirec")
    }()

    func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = Self.wirec
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func temporaryFile(_ name: String, _ contents: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appending(path: "wirec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appending(path: name)
        try contents.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test func writesSwiftAndExitsZero() throws {
        let grammar = try temporaryFile("ok.wire", "message Line { text: until \"\\n\" max 100 as string }\n")
        let output = grammar + ".swift"
        let result = try run([grammar, "-o", output])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        let swift = try String(contentsOfFile: output, encoding: .utf8)
        #expect(swift.contains("public struct Line"))
        #expect(swift.contains("public var text: String"))
    }

    @Test func printsEveryErrorAsFileLineColumnAndFails() throws {
        let grammar = try temporaryFile("bad.wire", "message A {\n  x: Missing\n}\nmessage B { y: rest }\n")
        let result = try run([grammar, "-o", grammar + ".swift"])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines == [
            "\(grammar):2:6: error: undefined message 'Missing'",
            "\(grammar):4:16: error: unbounded read: 'rest' needs 'max N' (or 'stream' to hand it over in chunks)",
        ])
        #expect(!FileManager.default.fileExists(atPath: grammar + ".swift"))
    }

    @Test func aTypeDeclaredByAnotherGrammarOfTheTargetIsReportedAtItsLine() throws {
        let first = try temporaryFile("first.wire", "message Reply { text: until \"\\n\" max 100 }\nmessage Only { x: u8 }\n")
        let second = try temporaryFile("second.wire", "enum Kind { a = \"A\" }\n\nmessage Reply { y: u8 }\n")
        let result = try run([first, "-o", first + ".swift", "--sibling", second])
        #expect(result.status == 1)
        #expect(result.stderr == "\(first):1:9: error: 'Reply' is also declared in second.wire (line 3), a grammar compiled into the same target: both would be one Swift type, so rename one (or move a grammar to a target of its own)\n")
        let unrelated = try temporaryFile("third.wire", "message Other { y: u8 }\n")
        #expect(try run([first, "-o", first + ".swift", "--sibling", unrelated]).status == 0)
    }

    @Test func helpDescribesTheCommand() throws {
        let process = Process()
        process.executableURL = Self.wirec
        process.arguments = ["--help"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains("USAGE: wirec <grammar> [--output <output>]"))
        #expect(text.contains("FILE:LINE:COL: error:"))
    }
}
