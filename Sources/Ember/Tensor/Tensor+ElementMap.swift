// MARK: - Elementwise maps for every element type

/// `f(a, b)` elementwise over the shape `a` and `b` broadcast to (NumPy's rules; stops with a message
/// naming `operation` when they do not broadcast). For comparisons, logical operations and selects,
/// whose element types differ from their result's; arithmetic on floats goes through the kernels.
@inline(__always)
func broadcastMap<A, B, R>(_ a: Tensor<A>, _ b: Tensor<B>, _ operation: String,
                           _ f: (A, B) -> R) -> Tensor<R> {
    if a.shape == b.shape {
        return Tensor<R>(computing: a.shape) { y, n in
            a.withBase { pa in b.withBase { pb in
                for i in 0..<n { (y + i).initialize(to: f(pa[i], pb[i])) }
            } }
        }
    }
    let shape = broadcastShape(a.shape, b.shape, operation: operation)
    let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
    return Tensor<R>(computing: shape) { y, n in
        a.withBase { pa in b.withBase { pb in
            forEachBroadcastRow(shape, sa, sb) { offsetA, offsetB, offsetY, length, stepA, stepB in
                for i in 0..<length {
                    (y + offsetY + i).initialize(to: f(pa[offsetA + i * stepA], pb[offsetB + i * stepB]))
                }
            }
        } }
    }
}

/// Calls `body(offsetA, offsetB, offsetY, length, stepA, stepB)` for each row (last axis) of `shape`,
/// in row-major order, with the element offsets of the two inputs (strides `sa`, `sb`, 0 along
/// broadcast axes) and of the contiguous output. Nothing happens for an empty shape's zero rows.
func forEachBroadcastRow(_ shape: [Int], _ sa: [Int], _ sb: [Int],
                         _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
    let count = shape.reduce(1, *)
    guard count > 0 else { return }
    guard let length = shape.last else { return body(0, 0, 0, 1, 0, 0) }
    let r = shape.count
    var index = [Int](repeating: 0, count: r - 1)
    var offsetA = 0, offsetB = 0, offsetY = 0
    while true {
        body(offsetA, offsetB, offsetY, length, sa[r - 1], sb[r - 1])
        offsetY += length
        var axis = r - 2
        while axis >= 0 {
            index[axis] += 1
            offsetA += sa[axis]; offsetB += sb[axis]
            if index[axis] < shape[axis] { break }
            offsetA -= sa[axis] * shape[axis]; offsetB -= sb[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
        if axis < 0 { return }
    }
}

extension Tensor {
    /// `f` of each element, same shape.
    @inline(__always)
    func mapElements<R>(_ f: (Scalar) -> R) -> Tensor<R> {
        Tensor<R>(computing: shape) { y, n in
            withBase { x in for i in 0..<n { (y + i).initialize(to: f(x[i])) } }
        }
    }

    /// This tensor broadcast to `target` (NumPy's rules), copying its elements as they are; stops with
    /// a message if it does not broadcast. For every element type (Float's and Double's
    /// `expanded(to:)` adds to zeros, as it always has).
    @_specialize(where Scalar == Int)
    @_specialize(where Scalar == Bool)
    public func expanded(to target: [Int]) -> Tensor {
        require(broadcastShape(shape, target, operation: "expanded(to:)") == target,
                "expanded(to:): cannot expand \(describe(shape)) to \(describe(target))")
        if shape == target { return self }
        let strides = broadcastStrides(shape, to: target)
        return Tensor(computing: target) { y, _ in
            withBase { x in
                forEachBroadcastRow(target, strides, strides) { offset, _, offsetY, length, step, _ in
                    for i in 0..<length { (y + offsetY + i).initialize(to: x[offset + i * step]) }
                }
            }
        }
    }
}
