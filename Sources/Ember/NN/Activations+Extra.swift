// MARK: - More activations as modules (GELU, LeakyReLU, Softmax, LogSoftmax)

/// The Gaussian error linear unit as a module, as `torch.nn.GELU(approximate=...)`; any shape, output
/// of the input's shape. See `Variable.gelu(approximate:)`.
public final class GELU<Scalar: TensorScalar>: Layer {
    /// `.none` (the default: exact, with erf) or `.tanh` (the tanh approximation).
    public let approximate: GELUApproximation
    /// A GELU module (no parameters); `approximate` defaults to `.none`, as PyTorch's `'none'`.
    public init(approximate: GELUApproximation = .none) { self.approximate = approximate }
    /// `approximate='none'`, as PyTorch's `extra_repr`.
    public var extraRepr: String { "approximate='\(approximate.rawValue)'" }
    /// `gelu(x)` elementwise.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.gelu(approximate: approximate) }
}

/// `x` for `x > 0`, else `negativeSlope * x`, as a module, as `torch.nn.LeakyReLU(negative_slope=0.01)`;
/// any shape. See `Variable.leakyRelu(negativeSlope:)`.
public final class LeakyReLU<Scalar: TensorScalar>: Layer {
    /// The slope for negative inputs (default 0.01, PyTorch's).
    public let negativeSlope: Double
    /// A LeakyReLU module (no parameters).
    public init(negativeSlope: Double = 0.01) { self.negativeSlope = negativeSlope }
    /// `negative_slope=0.01`, as PyTorch's `extra_repr`.
    public var extraRepr: String { "negative_slope=\(negativeSlope)" }
    /// `leakyRelu(x)` elementwise; output of the input's shape.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.leakyRelu(negativeSlope: negativeSlope) }
}

/// Softmax along one axis as a module, as `torch.nn.Softmax(dim=axis)`; any shape, output of the
/// input's shape (each slice along `axis` sums to 1). See `Variable.softmax(axis:)`.
public final class Softmax<Scalar: TensorScalar>: Layer {
    /// The axis normalised over (negative counts from the end).
    public let axis: Int
    /// A Softmax module over `axis` (default -1, the last; PyTorch has no default but warns and
    /// guesses one from the rank, so Ember picks the common choice).
    public init(axis: Int = -1) { self.axis = axis }
    /// `dim=-1`, as PyTorch's `extra_repr`.
    public var extraRepr: String { "dim=\(axis)" }
    /// `softmax(x, axis)`; stops with a message when `axis` is out of range for the input.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.softmax(axis: axis) }
}

/// Log-softmax along one axis as a module, as `torch.nn.LogSoftmax(dim=axis)`; any shape, output of
/// the input's shape. See `Variable.logSoftmax(axis:)`.
public final class LogSoftmax<Scalar: TensorScalar>: Layer {
    /// The axis normalised over (negative counts from the end).
    public let axis: Int
    /// A LogSoftmax module over `axis` (default -1, the last; see `Softmax`).
    public init(axis: Int = -1) { self.axis = axis }
    /// `dim=-1`, as PyTorch's `extra_repr`.
    public var extraRepr: String { "dim=\(axis)" }
    /// `logSoftmax(x, axis)`; stops with a message when `axis` is out of range for the input.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.logSoftmax(axis: axis) }
}
