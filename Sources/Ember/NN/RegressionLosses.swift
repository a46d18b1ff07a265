// MARK: - Regression losses

/// Stops with a message naming `loss` unless input and target have the same shape (PyTorch broadcasts
/// them with a warning; Ember, like its MSELoss, asks for equal shapes).
func requireSameShape<Scalar>(_ loss: String, _ input: Variable<Scalar>, _ target: Variable<Scalar>) {
    require(input.shape == target.shape,
            "\(loss): expected the target's shape to equal the input's \(describe(input.shape)), got \(describe(target.shape))")
}

/// Absolute error `|x - y|`, averaged, summed or per element, as PyTorch's `nn.L1Loss`.
///
/// The gradient with respect to the input is `sign(x - y)` (0 where they are equal, as PyTorch's).
public struct L1Loss: Sendable {
    /// `.mean` (the default, over all elements), `.sum` or `.none`.
    public var reduction: Reduction

    /// PyTorch's `nn.L1Loss(reduction='mean')`.
    public init(reduction: Reduction = .mean) { self.reduction = reduction }

    /// `input` and `target` of the same shape (stops with a message otherwise); the result has shape
    /// `[]`, or the input's shape for `.none`. The target gets a gradient too when it requires one.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Variable<Scalar>) -> Variable<Scalar> {
        requireSameShape("L1Loss", input, target)
        return pointwiseLoss("l1Loss", input, target, reduction: reduction, PointwiseLossRule(
            value: { x, y, _ in Swift.abs(x - y) },
            derivatives: { x, y, _ in let s = signum(x - y); return (s, -s) }))
    }

    /// With a constant target tensor.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Tensor<Scalar>) -> Variable<Scalar> {
        self(input, Variable(target))
    }
}

/// Smooth L1 loss, as PyTorch's `nn.SmoothL1Loss`: with `d = x - y`,
/// `l = 0.5 d² / beta` where `|d| < beta`, and `|d| - 0.5 beta` elsewhere (Girshick, Fast R-CNN,
/// 2015). `beta = 0` is the L1 loss.
public struct SmoothL1Loss: Sendable {
    /// `.mean` (the default, over all elements), `.sum` or `.none`.
    public var reduction: Reduction
    /// Where the loss changes from quadratic to linear (default 1, as PyTorch's).
    public var beta: Double

    /// PyTorch's `nn.SmoothL1Loss(reduction='mean', beta=1.0)`. Stops with a message for a negative
    /// `beta` (PyTorch: "does not support negative values for beta").
    public init(reduction: Reduction = .mean, beta: Double = 1) {
        require(beta >= 0, "SmoothL1Loss: expected beta >= 0, got \(beta)")
        self.reduction = reduction
        self.beta = beta
    }

    /// `input` and `target` of the same shape (stops with a message otherwise); the result has shape
    /// `[]`, or the input's shape for `.none`. The gradient is `d / beta` inside `(-beta, beta)` and
    /// `sign(d)` outside, as PyTorch's.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Variable<Scalar>) -> Variable<Scalar> {
        requireSameShape("SmoothL1Loss", input, target)
        let beta = Scalar(self.beta)
        if beta == 0 { return L1Loss(reduction: reduction)(input, target) }
        return pointwiseLoss("smoothL1Loss", input, target, reduction: reduction, PointwiseLossRule(
            value: { x, y, _ in
                let d = Swift.abs(x - y)
                return d < beta ? 0.5 * d * d / beta : d - 0.5 * beta
            },
            derivatives: { x, y, _ in
                let d = x - y
                let g = d <= -beta ? -1 : d >= beta ? 1 : d / beta
                return (g, -g)
            }))
    }

    /// With a constant target tensor.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Tensor<Scalar>) -> Variable<Scalar> {
        self(input, Variable(target))
    }
}

/// Huber loss, as PyTorch's `nn.HuberLoss`: with `d = x - y`, `l = 0.5 d²` where `|d| < delta`, and
/// `delta (|d| - 0.5 delta)` elsewhere (Huber, 1964). Equals `delta` times SmoothL1Loss with
/// `beta = delta`.
public struct HuberLoss: Sendable {
    /// `.mean` (the default, over all elements), `.sum` or `.none`.
    public var reduction: Reduction
    /// Where the loss changes from quadratic to linear (default 1, as PyTorch's).
    public var delta: Double

    /// PyTorch's `nn.HuberLoss(reduction='mean', delta=1.0)`. Stops with a message unless `delta > 0`
    /// (PyTorch: "does not support non-positive values for delta").
    public init(reduction: Reduction = .mean, delta: Double = 1) {
        require(delta > 0, "HuberLoss: expected delta > 0, got \(delta)")
        self.reduction = reduction
        self.delta = delta
    }

    /// `input` and `target` of the same shape (stops with a message otherwise); the result has shape
    /// `[]`, or the input's shape for `.none`. The gradient is `d` inside `[-delta, delta]` and
    /// `delta · sign(d)` outside, as PyTorch's.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Variable<Scalar>) -> Variable<Scalar> {
        requireSameShape("HuberLoss", input, target)
        let delta = Scalar(self.delta)
        return pointwiseLoss("huberLoss", input, target, reduction: reduction, PointwiseLossRule(
            value: { x, y, _ in
                let d = Swift.abs(x - y)
                return d < delta ? 0.5 * d * d : delta * (d - 0.5 * delta)
            },
            derivatives: { x, y, _ in
                let d = x - y
                let g = d < -delta ? -delta : d > delta ? delta : d
                return (g, -g)
            }))
    }

    /// With a constant target tensor.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Tensor<Scalar>) -> Variable<Scalar> {
        self(input, Variable(target))
    }
}
