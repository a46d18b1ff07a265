// MARK: - Pointwise losses (one fused node each)

/// A loss computed element by element from an input `x`, a target `y` and an optional per-element
/// parameter `w` (BCEWithLogitsLoss's positive weight; 1 where a loss has none), with its partial
/// derivatives. The losses in NN/ (L1, SmoothL1, Huber, BCE, BCEWithLogits) are one of these each.
struct PointwiseLossRule<Scalar: TensorScalar>: Sendable {
    /// `l(x, y, w)`.
    let value: @Sendable (Scalar, Scalar, Scalar) -> Scalar
    /// `(∂l/∂x, ∂l/∂y)` at `(x, y, w)`.
    let derivatives: @Sendable (Scalar, Scalar, Scalar) -> (input: Scalar, target: Scalar)
}

/// Applies `rule` to every element of `input` and `target` (equal shapes, checked by the caller) and
/// reduces as `reduction` says: the mean over all elements (NaN for an empty input, as PyTorch), the
/// sum, or the per-element losses in the input's shape. One tape node with inputs `[input, target]`;
/// its backward computes the derivatives from the saved values, and the target's only when it
/// requires a gradient.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func pointwiseLoss<Scalar>(_ name: StaticString, _ input: Variable<Scalar>, _ target: Variable<Scalar>,
                           parameter: Tensor<Scalar>? = nil, reduction: Reduction,
                           _ rule: PointwiseLossRule<Scalar>) -> Variable<Scalar> {
    let x = input.data, y = target.data
    let count = x.count
    let losses = Tensor<Scalar>(computing: x.shape) { out, n in
        x.withBase { px in y.withBase { py in
            if let parameter {
                parameter.withBase { pw in for i in 0..<n { out[i] = rule.value(px[i], py[i], pw[i]) } }
            } else {
                for i in 0..<n { out[i] = rule.value(px[i], py[i], 1) }
            }
        } }
    }
    let value: Tensor<Scalar>
    switch reduction {
    case .none: value = losses
    case .sum: value = losses.sum()
    case .mean: value = losses.sum() * (1 / Scalar(count))
    }
    let targetNeedsGradient = target.requiresGrad
    return Variable.record(name, value, [input, target]) { g in
        let gs = g.scalars
        let uniform: Scalar = reduction == .none ? 0 : reduction == .mean ? gs[0] / Scalar(count) : gs[0]
        let w = parameter?.scalars ?? []
        var dx = [Scalar](repeating: 0, count: count)
        var dy = [Scalar](repeating: 0, count: targetNeedsGradient ? count : 0)
        x.withBase { px in y.withBase { py in
            for i in 0..<count {
                let d = rule.derivatives(px[i], py[i], w.isEmpty ? 1 : w[i])
                let scale = reduction == .none ? gs[i] : uniform
                dx[i] = scale * d.input
                if targetNeedsGradient { dy[i] = scale * d.target }
            }
        } }
        return [Tensor(shape: x.shape, scalars: dx), targetNeedsGradient ? Tensor(shape: x.shape, scalars: dy) : nil]
    }
}

// MARK: - Scalar helpers for the rules

/// `log(1 + x)`, accurate for small `x` (Goldberg's correction of `log(1 + x)` by the rounding of
/// `1 + x`; Foundation's `log1p` is not generic over `TensorScalar`).
@inline(__always)
func logOnePlus<Scalar: TensorScalar>(_ x: Scalar) -> Scalar {
    let u = 1 + x
    if u == 1 { return x }
    return Scalar._log(u) * x / (u - 1)
}

/// `log σ(x) = min(x, 0) - log(1 + e^-|x|)`, finite for every finite `x`.
@inline(__always)
func logSigmoid<Scalar: TensorScalar>(_ x: Scalar) -> Scalar {
    Swift.min(x, 0) - logOnePlus(Scalar._exp(-Swift.abs(x)))
}

/// `σ(x) = 1 / (1 + e^-x)`, computed from `e^-|x|` so that no intermediate overflows.
@inline(__always)
func stableSigmoid<Scalar: TensorScalar>(_ x: Scalar) -> Scalar {
    let e = Scalar._exp(-Swift.abs(x))
    return x >= 0 ? 1 / (1 + e) : e / (1 + e)
}

/// `sign(x)`: -1, 0 or 1, and NaN for NaN (`torch.sgn`).
@inline(__always)
func signum<Scalar: TensorScalar>(_ x: Scalar) -> Scalar {
    x > 0 ? 1 : x < 0 ? -1 : x
}
