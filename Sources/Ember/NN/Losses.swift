// MARK: - Losses

/// How a loss combines its per-sample values, as PyTorch's `reduction=`.
public enum Reduction: String, Sendable {
    /// The mean over samples (over non-ignored targets for the classification losses).
    case mean
    /// The sum over samples.
    case sum
    /// One value per sample, shape `[N]`.
    case none
}

/// Softmax cross-entropy between logits `[N, C]` and class indices `[N]`, as PyTorch's
/// `nn.CrossEntropyLoss`: `loss_i = logsumexp(x_i) - x_i[t_i]`, fused into one tape node (stable for
/// logits of any magnitude; the gradient is `softmax(x_i) - onehot(t_i)`). Targets equal to
/// `ignoreIndex` contribute nothing and do not count towards the mean.
public struct CrossEntropyLoss: Sendable {
    /// `.mean` (the default, over non-ignored targets), `.sum` or `.none`.
    public var reduction: Reduction
    /// A target value that contributes no loss and no gradient (default -100, as PyTorch's).
    public var ignoreIndex: Int

    /// PyTorch's `nn.CrossEntropyLoss(reduction='mean', ignore_index=-100)` (no class weights, no
    /// label smoothing). With `.mean` and every target ignored the loss is NaN, as in PyTorch.
    public init(reduction: Reduction = .mean, ignoreIndex: Int = -100) {
        self.reduction = reduction
        self.ignoreIndex = ignoreIndex
    }

    /// `logits` `[N, C]`, `targets` `N` indices in `0..<C` (or `ignoreIndex`); shape `[]`, or `[N]` for `.none`.
    public func callAsFunction<Scalar>(_ logits: Variable<Scalar>, _ targets: [Int]) -> Variable<Scalar> {
        classificationLoss(logits, targets, reduction: reduction, ignoreIndex: ignoreIndex, alreadyLogProbabilities: false)
    }
}

/// Negative log-likelihood of log-probabilities `[N, C]` at class indices `[N]`, as PyTorch's `nn.NLLLoss`.
public struct NLLLoss: Sendable {
    /// `.mean` (the default, over non-ignored targets), `.sum` or `.none`.
    public var reduction: Reduction
    /// A target value that contributes no loss and no gradient (default -100, as PyTorch's).
    public var ignoreIndex: Int

    /// PyTorch's `nn.NLLLoss(reduction='mean', ignore_index=-100)` (no class weights): `loss_i = -x_i[t_i]`.
    /// With `.mean` and every target ignored the loss is NaN, as in PyTorch.
    public init(reduction: Reduction = .mean, ignoreIndex: Int = -100) {
        self.reduction = reduction
        self.ignoreIndex = ignoreIndex
    }

    /// `logProbabilities` `[N, C]`, `targets` `[N]`; shape `[]`, or `[N]` for `.none`.
    public func callAsFunction<Scalar>(_ logProbabilities: Variable<Scalar>, _ targets: [Int]) -> Variable<Scalar> {
        classificationLoss(logProbabilities, targets, reduction: reduction, ignoreIndex: ignoreIndex, alreadyLogProbabilities: true)
    }
}

/// Squared error `(x - y)²`, averaged, summed or per element, as PyTorch's `nn.MSELoss`.
public struct MSELoss: Sendable {
    /// `.mean` (the default, over all elements), `.sum` or `.none`.
    public var reduction: Reduction
    /// PyTorch's `nn.MSELoss(reduction='mean')`.
    public init(reduction: Reduction = .mean) { self.reduction = reduction }

    /// `input` and `target` of the same shape; shape `[]`, or the input's shape for `.none`.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Variable<Scalar>) -> Variable<Scalar> {
        require(input.shape == target.shape, "MSELoss: expected equal shapes, got \(describe(input.shape)) and \(describe(target.shape))")
        let squared = (input - target).squared()
        switch reduction {
        case .mean: return squared.mean()
        case .sum: return squared.sum()
        case .none: return squared
        }
    }

    /// With a constant target tensor.
    public func callAsFunction<Scalar>(_ input: Variable<Scalar>, _ target: Tensor<Scalar>) -> Variable<Scalar> {
        self(input, Variable(target))
    }
}

@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func classificationLoss<Scalar>(_ x: Variable<Scalar>, _ targets: [Int], reduction: Reduction, ignoreIndex: Int,
                                alreadyLogProbabilities: Bool) -> Variable<Scalar> {
    let name = alreadyLogProbabilities ? "NLLLoss" : "CrossEntropyLoss"
    require(x.rank == 2, "\(name): expected input [N, C], got \(describe(x.shape))")
    let (n, c) = (x.shape[0], x.shape[1])
    require(targets.count == n, "\(name): expected \(n) targets for input \(describe(x.shape)), got \(targets.count)")
    for t in targets where t != ignoreIndex {
        require(t >= 0 && t < c, "\(name): target \(t) is out of range for \(c) classes")
    }
    let logp = alreadyLogProbabilities ? x.data : x.data.logSoftmax(axis: 1)
    let counted = targets.filter { $0 != ignoreIndex }.count
    var losses = [Scalar](repeating: 0, count: n)
    logp.withUnsafeBufferPointer { lp in
        for i in 0..<n where targets[i] != ignoreIndex { losses[i] = -lp[i * c + targets[i]] }
    }
    let value: Tensor<Scalar>
    switch reduction {
    case .none: value = Tensor(shape: [n], scalars: losses)
    case .sum: value = Tensor(shape: [n], scalars: losses).sum()
    case .mean: value = Tensor(shape: [n], scalars: losses).sum() * (1 / Scalar(counted))   // NaN when all ignored, as PyTorch
    }
    return Variable.record(alreadyLogProbabilities ? "nllLoss" : "crossEntropy", value, x) { g in
        // Per-sample weight of the output gradient.
        let gs = g.scalars
        let weight: (Int) -> Scalar = { i in
            switch reduction {
            case .none: gs[i]
            case .sum: gs[0]
            case .mean: gs[0] / Scalar(counted)
            }
        }
        var gx = alreadyLogProbabilities ? Tensor<Scalar>(zeros: [n, c]) : logp.exp()
        gx.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                let t = targets[i]
                if t == ignoreIndex {
                    for j in 0..<c { p[i * c + j] = 0 }
                    continue
                }
                let w = weight(i)
                if !alreadyLogProbabilities { for j in 0..<c { p[i * c + j] *= w } }
                p[i * c + t] -= w
            }
        }
        return gx
    }
}
