// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Wirestream",
    products: [
        .library(name: "Wirestream", targets: ["Wirestream"]),
        .executable(name: "http-fetch", targets: ["HTTPFetch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CLinux"),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "Wirestream",
            dependencies: ["CLinux", "CPCRE2", "COpenSSL", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "HTTPFetch",
            dependencies: ["Wirestream", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/HTTPFetch"
        ),
        .testTarget(name: "WirestreamTests", dependencies: ["Wirestream", "CLinux", "COpenSSL"]),
    ],
    swiftLanguageModes: [.v6]
)
