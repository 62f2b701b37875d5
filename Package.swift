// swift-tools-version:6.0
import PackageDescription

/// Async functions run on their caller's executor (SE-0461) instead of hopping to the global
/// one: a client's layers of async calls then cost no executor switch each.
let nonsending: [SwiftSetting] = [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]

let package = Package(
    name: "Wirestream",
    products: [
        .library(name: "Wirestream", targets: ["Wirestream"]),
        .library(name: "WireClient", targets: ["WireClient"]),
        .library(name: "WireRedis", targets: ["WireRedis"]),
        .library(name: "WireHTTP", targets: ["WireHTTP"]),
        .library(name: "WireLines", targets: ["WireLines"]),
        .library(name: "WireBeanstalk", targets: ["WireBeanstalk"]),
        .library(name: "WireMemcached", targets: ["WireMemcached"]),
        .library(name: "WireSMTP", targets: ["WireSMTP"]),
        .library(name: "WireGrammar", targets: ["WireGrammar"]),
        .executable(name: "wirec", targets: ["wirec"]),
        .plugin(name: "WireGrammarPlugin", targets: ["WireGrammarPlugin"]),
        .plugin(name: "WireGenerateCommand", targets: ["WireGenerateCommand"]),
        .executable(name: "http-fetch", targets: ["HTTPFetch"]),
        .executable(name: "wire-fetch", targets: ["WireFetch"]),
        .executable(name: "wire-redis", targets: ["RedisCLI"]),
        .executable(name: "wire-mc", targets: ["MemcachedCLI"]),
        .executable(name: "wire-mail", targets: ["MailCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        // Documentation only (`swift package generate-documentation`): adds no code to any target.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CLinux"),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "Wirestream",
            dependencies: ["CLinux", "CPCRE2", "COpenSSL", .product(name: "Logging", package: "swift-log")],
            swiftSettings: nonsending
        ),
        .target(name: "WireGrammar", dependencies: ["CPCRE2"]),
        .executableTarget(
            name: "wirec",
            dependencies: ["WireGrammar", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .plugin(name: "WireGrammarPlugin", capability: .buildTool(), dependencies: ["wirec"]),
        // RedisClient's typed commands, generated from Grammars/WireRedis/commands.json.
        .executableTarget(name: "RedisCommandGenerator"),
        .plugin(name: "RedisCommandsPlugin", capability: .buildTool(), dependencies: ["RedisCommandGenerator"]),
        .plugin(
            name: "WireGenerateCommand",
            capability: .command(
                intent: .custom(verb: "generate-wire-sources", description: "Write the Swift generated from wire grammars to Generated/"),
                permissions: [.writeToPackageDirectory(reason: "writes the generated Swift to Generated/<target>/")]),
            dependencies: ["wirec", "RedisCommandGenerator"]
        ),
        .target(name: "WireClient", dependencies: ["Wirestream"], swiftSettings: nonsending),
        .target(name: "WireRedis", dependencies: ["Wirestream", "WireClient"], swiftSettings: nonsending, plugins: ["WireGrammarPlugin", "RedisCommandsPlugin"]),
        .target(name: "WireHTTP", dependencies: ["Wirestream", "WireClient", "CZlib"], swiftSettings: nonsending, plugins: ["WireGrammarPlugin"]),
        .target(name: "WireLines", dependencies: ["Wirestream"], swiftSettings: nonsending, plugins: ["WireGrammarPlugin"]),
        .target(name: "WireBeanstalk", dependencies: ["Wirestream", "WireClient"], swiftSettings: nonsending, plugins: ["WireGrammarPlugin"]),
        .target(name: "WireMemcached", dependencies: ["Wirestream", "WireClient", "COpenSSL"], swiftSettings: nonsending, plugins: ["WireGrammarPlugin"]),
        .target(name: "WireSMTP", dependencies: ["Wirestream", "WireClient"], swiftSettings: nonsending, plugins: ["WireGrammarPlugin"]),
        .executableTarget(
            name: "HTTPFetch",
            dependencies: ["Wirestream", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/HTTPFetch"
        ),
        .executableTarget(
            name: "WireFetch",
            dependencies: ["WireHTTP", "Wirestream", "CZlib", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/WireFetch"
        ),
        .executableTarget(
            name: "RedisCLI",
            dependencies: ["WireRedis", "Wirestream", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/RedisCLI"
        ),
        .executableTarget(
            name: "MemcachedCLI",
            dependencies: ["WireMemcached", "WireClient", "Wirestream", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/MemcachedCLI"
        ),
        .executableTarget(
            name: "MailCLI",
            dependencies: ["WireSMTP", "Wirestream", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/MailCLI"
        ),
        .testTarget(name: "WirestreamTests", dependencies: ["Wirestream", "CLinux", "COpenSSL"]),
        .testTarget(name: "WireGrammarTests", dependencies: ["WireGrammar"]),  // wirec itself is built for the plugins
        .testTarget(
            name: "WireProtocolTests", dependencies: ["Wirestream", "WireClient", "WireRedis", "WireHTTP", "WireLines", "WireBeanstalk", "WireMemcached", "WireSMTP"],
            exclude: ["Fixtures"],  // scripts of the servers the tests start (smtp_server.py)
            plugins: ["WireGrammarPlugin"]  // compiles features.wire and Proofs/*.wire, the language's test grammars
        ),
    ],
    swiftLanguageModes: [.v6]
)
