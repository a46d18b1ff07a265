// MARK: - The fused recurrent layers as ONNX's RNN, LSTM and GRU operators

extension ONNXGraphBuilder {
    /// One fused node (a stack of `L` layers, `D` directions) as `L` consecutive ONNX operators:
    /// the input in ONNX's `[T, B, I]` layout (transposed from batch-first), each layer's `Y`
    /// `[T, D, B, H]` transposed and reshaped into the next layer's `[T, B, D·H]`, the last one's into
    /// the output, and the layers' `Y_h` (`Y_c`) `[D, B, H]` concatenated into h_n (c_n)
    /// `[L·D, B, H]`, PyTorch's layout. Weights are converted from PyTorch's layout (ONNX's operator
    /// docs): gates reordered (LSTM i,f,g,o → i,o,f,c; GRU r,z,n → z,r,h), W and R stacked over the
    /// directions, and B = [W_b, R_b]. GRU runs with `linear_before_reset = 1`, which is PyTorch's
    /// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
    func emitRecurrent(_ node: Node<Scalar>, _ trace: RecurrentTrace, outputs: [Int: Variable<Scalar>]) throws {
        let config = trace.config, L = config.numLayers, D = config.directions
        var k = 1
        let h0 = trace.hasH0 ? node.inputs[k] : nil
        if trace.hasH0 { k += 1 }
        let c0 = trace.hasC0 ? node.inputs[k] : nil
        if trace.hasC0 { k += 1 }
        let weights = Array(node.inputs[k...])
        let input = node.inputs[0], xd = dims(of: input)
        let (tDim, bDim) = trace.batchFirst ? (xd[1], xd[0]) : (xd[0], xd[1])
        let T = trace.batchFirst ? input.shape[1] : input.shape[0]
        var sequence = name(of: input)
        if trace.batchFirst { sequence = add1("Transpose", [sequence], [ONNXAttribute("perm", .ints([1, 0, 2]))]) }
        var lengths = ""
        if let declared = lengthsInput {
            lengths = declared
        } else if trace.lengths.contains(where: { $0 != T }) {
            lengths = fresh("sequence_lens")
            graph.initializers.append(ONNXTensor(name: lengths, dims: [trace.lengths.count], int32: trace.lengths))
        }
        let initialH = try initialState(h0), initialC = try initialState(c0)
        var hs: [String] = [], cs: [String] = []
        for layer in 0..<L {
            let parameters = try recurrentInitializers(config, layer: layer, weights: weights)
            func slice(_ state: String) -> String {
                state.isEmpty || L == 1 ? state
                    : add1("Slice", [state, int64Constant([layer * D]), int64Constant([(layer + 1) * D]), int64Constant([0])])
            }
            var inputs = [sequence] + parameters + [lengths, slice(initialH)]
            if config.mode == .lstm { inputs.append(slice(initialC)) }
            while inputs.last == "" { inputs.removeLast() }
            let opType = config.mode == .lstm ? "LSTM" : (config.mode == .gru ? "GRU" : "RNN")
            let outs = add(opType, inputs, count: config.mode == .lstm ? 3 : 2, recurrentAttributes(config))
            hs.append(outs[1])
            if config.mode == .lstm { cs.append(outs[2]) }
            let joined = add1("Transpose", [outs[0]], [ONNXAttribute("perm", .ints([0, 2, 1, 3]))])   // [T, B, D, H]
            let last = layer == L - 1
            let target = last && !trace.batchFirst && outputs[0] != nil ? outputName(node, 0, opType) : nil
            sequence = add1("Reshape", [joined, int64Constant([0, 0, -1])], output: target)       // [T, B, D·H]
        }
        let DH = D * config.hiddenSize
        if outputs[0] != nil {
            let out = outputName(node, 0, opType(config))
            if trace.batchFirst { add("Transpose", [sequence], outputs: [out], [ONNXAttribute("perm", .ints([1, 0, 2]))]) }
            dims[out] = trace.batchFirst ? [bDim, tDim, .value(DH)] : [tDim, bDim, .value(DH)]
        }
        let stateDims: [ONNXDim] = [.value(L * D), bDim, .value(config.hiddenSize)]
        for (index, states) in [(1, hs), (2, cs)] where outputs[index] != nil && !states.isEmpty {
            let out = outputName(node, index, opType(config))
            add(states.count == 1 ? "Identity" : "Concat", states, outputs: [out],
                states.count == 1 ? [] : [ONNXAttribute("axis", .int(0))])
            dims[out] = stateDims
        }
    }

    private func opType(_ config: RecurrentConfig) -> String {
        config.mode == .lstm ? "LSTM" : (config.mode == .gru ? "GRU" : "RNN")
    }

    /// An initial state's name, or "" (ONNX's zeros) for none or a constant of zeros.
    private func initialState(_ state: Variable<Scalar>?) throws -> String {
        guard let state else { return "" }
        let isConstant = state.node == nil && inputNames[ObjectIdentifier(state)] == nil && parameterNames[ObjectIdentifier(state)] == nil
        if isConstant && state.data.scalars.allSatisfy({ $0 == 0 }) { return "" }
        return name(of: state)
    }

    /// ONNX's operator attributes for `config`.
    private func recurrentAttributes(_ config: RecurrentConfig) -> [ONNXAttribute] {
        var a = [ONNXAttribute("hidden_size", .int(config.hiddenSize)),
                 ONNXAttribute("direction", .string(config.bidirectional ? "bidirectional" : "forward"))]
        if config.mode == .rnnRelu { a.append(ONNXAttribute("activations", .strings(Array(repeating: "Relu", count: config.directions)))) }
        if config.mode == .gru { a.append(ONNXAttribute("linear_before_reset", .int(1))) }
        return a
    }

    /// Layer `layer`'s W `[D, G·H, I]`, R `[D, G·H, H]` and B `[D, 2·G·H]` (or no B without biases) as
    /// initializers named after the layer's parameters (`rnn.weight_ih_l0` → `rnn.W_l0`).
    private func recurrentInitializers(_ config: RecurrentConfig, layer: Int, weights: [Variable<Scalar>]) throws -> [String] {
        let P = config.parametersPerDirection, D = config.directions
        let perDirection = (0..<D).map { d in Array(weights[((layer * D + d) * P)..<((layer * D + d + 1) * P)]) }
        for w in perDirection.joined() where w.node != nil {
            throw ONNXExportError("exportONNX: a recurrent layer's weights must be parameters or constants, not computed (\(w.operationName ?? ""))")
        }
        let first = parameterNames[ObjectIdentifier(perDirection[0][0])] ?? fresh("recurrent")
        let prefix = first.hasSuffix("weight_ih_l\(layer)") ? String(first.dropLast("weight_ih_l\(layer)".count)) : first + "."
        func stacked(_ parts: [Tensor<Scalar>]) -> Tensor<Scalar> { concat(parts.map { $0.expandingShape(at: 0) }, axis: 0) }
        let W = stacked(perDirection.map { reorderGates($0[0].data, config.mode) })
        let R = stacked(perDirection.map { reorderGates($0[1].data, config.mode) })
        var names = [initializer("\(prefix)W_l\(layer)", W), initializer("\(prefix)R_l\(layer)", R)]
        if config.bias {
            let B = stacked(perDirection.map { concat([reorderGates($0[2].data, config.mode), reorderGates($0[3].data, config.mode)], axis: 0) })
            names.append(initializer("\(prefix)B_l\(layer)", B))
        }
        return names
    }

    /// Rows of PyTorch's gate blocks in ONNX's order: LSTM i,f,g,o → i,o,f,c; GRU r,z,n → z,r,h.
    private func reorderGates(_ w: Tensor<Scalar>, _ mode: RecurrentMode) -> Tensor<Scalar> {
        let order: [Int]
        switch mode {
        case .lstm: order = [0, 3, 1, 2]
        case .gru: order = [1, 0, 2]
        case .rnnTanh, .rnnRelu: return w
        }
        let H = w.shape[0] / order.count
        return concat(order.map { w.narrow(axis: 0, start: $0 * H, length: H) }, axis: 0)
    }
}
