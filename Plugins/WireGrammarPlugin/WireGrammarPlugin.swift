import Foundation
import PackagePlugin

/// Compiles a target's wire grammars into Swift during the build: one `wirec` command per grammar.
///
/// A target's grammars are the `.wire` files in its own folder and those in the package's
/// `Grammars/<target name>/` folder. Each becomes `<grammar name>.swift` among the target's
/// sources; the grammar and `wirec` itself are the command's inputs, so editing either reruns it.
@main
struct WireGrammarPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let wirec = try context.tool(named: "wirec").url
        let shared = context.package.directoryURL.appending(components: "Grammars", target.name)
        let all = grammars(of: target, shared: shared)
        return all.map { grammar in
            let output = context.pluginWorkDirectoryURL.appending(component: grammar.deletingPathExtension().lastPathComponent + ".swift")
            // The target's other grammars share its Swift namespace: wirec reports a type declared twice.
            let siblings = all.filter { $0 != grammar }
            return .buildCommand(
                displayName: "Compiling grammar \(grammar.lastPathComponent)",
                executable: wirec,
                arguments: [grammar.path(percentEncoded: false), "-o", output.path(percentEncoded: false)]
                    + siblings.flatMap { ["--sibling", $0.path(percentEncoded: false)] },
                inputFiles: [grammar, wirec] + siblings,
                outputFiles: [output])
        }
    }

    private func grammars(of target: SourceModuleTarget, shared: URL) -> [URL] {
        let own = target.sourceFiles(withSuffix: "wire").map(\.url)
        let files = (try? FileManager.default.contentsOfDirectory(at: shared, includingPropertiesForKeys: nil)) ?? []
        let fromFolder = files.filter { $0.pathExtension == "wire" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        return own + fromFolder
    }
}
