// MARK: - SGD

/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay,
/// as `torch.optim.SGD`:
/// `g = grad + wd·p`; with momentum `buf = g` at the first step, then `buf = μ·buf + (1 - dampening)·g`;
/// `g = nesterov ? g + μ·buf : buf`; `p -= lr·g`. Each parameter group uses its own hyperparameters.
public final class SGD<Scalar: TensorScalar>: ParamGroupOptimizer<Scalar>, Optimizer {
    /// The defaults for groups that do not set their own: momentum factor μ (default 0, none),
    /// dampening of the momentum buffer (default 0), and L2 weight decay added to the gradient
    /// (default 0). The values in use are `paramGroups[i]`'s (OneCycleLR changes the momentum there).
    public let momentum, dampening, weightDecay: Double
    /// The default for Nesterov momentum (false).
    public let nesterov: Bool

    /// `torch.optim.SGD(param_groups, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)`:
    /// the arguments are the defaults for the groups' missing hyperparameters. Stops with PyTorch's
    /// message for a negative `lr`, `momentum` or `weightDecay`, and for `nesterov` without a positive
    /// momentum and zero dampening (in the defaults or a group), and when a parameter is in two groups.
    public init(_ groups: [ParamGroup<Scalar>], lr: Double, momentum: Double = 0, dampening: Double = 0,
                nesterov: Bool = false, weightDecay: Double = 0) {
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        super.init("SGD", groups, defaults: ["lr": .number(lr), "momentum": .number(momentum), "dampening": .number(dampening),
                                             "nesterov": .flag(nesterov), "weight_decay": .number(weightDecay)],
                   stateNames: ["momentum_buffer"])
    }

    /// `torch.optim.SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)`: one
    /// group holding `parameters`. Stops with the messages of the group form.
    public convenience init(_ parameters: [Variable<Scalar>], lr: Double, momentum: Double = 0, dampening: Double = 0,
                            nesterov: Bool = false, weightDecay: Double = 0) {
        self.init([ParamGroup(parameters)], lr: lr, momentum: momentum, dampening: dampening, nesterov: nesterov,
                  weightDecay: weightDecay)
    }

    override func problem(_ group: ParamGroup<Scalar>) -> String? {
        let momentum = group.momentum!, weightDecay = group.weightDecay!
        if let problem = firstNegative(["learning rate": group.lr, "momentum value": momentum, "weight_decay value": weightDecay]) {
            return problem
        }
        if group.nesterov! && (momentum <= 0 || group.dampening! != 0) { return "Nesterov momentum requires a momentum and zero dampening" }
        return nil
    }

    /// One update of every parameter whose `grad` is not nil (`momentum_buffer` kept per parameter).
    public func step() {
        forEachGradient(reading: { ($0.lr, $0.momentum!, $0.dampening!, $0.nesterov!, $0.weightDecay!) }) { i, p, grad, hyper in
            let (lr, momentum, dampening, nesterov, weightDecay) = hyper
            var g = grad
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
            p.data = p.data - g * Scalar(lr)
        }
    }
}
