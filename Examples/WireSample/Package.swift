// swift-tools-version:6.0
// A package outside Wirestream that declares its own wire protocol: the grammar in its target is
// compiled by Wirestream's build plugin. Build it with `swift run --package-path Examples/WireSample`.
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which differs between checkouts.
let wirestream = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "WireSample",
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "KVSample",
            dependencies: [.product(name: "Wirestream", package: wirestream)],
            plugins: [.plugin(name: "WireGrammarPlugin", package: wirestream)]
        )
    ],
    swiftLanguageModes: [.v6]
)
