// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "runner",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "runner", targets: ["runner"]),
        .library(name: "RunnerCore", targets: ["RunnerCore"]),
        .library(name: "RunnerLua", targets: ["RunnerLua"]),
        .library(name: "RunnerSSH", targets: ["RunnerSSH"]),
        .library(name: "RunnerSOPS", targets: ["RunnerSOPS"]),
        .library(name: "RunnerPlugins", targets: ["RunnerPlugins"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // System libraries (Debian: liblua5.4-dev, libyaml-dev, libssh-dev). Each header also carries the
        // few static inline shims Swift needs for C macros.
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CLibSSH",
            pkgConfig: "libssh",
            providers: [.apt(["libssh-dev"])]
        ),
        .target(
            name: "RunnerCore",
            dependencies: [
                "CYAML",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Lua library functions rewritten in C so that the limits of a call stop them too.
        .target(
            name: "CLuaBounded",
            dependencies: ["CLua"]
        ),
        .target(
            name: "RunnerLua",
            dependencies: ["CLua", "CLuaBounded", "RunnerCore"]
        ),
        .target(
            name: "RunnerSSH",
            dependencies: ["CLibSSH", "RunnerCore"]
        ),
        // The age and SOPS formats, natively (no sops binary on the servers).
        .target(
            name: "RunnerSOPS",
            dependencies: [
                "RunnerCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // The built-in step plugins beyond RunnerCore's: docker, nginx, restic, sops.
        .target(
            name: "RunnerPlugins",
            dependencies: ["RunnerCore", "RunnerSOPS"]
        ),
        .executableTarget(
            name: "runner",
            dependencies: [
                "RunnerCore",
                "RunnerLua",
                "RunnerSSH",
                "RunnerPlugins",
                "RunnerSOPS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "RunnerCoreTests", dependencies: ["RunnerCore", "RunnerLua", "RunnerPlugins", "RunnerSSH", "RunnerTestSupport"]),
        .testTarget(name: "RunnerLuaTests", dependencies: ["RunnerLua", "RunnerCore"]),
        // Real servers for integration tests (sshd on loopback, a test user); linked by tests only.
        .target(
            name: "RunnerTestSupport",
            dependencies: ["RunnerCore", "RunnerLua", "RunnerSSH", "RunnerPlugins"]
        ),
        .testTarget(name: "RunnerSSHTests", dependencies: ["RunnerSSH", "RunnerCore", "RunnerLua", "RunnerTestSupport"]),
        .testTarget(name: "RunnerSOPSTests", dependencies: ["RunnerSOPS", "RunnerCore"]),
        .testTarget(
            name: "RunnerPluginsTests",
            dependencies: ["RunnerPlugins", "RunnerSOPS", "RunnerCore", "RunnerLua", "RunnerSSH", "RunnerTestSupport"]
        ),
        .testTarget(name: "RunnerCLITests", dependencies: ["runner", "RunnerCore"]),
    ]
)
