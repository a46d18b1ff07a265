// swift-tools-version: 6.0
// Ember: eager, tape-based reverse-mode autograd for Swift, in the style of PyTorch.
// No package dependencies: the toolchain, Foundation, Dispatch and the system zlib only.
import PackageDescription

let package = Package(
    name: "Ember",
    // Apple platforms from the releases that have the Synchronization module (Mutex, Atomic), which
    // Ember's tape and worker pool use. Linux: any Swift 6 toolchain.
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "Ember", targets: ["Ember"]),
        .executable(name: "ember-bench", targets: ["ember-bench"]),
        .executable(name: "ember-fuzz", targets: ["ember-fuzz"]),
        .executable(name: "train-rnn", targets: ["train-rnn"]),
        .executable(name: "forward-pass", targets: ["forward-pass"]),
        .executable(name: "char-rnn", targets: ["char-rnn"]),
        .executable(name: "custom-module", targets: ["custom-module"]),
        .executable(name: "sequence-classifier", targets: ["sequence-classifier"]),
    ],
    targets: [
        // MARK: - Kernels in C
        // GEMM and other hot loops. AVX2/AVX-512 code paths are chosen per function with target
        // attributes and selected at run time by CPU detection, so no unsafe compiler flags are
        // needed and Ember stays usable as a dependency; a portable path serves every other CPU.
        // libm: a tiny product's fused multiply-adds call fmaf/fma on the baseline target.
        .target(name: "CEmberKernels", linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]),
        // The system zlib (gzip inflate with CRC check) for the MNIST files.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        // MARK: - The library
        .target(name: "Ember", dependencies: ["CEmberKernels", "CZlib"]),

        // MARK: - Command-line support (argument parsing, progress bar, SVG charts)
        .target(name: "EmberCLI", dependencies: ["Ember"]),

        // MARK: - Executables
        .executableTarget(name: "ember-bench", dependencies: ["Ember", "CEmberKernels", "EmberCLI"]),
        .executableTarget(name: "ember-fuzz", dependencies: ["Ember"]),
        .executableTarget(name: "train-rnn", dependencies: ["Ember", "EmberCLI"], path: "Examples/train-rnn"),
        .executableTarget(name: "forward-pass", dependencies: ["Ember", "EmberCLI"], path: "Examples/forward-pass"),
        .executableTarget(name: "char-rnn", dependencies: ["Ember", "EmberCLI"], path: "Examples/char-rnn"),
        .executableTarget(name: "custom-module", dependencies: ["Ember", "EmberCLI"], path: "Examples/custom-module"),
        .executableTarget(name: "sequence-classifier", dependencies: ["Ember", "EmberCLI"], path: "Examples/sequence-classifier"),

        // MARK: - Tests
        .testTarget(name: "EmberTests", dependencies: ["Ember", "CEmberKernels"], exclude: ["FuzzCorpus", "Fixtures"]),
        // End-to-end runs of the example commands on small data (they need the products built).
        .testTarget(name: "ExamplesTests", dependencies: ["Ember", "EmberCLI", "train-rnn", "forward-pass", "char-rnn", "custom-module", "sequence-classifier"]),
    ]
)
