// swift-tools-version: 6.1
// The target graph is the architecture: readers and writers (LLMQFormats) and the quantizer
// (LLMQQuant) meet only in LLMQCore's Model; the engine runs a Model; verification runs engines;
// LLMQ is the library every command is a call of, and the command line only parses for it.
import PackageDescription

// Kernels are written with SIMD types; let LLVM use AVX2/FMA/F16C (every x86-64 server of the
// last decade has them) and drop bounds checks in the target whose inputs are validated at load.
let fastMath: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
let kernels: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell", "-Ounchecked"])]

let package = Package(
    name: "llmq",
    products: [
        .executable(name: "llmq", targets: ["llmq"]),
        .library(name: "LLMQ", targets: ["LLMQ", "LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQEngine", "LLMQVerify"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CPrefetch"),
        .target(name: "LLMQCore", swiftSettings: fastMath),
        .target(name: "LLMQQuant", dependencies: ["LLMQCore"], swiftSettings: kernels),
        .target(name: "LLMQFormats", dependencies: ["LLMQCore", "LLMQQuant", "CZstd"], swiftSettings: fastMath),
        .target(name: "LLMQEngine", dependencies: ["LLMQCore", "LLMQQuant", "CPrefetch"], swiftSettings: kernels),
        .target(name: "LLMQVerify", dependencies: ["LLMQCore", "LLMQEngine", "LLMQQuant"], swiftSettings: fastMath),
        .target(name: "LLMQ", dependencies: ["LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQEngine", "LLMQVerify"], swiftSettings: fastMath),
        .target(name: "LLMQBench", dependencies: ["LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQEngine"], swiftSettings: fastMath),
        .executableTarget(
            name: "llmq",
            dependencies: [
                "LLMQ", "LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQEngine", "LLMQVerify", "LLMQBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fastMath
        ),
        .target(name: "LLMQTestSupport", dependencies: ["LLMQCore", "LLMQQuant"], path: "Tests/LLMQTestSupport"),
        .testTarget(name: "LLMQCoreTests", dependencies: ["LLMQCore", "LLMQTestSupport"]),
        .testTarget(name: "LLMQFormatsTests", dependencies: ["LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQTestSupport"]),
        .testTarget(name: "LLMQQuantTests", dependencies: ["LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQTestSupport"]),
        .testTarget(name: "LLMQEngineTests", dependencies: ["LLMQCore", "LLMQFormats", "LLMQEngine", "LLMQQuant", "LLMQTestSupport"]),
        .testTarget(name: "LLMQVerifyTests", dependencies: ["LLMQCore", "LLMQFormats", "LLMQEngine", "LLMQQuant", "LLMQVerify", "LLMQTestSupport"]),
        .testTarget(name: "LLMQTests", dependencies: ["LLMQ", "LLMQTestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["LLMQCore", "LLMQTestSupport"]),
    ]
)
