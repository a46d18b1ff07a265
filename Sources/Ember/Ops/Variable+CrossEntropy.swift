// MARK: - Cross-entropy and negative log-likelihood with class weights, label smoothing, K dimensions

/// What `classLoss` computes: which loss (for messages and the node's name), and its options.
struct ClassLossOptions<Scalar: TensorScalar> {
    /// `true` for NLLLoss (the input holds log-probabilities), `false` for CrossEntropyLoss (logits).
    var alreadyLogProbabilities: Bool
    var reduction: Reduction
    var ignoreIndex: Int
    /// One weight per class, or `nil` for 1.
    var weight: Tensor<Scalar>?
    /// ε of label smoothing (CrossEntropyLoss only), in `[0, 1]`.
    var labelSmoothing: Scalar

    var name: String { alreadyLogProbabilities ? "NLLLoss" : "CrossEntropyLoss" }
}

/// Stops with a message naming the loss unless `targetShape` fits the input `[N, C, d1, ...]` (or `[C]`)
/// and every target is a class in `0..<C` or `ignoreIndex`; returns `(outer N, classes C, inner d1·...)`.
func checkClassTargets<Scalar>(_ x: Variable<Scalar>, _ targets: [Int], targetShape: [Int],
                               _ options: ClassLossOptions<Scalar>) -> (outer: Int, classes: Int, inner: Int) {
    let name = options.name
    require(x.rank >= 1, "\(name): expected an input [N, C] or [N, C, d1, ...], got a scalar")
    let classes = x.rank == 1 ? x.shape[0] : x.shape[1]
    let expected = x.rank == 1 ? [] : [x.shape[0]] + x.shape.dropFirst(2)
    require(targetShape == expected,
            "\(name): expected a target of shape \(describe(expected)) for input \(describe(x.shape)), got \(describe(targetShape))")
    if let weight = options.weight {
        require(weight.shape == [classes],
                "\(name): expected a weight of shape [\(classes)] (one per class), got \(describe(weight.shape))")
    }
    for (i, t) in targets.enumerated() where t != options.ignoreIndex && (t < 0 || t >= classes) {
        requireFailure("\(name): target \(t) at \(position(i, in: targetShape)) is out of range for \(classes) classes")
    }
    let outer = x.rank == 1 ? 1 : x.shape[0]
    return (outer, classes, expected.dropFirst().reduce(1, *))
}

/// The multi-dimensional index of flat position `i` in `shape`, as `[1, 2]` (`[]` for a scalar).
func position(_ i: Int, in shape: [Int]) -> String {
    var rest = i, index = [Int](repeating: 0, count: shape.count)
    for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] > 0 {
        index[axis] = rest % shape[axis]
        rest /= shape[axis]
    }
    return "index " + describe(index)
}

/// PyTorch's `cross_entropy` / `nll_loss` with `weight`, `ignore_index` and `label_smoothing`, over an
/// input `[N, C, d1, ...]` (classes on axis 1; or `[C]`) and targets `[N, d1, ...]` (flat, row-major).
///
/// Per position with target `t` (not ignored), log-probabilities `q` and class weights `w` (1 without):
/// `loss = (1 - ε) · w_t · (-q_t) + (ε / C) · Σ_j w_j · (-q_j)`; ignored positions give 0. `.mean`
/// divides the sum by `Σ w_t` over non-ignored positions (NaN when there are none), as PyTorch's
/// `cross_entropy_loss_label_smoothing` and `nll_loss` do. One node; its backward for logits is
/// `s · ((1 - ε) w_t + (ε / C) Σ_j w_j) · softmax(x) - s · ((1 - ε) w_t · onehot(t) + (ε / C) · w)`,
/// `s` the position's share of the output gradient.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func classLoss<Scalar>(_ x: Variable<Scalar>, _ targets: [Int], targetShape: [Int],
                       _ options: ClassLossOptions<Scalar>) -> Variable<Scalar> {
    let (outer, c, inner) = checkClassTargets(x, targets, targetShape: targetShape, options)
    let logp = options.alreadyLogProbabilities ? x.data : x.data.logSoftmax(axis: x.rank == 1 ? 0 : 1)
    let w = options.weight?.scalars ?? [Scalar](repeating: 1, count: c)
    let eps = options.labelSmoothing, keep = 1 - eps, spread = eps / Scalar(c)
    let ignore = options.ignoreIndex
    var losses = [Scalar](repeating: 0, count: targets.count)
    var weightSum: Scalar = 0
    logp.withUnsafeBufferPointer { q in
        for n in 0..<outer {
            for k in 0..<inner {
                let t = targets[n * inner + k]
                if t == ignore { continue }
                let base = n * c * inner + k
                var loss = -w[t] * q[base + t * inner]
                if eps != 0 {
                    var smooth: Scalar = 0
                    for j in 0..<c { smooth -= w[j] * q[base + j * inner] }
                    loss = keep * loss + spread * smooth
                }
                losses[n * inner + k] = loss
                weightSum += w[t]
            }
        }
    }
    let perPosition = Tensor(shape: targetShape, scalars: losses)
    let value: Tensor<Scalar>
    switch options.reduction {
    case .none: value = perPosition
    case .sum: value = perPosition.sum()
    case .mean: value = perPosition.sum() * (1 / weightSum)
    }
    let reduction = options.reduction, fromLogits = !options.alreadyLogProbabilities
    let classWeightSum = w.reduce(0, +)
    return Variable.record(options.alreadyLogProbabilities ? "nllLoss" : "crossEntropy", value, x) { g in
        let gs = g.scalars
        var gx = fromLogits ? logp.exp() : Tensor<Scalar>(zeros: logp.shape)
        gx.withUnsafeMutableBufferPointer { p in
            for n in 0..<outer {
                for k in 0..<inner {
                    let t = targets[n * inner + k], base = n * c * inner + k
                    if t == ignore {
                        if fromLogits { for j in 0..<c { p[base + j * inner] = 0 } }
                        continue
                    }
                    let s = reduction == .none ? gs[n * inner + k] : reduction == .sum ? gs[0] : gs[0] / weightSum
                    if fromLogits {
                        let a = s * (keep * w[t] + spread * classWeightSum)
                        for j in 0..<c { p[base + j * inner] *= a }
                        if eps != 0 { for j in 0..<c { p[base + j * inner] -= s * spread * w[j] } }
                        p[base + t * inner] -= s * keep * w[t]
                    } else {
                        p[base + t * inner] = -s * w[t]
                    }
                }
            }
        }
        return gx
    }
}
