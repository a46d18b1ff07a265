// MARK: - Index operations, masks and their comparisons, subscripts

/// A mask's or index tensor's identity for naming it once: its storage and shape.
struct MaskKey: Hashable {
    let identity: MaskIdentity
    let shape: [Int]
    init<Element: TensorElement>(_ t: Tensor<Element>) {
        identity = MaskIdentity(t)
        shape = t.shape
    }
}

extension ONNXGraphBuilder {
    /// gather, indexSelect, where, maskedFill and subscripts; nil for other operations.
    func emitIndexing(_ op: String, _ node: Node<Scalar>, x: [String], xd: [[ONNXDim]], y: Variable<Scalar>,
                      out: String) -> [ONNXDim]? {
        switch (op, node.attributes) {
        case ("gather", .indexed(let axis, let indices)):
            // torch.gather is ONNX's GatherElements; indices smaller than the input along another
            // axis read the input's leading part there.
            let s = node.inputs[0].shape, a = axis < 0 ? axis + s.count : axis
            let short = s.indices.filter { $0 != a && indices.shape[$0] < s[$0] }
            var data = x[0]
            if !short.isEmpty {
                data = add1("Slice", [data, int64Constant(short.map { _ in 0 }), int64Constant(short.map { indices.shape[$0] }),
                                      int64Constant(short)])
            }
            let i = indexName(indices)
            add("GatherElements", [data, i], outputs: [out], [ONNXAttribute("axis", .int(a))])
            return dims[i] ?? indices.shape.map { .value($0) }
        case ("indexSelect", .indexed(let a, let indices)):
            let i = indexName(indices)
            add("Gather", [x[0], i], outputs: [out], [ONNXAttribute("axis", .int(a))])
            var d = xd[0]; d[a] = dims[i]?.first ?? .value(indices.count); return d
        case ("where", .mask(let condition)):
            let c = maskName(condition)
            add("Where", [c, x[0], x[1]], outputs: [out])
            let cd = dims[c] ?? condition.shape.map { .value($0) }
            let ab = broadcastDims(xd[0], xd[1], broadcastShape(node.inputs[0].shape, node.inputs[1].shape))
            return broadcastDims(cd, ab, y.shape)
        case ("maskedFill", .maskedFill(let mask, let value)):
            add("Where", [maskName(mask), scalarConstant(value), x[0]], outputs: [out])
            return xd[0]
        case ("sliced", .slice(let positions)):
            return emitSlice(positions, x[0], xd[0], source: node.inputs[0].shape, y: y, out: out)
        default:
            return nil
        }
    }

    /// NumPy's broadcast shape of two shapes that broadcast.
    private func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let n = max(a.count, b.count)
        return (0..<n).map { i in
            let da = i - (n - a.count), db = i - (n - b.count)
            return max(da >= 0 ? a[da] : 1, db >= 0 ? b[db] : 1)
        }
    }

    /// A subscript as one Slice (starts, ends, axes, steps; negative positions count from the end,
    /// so they follow a dynamic axis) and a Squeeze of the axes an integer position removes.
    private func emitSlice(_ positions: [AxisIndex], _ x: String, _ xd: [ONNXDim], source: [Int], y: Variable<Scalar>,
                           out: String) -> [ONNXDim] {
        var starts: [Int] = [], ends: [Int] = [], axes: [Int] = [], steps: [Int] = [], removed: [Int] = []
        var d: [ONNXDim] = []
        for axis in source.indices {
            let position = axis < positions.count ? positions[axis] : .all
            switch position.kind {
            case .index(let i):
                starts.append(i); ends.append(i == -1 ? Int.max : i + 1); axes.append(axis); steps.append(1)
                removed.append(axis)
            case let .range(lower, upper, closed, step):
                if lower ?? 0 == 0, upper == nil, step == 1 {
                    d.append(xd[axis])                                  // the whole axis: nothing to slice
                    continue
                }
                var end = upper ?? Int.max
                if closed { end = end == -1 ? Int.max : end + 1 }
                starts.append(lower ?? 0); ends.append(end); axes.append(axis); steps.append(step)
                d.append(xd[axis].isDynamic ? .unknown : .value(y.shape[d.count]))
            }
        }
        if axes.isEmpty {
            add("Identity", [x], outputs: [out])
            return d
        }
        let sliced = removed.isEmpty ? out : fresh("Slice")
        add("Slice", [x, int64Constant(starts), int64Constant(ends), int64Constant(axes), int64Constant(steps)], outputs: [sliced])
        if !removed.isEmpty { add("Squeeze", [sliced, int64Constant(removed)], outputs: [out]) }
        return d
    }

    // MARK: Masks and index tensors

    /// Variables compared to make the masks `node` uses (they are mapped before it).
    func comparisonOperands(of node: Node<Scalar>) -> [Variable<Scalar>] {
        var masks: [Tensor<Bool>] = []
        switch node.attributes {
        case .mask(let m), .maskedFill(let m, _): masks = [m]
        case .opaque(let payload):
            if let trace = payload as? AttentionMaskTrace { masks = [trace.keyPadding, trace.attention].compactMap { $0 } }
        default: return []
        }
        var variables: [Variable<Scalar>] = []
        while let mask = masks.popLast() {
            guard let e = comparisons.entry(for: mask) else { continue }
            for operand in [e.lhs, e.rhs] {
                switch operand {
                case .variable(let v): if let v = v as? Variable<Scalar> { variables.append(v) }
                case .mask(let m): masks.append(m)
                case .scalar: break
                }
            }
        }
        return variables
    }

    /// The ONNX name of a boolean mask: a `.mask` input (the same tensor, or the same storage
    /// reshaped, else a comparison noted during the trace, else an input with equal values and
    /// shape), or a constant.
    func maskName(_ mask: Tensor<Bool>) -> String {
        let key = MaskKey(mask)
        if let n = maskNames[key] { return n }
        let n: String
        if let input = maskInputs.first(where: { MaskKey($0.example) == key }) {
            n = input.name
        } else if let input = maskInputs.first(where: { MaskKey($0.example).identity == key.identity && $0.example.count == mask.count }) {
            // The input reshaped (an unbatched key-padding mask [S] seen as [1, S]).
            n = fresh("mask")
            dims[n] = emitReshape(input.name, from: input.example.shape, dims[input.name] ?? [], to: mask.shape, out: n)
        } else if let e = comparisons.entry(for: mask) {
            n = emitComparison(e)
        } else if let input = maskInputs.first(where: { $0.example == mask }) {
            n = input.name
        } else {
            n = fresh("mask")
            graph.initializers.append(ONNXTensor(name: n, mask))
            dims[n] = mask.shape.map { .value($0) }
        }
        maskNames[key] = n
        return n
    }

    /// The ONNX name of an index tensor: an `.indices` input of a `Tensor<Int>` (the same tensor,
    /// else equal values and shape), or an int64 constant.
    func indexName(_ indices: Tensor<Int>) -> String {
        let key = MaskKey(indices)
        if let n = maskNames[key] { return n }
        let n: String
        if let input = indexTensorInputs.first(where: { MaskKey($0.example) == key })
            ?? indexTensorInputs.first(where: { $0.example == indices }) {
            n = input.name
        } else {
            n = fresh("indices")
            graph.initializers.append(ONNXTensor(name: n, dims: indices.shape, int64: indices.scalars))
            dims[n] = indices.shape.map { .value($0) }
        }
        maskNames[key] = n
        return n
    }

    /// A comparison noted during the trace as ONNX's Equal, Less, LessOrEqual, Greater,
    /// GreaterOrEqual (`!=` as Not of Equal), a mask operation as And, Or, Xor, Not.
    private func emitComparison(_ e: ComparisonTrace.Entry) -> String {
        func operand(_ o: ComparisonTrace.Entry.Operand) -> (String, [ONNXDim]) {
            switch o {
            case .scalar(let s): return (scalarConstant(s), [])
            case .mask(let m):
                let n = maskName(m)
                return (n, dims[n] ?? m.shape.map { .value($0) })
            case .variable(let object):
                let v = object as! Variable<Scalar>          // swiftlint:disable:this force_cast (same model, same scalar)
                return (name(of: v), dims(of: v))
            }
        }
        let (a, ad) = operand(e.lhs)
        if e.op == ".!" {
            let n = add1("Not", [a])
            dims[n] = ad
            return n
        }
        let (b, bd) = operand(e.rhs)
        let types = [".==": "Equal", ".!=": "Equal", ".<": "Less", ".<=": "LessOrEqual", ".>": "Greater", ".>=": "GreaterOrEqual",
                     ".&": "And", ".|": "Or", ".^": "Xor"]
        var n = add1(types[e.op] ?? "Equal", [a, b])
        if e.op == ".!=" { n = add1("Not", [n]) }
        dims[n] = broadcastDims(ad, bd, e.result.shape)
        return n
    }
}
