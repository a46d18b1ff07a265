// MARK: - RMSprop

/// RMSprop, as `torch.optim.RMSprop`: `g = grad + wd·p`, `s = α·s + (1 - α)·g²`; centered:
/// `a = lerp(a, g, 1 - α)`, `avg = sqrt(s - a²) + eps`, else `avg = sqrt(s) + eps`; with momentum
/// `buf = μ·buf + g/avg`, `p -= lr·buf`, else `p -= lr·g/avg`. Defaults lr 1e-2, α 0.99, eps 1e-8.
/// Each parameter group uses its own hyperparameters.
public final class RMSprop<Scalar: TensorScalar>: ParamGroupOptimizer<Scalar>, Optimizer {
    /// The defaults for groups that do not set their own: smoothing constant α (0.99), the
    /// denominator's eps (1e-8), L2 weight decay added to the gradient (0), and momentum μ (0, none).
    public let alpha, eps, weightDecay, momentum: Double
    /// The default for centring the second moment by the running mean of the gradient (false).
    public let centered: Bool

    /// `torch.optim.RMSprop(param_groups, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    /// centered=False)`: the arguments are the defaults for the groups' missing hyperparameters. Stops
    /// with PyTorch's message for a negative `lr`, `eps`, `momentum`, `weightDecay` or `alpha` (in the
    /// defaults or a group), and when a parameter is in two groups.
    public init(_ groups: [ParamGroup<Scalar>], lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
                weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false) {
        self.alpha = alpha
        self.eps = eps
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
        super.init("RMSprop", groups, defaults: ["lr": .number(lr), "alpha": .number(alpha), "eps": .number(eps),
                                                 "weight_decay": .number(weightDecay), "momentum": .number(momentum),
                                                 "centered": .flag(centered)],
                   stateNames: ["square_avg", "grad_avg", "momentum_buffer"])
    }

    /// `torch.optim.RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    /// centered=False)`: one group holding `parameters`. Stops with the messages of the group form.
    public convenience init(_ parameters: [Variable<Scalar>], lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
                            weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false) {
        self.init([ParamGroup(parameters)], lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay, momentum: momentum,
                  centered: centered)
    }

    override func problem(_ group: ParamGroup<Scalar>) -> String? {
        firstNegative(["learning rate": group.lr, "epsilon value": group.eps!, "momentum value": group.momentum!,
                       "weight_decay value": group.weightDecay!, "alpha value": group.alpha!])
    }

    /// One update of every parameter whose `grad` is not nil.
    public func step() {
        forEachGradient(reading: { ($0.lr, $0.alpha!, $0.eps!, $0.weightDecay!, $0.momentum!, $0.centered!) }) { i, p, grad, hyper in
            let (lr, alpha, eps, weightDecay, momentum, centered) = hyper
            var g = grad
            state.steps[i] += 1
            if weightDecay != 0 { g = g + p.data * Scalar(weightDecay) }
            let zeros = Tensor<Scalar>(zeros: p.shape)
            let s = (state.buffers[i]["square_avg"] ?? zeros) * Scalar(alpha) + g * g * Scalar(1 - alpha)
            state.buffers[i]["square_avg"] = s
            var avg: Tensor<Scalar>
            if centered {
                let a = (state.buffers[i]["grad_avg"] ?? zeros).lerp(to: g, weight: Scalar(1 - alpha))
                state.buffers[i]["grad_avg"] = a
                avg = (s - a * a).sqrt() + Scalar(eps)
            } else {
                avg = s.sqrt() + Scalar(eps)
            }
            if momentum > 0 {
                let buf = (state.buffers[i]["momentum_buffer"] ?? zeros) * Scalar(momentum) + g / avg
                state.buffers[i]["momentum_buffer"] = buf
                p.data = p.data - buf * Scalar(lr)
            } else {
                p.data = p.data - (g / avg) * Scalar(lr)
            }
        }
    }
}
