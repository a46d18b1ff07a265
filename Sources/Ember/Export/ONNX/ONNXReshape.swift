// MARK: - Reshape with dynamic dimensions

/// One output axis of a reshape target: a number, the input's size in place (0), or computed from
/// the input's shape (the product of some of its sizes divided by a number).
private enum ReshapeSize {
    case fixed(Int), copy, runtime(inputs: [Int], divisor: Int)
}

extension ONNXGraphBuilder {
    /// Reshape whose target follows the input's dynamic sizes. The axes are matched in groups whose
    /// sizes multiply to the same number (a merge, a split, or one axis kept). A kept dynamic axis
    /// copies the input's size (0 in place, else read from the input's shape); a merged or split group
    /// with a dynamic axis gives its first output axis not of size 1 the rest of the group's product
    /// (the outermost is taken as the dynamic one: `[B·H, L, S] → [B, H, L, S]`, `[S] → [1, S]`). One such size is
    /// left to Reshape's -1; when more are needed, the target is computed from the input's shape.
    func emitReshape(_ x: String, from s: [Int], _ xd: [ONNXDim], to shape: [Int], out: String) -> [ONNXDim] {
        guard xd.contains(where: \.isDynamic), let groups = reshapeGroups(s, shape) else {
            add("Reshape", [x, int64Constant(shape)], outputs: [out])
            return shape.map { .value($0) }
        }
        var sizes = shape.map { ReshapeSize.fixed($0) }, d = shape.map { ONNXDim.value($0) }
        for (ins, outs) in groups where ins.contains(where: { xd[$0].isDynamic }) && !outs.isEmpty {
            if ins.count == 1, outs.count == 1 {
                sizes[outs.lowerBound] = ins.lowerBound == outs.lowerBound ? .copy : .runtime(inputs: [ins.lowerBound], divisor: 1)
                d[outs.lowerBound] = xd[ins.lowerBound]
            } else {
                let first = outs.first { shape[$0] != 1 } ?? outs.lowerBound
                sizes[first] = .runtime(inputs: Array(ins), divisor: outs.filter { $0 != first }.map { shape[$0] }.reduce(1, *))
                d[first] = .unknown
            }
        }
        let runtime = sizes.indices.filter { if case .runtime = sizes[$0] { true } else { false } }
        if runtime.count <= 1 {
            let target = sizes.map { size -> Int in
                switch size {
                case .fixed(let n): n
                case .copy: 0
                case .runtime: -1
                }
            }
            add("Reshape", [x, int64Constant(target)], outputs: [out])
            return d
        }
        let inputShape = add1("Shape", [x])
        let parts = sizes.map { size -> String in
            switch size {
            case .fixed(let n): return int64Constant([n])
            case .copy: return int64Constant([0])
            case let .runtime(inputs, divisor):
                var part = add1("Gather", [inputShape, int64Constant(inputs)], [ONNXAttribute("axis", .int(0))])
                if inputs.count > 1 { part = add1("ReduceProd", [part], [ONNXAttribute("keepdims", .int(1))]) }
                if divisor != 1 { part = add1("Div", [part, int64Constant([divisor])]) }
                return part
            }
        }
        add("Reshape", [x, add1("Concat", parts, [ONNXAttribute("axis", .int(0))])], outputs: [out])
        return d
    }

    /// Consecutive groups of input and output axes whose sizes have equal products (each group takes
    /// at least one axis from each side while both have some); nil when sizes are 0 or do not match.
    private func reshapeGroups(_ s: [Int], _ shape: [Int]) -> [(Range<Int>, Range<Int>)]? {
        guard !s.contains(0), !shape.contains(0) else { return nil }
        var groups: [(Range<Int>, Range<Int>)] = []
        var i = 0, j = 0
        while i < s.count || j < shape.count {
            let (i0, j0) = (i, j)
            var (pi, pj) = (1, 1)
            if i < s.count { pi *= s[i]; i += 1 }
            if j < shape.count { pj *= shape[j]; j += 1 }
            while pi != pj {
                if pi < pj, i < s.count {
                    pi *= s[i]; i += 1
                } else if pj < pi, j < shape.count {
                    pj *= shape[j]; j += 1
                } else {
                    return nil
                }
            }
            groups.append((i0..<i, j0..<j))
        }
        return groups
    }
}
