// MARK: - Strided views: gather and scatter-add
//
// One walk serves slicing (a start offset and positive steps per axis) and broadcasting (stride 0
// along broadcast axes): element `(i0, ..., ik)` of the view is element
// `offset + i0 * strides[0] + ... + ik * strides[k]` of the row-major storage. The walk is an
// odometer over every axis but the last; the last axis is a plain loop.

/// Calls `body(sourceOffset, rowIndex)` for each row (all axes but the last) of a strided view of
/// `counts`, rows numbered row-major. Not called when the view is empty.
@inline(__always)
func forEachStridedRow(counts: [Int], strides: [Int], offset: Int, _ body: (Int, Int) -> Void) {
    guard !counts.contains(0) else { return }
    let outer = counts.count - 1
    guard outer > 0 else { body(offset, 0); return }
    var index = [Int](repeating: 0, count: outer)
    var source = offset, row = 0
    while true {
        body(source, row)
        row += 1
        var axis = outer - 1
        while axis >= 0 {
            index[axis] += 1
            source += strides[axis]
            if index[axis] < counts[axis] { break }
            source -= strides[axis] * counts[axis]
            index[axis] = 0
            axis -= 1
        }
        if axis < 0 { return }
    }
}

/// Row-major strides (in elements) of `shape`.
func rowMajorStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var step = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[axis] = step
        step *= shape[axis]
    }
    return strides
}

extension Tensor {
    /// A new contiguous tensor of `viewShape` holding the strided view `(offset, strides)` of this
    /// tensor's storage (see the top of this file). The caller guarantees every position is in range.
    func gatherStrided(_ viewShape: [Int], offset: Int, strides: [Int]) -> Tensor {
        // A rank-0 view is one element: walk it as one row of one.
        let counts = viewShape.isEmpty ? [1] : viewShape, steps = viewShape.isEmpty ? [0] : strides
        let length = counts[counts.count - 1], step = steps[steps.count - 1]
        return Tensor(computing: viewShape) { y, _ in
            withBase { x in
                forEachStridedRow(counts: counts, strides: steps, offset: offset) { source, row in
                    let dst = y + row * length, src = x + source
                    if step == 1 {
                        for i in 0..<length { dst[i] = src[i] }
                    } else {
                        for i in 0..<length { dst[i] = src[i * step] }
                    }
                }
            }
        }
    }
}

extension Tensor where Scalar: TensorScalar {
    /// The adjoint of `gatherStrided`: a zero tensor of `fullShape` into which this tensor (of the
    /// view's shape) is added at the view's positions; positions the view reaches more than once
    /// (stride 0, broadcasting) receive the sum. Used by the backward rules of slicing.
    func scatterAddStrided(into fullShape: [Int], offset: Int, strides: [Int]) -> Tensor {
        var result = Tensor(zeros: fullShape)
        let counts = shape.isEmpty ? [1] : shape, steps = shape.isEmpty ? [0] : strides
        let length = counts[counts.count - 1], step = steps[steps.count - 1]
        withBase { g in
            result.withUnsafeMutableBufferPointer { buffer in
                guard let y = buffer.baseAddress else { return }
                forEachStridedRow(counts: counts, strides: steps, offset: offset) { target, row in
                    let src = g + row * length, dst = y + target
                    for i in 0..<length { dst[i * step] += src[i] }
                }
            }
        }
        return result
    }

    /// Broadcasts to `target` exactly (values copied bit for bit, `-0` and NaN payloads included),
    /// or returns `self` when the shape already matches. The caller has checked that it broadcasts.
    func broadcastCopy(to target: [Int]) -> Tensor {
        if shape == target { return self }
        return gatherStrided(target, offset: 0, strides: broadcastStrides(shape, to: target))
    }
}
