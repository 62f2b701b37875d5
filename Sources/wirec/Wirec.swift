import ArgumentParser
import Foundation
import WireGrammar

/// `wirec FILE.wire -o OUT.swift`: compiles a wire grammar into Swift parsers and encoders.
@main
struct Wirec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirec",
        abstract: "Compile a wire grammar (.wire) into Swift parsers and encoders for Wirestream.",
        discussion: """
            The generated file imports Wirestream: per message a struct or enum with typed fields and \
            `read(from:)` for any ByteSource; per request message an encoder (`encode(into:)`, \
            `encoded()`). Mistakes are printed as FILE:LINE:COL: error: MESSAGE, all of them, and \
            the exit status is 1. The language is described in the WireGrammar documentation (GrammarLanguage).
            """)

    @Argument(help: "The grammar file to compile.")
    var grammar: String

    @Option(name: .shortAndLong, help: "Where to write the Swift source (default: standard output).")
    var output: String?

    @Option(name: .customLong("sibling"), help: ArgumentHelp(
        "Another grammar compiled into the same Swift module (repeatable); a type declared in both is an error here.",
        valueName: "grammar"))
    var siblings: [String] = []

    @Option(name: .customLong("fuzz-target"), help: ArgumentHelp(
        "Write the grammar's libFuzzer entry point instead of its parsers, for an executable that imports MODULE (the target the grammar is compiled into); build it with -sanitize=fuzzer.",
        valueName: "module"))
    var fuzzTargetModule: String?

    func run() throws {
        let source: String
        do {
            source = try String(contentsOfFile: grammar, encoding: .utf8)
        } catch {
            FileHandle.standardError.write(Data("\(grammar): error: cannot read the grammar: \(error.localizedDescription)\n".utf8))
            throw ExitCode(1)
        }
        var others: [WireCompiler.Sibling] = []
        for sibling in siblings {
            guard let text = try? String(contentsOfFile: sibling, encoding: .utf8) else {
                FileHandle.standardError.write(Data("\(sibling): error: cannot read the sibling grammar\n".utf8))
                throw ExitCode(1)
            }
            others.append(WireCompiler.Sibling(fileName: (sibling as NSString).lastPathComponent, source: text))
        }
        let fileName = (grammar as NSString).lastPathComponent
        let result = if let fuzzTargetModule {
            WireCompiler.fuzzTarget(source, fileName: fileName, module: fuzzTargetModule)
        } else {
            WireCompiler.compile(source, fileName: fileName, siblings: others)
        }
        guard let swift = result.swift else {
            for diagnostic in result.diagnostics {
                FileHandle.standardError.write(Data((diagnostic.formatted(file: grammar) + "\n").utf8))
            }
            throw ExitCode(1)
        }
        if let output {
            // Rewrite only on change, so the build does not recompile an unchanged file.
            if (try? String(contentsOfFile: output, encoding: .utf8)) != swift {
                try swift.write(toFile: output, atomically: true, encoding: .utf8)
            }
        } else {
            print(swift, terminator: "")
        }
    }
}
