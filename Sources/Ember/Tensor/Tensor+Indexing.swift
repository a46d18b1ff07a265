// MARK: - Index operations: gather, indexSelect, select(where:), maskedFill

extension Tensor {
    /// Gathers values along `axis` (negative counts from the end) as `torch.gather(x, axis, indices)`:
    /// for rank 3 and axis 1, `out[i][j][k] = x[i][indices[i][j][k]][k]`.
    ///
    /// - Parameter indices: the same rank as this tensor, no larger along any axis but `axis`; each
    ///   index in `0..<shape[axis]`.
    /// - Returns: a tensor of `indices.shape`.
    /// - Precondition: as above (stops with a message naming `gather` and the shapes otherwise).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gather(axis: Int, indices: Tensor<Int>) -> Tensor {
        let offsets = gatherOffsets(axis: axis, indices: indices, "gather").offsets
        return Tensor(computing: indices.shape) { y, n in
            withBase { x in offsets.withUnsafeBufferPointer { o in
                for p in 0..<n { (y + p).initialize(to: x[o[p]]) }
            } }
        }
    }

    /// For each element of `indices`, the offset in this tensor that `gather` reads (and its
    /// backward adds into), checking the shapes and indices.
    func gatherOffsets(axis: Int, indices: Tensor<Int>, _ operation: String) -> (axis: Int, offsets: [Int]) {
        let a = normalizeAxis(axis, rank: rank, operation, shape: shape)
        require(indices.rank == rank && (0..<rank).allSatisfy { $0 == a || indices.shape[$0] <= shape[$0] },
                "\(operation): expected indices of rank \(rank) no larger than \(describe(shape)) except along axis \(axis), got \(describe(indices.shape))")
        var strides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        let axisStride = strides[a], size = shape[a]
        strides[a] = 0
        var offsets = [Int](repeating: 0, count: indices.count)
        indices.withBase { idx in
            offsets.withUnsafeMutableBufferPointer { o in
                forEachBroadcastRow(indices.shape, strides, strides) { base, _, start, length, step, _ in
                    for i in 0..<length {
                        let k = idx[start + i]
                        require(k >= 0 && k < size,
                                "\(operation): index \(k) is out of range for axis \(axis) of size \(size) (shape \(describe(shape)))")
                        o[start + i] = base + i * step + k * axisStride
                    }
                }
            }
        }
        return (a, offsets)
    }

    /// Selects slices along `axis` (negative counts from the end) as `torch.index_select(x, axis,
    /// indices)`: slice `j` of the result is slice `indices[j]` of this tensor.
    ///
    /// - Parameter indices: rank 1 (or 0, as one index), each in `0..<shape[axis]`; may repeat.
    /// - Returns: this tensor's shape with `shape[axis]` replaced by `indices.count`.
    /// - Precondition: as above (stops with a message naming `indexSelect` otherwise).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func indexSelect(axis: Int, indices: Tensor<Int>) -> Tensor {
        let a = checkIndexSelect(axis: axis, indices: indices)
        let (outer, size, inner) = split(around: a)
        var outShape = shape
        outShape[a] = indices.count
        let n = indices.count, e = MemoryLayout<Scalar>.stride
        return Tensor(computing: outShape) { y, _ in
            withBase { x in
                let src = UnsafeRawPointer(x), dst = UnsafeMutableRawPointer(y)
                for o in 0..<outer {
                    for (j, k) in indices.scalars.enumerated() {
                        (dst + ((o * n + j) * inner) * e).copyMemory(from: src + ((o * size + k) * inner) * e,
                                                                     byteCount: inner * e)
                    }
                }
            }
        }
    }

    /// The resolved axis of an `indexSelect`, after checking the indices' rank and range.
    func checkIndexSelect(axis: Int, indices: Tensor<Int>) -> Int {
        let a = normalizeAxis(axis, rank: rank, "indexSelect", shape: shape)
        require(indices.rank <= 1, "indexSelect: expected indices of rank 1, got shape \(describe(indices.shape))")
        for k in indices.scalars {
            require(k >= 0 && k < shape[a],
                    "indexSelect: index \(k) is out of range for axis \(axis) of size \(shape[a]) (shape \(describe(shape)))")
        }
        return a
    }

    /// This tensor with `value` where `mask` is true, as `x.masked_fill(mask, value)`.
    /// - Parameter mask: broadcasts to this tensor's shape (NumPy's rules), e.g. `[B, 1, S]` over
    ///   `[B, L, S]`; stops with a message naming `maskedFill` otherwise.
    /// - Returns: a tensor of this shape.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func maskedFill(_ mask: Tensor<Bool>, value: Scalar) -> Tensor {
        require(broadcastShape(mask.shape, shape, operation: "maskedFill") == shape,
                "maskedFill: mask of shape \(describe(mask.shape)) does not broadcast to \(describe(shape))")
        return Ember.select(where: mask, Tensor(value), self)
    }
}

// MARK: - Elementwise select (torch.where)

/// `torch.where(condition, a, b)`: elementwise `condition ? a : b`, with `condition`, `a` and `b`
/// broadcast together (NumPy's rules; stops with a message naming `select(where:)` otherwise).
///
/// Swift reserves `where`, so Ember spells it `select(where:_:_:)`; inside a type that has its own
/// `select` (as `Tensor` and `Variable` do), call it `Ember.select(where:_:_:)`.
///
/// - Returns: a tensor of the shape the three broadcast to.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func select<Scalar>(where condition: Tensor<Bool>, _ a: Tensor<Scalar>, _ b: Tensor<Scalar>) -> Tensor<Scalar> {
    let shape = broadcastShape(broadcastShape(condition.shape, a.shape, operation: "select(where:)"), b.shape,
                               operation: "select(where:)")
    let c = condition.expanded(to: shape)
    let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
    return Tensor(computing: shape) { y, _ in
        c.withBase { pc in a.withBase { pa in b.withBase { pb in
            forEachBroadcastRow(shape, sa, sb) { offsetA, offsetB, offsetY, length, stepA, stepB in
                for i in 0..<length {
                    (y + offsetY + i).initialize(to: pc[offsetY + i] ? pa[offsetA + i * stepA] : pb[offsetB + i * stepB])
                }
            }
        } } }
    }
}

/// `torch.where(condition, a, b)` with a scalar `b`: `condition ? a : b`, broadcasting.
public func select<Scalar>(where condition: Tensor<Bool>, _ a: Tensor<Scalar>, _ b: Scalar) -> Tensor<Scalar> {
    select(where: condition, a, Tensor(b))
}

/// `torch.where(condition, a, b)` with a scalar `a`: `condition ? a : b`, broadcasting.
public func select<Scalar>(where condition: Tensor<Bool>, _ a: Scalar, _ b: Tensor<Scalar>) -> Tensor<Scalar> {
    select(where: condition, Tensor(a), b)
}

// MARK: - Backward kernels

extension Tensor where Scalar: TensorScalar {
    /// Zeros of `fullShape` into which each element of this tensor is added at `offsets` (one per
    /// element, from `gatherOffsets`): `torch.scatter_add`, the backward of `gather`.
    func scatterAdding(into fullShape: [Int], offsets: [Int]) -> Tensor {
        var result = Tensor(zeros: fullShape)
        guard count > 0 else { return result }
        withBase { g in
            result.storage.withUnsafeMutableBufferPointer { r in
                for p in 0..<offsets.count { r[offsets[p]] += g[p] }
            }
        }
        return result
    }

    /// Zeros of `fullShape` with slice `j` of this tensor (along `axis`) added into slice `indices[j]`:
    /// `torch.index_add`, the backward of `indexSelect`.
    func indexAdding(into fullShape: [Int], axis: Int, indices: [Int]) -> Tensor {
        var result = Tensor(zeros: fullShape)
        let outer = fullShape[..<axis].reduce(1, *), inner = fullShape[(axis + 1)...].reduce(1, *)
        let size = fullShape[axis], n = indices.count
        guard count > 0 else { return result }
        withBase { g in
            result.storage.withUnsafeMutableBufferPointer { r in
                for o in 0..<outer {
                    for (j, k) in indices.enumerated() {
                        Scalar._accumulate(g + (o * n + j) * inner, into: r.baseAddress! + (o * size + k) * inner,
                                           count: inner)
                    }
                }
            }
        }
        return result
    }
}
