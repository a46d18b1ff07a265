// MARK: - Shape operations

extension Tensor {
    /// The same elements with a new shape of equal element count; one dimension may be `-1`
    /// (inferred). Shares storage: no copy. Stops with a message when the counts cannot match.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func reshaped(to newShape: [Int]) -> Tensor {
        var resolved = newShape
        let unknown = newShape.indices.filter { newShape[$0] == -1 }
        require(unknown.count <= 1 && newShape.allSatisfy { $0 >= -1 },
                     "reshaped: invalid shape \(describe(newShape)) for a tensor of shape \(describe(shape))")
        if let u = unknown.first {
            let known = newShape.enumerated().filter { $0.offset != u }.map(\.element).reduce(1, *)
            require(known > 0 && count % known == 0,
                         "reshaped: cannot reshape \(describe(shape)) (\(count) scalars) to \(describe(newShape))")
            resolved[u] = count / known
        }
        require(resolved.reduce(1, *) == count,
                     "reshaped: cannot reshape \(describe(shape)) (\(count) scalars) to \(describe(newShape))")
        var result = self
        result.shape = resolved
        return result
    }

    /// Inserts a dimension of size 1 at `axis` (which may equal the rank).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func expandingShape(at axis: Int) -> Tensor {
        let a = normalizeAxis(axis < 0 ? axis + rank + 1 : axis, rank: rank + 1, "expandingShape", shape: shape)
        var s = shape
        s.insert(1, at: a)
        return reshaped(to: s)
    }

    /// Removes the dimension of size 1 at `axis`; stops with a message if its size is not 1.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func squeezingShape(at axis: Int) -> Tensor {
        let a = normalizeAxis(axis, rank: rank, "squeezingShape", shape: shape)
        require(shape[a] == 1, "squeezingShape: axis \(axis) of shape \(describe(shape)) has size \(shape[a]), expected 1")
        var s = shape
        s.remove(at: a)
        return reshaped(to: s)
    }

    /// Reorders the axes: axis `i` of the result is axis `permutation[i]` of this tensor (copying).
    /// Stops with a message unless `permutation` is a permutation of `0..<rank`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func permuted(_ permutation: [Int]) -> Tensor {
        require(permutation.count == rank && Set(permutation) == Set(0..<rank),
                     "permuted: expected a permutation of 0..<\(rank) for shape \(describe(shape)), got \(permutation)")
        if permutation == Array(0..<rank) { return self }
        let outShape = permutation.map { shape[$0] }
        return Tensor(computing: outShape) { y, _ in
            withBase { x in
                permuteCopy(from: x, to: y, elementSize: MemoryLayout<Scalar>.stride, shape: shape, perm: permutation)
            }
        }
    }

    /// Swaps two axes (negative values count from the end).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func transposed(_ axis0: Int, _ axis1: Int) -> Tensor {
        permuted(transposition(axis0, axis1, shape: shape))
    }

    /// The slice at `index` along `axis` (negative counts from the end), without that axis; stops
    /// with a message when the axis or index is out of range.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func select(axis: Int, index: Int) -> Tensor {
        let a = normalizeAxis(axis, rank: rank, "select", shape: shape)
        let i = index < 0 ? index + shape[a] : index
        require(i >= 0 && i < shape[a],
                     "select: index \(index) is out of range for axis \(axis) of size \(shape[a]) (shape \(describe(shape)))")
        var outShape = shape
        outShape.remove(at: a)
        return narrow(axis: a, start: i, length: 1).reshaped(to: outShape)
    }

    /// `length` consecutive slices along `axis` starting at `start`; the axis keeps its place with
    /// size `length`. Stops with a message when `start..<start + length` is not within the axis.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func narrow(axis: Int, start: Int, length: Int) -> Tensor {
        let a = normalizeAxis(axis, rank: rank, "narrow", shape: shape)
        require(start >= 0 && length >= 0 && start + length <= shape[a],
                     "narrow: start \(start) and length \(length) are out of range for axis \(axis) of size \(shape[a]) (shape \(describe(shape)))")
        if start == 0 && length == shape[a] { return self }
        let (outer, size, inner) = split(around: a)
        var outShape = shape
        outShape[a] = length
        let e = MemoryLayout<Scalar>.stride
        return Tensor(computing: outShape) { y, _ in
            withBase { x in
                copyBlocks(from: UnsafeRawPointer(x) + start * inner * e, srcStride: size * inner * e,
                           to: UnsafeMutableRawPointer(y), dstStride: length * inner * e,
                           blockBytes: length * inner * e, count: outer)
            }
        }
    }

    /// Splits along `axis` into its slices (each without that axis).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func unstacked(axis: Int = 0) -> [Tensor] {
        let a = normalizeAxis(axis, rank: rank, "unstacked", shape: shape)
        return (0..<shape[a]).map { select(axis: a, index: $0) }
    }
}

/// The permutation that swaps two axes (negative values count from the end) of `shape`.
func transposition(_ axis0: Int, _ axis1: Int, shape: [Int]) -> [Int] {
    let a = normalizeAxis(axis0, rank: shape.count, "transposed", shape: shape)
    let b = normalizeAxis(axis1, rank: shape.count, "transposed", shape: shape)
    var perm = Array(0..<shape.count)
    perm.swapAt(a, b)
    return perm
}

/// Joins tensors along an existing axis; all other dimensions must agree.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func concat<Scalar>(_ tensors: [Tensor<Scalar>], axis: Int) -> Tensor<Scalar> {
    require(!tensors.isEmpty, "concat: expected at least one tensor")
    let first = tensors[0].shape
    let a = normalizeAxis(axis, rank: first.count, "concat", shape: first)
    for t in tensors {
        var s = t.shape, f = first
        if s.count == f.count { s[a] = 0; f[a] = 0 }
        require(s == f, "concat: shapes must match except along axis \(axis), got \(tensors.map { describe($0.shape) }.joined(separator: ", "))")
    }
    let total = tensors.reduce(0) { $0 + $1.shape[a] }
    var outShape = first
    outShape[a] = total
    let outer = first[..<a].reduce(1, *), inner = first[(a + 1)...].reduce(1, *)
    let e = MemoryLayout<Scalar>.stride
    return Tensor(computing: outShape) { y, _ in
        var offset = 0
        for t in tensors {
            let block = t.shape[a] * inner * e
            t.withBase { x in
                copyBlocks(from: x, srcStride: block, to: UnsafeMutableRawPointer(y) + offset,
                           dstStride: total * inner * e, blockBytes: block, count: outer)
            }
            offset += block
        }
    }
}

/// Joins same-shaped tensors along a new axis.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func stack<Scalar>(_ tensors: [Tensor<Scalar>], axis: Int = 0) -> Tensor<Scalar> {
    require(!tensors.isEmpty, "stack: expected at least one tensor")
    let first = tensors[0].shape
    require(tensors.allSatisfy { $0.shape == first },
                 "stack: expected tensors of equal shape, got \(tensors.map { describe($0.shape) }.joined(separator: ", "))")
    let a = normalizeAxis(axis < 0 ? axis + first.count + 1 : axis, rank: first.count + 1, "stack", shape: first)
    return concat(tensors.map { $0.expandingShape(at: a) }, axis: a)
}

extension Tensor where Scalar: TensorScalar {
    /// Broadcasts to `target` (NumPy's rules), copying; stops with a message if it does not broadcast.
    /// Computed as `zeros + self` (so `-0` becomes `0`), as it always has been for Float and Double.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func expanded(to target: [Int]) -> Tensor {
        require(broadcastShape(shape, target, operation: "expanded(to:)") == target,
                     "expanded(to:): cannot expand \(describe(shape)) to \(describe(target))")
        if shape == target { return self }
        return Tensor(zeros: target) + self
    }

    /// A zero tensor of `fullShape` with this tensor written at `start` along `axis`: the inverse of
    /// `narrow(axis:start:length:)`, used by its backward rule.
    func placed(into fullShape: [Int], axis: Int, start: Int) -> Tensor {
        var result = Tensor(zeros: fullShape)
        let outer = fullShape[..<axis].reduce(1, *), inner = fullShape[(axis + 1)...].reduce(1, *)
        let length = shape[axis], size = fullShape[axis]
        let e = MemoryLayout<Scalar>.stride
        guard count > 0 else { return result }
        withBase { x in
            result.storage.withUnsafeMutableBytes { y in
                copyBlocks(from: x, srcStride: length * inner * e, to: y.baseAddress! + start * inner * e,
                           dstStride: size * inner * e, blockBytes: length * inner * e, count: outer)
            }
        }
        return result
    }

    /// A zero tensor of `fullShape` with `self[o, i]` written at `fullShape`'s axis position
    /// `indices[o * inner + i]`: the backward of a max along `axis` (self has the reduced shape).
    func scattered(into fullShape: [Int], axis: Int, indices: [Int]) -> Tensor {
        var result = Tensor(zeros: fullShape)
        let outer = fullShape[..<axis].reduce(1, *), inner = fullShape[(axis + 1)...].reduce(1, *)
        let length = fullShape[axis]
        let e = MemoryLayout<Scalar>.stride
        guard count > 0 else { return result }
        withBase { x in
            let src = UnsafeRawPointer(x)
            result.storage.withUnsafeMutableBytes { y in
                for o in 0..<outer {
                    for i in 0..<inner {
                        let k = indices[o * inner + i]
                        (y.baseAddress! + ((o * length + k) * inner + i) * e)
                            .copyMemory(from: src + (o * inner + i) * e, byteCount: e)
                    }
                }
            }
        }
        return result
    }
}
