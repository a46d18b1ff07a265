// MARK: - Activations

/// `max(x, 0)` as a module; any shape.
public final class ReLU<Scalar: TensorScalar>: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.relu() }
}

/// `tanh(x)` as a module; any shape.
public final class Tanh<Scalar: TensorScalar>: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.tanh() }
}

/// `1 / (1 + e^-x)` as a module; any shape.
public final class Sigmoid<Scalar: TensorScalar>: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { input.sigmoid() }
}
