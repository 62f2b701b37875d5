// swift-tools-version:6.0
// The fuzz package: one libFuzzer executable per bundled grammar, built by `scripts/fuzz` (ASan, libFuzzer's
// coverage and runtime). Its sources are generated (`generate-wire-sources` writes
// Sources/Fuzz<Module>/<grammar>.swift): a new grammar in Grammars/<Module>/ becomes a target here.
import Foundation
import PackageDescription

let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
// A path dependency's identity is its folder's name, which differs between checkouts.
let mainPackage = here.deletingLastPathComponent().lastPathComponent
// libFuzzer without its main (the entry points call its driver), found by scripts/fuzz in the toolchain.
let fuzzerLibrary = ProcessInfo.processInfo.environment["WIRESTREAM_FUZZER_LIBRARY_DIR"] ?? "/usr/lib"
let modules = ((try? FileManager.default.contentsOfDirectory(atPath: here.appendingPathComponent("Sources").path)) ?? [])
    .filter { $0.hasPrefix("Fuzz") }
    .sorted()

let package = Package(
    name: "WirestreamFuzz",
    products: modules.map { .executable(name: $0, targets: [$0]) },
    dependencies: [.package(path: "..")],
    targets: [.target(name: "CFuzzerDriver")] + modules.map { target in
        .executableTarget(
            name: target,
            dependencies: [
                "CFuzzerDriver",
                .product(name: "Wirestream", package: mainPackage),
                .product(name: String(target.dropFirst("Fuzz".count)), package: mainPackage),
            ],
            // libFuzzer is linked here only: scripts/fuzz compiles everything with ASan and coverage,
            // but a build-wide -sanitize=fuzzer would reach the plugins' tools too (SwiftPM builds
            // them with the same flags), and it links libFuzzer's main, which SwiftPM's own entry
            // point renaming clashes with. So: the no-main library, whose driver the entry calls.
            linkerSettings: [.unsafeFlags(["-L", fuzzerLibrary, "-lclang_rt.fuzzer_no_main-x86_64", "-lstdc++"])]
        )
    },
    swiftLanguageModes: [.v6]
)
