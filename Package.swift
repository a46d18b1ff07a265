// swift-tools-version: 6.0
// Ember: eager, tape-based reverse-mode autograd for Swift, in the style of PyTorch.
// No package dependencies: the toolchain, Foundation, Dispatch and the system zlib only.
import PackageDescription

let package = Package(
    name: "Ember",
    products: [
        .library(name: "Ember", targets: ["Ember"]),
        .executable(name: "ember-bench", targets: ["ember-bench"]),
    ],
    targets: [
        // MARK: - Kernels in C
        // GEMM and other hot loops. AVX2/AVX-512 code paths are chosen per function with target
        // attributes and selected at run time by CPU detection, so no unsafe compiler flags are
        // needed and Ember stays usable as a dependency; a portable path serves every other CPU.
        .target(name: "CEmberKernels"),
        // The system zlib (gzip inflate with CRC check) for the MNIST files.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        // MARK: - The library
        .target(name: "Ember", dependencies: ["CEmberKernels", "CZlib"]),

        // MARK: - Executables
        .executableTarget(name: "ember-bench", dependencies: ["Ember", "CEmberKernels"]),

        // MARK: - Tests
        .testTarget(name: "EmberTests", dependencies: ["Ember", "CEmberKernels"]),
    ]
)
