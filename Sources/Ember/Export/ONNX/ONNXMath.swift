// MARK: - The math building blocks: reductions over an axis, running sums, activations with arguments

extension ONNXGraphBuilder {
    /// The operations added with the building blocks (math, indexing, slicing, attention masks);
    /// throws `ONNXExportError` naming an operation that has no mapping.
    func emitBuildingBlock(_ op: String, _ node: Node<Scalar>, x: [String], xd: [[ONNXDim]], y: Variable<Scalar>,
                           out: String) throws -> [ONNXDim] {
        if let d = emitMath(op, node, x: x, xd: xd, out: out) { return d }
        if let d = emitIndexing(op, node, x: x, xd: xd, y: y, out: out) { return d }
        if case .opaque(let payload) = node.attributes, let trace = payload as? AttentionMaskTrace {
            return emitAttention(op, trace, x: x, xd: xd, out: out)
        }
        throw ONNXExportError("exportONNX: the operation '\(op)' has no ONNX mapping")
    }

    /// min, mean over an axis, logSumExp, cumsum, variance, norm, gelu, leakyRelu, softplus; nil for
    /// other operations.
    func emitMath(_ op: String, _ node: Node<Scalar>, x: [String], xd: [[ONNXDim]], out: String) -> [ONNXDim]? {
        switch (op, node.attributes) {
        case ("min", .reduction(let a, let keep)), ("normAxis", .reduction(let a, let keep)), ("meanAxis", .reduction(let a, let keep)):
            add(["min": "ReduceMin", "normAxis": "ReduceL2", "meanAxis": "ReduceMean"][op]!, [x[0]], outputs: [out],
                [ONNXAttribute("axes", .ints([a])), ONNXAttribute("keepdims", .int(keep ? 1 : 0))])
            return reduced(xd[0], a, keep)
        case ("norm", _):
            add("ReduceL2", [x[0]], outputs: [out], [ONNXAttribute("keepdims", .int(0))])
            return []
        case ("logSumExp", .reduction(let a, let keep)):
            return emitLogSumExp(x[0], xd[0], axis: a, keep: keep, out: out)
        case ("cumsum", .axis(let a)):
            let axis = fresh("axis")
            graph.initializers.append(ONNXTensor(name: axis, dims: [], int64: [a]))
            add("CumSum", [x[0], axis], outputs: [out])
            return xd[0]
        case ("variance", .variance(let a, let unbiased, let keep)):
            return emitVariance(node, x[0], xd[0], axis: a, unbiased: unbiased, keep: keep, out: out)
        case ("gelu", .gelu(let tanh)):
            emitGELU(x[0], tanh: tanh, out: out)
            return xd[0]
        case ("leakyRelu", .scalar(let slope)):
            add("LeakyRelu", [x[0]], outputs: [out], [ONNXAttribute("alpha", .float(Float(slope)))])
            return xd[0]
        case ("softplus", .softplus(let beta, let threshold)):
            // log(1 + exp(βx)) / β, and x where βx > threshold (PyTorch's softplus).
            let scaled = beta == 1 ? x[0] : add1("Mul", [x[0], scalarConstant(beta)])
            var soft = add1("Softplus", [scaled])
            if beta != 1 { soft = add1("Div", [soft, scalarConstant(beta)]) }
            add("Where", [add1("Greater", [scaled, scalarConstant(threshold)]), x[0], soft], outputs: [out])
            return xd[0]
        default:
            return nil
        }
    }

    func reduced(_ d: [ONNXDim], _ axis: Int, _ keep: Bool) -> [ONNXDim] {
        var d = d
        if keep { d[axis] = .value(1) } else { d.remove(at: axis) }
        return d
    }

    /// `m + log(Σ exp(x - m))` with `m` the maximum along the axis, taken as 0 where it is infinite
    /// (Ember's and PyTorch's stable form: a slice of only -inf gives -inf).
    private func emitLogSumExp(_ x: String, _ xd: [ONNXDim], axis a: Int, keep: Bool, out: String) -> [ONNXDim] {
        let peak = add1("ReduceMax", [x], [ONNXAttribute("axes", .ints([a])), ONNXAttribute("keepdims", .int(1))])
        let m = add1("Where", [add1("IsInf", [peak]), scalarConstant(0), peak])
        let total = add1("ReduceSum", [add1("Exp", [add1("Sub", [x, m])]), int64Constant([a])], [ONNXAttribute("keepdims", .int(keep ? 1 : 0))])
        let shift = keep ? m : add1("Squeeze", [m, int64Constant([a])])
        add("Add", [add1("Log", [total]), shift], outputs: [out])
        return reduced(xd, a, keep)
    }

    /// `Σ (x - mean)² / (n - c)` along the axis (c = 1 unbiased), n read from the input's shape when
    /// the axis is dynamic.
    private func emitVariance(_ node: Node<Scalar>, _ x: String, _ xd: [ONNXDim], axis a: Int, unbiased: Bool, keep: Bool,
                              out: String) -> [ONNXDim] {
        let mean = add1("ReduceMean", [x], [ONNXAttribute("axes", .ints([a])), ONNXAttribute("keepdims", .int(1))])
        let deviation = add1("Sub", [x, mean])
        let squares = add1("ReduceSum", [add1("Mul", [deviation, deviation]), int64Constant([a])],
                           [ONNXAttribute("keepdims", .int(keep ? 1 : 0))])
        let c = unbiased ? 1.0 : 0.0
        var divisor: String
        if xd[a].isDynamic {
            let index = fresh("axis")
            graph.initializers.append(ONNXTensor(name: index, dims: [], int64: [a]))
            divisor = add1("Cast", [add1("Gather", [add1("Shape", [x]), index])], [ONNXAttribute("to", .int(elementType.rawValue))])
            if unbiased { divisor = add1("Sub", [divisor, scalarConstant(c)]) }
        } else {
            divisor = scalarConstant(Double(node.inputs[0].shape[a]) - c)
        }
        add("Div", [squares, divisor], outputs: [out])
        return reduced(xd, a, keep)
    }

    /// Exact: `0.5 x (1 + erf(x / √2))` (opset 17 has no Gelu operator); tanh:
    /// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
    private func emitGELU(_ x: String, tanh: Bool, out: String) {
        let inner: String
        if tanh {
            let cube = add1("Mul", [add1("Mul", [x, x]), x])
            let sum = add1("Add", [x, add1("Mul", [cube, scalarConstant(GELUConstants.kappa)])])
            inner = add1("Tanh", [add1("Mul", [sum, scalarConstant(GELUConstants.beta)])])
        } else {
            inner = add1("Erf", [add1("Mul", [x, scalarConstant(GELUConstants.sqrt1_2)])])
        }
        let half = add1("Mul", [x, scalarConstant(0.5)])
        add("Mul", [half, add1("Add", [inner, scalarConstant(1)])], outputs: [out])
    }
}
