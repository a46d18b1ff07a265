// MARK: - Mapping tape operations to ONNX operators

extension ONNXGraphBuilder {
    /// Maps one node. Throws `ONNXExportError` naming an operation with no mapping.
    func emit(_ node: Node<Scalar>, outputs: [Int: Variable<Scalar>]) throws {
        let op = "\(node.name)"
        if case .opaque(let payload) = node.attributes, let trace = payload as? RecurrentTrace {
            return try emitRecurrent(node, trace, outputs: outputs)
        }
        if case .custom = node.attributes {
            throw ONNXExportError("exportONNX: the custom function '\(op)' has no ONNX mapping")
        }
        guard node.outputCount == 1, let y = outputs[0] else {
            throw ONNXExportError("exportONNX: the operation '\(op)' has no ONNX mapping")
        }
        let out = outputName(node, 0, op)
        let x = node.inputs.map { name(of: $0) }
        let xd = node.inputs.map { dims(of: $0) }
        if let unary = Self.unaryOperators[op], case .none = node.attributes {
            add(unary, [x[0]], outputs: [out])
            dims[out] = xd[0]
        } else if let binary = Self.binaryOperators[op], case .none = node.attributes {
            add(binary, x, outputs: [out])
            dims[out] = broadcastDims(xd[0], xd[1], y.shape)
        } else if try !emitScalarOperation(op, node.attributes, x[0], out) {
            dims[out] = try emitStructural(op, node, x: x, xd: xd, y: y, out: out)
            return
        }
        if dims[out] == nil { dims[out] = xd[0] }
    }

    static var unaryOperators: [String: String] {
        ["tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "negate": "Neg",
         "abs": "Abs"]
    }
    static var binaryOperators: [String: String] {
        ["add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div", "maximum": "Max", "minimum": "Min"]
    }

    /// The scalar arithmetic, squared, pow and clamped; false if `op` is none of them.
    func emitScalarOperation(_ op: String, _ attributes: NodeAttributes, _ x: String, _ out: String) throws -> Bool {
        switch (op, attributes) {
        case ("squared", _): add("Mul", [x, x], outputs: [out])
        case ("addScalar", .scalar(let s)): add("Add", [x, scalarConstant(s)], outputs: [out])
        case ("subtractScalar", .scalar(let s)): add("Sub", [x, scalarConstant(s)], outputs: [out])
        case ("scalarSubtract", .scalar(let s)): add("Sub", [scalarConstant(s), x], outputs: [out])
        case ("multiplyScalar", .scalar(let s)): add("Mul", [x, scalarConstant(s)], outputs: [out])
        case ("divideScalar", .scalar(let inverse)): add("Mul", [x, scalarConstant(inverse)], outputs: [out])   // as Ember: x * (1/s)
        case ("scalarDivide", .scalar(let s)): add("Div", [scalarConstant(s), x], outputs: [out])
        case ("pow", .scalar(let e)): add("Pow", [x, scalarConstant(e)], outputs: [out])
        case ("clamped", .clamp(let lo, let hi)):
            // An infinite bound is no bound: the input is left out.
            add("Clip", [x, lo.isFinite ? scalarConstant(lo) : "", hi.isFinite ? scalarConstant(hi) : ""], outputs: [out])
        default: return false
        }
        return true
    }

    /// Linear, the shape operations, reductions, softmax and embedding lookups; returns the output's dimensions.
    func emitStructural(_ op: String, _ node: Node<Scalar>, x: [String], xd: [[ONNXDim]], y: Variable<Scalar>,
                        out: String) throws -> [ONNXDim] {
        let s = node.inputs.first?.shape ?? []
        switch (op, node.attributes) {
        case ("matmul", _):
            // [.., M, K] · [.., K, N] (NumPy's matmul, as Ember's): batch axes broadcast.
            add("MatMul", x, outputs: [out])
            let batch = broadcastDims(Array(xd[0].dropLast(2)), Array(xd[1].dropLast(2)), Array(y.shape.dropLast(2)))
            return batch + [xd[0][xd[0].count - 2], xd[1][xd[1].count - 1]]
        case ("linear", _):
            return emitLinear(node, x: x, xd: xd[0], out: out)
        case ("reshaped", _):
            return emitReshape(x[0], from: s, xd[0], to: y.shape, out: out)
        case ("expandingShape", .axis(let a)):
            add("Unsqueeze", [x[0], int64Constant([a])], outputs: [out])
            var d = xd[0]; d.insert(.value(1), at: a); return d
        case ("squeezingShape", .axis(let a)):
            add("Squeeze", [x[0], int64Constant([a])], outputs: [out])
            var d = xd[0]; d.remove(at: a); return d
        case ("expanded", _):
            // Expand broadcasts both ways: a 1 keeps the input's (possibly dynamic) size.
            let offset = y.shape.count - s.count
            let target = y.shape.indices.map { i in i >= offset && s[i - offset] == y.shape[i] ? 1 : y.shape[i] }
            add("Expand", [x[0], int64Constant(target)], outputs: [out])
            return y.shape.indices.map { i in i >= offset && s[i - offset] == y.shape[i] ? xd[0][i - offset] : .value(y.shape[i]) }
        case ("permuted", .permutation(let p)):
            add("Transpose", [x[0]], outputs: [out], [ONNXAttribute("perm", .ints(p))])
            return p.map { xd[0][$0] }
        case ("select", .select(let a, let i)):
            let index = fresh("index")
            graph.initializers.append(ONNXTensor(name: index, dims: [], int64: [i]))
            add("Gather", [x[0], index], outputs: [out], [ONNXAttribute("axis", .int(a))])
            var d = xd[0]; d.remove(at: a); return d
        case ("narrow", .narrow(let a, let start, let length)):
            add("Slice", [x[0], int64Constant([start]), int64Constant([start + length]), int64Constant([a])], outputs: [out])
            var d = xd[0]; d[a] = .value(length); return d
        case ("concat", .axis(let a)):
            add("Concat", x, outputs: [out], [ONNXAttribute("axis", .int(a))])
            var d = xd[0]; d[a] = xd.contains { $0[a].isDynamic } ? .unknown : .value(y.shape[a]); return d
        case ("sum", _), ("mean", _):
            add(op == "sum" ? "ReduceSum" : "ReduceMean", [x[0]], outputs: [out], [ONNXAttribute("keepdims", .int(0))])
            return []
        case ("sumAxis", .reduction(let a, let keep)):
            add("ReduceSum", [x[0], int64Constant([a])], outputs: [out], [ONNXAttribute("keepdims", .int(keep ? 1 : 0))])
            return reducedDims(xd[0], a, keep)
        case ("max", .reduction(let a, let keep)):
            add("ReduceMax", [x[0]], outputs: [out], [ONNXAttribute("axes", .ints([a])), ONNXAttribute("keepdims", .int(keep ? 1 : 0))])
            return reducedDims(xd[0], a, keep)
        case ("softmax", .axis(let a)), ("logSoftmax", .axis(let a)):
            add(op == "softmax" ? "Softmax" : "LogSoftmax", [x[0]], outputs: [out], [ONNXAttribute("axis", .int(a))])
            return xd[0]
        case ("layerNorm", .layerNorm(let k, let eps, let hasWeight, let hasBias)):
            return emitLayerNorm(node, x: x, xd: xd[0], axes: k, eps: eps, hasWeight: hasWeight, hasBias: hasBias, out: out)
        case ("conv1d", .convolution(let stride, let padding, let dilation)):
            return emitConv1d(node, x: x, xd: xd[0], y: y, stride: stride, padding: padding, dilation: dilation, out: out)
        case ("embedding", .indices(let indices)):
            var i = indicesInputs.first { $0.values == indices }?.name ?? ""
            if i.isEmpty {
                i = fresh("indices")
                graph.initializers.append(ONNXTensor(name: i, dims: [indices.count], int64: indices))
            }
            add("Gather", [x[0], i], outputs: [out], [ONNXAttribute("axis", .int(0))])
            return [dims[i]?.first ?? .value(indices.count), xd[0][1]]
        default:
            return try emitBuildingBlock(op, node, x: x, xd: xd, y: y, out: out)
        }
    }

    private func reducedDims(_ d: [ONNXDim], _ axis: Int, _ keep: Bool) -> [ONNXDim] {
        var d = d
        if keep { d[axis] = .value(1) } else { d.remove(at: axis) }
        return d
    }

    /// NumPy broadcasting of two inputs' dimensions; a symbolic size wins over a number.
    func broadcastDims(_ a: [ONNXDim], _ b: [ONNXDim], _ shape: [Int]) -> [ONNXDim] {
        shape.indices.map { i in
            let da = i - (shape.count - a.count), db = i - (shape.count - b.count)
            if da >= 0, a[da].isDynamic { return a[da] }
            if db >= 0, b[db].isDynamic { return b[db] }
            return .value(shape[i])
        }
    }

    /// `x · Wᵀ + b`: Gemm (transB) for a 2-D input, else MatMul with the transposed weight and Add.
    func emitLinear(_ node: Node<Scalar>, x: [String], xd: [ONNXDim], out: String) -> [ONNXDim] {
        let outFeatures = node.inputs[1].shape[0]
        if node.inputs[0].rank == 2 {
            add("Gemm", x, outputs: [out], [ONNXAttribute("transB", .int(1))])
        } else {
            let wt = add1("Transpose", [x[1]], [ONNXAttribute("perm", .ints([1, 0]))])
            if x.count > 2 {
                add("Add", [add1("MatMul", [x[0], wt]), x[2]], outputs: [out])
            } else {
                add("MatMul", [x[0], wt], outputs: [out])
            }
        }
        return Array(xd.dropLast()) + [.value(outFeatures)]
    }
}
