// MARK: - Dropout

/// Zeroes each element with probability `p` in training mode and scales the rest by `1/(1-p)`;
/// the identity in evaluation mode. Masks come from the module's own generator, seeded from `seed`,
/// or else from the default generator the first time a mask is drawn (so creating a Dropout, like
/// creating `nn.Dropout`, leaves the default generator where it was), so runs reproduce. Any shape.
public final class Dropout<Scalar: TensorScalar>: Layer, TrainingModeSettable {
    /// The probability of zeroing an element, in `[0, 1]`.
    public let p: Double
    /// Training mode (the default) drops; evaluation mode passes the input through.
    public var isTraining = true
    var generator: SeededGenerator?

    /// PyTorch's `nn.Dropout(p=0.5)`; `seed` gives the module a generator of its own (nil: drawn
    /// from the default generator at the first mask). Stops with a message unless `0 <= p <= 1`.
    public init(p: Double = 0.5, seed: UInt64? = nil) {
        require(p >= 0 && p <= 1, "Dropout: expected a probability in [0, 1], got \(p)")
        self.p = p
        self.generator = seed.map { SeededGenerator(seed: $0) }
    }

    /// The input times a fresh mask of `0` and `1/(1-p)` (all zeros when `p == 1`) in training mode, the
    /// input itself otherwise; output of the input's shape. Each call draws a new mask.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        guard isTraining, p > 0 else { return input }
        if p == 1 { return input * Tensor<Scalar>(zeros: input.shape) }
        let scale = Scalar(1 / (1 - p))
        var mask = [Scalar](repeating: 0, count: input.data.count)
        var g = generator ?? SeededGenerator(seed: withDefaultGenerator { $0.next() })
        defer { generator = g }
        for i in mask.indices where g.nextUnitDouble() >= p { mask[i] = scale }
        return input * Tensor(shape: input.shape, scalars: mask)
    }
}
