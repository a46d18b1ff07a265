// MARK: - Sequential

/// Layers applied in order; parameters named by position (`"0.weight"`, `"2.bias"`), as PyTorch's.
public final class Sequential<Scalar: TensorScalar>: Layer {
    /// The layers, applied first to last.
    public let layers: [any Layer<Scalar>]

    /// The layers in the order they are applied (an empty list gives the identity).
    public init(_ layers: [any Layer<Scalar>]) { self.layers = layers }
    /// `Sequential(Linear(...), ReLU(), Linear(...))`: the layers in the order they are applied.
    public convenience init(_ layers: any Layer<Scalar>...) { self.init(layers) }

    /// The layers named `"0"`, `"1"`, … by position, as PyTorch's `nn.Sequential`.
    public func namedChildren() -> [(name: String, module: any Module)] {
        layers.enumerated().map { ("\($0.offset)", $0.element) }
    }

    /// Each layer applied to the previous one's output; shapes are whatever the layers make of them.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> {
        layers.reduce(input) { $1($0) }
    }
}
