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

/// Softmax cross-entropy between logits and class indices, as PyTorch's `nn.CrossEntropyLoss`:
/// `loss_i = logsumexp(x_i) - x_i[t_i]`, fused into one tape node (stable for logits of any magnitude;
/// the gradient is `softmax(x_i) - onehot(t_i)`). Targets equal to `ignoreIndex` contribute nothing
/// and do not count towards the mean.
///
/// With class weights `w` and label smoothing ε (PyTorch's `weight` and `label_smoothing`), a
/// position with target `t` and log-probabilities `q = logSoftmax(x)` over `C` classes contributes
/// `(1 - ε) · w_t · (-q_t) + (ε / C) · Σ_j w_j · (-q_j)`, and `.mean` divides the sum by the sum of
/// `w_t` over the non-ignored positions (PyTorch's weighted mean; `C` and the weights in the
/// smoothing term as in PyTorch's `cross_entropy_loss_label_smoothing`).
///
/// ```swift
/// let criterion = CrossEntropyLoss(weight: Tensor<Double>([1, 2, 0.5]), labelSmoothing: 0.1)
/// let loss = criterion(logits, targets)   // logits [N, 3] or [N, 3, d1, ...]; targets Tensor<Int> [N] or [N, d1, ...]
/// ```
public struct CrossEntropyLoss: Sendable {
    /// `.mean` (the default, over non-ignored targets), `.sum` or `.none`.
    public var reduction: Reduction
    /// A target value that contributes no loss and no gradient (default -100, as PyTorch's).
    public var ignoreIndex: Int
    /// One weight per class (shape `[C]`), converted to the input's scalar type; `nil` weighs every class 1.
    public var weight: Tensor<Double>?
    /// ε in `[0, 1]`: the target distribution is `(1 - ε) · onehot(t) + ε / C` (default 0, none).
    public var labelSmoothing: Double

    /// PyTorch's `nn.CrossEntropyLoss(reduction='mean', ignore_index=-100, weight=None,
    /// label_smoothing=0.0)`. With `.mean` and every target ignored the loss is NaN, as in PyTorch.
    /// Stops with a message unless `labelSmoothing` is in `[0, 1]`.
    public init(reduction: Reduction = .mean, ignoreIndex: Int = -100, weight: Tensor<Double>? = nil,
                labelSmoothing: Double = 0) {
        require(labelSmoothing >= 0 && labelSmoothing <= 1,
                "CrossEntropyLoss: expected labelSmoothing in [0, 1], got \(labelSmoothing)")
        self.reduction = reduction
        self.ignoreIndex = ignoreIndex
        self.weight = weight
        self.labelSmoothing = labelSmoothing
    }

    /// `logits` `[N, C]`, `targets` `N` indices in `0..<C` (or `ignoreIndex`); shape `[]`, or `[N]`
    /// for `.none`. Stops with a message naming the shapes or the out-of-range target. Without weights
    /// and smoothing this is one fused node whose backward is `softmax(x_i) - onehot(t_i)`, scaled.
    public func callAsFunction<Scalar>(_ logits: Variable<Scalar>, _ targets: [Int]) -> Variable<Scalar> {
        if weight == nil && labelSmoothing == 0 {
            return classificationLoss(logits, targets, reduction: reduction, ignoreIndex: ignoreIndex, alreadyLogProbabilities: false)
        }
        require(logits.rank == 2, "CrossEntropyLoss: expected input [N, C] for [Int] targets, got \(describe(logits.shape))")
        return classLoss(logits, targets, targetShape: [targets.count], options(Scalar.self))
    }

    /// `logits` `[N, C]` or `[N, C, d1, ...]` (classes on axis 1; `[C]` for one sample) and `targets`
    /// `[N]` or `[N, d1, ...]` (`[]` for one sample) holding classes in `0..<C` or `ignoreIndex`, as
    /// PyTorch's K-dimensional cross-entropy; shape `[]`, or the targets' shape for `.none`. Stops with
    /// a message naming the shapes, or the out-of-range target and its index.
    public func callAsFunction<Scalar>(_ logits: Variable<Scalar>, _ targets: Tensor<Int>) -> Variable<Scalar> {
        if logits.rank == 2 && targets.rank == 1 { return self(logits, targets.scalars) }
        return classLoss(logits, targets.scalars, targetShape: targets.shape, options(Scalar.self))
    }

    func options<Scalar>(_: Scalar.Type) -> ClassLossOptions<Scalar> {
        ClassLossOptions(alreadyLogProbabilities: false, reduction: reduction, ignoreIndex: ignoreIndex,
                         weight: weight.map { Tensor<Scalar>($0) }, labelSmoothing: Scalar(labelSmoothing))
    }
}

/// Negative log-likelihood of log-probabilities at class indices, as PyTorch's `nn.NLLLoss`:
/// `loss_i = -w[t_i] · x_i[t_i]` (`w` the class weights, 1 without). `.mean` divides the sum by the
/// sum of `w[t_i]` over non-ignored targets, as PyTorch does.
public struct NLLLoss: Sendable {
    /// `.mean` (the default, over non-ignored targets), `.sum` or `.none`.
    public var reduction: Reduction
    /// A target value that contributes no loss and no gradient (default -100, as PyTorch's).
    public var ignoreIndex: Int
    /// One weight per class (shape `[C]`), converted to the input's scalar type; `nil` weighs every class 1.
    public var weight: Tensor<Double>?

    /// PyTorch's `nn.NLLLoss(reduction='mean', ignore_index=-100, weight=None)`.
    /// With `.mean` and every target ignored the loss is NaN, as in PyTorch.
    public init(reduction: Reduction = .mean, ignoreIndex: Int = -100, weight: Tensor<Double>? = nil) {
        self.reduction = reduction
        self.ignoreIndex = ignoreIndex
        self.weight = weight
    }

    /// `logProbabilities` `[N, C]`, `targets` `[N]`; shape `[]`, or `[N]` for `.none`.
    public func callAsFunction<Scalar>(_ logProbabilities: Variable<Scalar>, _ targets: [Int]) -> Variable<Scalar> {
        if weight == nil {
            return classificationLoss(logProbabilities, targets, reduction: reduction, ignoreIndex: ignoreIndex, alreadyLogProbabilities: true)
        }
        require(logProbabilities.rank == 2, "NLLLoss: expected input [N, C] for [Int] targets, got \(describe(logProbabilities.shape))")
        return classLoss(logProbabilities, targets, targetShape: [targets.count], options(Scalar.self))
    }

    /// `logProbabilities` `[N, C]` or `[N, C, d1, ...]` (`[C]` for one sample) and `targets` `[N]` or
    /// `[N, d1, ...]` (`[]`); shape `[]`, or the targets' shape for `.none`.
    public func callAsFunction<Scalar>(_ logProbabilities: Variable<Scalar>, _ targets: Tensor<Int>) -> Variable<Scalar> {
        if logProbabilities.rank == 2 && targets.rank == 1 { return self(logProbabilities, targets.scalars) }
        return classLoss(logProbabilities, targets.scalars, targetShape: targets.shape, options(Scalar.self))
    }

    func options<Scalar>(_: Scalar.Type) -> ClassLossOptions<Scalar> {
        ClassLossOptions(alreadyLogProbabilities: true, reduction: reduction, ignoreIndex: ignoreIndex,
                         weight: weight.map { Tensor<Scalar>($0) }, labelSmoothing: 0)
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
