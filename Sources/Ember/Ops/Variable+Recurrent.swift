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
    // A ragged batch runs with its rows in the engine's order (RecurrentRowOrder.swift): permuted
    // on the way in, back on the way out (the identity, without copies, when already in that order).
    let T = batchFirst ? input.shape[1] : input.shape[0]
    let order = RecurrentRowOrder(lengths: lengths, T: T)
    let engineLengths = order?.toEngine(lengths) ?? lengths
    func toEngine(_ tensor: Tensor<Scalar>, _ axis: Int) -> Tensor<Scalar> { order?.toEngine(tensor, axis: axis) ?? tensor }
    func toCaller(_ tensor: Tensor<Scalar>, _ axis: Int) -> Tensor<Scalar> { order?.toCaller(tensor, axis: axis) ?? tensor }
    /// Results that record nothing (record() still runs the anomaly checks).
    func constants(_ outputs: [Tensor<Scalar>]) -> (Variable<Scalar>, Variable<Scalar>, Variable<Scalar>?) {
        let results = Variable.record(name, outputs: outputs, inputs) { _ in [] }
        return (results[0], results[1], results.count > 2 ? results[2] : nil)
    }
    if !recording && masks.isEmpty {
        // Nothing to differentiate: blocks of rows in the caller's layout, on all cores.
        let r = RecurrentEngine.inference(config, input: toEngine(input.data, batchFirst ? 0 : 1), batchFirst: batchFirst,
                                          h0: h0Data.map { toEngine($0, 1) }, c0: c0Data.map { toEngine($0, 1) },
                                          weights: weightData, lengths: engineLengths)
        return constants([toCaller(r.output, batchFirst ? 0 : 1), toCaller(r.hN, 1)] + (r.cN.map { [toCaller($0, 1)] } ?? []))
    }
    // Batch-first input is read in place by the engine, not transposed first.
    let x = toEngine(input.data, batchFirst ? 0 : 1)
    let (engineH0, engineC0) = (h0Data.map { toEngine($0, 1) }, c0Data.map { toEngine($0, 1) })
    let engineMasks = masks.map { toEngine($0, 1) }
    let result = RecurrentEngine.forward(config, x: x, h0: engineH0, c0: engineC0, weights: weightData,
                                         lengths: engineLengths, masks: engineMasks, keepCaches: recording, batchFirstInput: batchFirst,
                                         batchFirstOutput: batchFirst)
    let out = toCaller(result.output, batchFirst ? 0 : 1)
    let (hN, cN) = (toCaller(result.hN, 1), result.cN.map { toCaller($0, 1) })
    guard recording else {
        // Nothing to differentiate: no packing, no caches.
        return constants([out, hN] + (cN.map { [$0] } ?? []))
    }
    // One node with two or three outputs: its rule gets the gradients of output, h_n and c_n at
    // once (nil, meaning zero, for those the loss did not use).
    let hasH0 = h0 != nil, hasC0 = c0 != nil, outShape = out.shape
    let inputGradient = input.requiresGrad
    let trace = RecurrentTrace(config: config, batchFirst: batchFirst, lengths: lengths, hasH0: hasH0, hasC0: hasC0)
    let results = Variable.record(name, outputs: [out, hN] + (cN.map { [$0] } ?? []), inputs,
                                  attributes: .opaque(trace)) { grads in
        let gcN = config.mode == .lstm ? toEngine(grads[2] ?? Tensor(zeros: stateShape), 1) : nil
        let g = RecurrentEngine.backward(config, gOut: toEngine(grads[0] ?? Tensor(zeros: outShape), batchFirst ? 0 : 1),
                                         ghN: toEngine(grads[1] ?? Tensor(zeros: stateShape), 1),
                                         gcN: gcN, h0: engineH0, c0: engineC0, weights: weightData, lengths: engineLengths,
                                         masks: engineMasks, inputs: result.inputs, caches: result.caches, inputGradient: inputGradient,
                                         batchFirstInput: batchFirst, batchFirstGradient: batchFirst, rowOrder: order?.rows)
        let gx = !inputGradient ? g.gx : batchFirst ? toCaller(g.gx.transposed(0, 1), 0) : toCaller(g.gx, 1)
        var list: [Tensor<Scalar>?] = [inputGradient ? gx : nil]
        if hasH0 { list.append(toCaller(g.gh0, 1)) }
        if hasC0 { list.append(toCaller(g.gc0!, 1)) }
        return list + g.gWeights.map { Optional($0) }
    }
    return (results[0], results[1], results.count > 2 ? results[2] : nil)
}
