// MARK: - SGD

/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay,
/// as `torch.optim.SGD`:
/// `g = grad + wd·p`; with momentum `buf = g` at the first step, then `buf = μ·buf + (1 - dampening)·g`;
/// `g = nesterov ? g + μ·buf : buf`; `p -= lr·g`.
public final class SGD<Scalar: TensorScalar>: Optimizer {
    /// The parameters being optimised, in the order given.
    public let parameters: [Variable<Scalar>]
    /// The learning rate (no default: `lr` must be given); schedulers change it.
    public var learningRate: Double
    /// Momentum factor μ (default 0, none), dampening of the momentum buffer (default 0), and L2
    /// weight decay added to the gradient (default 0).
    public let momentum, dampening, weightDecay: Double
    /// Nesterov momentum (default false).
    public let nesterov: Bool
    var state: ParameterState<Scalar>

    /// `torch.optim.SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)`. Stops with
    /// PyTorch's message for a negative `lr`, `momentum` or `weightDecay`, and for `nesterov` without a
    /// positive momentum and zero dampening.
    public init(_ parameters: [Variable<Scalar>], lr: Double, momentum: Double = 0, dampening: Double = 0,
                nesterov: Bool = false, weightDecay: Double = 0) {
        require(lr >= 0, "SGD: Invalid learning rate: \(lr)")
        require(momentum >= 0, "SGD: Invalid momentum value: \(momentum)")
        require(weightDecay >= 0, "SGD: Invalid weight_decay value: \(weightDecay)")
        require(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum requires a momentum and zero dampening")
        self.parameters = parameters
        self.learningRate = lr
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.state = ParameterState(count: parameters.count)
    }

    /// One update of every parameter whose `grad` is not nil (`momentum_buffer` kept per parameter).
    public func step() {
        for (i, p) in parameters.enumerated() {
            guard var g = p.grad else { continue }
            if weightDecay != 0 { g = g + p.data * Scalar(weightDecay) }
            if momentum != 0 {
                var buf: Tensor<Scalar>
                if let old = state.buffers[i]["momentum_buffer"] {
                    buf = old * Scalar(momentum) + g * Scalar(1 - dampening)
                } else {
                    buf = g
                }
                state.buffers[i]["momentum_buffer"] = buf
                g = nesterov ? g + buf * Scalar(momentum) : buf
            }
            state.steps[i] += 1
            p.data = p.data - g * Scalar(learningRate)
        }
    }

    /// `state.{i}.momentum_buffer` (with momentum) and `state.{i}.step` per parameter.
    public func stateDict() -> [String: Tensor<Scalar>] { state.export() }

    /// Restores `stateDict()`'s result. Throws `OptimizerStateError` for an unknown name or index or a
    /// shape unlike its parameter's; nothing changes then.
    public func loadStateDict(_ dict: [String: Tensor<Scalar>]) throws {
        state = try ParameterState.decode(dict, parameters: parameters, allowed: ["momentum_buffer"])
    }
}
