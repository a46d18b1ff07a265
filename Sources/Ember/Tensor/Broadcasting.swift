// MARK: - Broadcasting (NumPy's rules)

/// Formats a shape for messages: `[2, 3]`.
@usableFromInline
func describe(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

/// The shape two shapes broadcast to under NumPy's rules: aligned at the trailing dimension, each
/// pair equal or one of them 1. Stops with a message naming `operation` otherwise.
public func broadcastShape(_ a: [Int], _ b: [Int], operation: String = "broadcast") -> [Int] {
    let rank = Swift.max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        require(da == db || da == 1 || db == 1,
                     "\(operation): shapes \(describe(a)) and \(describe(b)) cannot be broadcast together")
        result[i] = da == 1 ? db : da
    }
    return result
}

/// Element strides of `shape` (row-major) when broadcast to `target`: 0 along broadcast dimensions.
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let offset = target.count - shape.count
    var strides = [Int](repeating: 0, count: target.count)
    var step = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i + offset] = shape[i] == 1 && target[i + offset] != 1 ? 0 : step
        step *= shape[i]
    }
    return strides
}

extension Tensor where Scalar: TensorScalar {
    /// Applies a binary kernel with broadcasting. Dimensions that are contiguous for both inputs are
    /// merged, the last two are handled by the kernel in one call, and the rest are iterated.
    func broadcasting(_ other: Tensor, _ op: BinaryKernel, _ operation: String,
                      _ p: Scalar = 0, _ q: Scalar = 0) -> Tensor {
        if shape == other.shape {
            return Tensor(computing: shape) { y, n in
                withBase { a in other.withBase { b in
                    Scalar._binary(op, a, aRow: 0, aStep: 1, b, bRow: 0, bStep: 1, y, rows: 1, count: n, p, q)
                } }
            }
        }
        let outShape = broadcastShape(shape, other.shape, operation: operation)
        var sa = broadcastStrides(shape, to: outShape), sb = broadcastStrides(other.shape, to: outShape)
        var dims = outShape
        // Merge dimension i into i + 1 where both inputs step contiguously across the boundary.
        var i = dims.count - 2
        while i >= 0 {
            if sa[i] == sa[i + 1] * dims[i + 1] && sb[i] == sb[i + 1] * dims[i + 1] {
                dims[i + 1] *= dims[i]
                dims.remove(at: i); sa.remove(at: i); sb.remove(at: i)
            }
            i -= 1
        }
        while dims.count < 2 { dims.insert(1, at: 0); sa.insert(0, at: 0); sb.insert(0, at: 0) }
        let r = dims.count
        let count = dims[r - 1], rows = dims[r - 2]
        let outer = Array(dims[..<(r - 2)])
        let slab = count * rows
        return Tensor(computing: outShape) { y, _ in
            guard slab > 0 else { return }
            withBase { a in other.withBase { b in
                var index = [Int](repeating: 0, count: outer.count)
                var offsetA = 0, offsetB = 0, offsetY = 0
                while true {
                    Scalar._binary(op, a + offsetA, aRow: sa[r - 2], aStep: sa[r - 1],
                                   b + offsetB, bRow: sb[r - 2], bStep: sb[r - 1],
                                   y + offsetY, rows: rows, count: count, p, q)
                    offsetY += slab
                    // Odometer over the outer dimensions.
                    var axis = outer.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        offsetA += sa[axis]; offsetB += sb[axis]
                        if index[axis] < outer[axis] { break }
                        offsetA -= sa[axis] * outer[axis]; offsetB -= sb[axis] * outer[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                    if axis < 0 { break }
                }
            } }
        }
    }

    /// Sums a (broadcast) gradient back down to `shape`: over leading dimensions that `shape` lacks
    /// and over dimensions where `shape` has 1. The inverse of broadcasting, used by backward rules.
    ///
    /// Inlined for the common case of equal shapes, so that a temporary gradient passes through
    /// without a call or a retain: at [1, 1] that took 2.5 % of the instructions off `mul`'s forward
    /// and backward and 1.5 % off `add`'s (`ember-bench ops`, BENCHMARKS.md).
    @inlinable @inline(__always)
    public func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        return summedToBroadcastShape(target)
    }

    /// `summed(toShape:)` for shapes that differ.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @usableFromInline
    func summedToBroadcastShape(_ target: [Int]) -> Tensor {
        require(broadcastShape(target, shape, operation: "summed(toShape:)") == shape,
                     "summed(toShape:): \(describe(shape)) is not a broadcast of \(describe(target))")
        var result = self
        let lead = shape.count - target.count
        // Leading dimensions: collapse them into one and sum it away.
        if lead > 0 {
            let rest = Array(shape[lead...])
            result = result.reshaped(to: [shape[..<lead].reduce(1, *)] + rest).sum(axis: 0)
        }
        for axis in 0..<target.count where target[axis] == 1 && result.shape[axis] != 1 {
            result = result.sum(axis: axis, keepDims: true)
        }
        return result
    }
}
