// MARK: - Affine map (forward and backward together)

/// `x · weightᵀ + bias` as one tape node: `x` is `[.., in]`, `weight` `[out, in]` (PyTorch's layout),
/// `bias` `[out]`; the result is `[.., out]`. The transpose is never materialised.
/// Backward: `gx = g · W`, `gW = gᵀ · x`, `gb = Σ g` over all leading axes. Stops with a message when
/// the shapes do not fit (PyTorch's `torch.nn.functional.linear`).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func linear<Scalar>(_ x: Variable<Scalar>, weight: Variable<Scalar>, bias: Variable<Scalar>?) -> Variable<Scalar> {
    let w = weight.data, xs = x.shape
    require(w.rank == 2 && x.rank >= 1 && xs[xs.count - 1] == w.shape[1],
                 "linear: expected input [.., \(w.rank == 2 ? w.shape[1] : 0)] for weight \(describe(w.shape)), got \(describe(xs))")
    if let b = bias {
        require(b.shape == [w.shape[0]], "linear: expected bias [\(w.shape[0])], got \(describe(b.shape))")
    }
    let inFeatures = w.shape[1], outFeatures = w.shape[0]
    let rows = xs.dropLast().reduce(1, *)
    let x2 = x.data.reshaped(to: [rows, inFeatures])
    var y = Tensor<Scalar>.matmul(x2, transposed: false, w, transposed: true)
    if let b = bias { y = y + b.data }
    let outShape = Array(xs.dropLast()) + [outFeatures]
    let needX = x.requiresGrad, needW = weight.requiresGrad, needB = bias?.requiresGrad ?? false
    var inputs = [x, weight]
    if let b = bias { inputs.append(b) }
    return Variable.record("linear", y.reshaped(to: outShape), inputs) { g in
        let g2 = g.reshaped(to: [rows, outFeatures])
        var grads: [Tensor<Scalar>?] = [
            needX ? Tensor.matmul(g2, transposed: false, w, transposed: false, shapeLike: x2.shape).reshaped(to: xs) : nil,
            needW ? Tensor.matmul(g2, transposed: true, x2, transposed: false, shapeLike: w.shape) : nil,
        ]
        if bias != nil { grads.append(needB ? g2.sum(axis: 0) : nil) }
        return grads
    }
}
