// MARK: - Identity and Flatten modules

/// Returns its input unchanged, as `torch.nn.Identity`: a placeholder layer (for example where an
/// optional block is switched off in a `Sequential`). Any shape; no parameters.
public final class Identity<Scalar: TensorScalar>: Layer {
    /// An Identity module.
    public init() {}
    /// `input` itself (the same variable, so gradients flow straight through).
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input }
}

/// Merges axes `startAxis...endAxis` into one, as `torch.nn.Flatten(start_dim=1, end_dim=-1)`: by
/// default `[N, C, L]` becomes `[N, C * L]`, keeping the batch axis. No parameters.
public final class Flatten<Scalar: TensorScalar>: Layer {
    /// The first axis merged (default 1, PyTorch's: the axis after the batch).
    public let startAxis: Int
    /// The last axis merged (default -1, the last).
    public let endAxis: Int
    /// A Flatten module over `startAxis...endAxis` (negative axes count from the end).
    public init(startAxis: Int = 1, endAxis: Int = -1) {
        self.startAxis = startAxis
        self.endAxis = endAxis
    }
    /// `start_dim=1, end_dim=-1`, as PyTorch's `extra_repr`.
    public var extraRepr: String { "start_dim=\(startAxis), end_dim=\(endAxis)" }
    /// The input with the axes merged (see `Variable.flattened(startAxis:endAxis:)`); stops with a
    /// message when an axis is out of range for the input's shape.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        input.flattened(startAxis: startAxis, endAxis: endAxis)
    }
}
