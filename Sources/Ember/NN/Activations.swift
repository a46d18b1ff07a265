// MARK: - Activations

/// `max(x, 0)` as a module; any shape.
public final class ReLU<Scalar: TensorScalar>: Layer {
    /// A ReLU module (no parameters).
    public init() {}
    /// `max(x, 0)` elementwise; output of the input's shape.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.relu() }
}

/// `tanh(x)` as a module; any shape.
public final class Tanh<Scalar: TensorScalar>: Layer {
    /// A Tanh module (no parameters).
    public init() {}
    /// `tanh(x)` elementwise; output of the input's shape.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.tanh() }
}

/// `1 / (1 + e^-x)` as a module; any shape.
public final class Sigmoid<Scalar: TensorScalar>: Layer {
    /// A Sigmoid module (no parameters).
    public init() {}
    /// `1 / (1 + e^-x)` elementwise; output of the input's shape.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.sigmoid() }
}
