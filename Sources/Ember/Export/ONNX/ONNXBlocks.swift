// MARK: - The building blocks: layer normalisation and 1-D convolution

extension ONNXGraphBuilder {
    /// layerNorm as ONNX's LayerNormalization (opset 17): normalised over the last `axes` axes
    /// (`axis = -axes`), `epsilon`, the weight as Scale (ones when there is none) and the bias as B.
    func emitLayerNorm(_ node: Node<Scalar>, x: [String], xd: [ONNXDim], axes: Int, eps: Double,
                       hasWeight: Bool, hasBias: Bool, out: String) -> [ONNXDim] {
        let normalized = Array(node.inputs[0].shape.suffix(axes))
        let scale = hasWeight ? x[1] : initializer(fresh("ones"), Tensor<Scalar>(ones: normalized))
        var inputs = [x[0], scale]
        if hasBias { inputs.append(x[hasWeight ? 2 : 1]) }
        add("LayerNormalization", inputs, outputs: [out],
            [ONNXAttribute("axis", .int(-axes)), ONNXAttribute("epsilon", .float(Float(eps)))])
        return xd
    }

    /// conv1d as ONNX's Conv with `strides`, `pads` (both ends) and `dilations`; an unbatched `[C, L]`
    /// input is unsqueezed to `[1, C, L]` and the result squeezed back.
    func emitConv1d(_ node: Node<Scalar>, x: [String], xd: [ONNXDim], y: Variable<Scalar>, stride: Int, padding: Int,
                    dilation: Int, out: String) -> [ONNXDim] {
        let unbatched = node.inputs[0].rank == 2
        var inputs = x
        if unbatched { inputs[0] = add1("Unsqueeze", [x[0], int64Constant([0])]) }
        let attributes = [ONNXAttribute("kernel_shape", .ints([node.inputs[1].shape[2]])), ONNXAttribute("strides", .ints([stride])),
                          ONNXAttribute("pads", .ints([padding, padding])), ONNXAttribute("dilations", .ints([dilation]))]
        let length: ONNXDim = xd[xd.count - 1].isDynamic ? .unknown : .value(y.shape[y.rank - 1])
        let channels = ONNXDim.value(node.inputs[1].shape[0])
        if unbatched {
            let conv = add1("Conv", inputs, attributes)
            add("Squeeze", [conv, int64Constant([0])], outputs: [out])
            return [channels, length]
        }
        add("Conv", inputs, outputs: [out], attributes)
        return [xd[0], channels, length]
    }
}
