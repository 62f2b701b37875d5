import Foundation
import PackagePlugin

/// `swift package --allow-writing-to-package-directory generate-wire-sources [--target NAME]`:
/// writes the Swift generated from each target's grammars to `Generated/<target>/<grammar>.swift`
/// in the package, for review and for editors that do not look into `.build/`. The build does not
/// compile these copies (the build plugin generates its own), so they cannot clash. The bundled
/// grammars (`Grammars/<target>/`) also get their libFuzzer entry points, in
/// `Fuzz/Sources/Fuzz<target>/<grammar>.swift` (the fuzz package, built by `scripts/fuzz`).
@main
struct WireGenerateCommand: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var extractor = ArgumentExtractor(arguments)
        let wanted = Set(extractor.extractOption(named: "target"))
        let wirec = try context.tool(named: "wirec").url
        for target in context.package.targets {
            guard let target = target as? SourceModuleTarget, wanted.isEmpty || wanted.contains(target.name) else { continue }
            let shared = context.package.directoryURL.appending(components: "Grammars", target.name)
            let files = (try? FileManager.default.contentsOfDirectory(at: shared, includingPropertiesForKeys: nil)) ?? []
            let grammars = target.sourceFiles(withSuffix: "wire").map(\.url) + files.filter { $0.pathExtension == "wire" }
            let commands = shared.appending(component: "commands.json")
            let hasCommands = FileManager.default.fileExists(atPath: commands.path(percentEncoded: false))
            guard !grammars.isEmpty || hasCommands else { continue }
            let folder = context.package.directoryURL.appending(components: "Generated", target.name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            if hasCommands {  // RedisClient's typed commands (RedisCommandsPlugin does the same in builds)
                let output = folder.appending(component: "RedisCommands.swift")
                let generator = try context.tool(named: "RedisCommandGenerator").url
                let process = try Process.run(generator, arguments: [commands.path(percentEncoded: false), output.path(percentEncoded: false)])
                process.waitUntilExit()
                guard process.terminationStatus == 0 else { throw WireGenerateError(grammar: commands.lastPathComponent) }
                print("wrote \(output.path(percentEncoded: false))")
            }
            for grammar in grammars {
                let output = folder.appending(component: grammar.deletingPathExtension().lastPathComponent + ".swift")
                let siblings = grammars.filter { $0 != grammar }.flatMap { ["--sibling", $0.path(percentEncoded: false)] }
                let process = try Process.run(wirec, arguments: [grammar.path(percentEncoded: false), "-o", output.path(percentEncoded: false)] + siblings)
                process.waitUntilExit()
                guard process.terminationStatus == 0 else {
                    throw WireGenerateError(grammar: grammar.lastPathComponent)
                }
                print("wrote \(output.path(percentEncoded: false))")
            }
            // The bundled grammars (Grammars/<target>/) also get their fuzz entry points.
            for grammar in files where grammar.pathExtension == "wire" {
                let fuzzFolder = context.package.directoryURL.appending(components: "Fuzz", "Sources", "Fuzz" + target.name)
                try FileManager.default.createDirectory(at: fuzzFolder, withIntermediateDirectories: true)
                let output = fuzzFolder.appending(component: grammar.deletingPathExtension().lastPathComponent + ".swift")
                let process = try Process.run(wirec, arguments: [
                    grammar.path(percentEncoded: false), "--fuzz-target", target.name, "-o", output.path(percentEncoded: false),
                ])
                process.waitUntilExit()
                guard process.terminationStatus == 0 else { throw WireGenerateError(grammar: grammar.lastPathComponent) }
                print("wrote \(output.path(percentEncoded: false))")
            }
        }
    }
}

struct WireGenerateError: Error, CustomStringConvertible {
    let grammar: String
    var description: String { "wirec failed on \(grammar) (its errors are above)" }
}
