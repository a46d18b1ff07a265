import Synchronization

// MARK: - The default generator and PyTorch's initialisations

let defaultGeneratorState = Mutex(TorchGenerator(seed: 0))

/// Reseeds the default generator, like `torch.manual_seed`. Modules created without a generator
/// draw their initial weights from it, Dropout draws its masks' seed from it on first use, and a
/// shuffling `DataLoader` without a seed draws each epoch's order from it. It is PyTorch's CPU
/// generator (`TorchGenerator`), and every one of those draws is the one PyTorch makes, so after
/// `manualSeed(s)` a model starts from the weights PyTorch gives it after `torch.manual_seed(s)`.
/// It starts seeded with 0.
public func manualSeed(_ seed: UInt64) {
    defaultGeneratorState.withLock { $0 = TorchGenerator(seed: seed) }
}

/// Runs `body` with exclusive use of the default generator.
public func withDefaultGenerator<R>(_ body: (inout TorchGenerator) throws -> R) rethrows -> R {
    try defaultGeneratorState.withLock { try body(&$0) }
}

extension Tensor where Scalar: TensorScalar {
    /// `tensor.uniform_(-bound, bound)` in PyTorch: the initialisation of the recurrent layers
    /// (bound = 1/sqrt(hiddenSize)) and of Linear's bias (bound = 1/sqrt(inFeatures)).
    static func uniformInit(_ shape: [Int], bound: Double, generator: inout TorchGenerator) -> Tensor {
        Tensor(randomUniform: shape, lowerBound: Scalar(-bound), upperBound: Scalar(bound), generator: &generator)
    }

    /// `kaiming_uniform_(weight, a: sqrt(5))`, PyTorch's initialisation of Linear's weight: U(-b, b)
    /// with b = sqrt(3) · gain / sqrt(fanIn) and gain = sqrt(2 / (1 + a²)), evaluated in Double in
    /// PyTorch's order (mathematically 1/sqrt(fanIn)).
    static func kaimingUniformInit(_ shape: [Int], fanIn: Int, generator: inout TorchGenerator) -> Tensor {
        let a = Double(5).squareRoot()
        let gain = (2 / (1 + a * a)).squareRoot()
        let bound = Double(3).squareRoot() * (gain / Double(fanIn).squareRoot())
        return uniformInit(shape, bound: bound, generator: &generator)
    }
}
