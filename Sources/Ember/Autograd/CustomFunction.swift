// MARK: - Differentiable functions of your own

/// A differentiable operation you define, as PyTorch's `torch.autograd.Function`: a forward pass on
/// tensors that returns its outputs together with the backward rule for them.
///
/// Called on variables, it runs `forward` on their data and records one tape node with one output per
/// tensor returned (any number of inputs and outputs). `backward()` then calls the rule with every
/// output's gradient at once — `nil` for an output the loss did not use, meaning zero — and the rule
/// returns one gradient per input, in order, each of its input's shape, or `nil` for an input that
/// gets none (an index, a mask). The rule captures what it needs from `forward`, like `ctx.save_for_backward`.
///
/// Like every operation, it records nothing under `withNoGrad` or when no input requires gradients,
/// its outputs and gradients are checked by `withAnomalyDetection`, its saved values are released
/// after `backward()` unless `retainGraph: true`, and `gradcheck` compares its rule with finite
/// differences.
///
/// ```swift
/// // x · sigmoid(x) (SiLU) with its gradient written by hand: σ(x) · (1 + x · (1 − σ(x))).
/// let silu = CustomFunction<Double>("silu") { inputs in
///     let x = inputs[0], s = x.sigmoid()
///     return ([x * s], { grads in [grads[0].map { $0 * s * (1 + x * (1 - s)) }] })
/// }
/// let y = silu(v)[0]
/// ```
///
/// A wrong number of gradients, or one of the wrong shape, stops `backward()` with a message naming
/// the function.
public struct CustomFunction<Scalar: TensorScalar>: Sendable {
    /// Output gradients in (`nil` where an output was not used), one gradient per input out (`nil`
    /// where an input gets none).
    public typealias Backward = ([Tensor<Scalar>?]) -> [Tensor<Scalar>?]
    /// Input values in; the outputs (at least one) and the rule that differentiates them out.
    public typealias Forward = @Sendable ([Tensor<Scalar>]) -> (outputs: [Tensor<Scalar>], backward: Backward)

    /// The name that anomaly detection and error messages give the operation.
    public let name: StaticString
    let forward: Forward

    /// A function named `name` (a string literal) computed by `forward`.
    public init(_ name: StaticString, forward: @escaping Forward) {
        self.name = name
        self.forward = forward
    }

    /// Applies the function to `inputs`: one variable per output, in `forward`'s order.
    public func callAsFunction(_ inputs: [Variable<Scalar>]) -> [Variable<Scalar>] {
        let (outputs, backward) = forward(inputs.map(\.data))
        require(!outputs.isEmpty, "\(name): forward returned no outputs")
        // The engine checks the rule's gradients (count and shapes) and names the function if they are wrong.
        return Variable.record(name, outputs: outputs, inputs, attributes: .custom, backward)
    }

    /// Applies the function to the variables given: one variable per output.
    public func callAsFunction(_ inputs: Variable<Scalar>...) -> [Variable<Scalar>] { self(inputs) }
}
