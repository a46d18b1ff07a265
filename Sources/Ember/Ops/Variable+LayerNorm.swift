// MARK: - Layer normalisation (forward and backward together)

/// Layer normalisation over the trailing `normalizedShape` axes, PyTorch's
/// `torch.nn.functional.layer_norm(input, normalized_shape, weight, bias, eps)`, as one tape node:
///
///     y = (x - mean) / sqrt(var + eps) * weight + bias
///
/// with `mean` and the biased variance `var` (divided by D, not D - 1, as PyTorch) taken over the
/// last `normalizedShape.count` axes of each row. `input` is `[*, normalizedShape...]`; `weight` and
/// `bias`, when given, have shape `normalizedShape`. The result has `input`'s shape.
///
/// Backward (Ba, Kiros and Hinton, "Layer Normalization", 2016; PyTorch's `layer_norm_backward`), per
/// row with `x̂ = (x - mean) · rstd`, `rstd = 1 / sqrt(var + eps)`, `ĝ = g · weight` and D elements:
/// `gx = rstd · (ĝ - mean(ĝ) - x̂ · mean(ĝ · x̂))`, `gweight = Σ g · x̂`, `gbias = Σ g` over rows.
///
/// Stops with a message when `normalizedShape` is empty, has a non-positive size, or is not the end
/// of `input`'s shape, when `weight` or `bias` is not `normalizedShape`, or when `eps` is negative.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func layerNorm<Scalar>(_ input: Variable<Scalar>, normalizedShape: [Int], weight: Variable<Scalar>? = nil,
                              bias: Variable<Scalar>? = nil, eps: Double = 1e-5) -> Variable<Scalar> {
    let xs = input.shape, k = normalizedShape.count
    require(!normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 },
            "layerNorm: expected a non-empty normalizedShape of positive sizes, got \(describe(normalizedShape))")
    require(xs.count >= k && Array(xs.suffix(k)) == normalizedShape,
            "layerNorm: expected input [*, \(normalizedShape.map(String.init).joined(separator: ", "))] for normalizedShape \(describe(normalizedShape)), got \(describe(xs))")
    for (name, p) in [("weight", weight), ("bias", bias)] {
        if let p { require(p.shape == normalizedShape, "layerNorm: expected \(name) \(describe(normalizedShape)), got \(describe(p.shape))") }
    }
    require(eps >= 0, "layerNorm: expected eps >= 0, got \(eps)")
    let d = normalizedShape.reduce(1, *), rows = input.data.count / d
    let (y, xHat, rstd) = layerNormForward(input.data, weight: weight?.data, bias: bias?.data,
                                           rows: rows, d: d, eps: Scalar(eps))
    let w = weight?.data
    let needX = input.requiresGrad, needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
    var inputs = [input]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    let attributes = NodeAttributes.layerNorm(axes: k, eps: eps, hasWeight: weight != nil, hasBias: bias != nil)
    return Variable.record("layerNorm", y, inputs, attributes: attributes) { g in
        let (gx, gw, gb) = layerNormBackward(g, xHat: xHat, rstd: rstd, weight: w, rows: rows, d: d,
                                             needX: needX, needW: needW, needB: needB)
        var grads: [Tensor<Scalar>?] = [gx?.reshaped(to: xs)]
        if weight != nil { grads.append(gw?.reshaped(to: normalizedShape)) }
        if bias != nil { grads.append(gb?.reshaped(to: normalizedShape)) }
        return grads
    }
}

/// The forward pass on `rows` rows of `d` elements: the output, `x̂` (both `x`'s shape) and each
/// row's `rstd` `[rows]`. Mean and variance are two passes over the row (exact for rows far from 0).
private func layerNormForward<Scalar: TensorScalar>(_ x: Tensor<Scalar>, weight: Tensor<Scalar>?, bias: Tensor<Scalar>?,
                                                    rows: Int, d: Int, eps: Scalar) -> (Tensor<Scalar>, Tensor<Scalar>, Tensor<Scalar>) {
    var rstd = Tensor<Scalar>(zeros: [rows])
    let xHat = Tensor<Scalar>(computing: x.shape) { h, _ in
        x.withBase { px in
            rstd.withUnsafeMutableBufferPointer { pr in
                for r in 0..<rows {
                    let row = px + r * d, out = h + r * d
                    var total: Scalar = 0
                    for i in 0..<d { total += row[i] }
                    let mean = total / Scalar(d)
                    var squares: Scalar = 0
                    for i in 0..<d { let c = row[i] - mean; squares += c * c }
                    let inv = 1 / (squares / Scalar(d) + eps).squareRoot()
                    pr[r] = inv
                    for i in 0..<d { out[i] = (row[i] - mean) * inv }
                }
            }
        }
    }
    var y = xHat
    if let weight { y = (y.reshaped(to: [rows, d]) * weight.reshaped(to: [d])).reshaped(to: x.shape) }
    if let bias { y = (y.reshaped(to: [rows, d]) + bias.reshaped(to: [d])).reshaped(to: x.shape) }
    return (y, xHat, rstd)
}

/// The backward pass: the gradients of the input, weight and bias (those asked for), flat.
private func layerNormBackward<Scalar: TensorScalar>(_ g: Tensor<Scalar>, xHat: Tensor<Scalar>, rstd: Tensor<Scalar>,
                                                     weight: Tensor<Scalar>?, rows: Int, d: Int, needX: Bool,
                                                     needW: Bool, needB: Bool) -> (Tensor<Scalar>?, Tensor<Scalar>?, Tensor<Scalar>?) {
    let g2 = g.reshaped(to: [rows, d]), h2 = xHat.reshaped(to: [rows, d])
    let gw = needW ? (g2 * h2).sum(axis: 0) : nil
    let gb = needB ? g2.sum(axis: 0) : nil
    guard needX else { return (nil, gw, gb) }
    let gHat = weight.map { g2 * $0.reshaped(to: [d]) } ?? g2
    let gx = Tensor<Scalar>(computing: [rows, d]) { out, _ in
        gHat.withBase { pg in h2.withBase { ph in rstd.withBase { pr in
            for r in 0..<rows {
                let gr = pg + r * d, hr = ph + r * d, o = out + r * d
                var sumG: Scalar = 0, sumGH: Scalar = 0
                for i in 0..<d { sumG += gr[i]; sumGH += gr[i] * hr[i] }
                let meanG = sumG / Scalar(d), meanGH = sumGH / Scalar(d), inv = pr[r]
                for i in 0..<d { o[i] = inv * (gr[i] - meanG - hr[i] * meanGH) }
            }
        } } }
    }
    return (gx, gw, gb)
}
