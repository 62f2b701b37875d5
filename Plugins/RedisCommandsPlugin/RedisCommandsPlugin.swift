import Foundation
import PackagePlugin

/// Generates RedisClient's typed command methods during the build, from the command spec kept at
/// `Grammars/<target>/commands.json` (`redis-cli --json COMMAND DOCS`).
@main
struct RedisCommandsPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let spec = context.package.directoryURL.appending(components: "Grammars", target.name, "commands.json")
        guard FileManager.default.fileExists(atPath: spec.path(percentEncoded: false)) else { return [] }
        let generator = try context.tool(named: "RedisCommandGenerator").url
        let output = context.pluginWorkDirectoryURL.appending(component: "RedisCommands.swift")
        return [.buildCommand(
            displayName: "Generating Redis commands from \(spec.lastPathComponent)",
            executable: generator,
            arguments: [spec.path(percentEncoded: false), output.path(percentEncoded: false)],
            inputFiles: [spec, generator],
            outputFiles: [output])]
    }
}
