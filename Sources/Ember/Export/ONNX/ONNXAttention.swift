// MARK: - MultiheadAttention's masks, rebuilt in the graph from the boolean masks

extension ONNXGraphBuilder {
    /// "attentionMask": the scores `[B, H, L, S]` plus `-inf` where a key is masked (0 elsewhere),
    /// as MultiheadAttention adds it; "attentionRows": the weights times 0 for the rows whose every
    /// key is masked (its `needWeights: false` path). Both read the key-padding and attention masks
    /// (`.mask` inputs, or constants), so the graph masks any batch and sequence length.
    func emitAttention(_ op: String, _ trace: AttentionMaskTrace, x: [String], xd: [[ONNXDim]], out: String) -> [ONNXDim] {
        let (masked, keep) = attentionMask(trace)
        if op == "attentionMask" {
            let additive = add1("Where", [masked, scalarConstant(-.infinity), scalarConstant(0)])
            add("Add", [x[0], additive], outputs: [out])
        } else if let keep {
            add("Mul", [x[0], keep], outputs: [out])
        } else {
            add("Identity", [x[0]], outputs: [out])
        }
        return xd[0]
    }

    /// The boolean mask `[B, Hm, Lm, S]` (true = masked) and, when fully masked rows are zeroed, the
    /// rows' factor `[B, Hm, Lm, 1]` (1, or 0 for a row whose every key is masked, which is then
    /// unmasked so its softmax is finite), built once per mask.
    private func attentionMask(_ trace: AttentionMaskTrace) -> (masked: String, keep: String?) {
        if let built = attentionMasks[ObjectIdentifier(trace)] { return built }
        var parts: [String] = []
        if let padding = trace.keyPadding {
            parts.append(add1("Unsqueeze", [maskName(padding), int64Constant([1, 2])]))      // [B, 1, 1, S]
        }
        if let attention = trace.attention {
            let a = maskName(attention)
            if attention.rank == 3 {                                                         // [B·H, L, S] → [B, H, L, S]
                let (bh, l, s) = (attention.shape[0], attention.shape[1], attention.shape[2])
                let split = fresh("mask")
                dims[split] = emitReshape(a, from: attention.shape, dims[a] ?? attention.shape.map { .value($0) },
                                          to: [bh / trace.heads, trace.heads, l, s], out: split)
                parts.append(split)
            } else {
                parts.append(a)                                                               // [L, S] broadcasts
            }
        }
        var masked = parts.count == 2 ? add1("Or", parts) : parts[0]
        var keep: String?
        if trace.zeroFullyMaskedRows {
            let asNumbers = add1("Cast", [masked], [ONNXAttribute("to", .int(elementType.rawValue))])
            let full = add1("ReduceMin", [asNumbers], [ONNXAttribute("axes", .ints([-1])), ONNXAttribute("keepdims", .int(1))])
            let fullRow = add1("Cast", [full], [ONNXAttribute("to", .int(ONNXDataType.bool.rawValue))])
            masked = add1("And", [masked, add1("Not", [fullRow])])
            keep = add1("Sub", [scalarConstant(1), full])
        }
        attentionMasks[ObjectIdentifier(trace)] = (masked, keep)
        return (masked, keep)
    }
}
