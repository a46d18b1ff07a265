// MARK: - LayerNorm

/// Layer normalisation over the trailing `normalizedShape` axes, PyTorch's `nn.LayerNorm`
/// (Ba, Kiros and Hinton, "Layer Normalization", 2016):
///
///     y = (x - mean) / sqrt(var + eps) * weight + bias
///
/// with the mean and the biased variance (divided by D, as PyTorch) of each row of the last
/// `normalizedShape.count` axes. Input `[*, normalizedShape...]`, output of the same shape.
/// Parameters `weight` (initialised to ones) and `bias` (zeros), both of shape `normalizedShape`,
/// when `elementwiseAffine` (and `bias`); computed by `layerNorm(_:normalizedShape:weight:bias:eps:)`.
///
/// ```swift
/// let norm = LayerNorm<Float>(normalizedShape: [6])
/// let y = norm(x)          // x: [B, T, 6] -> y: [B, T, 6], each row of 6 with mean 0, variance 1
/// ```
public final class LayerNorm<Scalar: TensorScalar>: Layer {
    /// The trailing shape normalised over.
    public let normalizedShape: [Int]
    /// Added to the variance before the square root.
    public let eps: Double
    /// `normalizedShape`, initialised to ones; nil without `elementwiseAffine`.
    public let weight: Variable<Scalar>?
    /// `normalizedShape`, initialised to zeros; nil without `elementwiseAffine` or `bias`.
    public let bias: Variable<Scalar>?

    /// PyTorch's `nn.LayerNorm(normalized_shape, eps=1e-05, elementwise_affine=True, bias=True)`.
    /// Stops with a message when `normalizedShape` is empty or has a non-positive size, or `eps < 0`.
    public init(normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        require(!normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 },
                "LayerNorm: expected a non-empty normalizedShape of positive sizes, got \(describe(normalizedShape))")
        require(eps >= 0, "LayerNorm: expected eps >= 0, got \(eps)")
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? Variable(Tensor(ones: normalizedShape), requiresGrad: true) : nil
        self.bias = elementwiseAffine && bias ? Variable(Tensor(zeros: normalizedShape), requiresGrad: true) : nil
    }

    /// Whether the layer has `weight` (and, unless created with `bias: false`, `bias`).
    public var elementwiseAffine: Bool { weight != nil }

    /// `[*, normalizedShape...]` → the same shape, normalised. Stops with a message when the input's
    /// shape does not end with `normalizedShape`.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        layerNorm(input, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }
}
