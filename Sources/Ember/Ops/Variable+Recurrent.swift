// MARK: - The fused recurrent layer as a differentiable operation

/// A whole recurrent stack over a whole sequence as one tape node with outputs (output, h_n[, c_n]):
/// the forward pass runs `RecurrentEngine.forward` (or, when nothing is to be differentiated,
/// `RecurrentEngine.inference`), and the node's rule runs `RecurrentEngine.backward` with every
/// output's gradient at once (zeros for those the loss did not use). The layers (`RNN`, `LSTM`,
/// `GRU`) check their arguments and draw dropout `masks`, then call this.
///
/// `input` is `[T, B, I]` (`[B, T, I]` when `batchFirst`); `h0`, `c0` are `[L·D, B, H]`; `weights` are
/// in PyTorch's order; `lengths` has one entry per sequence. Returns the output in the input's
/// layout, h_n, and c_n for an LSTM.
func fusedRecurrent<Scalar: TensorScalar>(_ config: RecurrentConfig, input: Variable<Scalar>, h0: Variable<Scalar>?, c0: Variable<Scalar>?,
                                           weights: [Variable<Scalar>], lengths: [Int], masks: [Tensor<Scalar>], batchFirst: Bool)
    -> (Variable<Scalar>, Variable<Scalar>, Variable<Scalar>?) {
    let directions = config.directions, B = batchFirst ? input.shape[0] : input.shape[1]
    let stateShape = [config.numLayers * directions, B, config.hiddenSize]
    let weightData = weights.map(\.data)
    let h0Data = h0?.data, c0Data = c0?.data
    var inputs = [input]
    if let h0 { inputs.append(h0) }
    if let c0 { inputs.append(c0) }
    inputs += weights
    let recording = isGradEnabled && inputs.contains { $0.requiresGrad }
    let name: StaticString = config.mode == .lstm ? "LSTM" : (config.mode == .gru ? "GRU" : "RNN")
    if B == 0 {
        // No sequences: PyTorch's shapes, an empty input gradient and all-zero weight gradients.
        // The kernels, which split the batch into blocks, never see it.
        let T = batchFirst ? input.shape[1] : input.shape[0], DH = directions * config.hiddenSize
        let outputs = [batchFirst ? [0, T, DH] : [T, 0, DH], stateShape] + (config.mode == .lstm ? [stateShape] : [])
        let shapes = inputs.map(\.shape)
        let results = Variable.record(name, outputs: outputs.map { Tensor(zeros: $0) }, inputs) { _ in shapes.map { Tensor(zeros: $0) } }
        return (results[0], results[1], results.count > 2 ? results[2] : nil)
    }
    /// Results that record nothing (record() still runs the anomaly checks).
    func constants(_ outputs: [Tensor<Scalar>]) -> (Variable<Scalar>, Variable<Scalar>, Variable<Scalar>?) {
        let results = Variable.record(name, outputs: outputs, inputs) { _ in [] }
        return (results[0], results[1], results.count > 2 ? results[2] : nil)
    }
    if !recording && masks.isEmpty {
        // Nothing to differentiate: blocks of rows in the caller's layout, on all cores.
        let r = RecurrentEngine.inference(config, input: input.data, batchFirst: batchFirst, h0: h0Data, c0: c0Data,
                                          weights: weightData, lengths: lengths)
        return constants([r.output, r.hN] + (r.cN.map { [$0] } ?? []))
    }
    let x = batchFirst ? input.data.transposed(0, 1) : input.data
    let result = RecurrentEngine.forward(config, x: x, h0: h0Data, c0: c0Data, weights: weightData,
                                         lengths: lengths, masks: masks, keepCaches: recording, batchFirstOutput: batchFirst)
    let out = result.output
    guard recording else {
        // Nothing to differentiate: no packing, no caches.
        return constants([out, result.hN] + (result.cN.map { [$0] } ?? []))
    }
    // One node with two or three outputs: its rule gets the gradients of output, h_n and c_n at
    // once (nil, meaning zero, for those the loss did not use).
    let hasH0 = h0 != nil, hasC0 = c0 != nil, outShape = out.shape
    let inputGradient = input.requiresGrad
    let trace = RecurrentTrace(config: config, batchFirst: batchFirst, lengths: lengths, hasH0: hasH0, hasC0: hasC0)
    let results = Variable.record(name, outputs: [out, result.hN] + (result.cN.map { [$0] } ?? []), inputs,
                                  attributes: .opaque(trace)) { grads in
        let gcN = config.mode == .lstm ? (grads[2] ?? Tensor(zeros: stateShape)) : nil
        let g = RecurrentEngine.backward(config, gOut: grads[0] ?? Tensor(zeros: outShape), ghN: grads[1] ?? Tensor(zeros: stateShape),
                                         gcN: gcN, h0: h0Data, c0: c0Data, weights: weightData, lengths: lengths, masks: masks,
                                         inputs: result.inputs, caches: result.caches, inputGradient: inputGradient,
                                         batchFirstGradient: batchFirst)
        var list: [Tensor<Scalar>?] = [inputGradient ? (batchFirst ? g.gx.transposed(0, 1) : g.gx) : nil]
        if hasH0 { list.append(g.gh0) }
        if hasC0 { list.append(g.gc0) }
        return list + g.gWeights.map { Optional($0) }
    }
    return (results[0], results[1], results.count > 2 ? results[2] : nil)
}
