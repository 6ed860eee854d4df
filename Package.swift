// swift-tools-version: 6.2
// The target graph is the architecture (docs/design.md draws it): block types (LLMQBlocks) at the
// bottom; LLMQCore's Model in the middle; readers and writers (LLMQFormats) and the quantizer
// (LLMQQuant) each on top of Core and never of each other; the engine runs a Model; verification
// runs engines; LLMQ is the library every command is a call of, and the command line only parses
// for it. Tools version 6.2 lets a package that depends on llmq by version accept the unsafe
// flags below.
import PackageDescription

// Kernels are written with SIMD types; on x86-64 let LLVM use AVX2/FMA/F16C (every x86-64 server
// of the last decade has them; the x86 kernels' intrinsics need them), and drop bounds checks in
// the targets whose inputs are validated at load. Other architectures get their defaults.
#if arch(x86_64)
let cpu = ["-target-cpu", "haswell"]
#else
let cpu: [String] = []
#endif
let fastMath: [SwiftSetting] = cpu.isEmpty ? [] : [.unsafeFlags(cpu)]
let kernels: [SwiftSetting] = [.unsafeFlags(cpu + ["-Ounchecked"])]

let package = Package(
    name: "llmq",
    products: [
        .executable(name: "llmq", targets: ["LLMQCommandLine"]),
        .library(name: "LLMQ", targets: ["LLMQ", "LLMQBlocks", "LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQEngine", "LLMQVerify"]),
    ],
    traits: [
        // The kernels every architecture without hand-written ones runs; CI forces them on x86-64
        // so the path arm64 takes is tested (`swift test --traits PortableKernels`).
        .trait(name: "PortableKernels", description: "Use the portable SIMD kernels even where architecture-specific ones exist."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CPrefetch"),
        .systemLibrary(name: "CProcess"),
        // AVX-512 code in functions that carry their own target attribute (see its header).
        .target(name: "CAVX512"),
        .target(name: "LLMQBlocks", swiftSettings: kernels),
        .target(name: "LLMQCore", dependencies: ["LLMQBlocks"], swiftSettings: fastMath),
        .target(name: "LLMQQuant", dependencies: ["LLMQCore"], swiftSettings: kernels),
        .target(name: "LLMQFormats", dependencies: ["LLMQCore", "CZstd"], swiftSettings: fastMath),
        .target(name: "LLMQEngine", dependencies: ["LLMQCore", "CPrefetch", "CAVX512"], swiftSettings: kernels),
        .target(name: "LLMQVerify", dependencies: ["LLMQCore", "LLMQEngine", "LLMQQuant"], swiftSettings: fastMath),
        .target(name: "LLMQ", dependencies: ["LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQEngine", "LLMQVerify"], swiftSettings: fastMath),
        .target(name: "LLMQBench", dependencies: ["LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQEngine", "CProcess"], swiftSettings: fastMath),
        // Not named llmq: on a case-insensitive file system its module would collide with LLMQ's.
        .executableTarget(
            name: "LLMQCommandLine",
            dependencies: [
                "LLMQ", "LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQEngine", "LLMQVerify", "LLMQBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fastMath
        ),
        .target(name: "LLMQTestSupport", dependencies: ["LLMQCore", "LLMQQuant"], path: "Tests/LLMQTestSupport"),
        .testTarget(name: "LLMQBlocksTests", dependencies: ["LLMQBlocks", "LLMQCore", "LLMQTestSupport"]),
        .testTarget(name: "LLMQCoreTests", dependencies: ["LLMQCore", "LLMQTestSupport"]),
        .testTarget(name: "LLMQFormatsTests", dependencies: ["LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQTestSupport"]),
        .testTarget(name: "LLMQQuantTests", dependencies: ["LLMQCore", "LLMQFormats", "LLMQQuant", "LLMQTestSupport"]),
        .testTarget(name: "LLMQEngineTests", dependencies: ["LLMQCore", "LLMQFormats", "LLMQEngine", "LLMQQuant", "LLMQTestSupport"]),
        .testTarget(name: "LLMQVerifyTests", dependencies: ["LLMQCore", "LLMQFormats", "LLMQEngine", "LLMQQuant", "LLMQVerify", "LLMQTestSupport"]),
        .testTarget(name: "LLMQTests", dependencies: ["LLMQ", "LLMQTestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["LLMQCore", "LLMQBench", "LLMQTestSupport"]),
    ]
)
