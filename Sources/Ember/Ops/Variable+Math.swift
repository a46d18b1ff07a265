// MARK: - abs, min, logsumexp, cumsum, variance, norm (forward and backward together)
//
// Each backward rule is PyTorch's (tools/autograd/derivatives.yaml and
// torch/csrc/autograd/FunctionsManual.cpp), so that gradients agree with PyTorch's at the
// non-differentiable points too.

extension Variable {
    /// `|x|` elementwise. Backward: `g * sign(x)`, with `sign(0) = 0` (and 0 for NaN), as PyTorch's
    /// `grad * self.sgn()`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func abs() -> Variable {
        let x = data
        return Variable.record("abs", x.abs(), self) { g in
            g.zipScalars(x) { g, x in g * ((x > 0 ? 1 : 0) - (x < 0 ? 1 : 0)) }
        }
    }

    /// The minimum along `axis` (negative counts from the end), kept with size 1 if `keepDims`, as
    /// `torch.min(x, dim).values`. Backward: the gradient goes to the first minimal element
    /// (PyTorch's `value_selecting_reduction_backward` with the returned index).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func min(axis: Int, keepDims: Bool = false) -> Variable {
        let s = shape
        let a = normalizeAxis(axis, rank: rank, "min", shape: s)
        let (values, indices) = data.minWithIndices(axis: a, keepDims: keepDims)
        return Variable.record("min", values, self, attributes: .reduction(axis: a, keepDims: keepDims)) { g in g.scattered(into: s, axis: a, indices: indices) }
    }

    /// Indices of the minima along `axis` (no gradient), as `torch.argmin(x, dim)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func argmin(axis: Int) -> [Int] { data.argmin(axis: axis) }

    /// `log(sum(exp(x)))` along `axis`, stable (see `Tensor.logSumExp(axis:keepDims:)`: a slice of
    /// only `-inf` gives `-inf`). Shape: `shape` without `axis` (size 1 if `keepDims`). Backward:
    /// `g * exp(x - result)`, PyTorch's `logsumexp_backward`: finite wherever the result is finite
    /// (`-inf` entries get 0), NaN for a slice of only `-inf` or one holding `+inf`, as PyTorch.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logSumExp(axis: Int, keepDims: Bool = false) -> Variable {
        let x = data
        let a = normalizeAxis(axis, rank: rank, "logSumExp", shape: x.shape)
        let y = x.logSumExp(axis: a, keepDims: keepDims)
        var kept = x.shape
        kept[a] = 1
        return Variable.record("logSumExp", y, self, attributes: .reduction(axis: a, keepDims: keepDims)) { g in
            let result = y.reshaped(to: kept).broadcastCopy(to: x.shape)
            return g.reshaped(to: kept).broadcastCopy(to: x.shape) * (x - result).exp()
        }
    }

    /// `log(sum(exp(x)))` over all elements, shape `[]` (see `logSumExp(axis:keepDims:)`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logSumExp() -> Variable { reshaped(to: [data.count]).logSumExp(axis: 0) }

    /// Running sums along `axis`, as `torch.cumsum(x, dim)`; same shape. Backward: the running sums
    /// of the gradient from the end (`grad.flip(dim).cumsum(dim).flip(dim)`, PyTorch's
    /// `cumsum_backward`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func cumsum(axis: Int) -> Variable {
        let a = normalizeAxis(axis, rank: rank, "cumsum", shape: shape)
        return Variable.record("cumsum", data.cumsum(axis: a), self, attributes: .axis(a)) { g in g.cumsum(axis: a, reverse: true) }
    }

    /// The variance along `axis`, unbiased (divided by `n - 1`) by default, as `torch.var(x, dim)`;
    /// shape: `shape` without `axis` (size 1 if `keepDims`). Backward: `2 / (n - c) * g * (x - mean)`
    /// with `c` 1 when unbiased else 0 (PyTorch's `var_backward`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func variance(axis: Int, unbiased: Bool = true, keepDims: Bool = false) -> Variable {
        let x = data
        let a = normalizeAxis(axis, rank: rank, "variance", shape: x.shape)
        var kept = x.shape
        kept[a] = 1
        let scale = 2 / Scalar(x.shape[a] - (unbiased ? 1 : 0))
        return Variable.record("variance", x.variance(axis: a, unbiased: unbiased, keepDims: keepDims), self,
                               attributes: .variance(axis: a, unbiased: unbiased, keepDims: keepDims)) { g in
            (x - x.mean(axis: a, keepDims: true)) * (g.reshaped(to: kept) * scale)
        }
    }

    /// The variance of all elements, shape `[]` (see `variance(axis:unbiased:keepDims:)`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func variance(unbiased: Bool = true) -> Variable {
        reshaped(to: [data.count]).variance(axis: 0, unbiased: unbiased)
    }

    /// The 2-norm of all elements, `sqrt(sum(x²))`, shape `[]`, as `torch.norm(x)`. Backward:
    /// `x * g / norm`, and 0 when the norm is 0 (PyTorch's `norm_backward`: `masked_fill_(norm == 0, 0)`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func norm() -> Variable {
        let x = data
        let y = x.norm()
        return Variable.record("norm", y, self) { g in
            let n = y.scalar
            return n == 0 ? Tensor(zeros: x.shape) : x * (g.scalar / n)
        }
    }

    /// The 2-norm along `axis`, as `torch.linalg.vector_norm(x, dim=axis)`; shape: `shape` without
    /// `axis` (size 1 if `keepDims`). Backward: `x * g / norm`, 0 where the norm is 0.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func norm(axis: Int, keepDims: Bool = false) -> Variable {
        let x = data
        let a = normalizeAxis(axis, rank: rank, "norm", shape: x.shape)
        let y = x.norm(axis: a, keepDims: keepDims)
        var kept = x.shape
        kept[a] = 1
        return Variable.record("normAxis", y, self, attributes: .reduction(axis: a, keepDims: keepDims)) { g in
            let ratio = g.reshaped(to: kept).zipScalars(y.reshaped(to: kept)) { g, n in n == 0 ? 0 : g / n }
            return x * ratio
        }
    }
}

// MARK: - Elementwise maximum and minimum

/// The larger of `a` and `b` elementwise, broadcasting, as `torch.maximum` (NaN where either is NaN).
/// Backward (PyTorch's): `g` goes to the larger input, and half of `g` to each where they are equal;
/// each gradient is summed back to its input's shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func maximum<Scalar>(_ a: Variable<Scalar>, _ b: Variable<Scalar>) -> Variable<Scalar> {
    selectElementwise("maximum", a, b, larger: true)
}

/// The smaller of `a` and `b` elementwise, broadcasting, as `torch.minimum` (NaN where either is NaN).
/// Backward (PyTorch's): `g` goes to the smaller input, and half of `g` to each where they are equal.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func minimum<Scalar>(_ a: Variable<Scalar>, _ b: Variable<Scalar>) -> Variable<Scalar> {
    selectElementwise("minimum", a, b, larger: false)
}

/// `maximum` (`larger`) or `minimum`. PyTorch's rule for `self` is
/// `where(self == other, grad / 2, grad).masked_fill_(self < other, 0)` (for maximum; `>` for
/// minimum) and symmetrically for `other`, so where either is NaN both inputs get the full `g`.
private func selectElementwise<Scalar>(_ name: StaticString, _ a: Variable<Scalar>, _ b: Variable<Scalar>,
                                       larger: Bool) -> Variable<Scalar> {
    let x = a.data, z = b.data
    let y = larger ? maximum(x, z) : minimum(x, z)
    return Variable.record(name, y, [a, b]) { g in
        let xs = x.broadcastCopy(to: y.shape), zs = z.broadcastCopy(to: y.shape)
        var ga = g, gb = g
        ga.withUnsafeMutableBufferPointer { pa in gb.withUnsafeMutableBufferPointer { pb in
            xs.withBase { p in zs.withBase { q in
                for i in 0..<pa.count {
                    if p[i] == q[i] { pa[i] = pa[i] / 2; pb[i] = pb[i] / 2; continue }
                    // masked_fill_ with 0 (not g * 0, which would be NaN for an infinite g).
                    if larger ? p[i] < q[i] : p[i] > q[i] { pa[i] = 0 }
                    if larger ? p[i] > q[i] : p[i] < q[i] { pb[i] = 0 }
                }
            } }
        } }
        return [ga.summed(toShape: x.shape), gb.summed(toShape: z.shape)]
    }
}
