// MARK: - Adagrad

/// Adagrad, as `torch.optim.Adagrad`: `g = grad + wd·p`, `clr = lr / (1 + (t - 1)·lrDecay)`,
/// `sum += g²`, `p -= clr · g / (sqrt(sum) + eps)`. Defaults lr 1e-2, eps 1e-10.
public final class Adagrad<Scalar: TensorScalar>: Optimizer {
    /// The parameters being optimised, in the order given.
    public let parameters: [Variable<Scalar>]
    /// The learning rate (default 1e-2); schedulers change it.
    public var learningRate: Double
    /// Learning-rate decay per step (default 0), L2 weight decay added to the gradient (default 0),
    /// the starting value of `sum` (default 0), and the denominator's eps (default 1e-10).
    public let lrDecay, weightDecay, initialAccumulatorValue, eps: Double
    var state: ParameterState<Scalar>

    /// `torch.optim.Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    /// eps=1e-10)`. Stops with PyTorch's message for a negative `lr`, `lrDecay`, `weightDecay`,
    /// `initialAccumulatorValue` or `eps`.
    public init(_ parameters: [Variable<Scalar>], lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0,
                initialAccumulatorValue: Double = 0, eps: Double = 1e-10) {
        require(lr >= 0, "Adagrad: Invalid learning rate: \(lr)")
        require(lrDecay >= 0, "Adagrad: Invalid lr_decay value: \(lrDecay)")
        require(weightDecay >= 0, "Adagrad: Invalid weight_decay value: \(weightDecay)")
        require(initialAccumulatorValue >= 0, "Adagrad: Invalid initial_accumulator_value value: \(initialAccumulatorValue)")
        require(eps >= 0, "Adagrad: Invalid epsilon value: \(eps)")
        self.parameters = parameters
        self.learningRate = lr
        self.lrDecay = lrDecay
        self.weightDecay = weightDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        self.eps = eps
        self.state = ParameterState(count: parameters.count)
        for (i, p) in parameters.enumerated() {
            state.buffers[i]["sum"] = Tensor(repeating: Scalar(initialAccumulatorValue), shape: p.shape)
        }
    }

    /// One update of every parameter whose `grad` is not nil.
    public func step() {
        for (i, p) in parameters.enumerated() {
            guard var g = p.grad else { continue }
            state.steps[i] += 1
            if weightDecay != 0 { g = g + p.data * Scalar(weightDecay) }
            let clr = learningRate / (1 + Double(state.steps[i] - 1) * lrDecay)
            let sum = state.buffers[i]["sum"]! + g * g
            state.buffers[i]["sum"] = sum
            p.data = p.data - (g / (sum.sqrt() + Scalar(eps))) * Scalar(clr)
        }
    }

    /// `state.{i}.sum` and `state.{i}.step` per parameter.
    public func stateDict() -> [String: Tensor<Scalar>] { state.export() }

    /// Restores `stateDict()`'s result (a parameter without `sum` gets `initialAccumulatorValue`). Throws
    /// `OptimizerStateError` for an unknown name or index or a mismatched shape; nothing changes then.
    public func loadStateDict(_ dict: [String: Tensor<Scalar>]) throws {
        var s = try ParameterState.decode(dict, parameters: parameters, allowed: ["sum"])
        for (i, p) in parameters.enumerated() where s.buffers[i]["sum"] == nil {
            s.buffers[i]["sum"] = Tensor(repeating: Scalar(initialAccumulatorValue), shape: p.shape)
        }
        state = s
    }
}
