// MARK: - Shape operations (forward and backward together)

extension Variable {
    /// Same elements, new shape (one dimension may be -1). Backward: reshape back.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func reshaped(to newShape: [Int]) -> Variable {
        let s = shape
        return Variable.record("reshaped", data.reshaped(to: newShape), self) { g in g.reshaped(to: s) }
    }

    /// Inserts an axis of size 1.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func expandingShape(at axis: Int) -> Variable {
        let s = shape
        let a = axis < 0 ? axis + rank + 1 : axis
        return Variable.record("expandingShape", data.expandingShape(at: axis), self, attributes: .axis(a)) { g in g.reshaped(to: s) }
    }

    /// Removes an axis of size 1.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func squeezingShape(at axis: Int) -> Variable {
        let s = shape
        let a = axis < 0 ? axis + rank : axis
        return Variable.record("squeezingShape", data.squeezingShape(at: axis), self, attributes: .axis(a)) { g in g.reshaped(to: s) }
    }

    /// Broadcasts to `target`. Backward: summed back over the broadcast axes.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func expanded(to target: [Int]) -> Variable {
        let s = shape
        return Variable.record("expanded", data.expanded(to: target), self) { g in g.summed(toShape: s) }
    }

    /// Reorders axes: axis `i` of the result is axis `permutation[i]`. Backward: the inverse permutation.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func permuted(_ permutation: [Int]) -> Variable {
        let y = data.permuted(permutation)
        var inverse = permutation
        for (i, p) in permutation.enumerated() { inverse[p] = i }
        return Variable.record("permuted", y, self, attributes: .permutation(permutation)) { g in g.permuted(inverse) }
    }

    /// Swaps two axes.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func transposed(_ axis0: Int, _ axis1: Int) -> Variable {
        permuted(transposition(axis0, axis1, shape: shape))
    }

    /// The slice at `index` along `axis` (negative index counts from the end), without that axis.
    /// Backward: the gradient placed at that slice of zeros.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func select(axis: Int, index: Int) -> Variable {
        let s = shape
        let a = normalizeAxis(axis, rank: rank, "select", shape: s)
        let i = index < 0 ? index + s[a] : index
        let y = data.select(axis: a, index: index)
        var kept = s
        kept[a] = 1
        return Variable.record("select", y, self, attributes: .select(axis: a, index: index)) { g in g.reshaped(to: kept).placed(into: s, axis: a, start: i) }
    }

    /// `length` slices along `axis` from `start`. Backward: the gradient placed into zeros.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func narrow(axis: Int, start: Int, length: Int) -> Variable {
        let s = shape
        let a = normalizeAxis(axis, rank: rank, "narrow", shape: s)
        let y = data.narrow(axis: a, start: start, length: length)
        return Variable.record("narrow", y, self, attributes: .narrow(axis: a, start: start, length: length)) { g in g.placed(into: s, axis: a, start: start) }
    }

    /// The slices along `axis`, each without that axis.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func unstacked(axis: Int = 0) -> [Variable] {
        let a = normalizeAxis(axis, rank: rank, "unstacked", shape: shape)
        return (0..<shape[a]).map { select(axis: a, index: $0) }
    }
}

/// Joins variables along an existing axis. Backward: each input gets its slice of the gradient.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func concat<Scalar>(_ variables: [Variable<Scalar>], axis: Int) -> Variable<Scalar> {
    let y = concat(variables.map(\.data), axis: axis)
    let a = normalizeAxis(axis, rank: y.rank, "concat", shape: y.shape)
    let lengths = variables.map { $0.shape[a] }
    return Variable.record("concat", y, variables, attributes: .axis(a)) { g in
        var start = 0
        return lengths.map { length in
            defer { start += length }
            return g.narrow(axis: a, start: start, length: length)
        }
    }
}

/// Joins same-shaped variables along a new axis.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func stack<Scalar>(_ variables: [Variable<Scalar>], axis: Int = 0) -> Variable<Scalar> {
    require(!variables.isEmpty, "stack: expected at least one variable")
    let first = variables[0].shape
    require(variables.allSatisfy { $0.shape == first },
                 "stack: expected variables of equal shape, got \(variables.map { describe($0.shape) }.joined(separator: ", "))")
    let a = normalizeAxis(axis < 0 ? axis + first.count + 1 : axis, rank: first.count + 1, "stack", shape: first)
    return concat(variables.map { $0.expandingShape(at: a) }, axis: a)
}
