import Synchronization

// MARK: - The default generator and PyTorch's initialisations

let defaultGeneratorState = Mutex(SeededGenerator(seed: 0))

/// Reseeds the generator that modules use when they are created without one (like
/// `torch.manual_seed`). It starts seeded with 0, so a program's initial weights are reproducible.
public func manualSeed(_ seed: UInt64) {
    defaultGeneratorState.withLock { $0 = SeededGenerator(seed: seed) }
}

/// Runs `body` with exclusive use of the default generator.
public func withDefaultGenerator<R>(_ body: (inout SeededGenerator) throws -> R) rethrows -> R {
    try defaultGeneratorState.withLock { try body(&$0) }
}

extension Tensor {
    /// U(-bound, bound): PyTorch's initialisation of Linear (bound = 1/sqrt(inFeatures)) and of the
    /// recurrent layers (bound = 1/sqrt(hiddenSize)).
    static func uniformInit(_ shape: [Int], bound: Double, generator: inout SeededGenerator) -> Tensor {
        Tensor(randomUniform: shape, lowerBound: Scalar(-bound), upperBound: Scalar(bound), generator: &generator)
    }
}
