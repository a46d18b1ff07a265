// MARK: - Linear

/// `y = x · weightᵀ + bias`, PyTorch's `nn.Linear`: input `[.., inFeatures]`, output `[.., outFeatures]`.
/// Parameters `weight` `[outFeatures, inFeatures]` and `bias` `[outFeatures]`, both initialised
/// U(-1/sqrt(inFeatures), 1/sqrt(inFeatures)) from the default generator (see `manualSeed`), with
/// PyTorch's draws: the same seed gives the same weights as `nn.Linear`.
public final class Linear<Scalar: TensorScalar>: Layer {
    /// `[outFeatures, inFeatures]`.
    public let weight: Variable<Scalar>
    /// `[outFeatures]`, or nil when created with `bias: false`.
    public let bias: Variable<Scalar>?

    /// PyTorch's `nn.Linear(in_features, out_features, bias=True)`, initialised from the default generator
    /// as the type describes. Stops with a message unless both sizes are positive.
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        require(inFeatures > 0 && outFeatures > 0, "Linear: expected positive sizes, got inFeatures \(inFeatures), outFeatures \(outFeatures)")
        let bound = 1 / Double(inFeatures).squareRoot()
        let (w, b) = withDefaultGenerator { g in
            (Tensor<Scalar>.kaimingUniformInit([outFeatures, inFeatures], fanIn: inFeatures, generator: &g),
             bias ? Tensor<Scalar>.uniformInit([outFeatures], bound: bound, generator: &g) : nil)
        }
        self.weight = Variable(w, requiresGrad: true)
        self.bias = b.map { Variable($0, requiresGrad: true) }
    }

    /// The size of the input's last dimension (`weight.shape[1]`).
    public var inFeatures: Int { weight.shape[1] }
    /// The size of the output's last dimension (`weight.shape[0]`).
    public var outFeatures: Int { weight.shape[0] }

    /// `[.., inFeatures]` → `[.., outFeatures]`.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        linear(input, weight: weight, bias: bias)
    }
}
