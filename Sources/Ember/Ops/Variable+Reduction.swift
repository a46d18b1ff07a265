// MARK: - Reductions and softmax (forward and backward together)

extension Variable {
    /// The sum of all elements, shape `[]`. Backward: the gradient spread over every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sum() -> Variable {
        let s = shape
        return Variable.record("sum", data.sum(), self) { g in Tensor(repeating: g.scalar, shape: s) }
    }

    /// Sums along `axis` (negative counts from the end), keeping it with size 1 if `keepDims`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sum(axis: Int, keepDims: Bool = false) -> Variable {
        let s = shape
        let a = normalizeAxis(axis, rank: rank, "sum", shape: s)
        var kept = s
        kept[a] = 1
        return Variable.record("sumAxis", data.sum(axis: a, keepDims: keepDims), self, attributes: .reduction(axis: a, keepDims: keepDims)) { g in
            g.reshaped(to: kept).expanded(to: s)
        }
    }

    /// The mean of all elements, shape `[]`: NaN for an empty tensor (0/0, as PyTorch and NumPy).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func mean() -> Variable {
        let s = shape, scale = 1 / Scalar(data.count)
        return Variable.record("mean", data.mean(), self) { g in Tensor(repeating: g.scalar * scale, shape: s) }
    }

    /// The mean along `axis`: NaN where the axis is empty (0/0, as PyTorch and NumPy). One node
    /// ("meanAxis", so an export divides by the axis' size at run time): the sum times `1/n`;
    /// backward: the gradient times `1/n`, spread along the axis.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func mean(axis: Int, keepDims: Bool = false) -> Variable {
        let s = shape
        let a = normalizeAxis(axis, rank: rank, "mean", shape: s)
        let scale = 1 / Scalar(s[a])
        var kept = s
        kept[a] = 1
        return Variable.record("meanAxis", data.sum(axis: a, keepDims: keepDims) * scale, self,
                               attributes: .reduction(axis: a, keepDims: keepDims)) { g in
            (g * scale).reshaped(to: kept).expanded(to: s)
        }
    }

    /// The maximum along `axis`. Backward: the gradient goes to the (first) maximal element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func max(axis: Int, keepDims: Bool = false) -> Variable {
        let s = shape
        let a = normalizeAxis(axis, rank: rank, "max", shape: s)
        let (values, indices) = data.maxWithIndices(axis: a, keepDims: keepDims)
        return Variable.record("max", values, self, attributes: .reduction(axis: a, keepDims: keepDims)) { g in g.scattered(into: s, axis: a, indices: indices) }
    }

    /// Indices of the maxima along `axis` (no gradient).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func argmax(axis: Int) -> [Int] { data.argmax(axis: axis) }

    /// Softmax along `axis`. Backward: `y * (g - sum(g * y))`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func softmax(axis: Int) -> Variable { softmaxLike(axis: axis, log: false) }

    /// Log-softmax along `axis`. Backward: `g - softmax(x) * sum(g)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logSoftmax(axis: Int) -> Variable { softmaxLike(axis: axis, log: true) }

    private func softmaxLike(axis: Int, log: Bool) -> Variable {
        let a = normalizeAxis(axis, rank: rank, log ? "logSoftmax" : "softmax", shape: shape)
        let y = data.softmaxLike(axis: a, log: log)
        let (outer, length, inner) = y.split(around: a)
        return Variable.record(log ? "logSoftmax" : "softmax", y, self, attributes: .axis(a)) { g in
            Tensor(computing: y.shape) { gx, _ in
                g.withBase { pg in y.withBase { py in
                    Scalar._softmaxBackward(pg, py, gx, outer: outer, length: length, inner: inner, log: log)
                } }
            }
        }
    }
}
