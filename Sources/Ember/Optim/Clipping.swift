import Foundation

// MARK: - Gradient clipping

/// Scales all gradients together so that their total norm (p-norm of the per-tensor p-norms, or the
/// largest absolute value for `normType: .infinity`) is at most `maxNorm`, as
/// `torch.nn.utils.clip_grad_norm_` (torch/nn/utils/clip_grad.py): the factor is
/// `clamp(maxNorm / (total + 1e-6), max: 1)`, and every gradient is multiplied by it.
/// A NaN anywhere makes the total NaN (torch.max and the sums propagate it), hence the factor and
/// every gradient NaN, as in PyTorch; an infinite total gives the factor 0.
/// Returns the total norm before clipping (0 when no parameter has a gradient). `normType` defaults
/// to 2; stops with a message for a negative `maxNorm` or a `normType` that is not positive.
@discardableResult
public func clipGradNorm<Scalar>(_ parameters: [Variable<Scalar>], maxNorm: Double, normType: Double = 2) -> Double {
    require(maxNorm >= 0, "clipGradNorm: expected a non-negative maxNorm, got \(maxNorm)")
    let grads = parameters.compactMap(\.grad)
    guard !grads.isEmpty else { return 0 }
    let total: Double
    if normType == .infinity {
        // torch.max(torch.stack(norms)): NaN if any per-tensor maximum is (Sequence.max() would keep
        // or drop a NaN depending on where it stands).
        let norms = grads.map { Double($0.abs().reshaped(to: [-1]).max(axis: 0).scalar) }
        total = norms.contains { $0.isNaN } ? .nan : norms.max() ?? 0
    } else {
        require(normType > 0, "clipGradNorm: expected a positive normType, got \(normType)")
        let norms = grads.map { hyperparameterPow(Double($0.abs().pow(Scalar(normType)).sum().scalar), 1 / normType) }
        total = hyperparameterPow(norms.reduce(0) { $0 + hyperparameterPow($1, normType) }, 1 / normType)
    }
    // clamp(c, max: 1) keeps a NaN, where Swift.min(1, NaN) is 1. Multiplying by exactly 1 changes
    // no gradient, so only a factor below 1, or NaN, is applied.
    let factor = maxNorm / (total + 1e-6)
    let coefficient = factor.isNaN ? factor : Swift.min(1, factor)
    if !(coefficient >= 1) {
        for p in parameters { if let g = p.grad { p.grad = g * Scalar(coefficient) } }
    }
    return total
}

/// Clamps every gradient element to `[-clipValue, clipValue]`, as `torch.nn.utils.clip_grad_value_`;
/// parameters without a gradient are skipped. Stops with a message for a negative `clipValue`.
public func clipGradValue<Scalar>(_ parameters: [Variable<Scalar>], clipValue: Double) {
    require(clipValue >= 0, "clipGradValue: expected a non-negative clipValue, got \(clipValue)")
    for p in parameters { if let g = p.grad { p.grad = g.clamped(min: Scalar(-clipValue), max: Scalar(clipValue)) } }
}
