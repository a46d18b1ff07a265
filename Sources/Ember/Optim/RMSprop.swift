// MARK: - RMSprop

/// RMSprop, as `torch.optim.RMSprop`: `g = grad + wd·p`, `s = α·s + (1 - α)·g²`; centered:
/// `a = lerp(a, g, 1 - α)`, `avg = sqrt(s - a²) + eps`, else `avg = sqrt(s) + eps`; with momentum
/// `buf = μ·buf + g/avg`, `p -= lr·buf`, else `p -= lr·g/avg`. Defaults lr 1e-2, α 0.99, eps 1e-8.
public final class RMSprop<Scalar: TensorScalar>: Optimizer {
    /// The parameters being optimised, in the order given.
    public let parameters: [Variable<Scalar>]
    /// The learning rate (default 1e-2); schedulers change it.
    public var learningRate: Double
    /// Smoothing constant α (default 0.99), the denominator's eps (default 1e-8), L2 weight decay added
    /// to the gradient (default 0), and momentum μ (default 0, none).
    public let alpha, eps, weightDecay, momentum: Double
    /// Whether the second moment is centred by the running mean of the gradient (default false).
    public let centered: Bool
    var state: ParameterState<Scalar>

    /// `torch.optim.RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    /// centered=False)`. Stops with PyTorch's message for a negative `lr`, `eps`, `momentum`,
    /// `weightDecay` or `alpha`.
    public init(_ parameters: [Variable<Scalar>], lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
                weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false) {
        require(lr >= 0, "RMSprop: Invalid learning rate: \(lr)")
        require(eps >= 0, "RMSprop: Invalid epsilon value: \(eps)")
        require(momentum >= 0, "RMSprop: Invalid momentum value: \(momentum)")
        require(weightDecay >= 0, "RMSprop: Invalid weight_decay value: \(weightDecay)")
        require(alpha >= 0, "RMSprop: Invalid alpha value: \(alpha)")
        self.parameters = parameters
        self.learningRate = lr
        self.alpha = alpha
        self.eps = eps
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
        self.state = ParameterState(count: parameters.count)
    }

    /// One update of every parameter whose `grad` is not nil.
    public func step() {
        for (i, p) in parameters.enumerated() {
            guard var g = p.grad else { continue }
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
                p.data = p.data - buf * Scalar(learningRate)
            } else {
                p.data = p.data - (g / avg) * Scalar(learningRate)
            }
        }
    }

    /// `state.{i}.square_avg`, `grad_avg` (centered), `momentum_buffer` (with momentum) and `step`.
    public func stateDict() -> [String: Tensor<Scalar>] { state.export() }

    /// Restores `stateDict()`'s result. Throws `OptimizerStateError` for an unknown name or index or a
    /// mismatched shape; nothing changes then.
    public func loadStateDict(_ dict: [String: Tensor<Scalar>]) throws {
        state = try ParameterState.decode(dict, parameters: parameters, allowed: ["square_avg", "grad_avg", "momentum_buffer"])
    }
}
