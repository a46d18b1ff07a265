// MARK: - Binary cross-entropy losses

/// Binary cross-entropy between probabilities `x` in `[0, 1]` and targets `y`, as PyTorch's
/// `nn.BCELoss`: `l = -(y · log x + (1 - y) · log(1 - x))`, each logarithm clamped at -100 as PyTorch
/// clamps it, so that `x = 0` or `1` gives a finite loss.
///
/// The input gradient is PyTorch's `(x - y) / max(x (1 - x), 1e-12)`. Prefer `BCEWithLogitsLoss` on
/// logits: it is stable where sigmoid followed by this loss is not.
public struct BCELoss: Sendable {
    /// `.mean` (the default, over all elements), `.sum` or `.none`.
    public var reduction: Reduction

    /// PyTorch's `nn.BCELoss(reduction='mean')` (no per-element weight).
    public init(reduction: Reduction = .mean) { self.reduction = reduction }

    /// `input` (probabilities) and `target` of the same shape; the result has shape `[]`, or the
    /// input's shape for `.none`. Stops with a message for different shapes or an input element
    /// outside `[0, 1]` (as PyTorch; NaN passes through as NaN). The target's gradient, when it
    /// requires one, is the derivative of the clamped loss: `max(log(1 - x), -100) - max(log x, -100)`.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Variable<Scalar>) -> Variable<Scalar> {
        requireSameShape("BCELoss", input, target)
        input.data.withUnsafeBufferPointer { p in
            for (i, x) in p.enumerated() where x < 0 || x > 1 {
                requireFailure("BCELoss: expected every input element in [0, 1], got \(x) at flat index \(i) of \(describe(input.shape))")
            }
        }
        return pointwiseLoss("bceLoss", input, target, reduction: reduction, PointwiseLossRule(
            value: { x, y, _ in
                let logX = Swift.max(Scalar._log(x), -100), log1mX = Swift.max(logOnePlus(-x), -100)
                return (y - 1) * log1mX - y * logX
            },
            derivatives: { x, y, _ in
                let logX = Swift.max(Scalar._log(x), -100), log1mX = Swift.max(logOnePlus(-x), -100)
                return ((x - y) / Swift.max((1 - x) * x, 1e-12), log1mX - logX)
            }))
    }

    /// With a constant target tensor.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Tensor<Scalar>) -> Variable<Scalar> {
        self(input, Variable(target))
    }
}

/// Sigmoid and binary cross-entropy in one stable step, as PyTorch's `nn.BCEWithLogitsLoss`: with
/// logits `x`, targets `y` and the positive weight `p` (1 without `posWeight`),
/// `l = -(p · y · log σ(x) + (1 - y) · log(1 - σ(x)))`, computed as
/// `(1 - y) · x - (1 + (p - 1) · y) · log σ(x)` with `log σ(x) = min(x, 0) - log(1 + e^-|x|)`, so
/// logits of any magnitude (±1000 too) give a finite loss and gradient.
///
/// The input gradient is `(1 + (p - 1) y) · σ(x) - p · y`; the target's, when it requires one,
/// `-x - (p - 1) · log σ(x)` (PyTorch's formulas).
public struct BCEWithLogitsLoss: Sendable {
    /// `.mean` (the default, over all elements), `.sum` or `.none`.
    public var reduction: Reduction
    /// The weight of positive examples, one per class: broadcast against the input as NumPy does, so
    /// a `[C]` tensor weights the last axis of an `[N, C]` (or `[N, ..., C]`) input. `nil` means 1.
    public var posWeight: Tensor<Double>?

    /// PyTorch's `nn.BCEWithLogitsLoss(reduction='mean', pos_weight=None)` (no per-element weight).
    /// `posWeight` is converted to the input's scalar type.
    public init(reduction: Reduction = .mean, posWeight: Tensor<Double>? = nil) {
        self.reduction = reduction
        self.posWeight = posWeight
    }

    /// `input` (logits) and `target` of the same shape; the result has shape `[]`, or the input's
    /// shape for `.none`. Stops with a message for different shapes or a `posWeight` that does not
    /// broadcast to the input's shape.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Variable<Scalar>) -> Variable<Scalar> {
        requireSameShape("BCEWithLogitsLoss", input, target)
        var weights: Tensor<Scalar>?
        if let posWeight {
            let shape = posWeight.shape
            let offset = input.rank - shape.count
            require(offset >= 0 && shape.indices.allSatisfy { shape[$0] == 1 || shape[$0] == input.shape[offset + $0] },
                    "BCEWithLogitsLoss: posWeight of shape \(describe(shape)) does not broadcast to the input's shape \(describe(input.shape))")
            weights = Tensor<Scalar>(posWeight).expanded(to: input.shape)
        }
        return pointwiseLoss("bceWithLogitsLoss", input, target, parameter: weights, reduction: reduction, PointwiseLossRule(
            value: { x, y, p in (1 - y) * x - (1 + (p - 1) * y) * logSigmoid(x) },
            derivatives: { x, y, p in
                ((1 + (p - 1) * y) * stableSigmoid(x) - p * y, -x - (p - 1) * logSigmoid(x))
            }))
    }

    /// With a constant target tensor.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Tensor<Scalar>) -> Variable<Scalar> {
        self(input, Variable(target))
    }
}
