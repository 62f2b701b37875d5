// swift-tools-version:6.0
// The benchmark package: its own manifest, so SwiftNIO (a comparison peer) never reaches users.
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which differs between checkouts.
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "WirestreamBenchmarks",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.24.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .executableTarget(
            name: "wirestream-bench",
            dependencies: [
                .product(name: "Wirestream", package: mainPackage),
                .product(name: "WireRedis", package: mainPackage),
                .product(name: "WireMemcached", package: mainPackage),
                .product(name: "WireClient", package: mainPackage),
                .product(name: "WireHTTP", package: mainPackage),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ]
        ),
        // The download row's contender, in a process that links nothing but WireHTTP.
        .executableTarget(name: "wire-download", dependencies: [.product(name: "WireHTTP", package: mainPackage)]),
    ],
    swiftLanguageModes: [.v6]
)
