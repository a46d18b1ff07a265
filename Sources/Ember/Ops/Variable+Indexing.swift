// MARK: - Index operations (forward and backward together)

extension Variable {
    /// Gathers values along `axis` as `torch.gather(x, axis, indices)`: for rank 3 and axis 1,
    /// `out[i][j][k] = x[i][indices[i][j][k]][k]`. Shapes and checks as `Tensor.gather(axis:indices:)`;
    /// the result has `indices.shape`.
    ///
    /// Backward: the gradient added into zeros of this shape at the gathered positions
    /// (`scatter_add`; an index used twice gets both contributions). No gradient to `indices`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gather(axis: Int, indices: Tensor<Int>) -> Variable {
        let s = shape
        let offsets = data.gatherOffsets(axis: axis, indices: indices, "gather").offsets
        let y = Tensor(computing: indices.shape) { y, n in
            data.withBase { x in for p in 0..<n { (y + p).initialize(to: x[offsets[p]]) } }
        }
        return Variable.record("gather", y, self, attributes: .indexed(axis: axis, indices: indices)) { g in g.scatterAdding(into: s, offsets: offsets) }
    }

    /// Selects slices along `axis` as `torch.index_select(x, axis, indices)`: slice `j` of the
    /// result is slice `indices[j]`. `indices` has rank 1 (indices may repeat); the result has this
    /// shape with `shape[axis]` replaced by `indices.count`.
    ///
    /// Backward: each slice of the gradient added into slice `indices[j]` of zeros (`index_add`).
    /// No gradient to `indices`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func indexSelect(axis: Int, indices: Tensor<Int>) -> Variable {
        let s = shape
        let a = data.checkIndexSelect(axis: axis, indices: indices)
        let list = indices.scalars
        return Variable.record("indexSelect", data.indexSelect(axis: a, indices: indices), self, attributes: .indexed(axis: a, indices: indices)) { g in
            g.indexAdding(into: s, axis: a, indices: list)
        }
    }

    /// This variable with `value` where `mask` is true, as `x.masked_fill(mask, value)` (attention
    /// scores masked with `-.infinity` before a softmax). `mask` broadcasts to this shape (e.g.
    /// `[B, 1, S]` over `[B, L, S]`); stops with a message naming `maskedFill` otherwise.
    ///
    /// Backward: the gradient where `mask` is false, 0 where it is true. No gradient to `mask`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func maskedFill(_ mask: Tensor<Bool>, value: Scalar) -> Variable {
        Variable.record("maskedFill", data.maskedFill(mask, value: value), self, attributes: .maskedFill(mask: mask, value: Double(value))) { g in
            Ember.select(where: mask, 0, g)
        }
    }
}

// MARK: - Elementwise select (torch.where)

/// `torch.where(condition, a, b)` on variables: elementwise `condition ? a : b`, the three
/// broadcast together (NumPy's rules; stops with a message naming `select(where:)` otherwise).
/// Swift reserves `where`, so Ember spells it `select(where:_:_:)` (inside a type with its own
/// `select`, such as an extension of `Variable`, write `Ember.select(where:_:_:)`).
///
/// Backward: `a` gets the gradient where `condition` is true and `b` where it is false (zeros
/// elsewhere), each summed over the axes it was broadcast along. No gradient to `condition`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func select<Scalar>(where condition: Tensor<Bool>, _ a: Variable<Scalar>, _ b: Variable<Scalar>) -> Variable<Scalar> {
    let sa = a.shape, sb = b.shape, needA = a.requiresGrad, needB = b.requiresGrad
    return Variable.record("where", select(where: condition, a.data, b.data), [a, b], attributes: .mask(condition)) { g in
        [needA ? select(where: condition, g, 0).summed(toShape: sa) : nil,
         needB ? select(where: condition, 0, g).summed(toShape: sb) : nil]
    }
}

/// `torch.where(condition, a, b)` with a scalar `b`: `condition ? a : b`, broadcasting; the
/// gradient flows to `a` where `condition` is true.
public func select<Scalar>(where condition: Tensor<Bool>, _ a: Variable<Scalar>, _ b: Scalar) -> Variable<Scalar> {
    select(where: condition, a, Variable(b))
}

/// `torch.where(condition, a, b)` with a scalar `a`: `condition ? a : b`, broadcasting; the
/// gradient flows to `b` where `condition` is false.
public func select<Scalar>(where condition: Tensor<Bool>, _ a: Scalar, _ b: Variable<Scalar>) -> Variable<Scalar> {
    select(where: condition, Variable(a), b)
}
