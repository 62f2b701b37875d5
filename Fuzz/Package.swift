// swift-tools-version:6.0
// The fuzz package: one libFuzzer executable per bundled grammar, built by `scripts/fuzz` with
// `-sanitize=fuzzer,address`. Its sources are generated (`generate-wire-sources` writes
// Sources/Fuzz<Module>/<grammar>.swift): a new grammar in Grammars/<Module>/ becomes a target here.
import Foundation
import PackageDescription

let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
// A path dependency's identity is its folder's name, which differs between checkouts.
let mainPackage = here.deletingLastPathComponent().lastPathComponent
let modules = ((try? FileManager.default.contentsOfDirectory(atPath: here.appendingPathComponent("Sources").path)) ?? [])
    .filter { $0.hasPrefix("Fuzz") }
    .sorted()

let package = Package(
    name: "WirestreamFuzz",
    products: modules.map { .executable(name: $0, targets: [$0]) },
    dependencies: [.package(path: "..")],
    targets: modules.map { target in
        .executableTarget(
            name: target,
            dependencies: [
                .product(name: "Wirestream", package: mainPackage),
                .product(name: String(target.dropFirst("Fuzz".count)), package: mainPackage),
            ],
            // libFuzzer supplies `main`: the entry point is a plain `@_cdecl` function.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    },
    swiftLanguageModes: [.v6]
)
