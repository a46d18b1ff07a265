// MARK: - Reductions, softmax

/// Resolves a possibly negative axis against `rank`, stopping with a message naming the operation.
@usableFromInline
func normalizeAxis(_ axis: Int, rank: Int, _ operation: String, shape: [Int]) -> Int {
    let resolved = axis < 0 ? axis + rank : axis
    require(resolved >= 0 && resolved < rank,
                 "\(operation): axis \(axis) is out of range for shape \(describe(shape)) (rank \(rank))")
    return resolved
}

extension Tensor {
    /// `(outer, length, inner)` of this tensor viewed around `axis`.
    func split(around axis: Int) -> (outer: Int, length: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }
}

extension Tensor where Scalar: TensorScalar {
    func reduce(_ op: ReductionKernel, axis: Int, keepDims: Bool, _ operation: String) -> Tensor {
        let axis = normalizeAxis(axis, rank: rank, operation, shape: shape)
        let (outer, length, inner) = split(around: axis)
        if op == .max {
            require(length > 0, "\(operation): cannot reduce an empty axis \(axis) of shape \(describe(shape))")
        }
        var outShape = shape
        if keepDims { outShape[axis] = 1 } else { outShape.remove(at: axis) }
        return Tensor(computing: outShape) { y, _ in
            withBase { x in Scalar._reduce(op, x, y, outer: outer, length: length, inner: inner) }
        }
    }

    /// The sum of all elements, shape `[]`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sum() -> Tensor {
        let n = count
        return Tensor(computing: []) { y, _ in
            withBase { x in Scalar._reduce(.sum, x, y, outer: 1, length: n, inner: 1) }
        }
    }

    /// Sums along `axis` (negative counts from the end); the axis is kept with size 1 if `keepDims`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor {
        reduce(.sum, axis: axis, keepDims: keepDims, "sum")
    }

    /// The mean of all elements, shape `[]`: NaN for an empty tensor (0/0, as PyTorch and NumPy).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func mean() -> Tensor { sum() * (1 / Scalar(count)) }

    /// The mean along `axis`: NaN where the axis is empty (0/0, as PyTorch and NumPy).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor {
        let a = normalizeAxis(axis, rank: rank, "mean", shape: shape)
        return sum(axis: a, keepDims: keepDims) * (1 / Scalar(shape[a]))
    }

    /// The maximum along `axis` (NaN if the slice holds one, as in PyTorch).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        reduce(.max, axis: axis, keepDims: keepDims, "max")
    }

    /// The maximum along `axis` and the index of its first occurrence, row-major over the other axes.
    func maxWithIndices(axis: Int, keepDims: Bool) -> (values: Tensor, indices: [Int]) {
        let axis = normalizeAxis(axis, rank: rank, "max", shape: shape)
        let (outer, length, inner) = split(around: axis)
        require(length > 0, "max: cannot reduce an empty axis \(axis) of shape \(describe(shape))")
        var outShape = shape
        if keepDims { outShape[axis] = 1 } else { outShape.remove(at: axis) }
        var indices = [Int](repeating: 0, count: outer * inner)
        let values = Tensor(computing: outShape) { y, _ in
            withBase { x in
                indices.withUnsafeMutableBufferPointer { ip in
                    Scalar._argmax(x, y, ip.baseAddress!, outer: outer, length: length, inner: inner)
                }
            }
        }
        return (values, indices)
    }

    /// Indices of the maxima along `axis`, row-major over the remaining axes (the first on ties).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func argmax(axis: Int) -> [Int] { maxWithIndices(axis: axis, keepDims: false).indices }

    /// Softmax along `axis`: `exp(x - max) / sum(exp(x - max))`, stable for large inputs.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func softmax(axis: Int) -> Tensor { softmaxLike(axis: axis, log: false) }

    /// Log-softmax along `axis`: `x - logsumexp(x)`, stable for large inputs.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logSoftmax(axis: Int) -> Tensor { softmaxLike(axis: axis, log: true) }

    func softmaxLike(axis: Int, log: Bool) -> Tensor {
        let axis = normalizeAxis(axis, rank: rank, log ? "logSoftmax" : "softmax", shape: shape)
        let (outer, length, inner) = split(around: axis)
        return Tensor(computing: shape) { y, _ in
            withBase { x in Scalar._softmax(x, y, outer: outer, length: length, inner: inner, log: log) }
        }
    }
}
