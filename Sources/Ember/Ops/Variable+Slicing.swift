// MARK: - Subscript slicing (forward and backward together)

extension Variable: TensorSliceable {
    /// The elements `indices` select, as `x[.., -1]` or `x[1..<3, .stride(2)]` do (see
    /// `TensorSliceable`; PyTorch's basic indexing `x[:, -1]`, `x[1:3, ::2]`). Stops with a message
    /// naming the subscript and the shape when a position is out of range. Backward: the gradient
    /// added into zeros of the input's shape at the selected positions.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sliced(_ indices: [AxisIndex]) -> Variable {
        let s = shape
        let view = SliceView(indices, source: s)
        let y = data.gatherStrided(view.shape, offset: view.offset, strides: view.strides)
        return Variable.record("sliced", y, self, attributes: .slice(indices)) { g in
            g.scatterAddStrided(into: s, offset: view.offset, strides: view.strides)
        }
    }
}
