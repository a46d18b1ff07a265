// MARK: - Adagrad

/// Adagrad, as `torch.optim.Adagrad`: `g = grad + wd·p`, `clr = lr / (1 + (t - 1)·lrDecay)`,
/// `sum += g²`, `p -= clr · g / (sqrt(sum) + eps)`. Defaults lr 1e-2, eps 1e-10. Each parameter group
/// uses its own hyperparameters.
public final class Adagrad<Scalar: TensorScalar>: ParamGroupOptimizer<Scalar>, Optimizer {
    /// The defaults for groups that do not set their own: learning-rate decay per step (0), L2 weight
    /// decay added to the gradient (0), the starting value of `sum` (0), and the denominator's eps (1e-10).
    public let lrDecay, weightDecay, initialAccumulatorValue, eps: Double

    /// `torch.optim.Adagrad(param_groups, lr=1e-2, lr_decay=0, weight_decay=0,
    /// initial_accumulator_value=0, eps=1e-10)`: the arguments are the defaults for the groups' missing
    /// hyperparameters. Stops with PyTorch's message for a negative `lr`, `lrDecay`, `weightDecay`,
    /// `initialAccumulatorValue` or `eps` (in the defaults or a group), and when a parameter is in two groups.
    public init(_ groups: [ParamGroup<Scalar>], lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0,
                initialAccumulatorValue: Double = 0, eps: Double = 1e-10) {
        self.lrDecay = lrDecay
        self.weightDecay = weightDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        self.eps = eps
        super.init("Adagrad", groups, defaults: ["lr": .number(lr), "lr_decay": .number(lrDecay), "weight_decay": .number(weightDecay),
                                                 "initial_accumulator_value": .number(initialAccumulatorValue), "eps": .number(eps)],
                   stateNames: ["sum"])
    }

    /// `torch.optim.Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    /// eps=1e-10)`: one group holding `parameters`. Stops with the messages of the group form.
    public convenience init(_ parameters: [Variable<Scalar>], lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0,
                            initialAccumulatorValue: Double = 0, eps: Double = 1e-10) {
        self.init([ParamGroup(parameters)], lr: lr, lrDecay: lrDecay, weightDecay: weightDecay,
                  initialAccumulatorValue: initialAccumulatorValue, eps: eps)
    }

    override func problem(_ group: ParamGroup<Scalar>) -> String? {
        firstNegative(["learning rate": group.lr, "lr_decay value": group.lrDecay!, "weight_decay value": group.weightDecay!,
                       "initial_accumulator_value value": group.initialAccumulatorValue!, "epsilon value": group.eps!])
    }

    /// `sum` starts at the group's `initialAccumulatorValue`.
    override func didAdd(_ group: ParamGroup<Scalar>, firstIndex: Int) {
        fillSums(&state, group: group, firstIndex: firstIndex)
    }

    private func fillSums(_ s: inout ParameterState<Scalar>, group: ParamGroup<Scalar>, firstIndex: Int) {
        for (k, p) in group.parameters.enumerated() where s.buffers[firstIndex + k]["sum"] == nil {
            s.buffers[firstIndex + k]["sum"] = Tensor(repeating: Scalar(group.initialAccumulatorValue!), shape: p.shape)
        }
    }

    /// One update of every parameter whose `grad` is not nil.
    public func step() {
        forEachGradient(reading: { ($0.lr, $0.lrDecay!, $0.weightDecay!, $0.eps!) }) { i, p, grad, hyper in
            let (lr, lrDecay, weightDecay, eps) = hyper
            var g = grad
            state.steps[i] += 1
            if weightDecay != 0 { g = g + p.data * Scalar(weightDecay) }
            let clr = lr / (1 + Double(state.steps[i] - 1) * lrDecay)
            let sum = state.buffers[i]["sum"]! + g * g
            state.buffers[i]["sum"] = sum
            p.data = p.data - (g / (sum.sqrt() + Scalar(eps))) * Scalar(clr)
        }
    }

    /// Restores `stateDict()`'s result (a parameter without `sum` gets its group's
    /// `initialAccumulatorValue`). Throws `OptimizerStateError` for an unknown name or index or a
    /// mismatched shape; nothing changes then.
    override public func loadStateDict(_ dict: [String: Tensor<Scalar>]) throws {
        var s = try ParameterState.decode(dict, parameters: parameters, allowed: stateNames)
        var first = 0
        for group in groups {
            fillSums(&s, group: group, firstIndex: first)
            first += group.parameters.count
        }
        state = s
    }
}
