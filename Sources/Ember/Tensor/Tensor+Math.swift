// MARK: - More elementwise and reduction operations (PyTorch's definitions)

extension Tensor where Scalar: TensorScalar {
    /// `y[i] = f(x[i])` in one loop over the storage (`f` is inlined into it).
    @inline(__always)
    func mapScalars(_ f: (Scalar) -> Scalar) -> Tensor {
        Tensor(computing: shape) { y, n in
            withBase { x in for i in 0..<n { y[i] = f(x[i]) } }
        }
    }

    /// `y[i] = f(self[i], other[i])` for two tensors of the same shape, in one loop.
    @inline(__always)
    func zipScalars(_ other: Tensor, _ f: (Scalar, Scalar) -> Scalar) -> Tensor {
        require(shape == other.shape, "zipScalars: expected equal shapes, got \(describe(shape)) and \(describe(other.shape))")
        return Tensor(computing: shape) { y, n in
            withBase { a in other.withBase { b in for i in 0..<n { y[i] = f(a[i], b[i]) } } }
        }
    }

    // MARK: Min along an axis

    /// The minimum along `axis` and the index of its first occurrence (a NaN counts as the minimum):
    /// `max` of the negation, negated back (negation is exact).
    func minWithIndices(axis: Int, keepDims: Bool) -> (values: Tensor, indices: [Int]) {
        let a = normalizeAxis(axis, rank: rank, "min", shape: shape)
        require(shape[a] > 0, "min: cannot reduce an empty axis \(axis) of shape \(describe(shape))")
        let (values, indices) = (-self).maxWithIndices(axis: a, keepDims: keepDims)
        return (-values, indices)
    }

    /// The minimum along `axis` (negative counts from the end), kept with size 1 if `keepDims`; NaN
    /// where the slice holds one, as `torch.min(x, dim).values`. Stops with a message for an empty
    /// axis. Shape: `shape` without `axis` (or with it set to 1).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func min(axis: Int, keepDims: Bool = false) -> Tensor {
        minWithIndices(axis: axis, keepDims: keepDims).values
    }

    /// Indices of the minima along `axis`, row-major over the remaining axes (the first on ties),
    /// as `torch.argmin(x, dim)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func argmin(axis: Int) -> [Int] { minWithIndices(axis: axis, keepDims: false).indices }

    // MARK: logsumexp

    /// `log(sum(exp(x)))` along `axis`, computed stably as PyTorch's `torch.logsumexp`: with `m` the
    /// maximum of the slice (replaced by 0 when it is infinite), `log(sum(exp(x - m))) + m`. A slice
    /// of only `-inf` gives `-inf`, a slice holding `+inf` gives `+inf`, NaN propagates. Shape:
    /// `shape` without `axis` (kept with size 1 if `keepDims`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logSumExp(axis: Int, keepDims: Bool = false) -> Tensor {
        let a = normalizeAxis(axis, rank: rank, "logSumExp", shape: shape)
        let (outer, length, inner) = split(around: a)
        var outShape = shape
        if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
        return Tensor(computing: outShape) { y, _ in
            withBase { x in
                for o in 0..<outer {
                    for i in 0..<inner {
                        let src = x + o * length * inner + i
                        var m = -Scalar.infinity
                        for k in 0..<length where src[k * inner] > m { m = src[k * inner] }
                        if m.isInfinite { m = 0 }
                        var total: Scalar = 0
                        for k in 0..<length { total += Scalar._exp(src[k * inner] - m) }
                        y[o * inner + i] = Scalar._log(total) + m
                    }
                }
            }
        }
    }

    /// `log(sum(exp(x)))` over all elements, shape `[]` (see `logSumExp(axis:keepDims:)`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logSumExp() -> Tensor { reshaped(to: [count]).logSumExp(axis: 0) }

    // MARK: cumsum

    /// Running sums along `axis` (negative counts from the end): element `k` is the sum of elements
    /// `0...k`, as `torch.cumsum(x, dim)`. Same shape. With `reverse`, the sums run from the end
    /// (element `k` sums `k..<n`), which is cumsum's backward (`grad.flip(dim).cumsum(dim).flip(dim)`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func cumsum(axis: Int, reverse: Bool = false) -> Tensor {
        let a = normalizeAxis(axis, rank: rank, "cumsum", shape: shape)
        let (outer, length, inner) = split(around: a)
        return Tensor(computing: shape) { y, _ in
            withBase { x in
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * length * inner + i
                        var total: Scalar = 0
                        for j in 0..<length {
                            let k = reverse ? length - 1 - j : j
                            total += x[base + k * inner]
                            y[base + k * inner] = total
                        }
                    }
                }
            }
        }
    }

    // MARK: Variance and norm

    /// The variance along `axis`: `sum((x - mean)²) / (n - 1)` when `unbiased` (the default, Bessel's
    /// correction, as `torch.var(x, dim)`), else `/ n`. NaN when the divisor is 0 (one element,
    /// unbiased), as PyTorch. Shape: `shape` without `axis` (kept with size 1 if `keepDims`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func variance(axis: Int, unbiased: Bool = true, keepDims: Bool = false) -> Tensor {
        let a = normalizeAxis(axis, rank: rank, "variance", shape: shape)
        let divisor = Scalar(shape[a] - (unbiased ? 1 : 0))
        let deviation = self - mean(axis: a, keepDims: true)
        return deviation.squared().sum(axis: a, keepDims: keepDims) / divisor
    }

    /// The variance of all elements, shape `[]` (see `variance(axis:unbiased:keepDims:)`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func variance(unbiased: Bool = true) -> Tensor {
        reshaped(to: [count]).variance(axis: 0, unbiased: unbiased)
    }

    /// The 2-norm of all elements, `sqrt(sum(x²))`, shape `[]`, as `torch.norm(x)` (the Frobenius
    /// norm of a matrix).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func norm() -> Tensor { squared().sum().sqrt() }

    /// The 2-norm along `axis`, `sqrt(sum(x², axis))`, as `torch.linalg.vector_norm(x, dim=axis)`.
    /// Shape: `shape` without `axis` (kept with size 1 if `keepDims`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func norm(axis: Int, keepDims: Bool = false) -> Tensor {
        squared().sum(axis: axis, keepDims: keepDims).sqrt()
    }
}

// MARK: - Elementwise maximum and minimum

/// The larger of `a` and `b` elementwise, shapes broadcasting like NumPy's (stops with a message
/// naming `maximum` and both shapes when they do not); NaN where either is NaN, as `torch.maximum`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func maximum<Scalar: TensorScalar>(_ a: Tensor<Scalar>, _ b: Tensor<Scalar>) -> Tensor<Scalar> {
    let target = broadcastShape(a.shape, b.shape, operation: "maximum")
    return a.broadcastCopy(to: target).zipScalars(b.broadcastCopy(to: target)) { x, y in
        x.isNaN || y.isNaN ? x + y : (x > y ? x : y)
    }
}

/// The smaller of `a` and `b` elementwise, shapes broadcasting like NumPy's; NaN where either is
/// NaN, as `torch.minimum`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func minimum<Scalar: TensorScalar>(_ a: Tensor<Scalar>, _ b: Tensor<Scalar>) -> Tensor<Scalar> {
    let target = broadcastShape(a.shape, b.shape, operation: "minimum")
    return a.broadcastCopy(to: target).zipScalars(b.broadcastCopy(to: target)) { x, y in
        x.isNaN || y.isNaN ? x + y : (x < y ? x : y)
    }
}
