// swift-tools-version: 6.2
// A program that uses llmq as a library, by version tag as any other package would. The URL comes
// from LLMQ_PACKAGE_URL (scripts/example-consumer points it at a tagged copy of the current
// commit); by default it is the llmq checkout this example sits in, which must carry the tag.
import Foundation
import PackageDescription

let checkout = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()
let llmq = Context.environment["LLMQ_PACKAGE_URL"] ?? checkout.absoluteString
/// SwiftPM names a package by its URL's last component.
let identity = URL(string: llmq)?.deletingPathExtension().lastPathComponent.lowercased() ?? "llmq"

let package = Package(
    name: "QuantizeAndVerify",
    dependencies: [
        .package(url: llmq, from: "0.1.0"),
    ],
    targets: [
        .executableTarget(name: "QuantizeAndVerify", dependencies: [.product(name: "LLMQ", package: identity)]),
    ]
)
